//! `wms-server label …`: carrier labels from the command line, for scripts and outside tests.
//!
//! The contract (issue 5), whose names must not change:
//! - `wms-server label example [--carrier yamato|sagawa]` prints a label model as JSON (the serde form
//!   of [`wms_core::label::LabelModel`]) with a valid tracking number;
//! - `wms-server label render --input LABEL.json --format zpl|pdf|png [--dpi 203|300] --out FILE`
//!   renders it (PDF: one label on an A6 page); a model the carrier's rules refuse exits non-zero with
//!   the reason and writes nothing;
//! - `wms-server label sheet --input LABELS.json --out FILE` renders a JSON array of label models four
//!   to an A4 page (PDF); one refused label refuses the sheet;
//! - `wms-server label slip --input SLIP.json --out FILE` renders a packing slip (納品書,
//!   [`wms_core::label::PackingSlip`]) as an A4 PDF.
//!
//! These commands need no settings, database or runtime: they read files and write one.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use wms_core::label::{
    Dpi, Font, LabelError, LabelModel, PackingSlip, render_packing_slip, render_pdf,
    render_pdf_sheet, render_png, render_zpl,
};
use wms_core::tracking::Carrier;

/// Where Debian's `fonts-ipafont-gothic` puts IPAGothic.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf";

#[derive(Debug, Subcommand)]
pub enum LabelCommand {
    /// Print a valid example label model as JSON.
    Example {
        #[arg(long, value_enum, default_value_t = CarrierArg::Yamato)]
        carrier: CarrierArg,
    },
    /// Render a label model (JSON) to a file. Exits non-zero, writing nothing, when the carrier's
    /// rules refuse the label.
    Render {
        #[arg(long)]
        input: PathBuf,
        #[arg(long, value_enum)]
        format: LabelFormat,
        /// Printer resolution for ZPL; the PNG preview is always drawn at 203 dpi.
        #[arg(long, default_value = "203", value_parser = parse_dpi)]
        dpi: Dpi,
        #[arg(long)]
        out: PathBuf,
        /// A TrueType font with Japanese glyphs.
        #[arg(long, env = "WMS_LABEL_FONT", default_value = DEFAULT_FONT)]
        font: PathBuf,
    },
    /// Render a JSON array of label models four to an A4 page (PDF, for laser printers). Exits
    /// non-zero, writing nothing, when the carrier's rules refuse any of them.
    Sheet {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// A TrueType font with Japanese glyphs.
        #[arg(long, env = "WMS_LABEL_FONT", default_value = DEFAULT_FONT)]
        font: PathBuf,
    },
    /// Render a packing slip (納品書) model (JSON) as an A4 PDF. Exits non-zero, writing nothing,
    /// when the slip is incomplete.
    Slip {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// A TrueType font with Japanese glyphs.
        #[arg(long, env = "WMS_LABEL_FONT", default_value = DEFAULT_FONT)]
        font: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CarrierArg {
    Yamato,
    Sagawa,
    JapanPost,
}

impl From<CarrierArg> for Carrier {
    fn from(c: CarrierArg) -> Carrier {
        match c {
            CarrierArg::Yamato => Carrier::Yamato,
            CarrierArg::Sagawa => Carrier::Sagawa,
            CarrierArg::JapanPost => Carrier::JapanPost,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LabelFormat {
    Zpl,
    Pdf,
    Png,
}

fn parse_dpi(s: &str) -> Result<Dpi, String> {
    s.parse()
        .map_err(|e: wms_core::label::UnknownDpi| e.to_string())
}

/// Run a label command. Refusals and failures are reported on standard error; the exit code is
/// non-zero for both.
pub fn run(command: LabelCommand) -> ExitCode {
    match execute(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(e)) => {
            eprintln!("wms-server: label refused ({}): {e}", e.code());
            ExitCode::FAILURE
        }
        Err(Failure::Other(e)) => {
            eprintln!("wms-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A label the rules refuse is reported with its stable code; anything else as a plain error.
#[derive(Debug)]
pub enum Failure {
    Refused(LabelError),
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Other(e)
    }
}

impl From<LabelError> for Failure {
    fn from(e: LabelError) -> Self {
        if e.is_refusal() {
            Failure::Refused(e)
        } else {
            Failure::Other(e.into())
        }
    }
}

/// The work of [`run`], with the outcome as a value (for tests).
pub fn execute(command: LabelCommand) -> Result<(), Failure> {
    match command {
        LabelCommand::Example { carrier } => {
            let model = LabelModel::example(carrier.into())?;
            let json = serde_json::to_string_pretty(&model).context("serialising the example")?;
            writeln!(std::io::stdout().lock(), "{json}").context("writing to standard output")?;
            Ok(())
        }
        LabelCommand::Render {
            input,
            format,
            dpi,
            out,
            font,
        } => {
            let model = LabelModel::from_json(&read_input(&input)?)?;
            // The rules first, so that a refused label is reported as such even without a font.
            model.validate()?;
            let font = load_font(&font)?;
            let rendered = match format {
                LabelFormat::Zpl => render_zpl(&model, dpi, &font)?,
                LabelFormat::Png => render_png(&model, &font)?,
                LabelFormat::Pdf => render_pdf(&model, &font)?,
            };
            write_atomically(&out, &rendered)?;
            Ok(())
        }
        LabelCommand::Sheet { input, out, font } => {
            let models = sheet_models(&read_input(&input)?)?;
            let font = load_font(&font)?;
            write_atomically(&out, &render_pdf_sheet(&models, &font)?)?;
            Ok(())
        }
        LabelCommand::Slip { input, out, font } => {
            let slip = PackingSlip::from_json(&read_input(&input)?)?;
            slip.validate()?;
            let font = load_font(&font)?;
            write_atomically(&out, &render_packing_slip(&slip, &font)?)?;
            Ok(())
        }
    }
}

fn read_input(input: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(input).with_context(|| format!("reading {}", input.display()))
}

fn load_font(path: &Path) -> Result<Font, Failure> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "reading the label font {} (install fonts-ipafont-gothic, or give --font or WMS_LABEL_FONT)",
            path.display()
        )
    })?;
    Ok(Font::from_bytes(bytes)?)
}

/// A JSON array of label models, each parsed as `label render` parses one (a bad check digit keeps
/// its own code) and checked against the carriers' rules; errors say which label.
fn sheet_models(json: &str) -> Result<Vec<LabelModel>, LabelError> {
    let values: Vec<serde_json::Value> =
        serde_json::from_str(json).map_err(|e| LabelError::Malformed {
            message: format!("a sheet is a JSON array of label models: {e}"),
        })?;
    let parse = |value: &serde_json::Value| -> Result<LabelModel, LabelError> {
        let model = LabelModel::from_json(&value.to_string())?;
        model.validate()?;
        Ok(model)
    };
    values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            parse(value).map_err(|error| LabelError::InSheet {
                index,
                error: Box::new(error),
            })
        })
        .collect()
}

/// Write through a temporary file in the same directory and rename it into place, so that `out`
/// either holds the whole label or is untouched: a half-written ZPL file sent to a printer later would
/// print a truncated label.
fn write_atomically(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = out
        .file_name()
        .with_context(|| format!("{} is not a file name", out.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = out.with_file_name(tmp_name);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("moving the label into place at {}", out.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn font_path() -> Option<PathBuf> {
        let path = PathBuf::from(
            std::env::var("WMS_LABEL_FONT").unwrap_or_else(|_| DEFAULT_FONT.to_owned()),
        );
        if path.exists() {
            return Some(path);
        }
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs {} (fonts-ipafont-gothic)",
            path.display()
        );
        None
    }

    fn render(
        dir: &Path,
        model: &serde_json::Value,
        format: LabelFormat,
    ) -> (PathBuf, Result<(), Failure>) {
        let input = dir.join("label.json");
        std::fs::write(&input, model.to_string()).expect("write input");
        let out = dir.join(format!("label.{format:?}"));
        let result = execute(LabelCommand::Render {
            input,
            format,
            dpi: Dpi::D203,
            out: out.clone(),
            font: font_path().unwrap_or_else(|| PathBuf::from(DEFAULT_FONT)),
        });
        (out, result)
    }

    fn example(carrier: Carrier) -> serde_json::Value {
        serde_json::to_value(LabelModel::example(carrier).expect("valid")).expect("JSON")
    }

    #[test]
    fn renders_zpl_and_png() {
        if font_path().is_none() {
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let (out, result) = render(dir.path(), &example(Carrier::Sagawa), LabelFormat::Zpl);
        assert!(result.is_ok(), "{result:?}");
        let zpl = std::fs::read(&out).expect("written");
        assert!(zpl.starts_with(b"^XA"));
        let (out, result) = render(dir.path(), &example(Carrier::Yamato), LabelFormat::Png);
        assert!(result.is_ok(), "{result:?}");
        assert!(
            std::fs::read(&out)
                .expect("written")
                .starts_with(b"\x89PNG")
        );
        // Only the outputs and the input: no temporary file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 3);
    }

    #[test]
    fn refused_label_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut model = example(Carrier::Sagawa);
        model["recipient"]["address_lines"][0] = "東京都千代田区千代田一丁目一番一号".into();
        let (out, result) = render(dir.path(), &model, LabelFormat::Zpl);
        match result {
            Err(Failure::Refused(e)) => assert_eq!(e.code(), "label_field_too_long"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(!out.exists());

        let mut model = example(Carrier::Yamato);
        model["tracking"]["number"] = "444413758704".into();
        let (out, result) = render(dir.path(), &model, LabelFormat::Png);
        match result {
            Err(Failure::Refused(e)) => assert_eq!(e.code(), "tracking_check_digit_mismatch"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(!out.exists());
    }

    #[test]
    fn renders_pdf_sheet_and_slip() {
        let Some(font) = font_path() else { return };
        let dir = tempfile::tempdir().expect("tempdir");
        let (out, result) = render(dir.path(), &example(Carrier::Yamato), LabelFormat::Pdf);
        assert!(result.is_ok(), "{result:?}");
        assert!(std::fs::read(&out).expect("written").starts_with(b"%PDF-"));

        let sheet_input = dir.path().join("labels.json");
        let labels: Vec<_> = Carrier::ALL.into_iter().map(example).collect();
        std::fs::write(&sheet_input, serde_json::to_string(&labels).expect("JSON")).expect("write");
        let sheet = dir.path().join("sheet.pdf");
        let result = execute(LabelCommand::Sheet {
            input: sheet_input.clone(),
            out: sheet.clone(),
            font: font.clone(),
        });
        assert!(result.is_ok(), "{result:?}");
        assert!(
            std::fs::read(&sheet)
                .expect("written")
                .starts_with(b"%PDF-")
        );

        let slip_input = dir.path().join("slip.json");
        let slip = serde_json::to_string(&PackingSlip::example()).expect("JSON");
        std::fs::write(&slip_input, slip).expect("write");
        let slip = dir.path().join("slip.pdf");
        let result = execute(LabelCommand::Slip {
            input: slip_input,
            out: slip.clone(),
            font,
        });
        assert!(result.is_ok(), "{result:?}");
        assert!(std::fs::read(&slip).expect("written").starts_with(b"%PDF-"));
    }

    #[test]
    fn refused_pdf_sheet_or_slip_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let font = font_path().unwrap_or_else(|| PathBuf::from(DEFAULT_FONT));
        let mut model = example(Carrier::Sagawa);
        model["recipient"]["address_lines"][0] = "東京都千代田区千代田一丁目一番一号".into();
        let (out, result) = render(dir.path(), &model, LabelFormat::Pdf);
        match result {
            Err(Failure::Refused(e)) => assert_eq!(e.code(), "label_field_too_long"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(!out.exists());

        // The second label of the sheet has a bad check digit: the sheet is refused, naming it.
        let mut bad = example(Carrier::Yamato);
        bad["tracking"]["number"] = "444413758704".into();
        let input = dir.path().join("labels.json");
        let labels = serde_json::json!([example(Carrier::Yamato), bad]);
        std::fs::write(&input, labels.to_string()).expect("write");
        let out = dir.path().join("sheet.pdf");
        let result = execute(LabelCommand::Sheet {
            input: input.clone(),
            out: out.clone(),
            font: font.clone(),
        });
        match result {
            Err(Failure::Refused(e)) => {
                assert_eq!(e.code(), "tracking_check_digit_mismatch");
                assert!(e.to_string().starts_with("label 2 of the sheet"), "{e}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(!out.exists());
        std::fs::write(&input, "{}").expect("write");
        match execute(LabelCommand::Sheet {
            input,
            out: out.clone(),
            font: font.clone(),
        }) {
            Err(Failure::Refused(e)) => assert_eq!(e.code(), "label_malformed"),
            other => panic!("expected a refusal, got {other:?}"),
        }

        let mut slip = PackingSlip::example();
        slip.show_prices = true;
        slip.items[0].unit_price_yen = None;
        let input = dir.path().join("slip.json");
        std::fs::write(&input, serde_json::to_string(&slip).expect("JSON")).expect("write");
        let out = dir.path().join("slip.pdf");
        match execute(LabelCommand::Slip {
            input,
            out: out.clone(),
            font,
        }) {
            Err(Failure::Refused(e)) => assert_eq!(e.code(), "slip_price_missing"),
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert!(!out.exists());
    }
}
