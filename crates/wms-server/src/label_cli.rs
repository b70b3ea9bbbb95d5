//! `wms-server label …`: carrier labels from the command line, for scripts and outside tests.
//!
//! The contract (issue 5), whose names must not change:
//! - `wms-server label example [--carrier yamato|sagawa]` prints a label model as JSON (the serde form
//!   of [`wms_core::label::LabelModel`]) with a valid tracking number;
//! - `wms-server label render --input LABEL.json --format zpl|pdf|png [--dpi 203|300] --out FILE`
//!   renders it; a model the carrier's rules refuse exits non-zero with the reason and writes nothing.
//!
//! These commands need no settings, database or runtime: they read files and write one.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use wms_core::label::{Dpi, Font, LabelError, LabelModel, render_png, render_zpl};
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
            let as_png = match format {
                LabelFormat::Zpl => false,
                LabelFormat::Png => true,
                LabelFormat::Pdf => {
                    return Err(anyhow::anyhow!(
                        "PDF labels are not built yet: use --format zpl or --format png"
                    )
                    .into());
                }
            };
            let json = std::fs::read_to_string(&input)
                .with_context(|| format!("reading {}", input.display()))?;
            let model = LabelModel::from_json(&json)?;
            // The rules first, so that a refused label is reported as such even without a font.
            model.validate()?;
            let bytes = std::fs::read(&font).with_context(|| {
                format!(
                    "reading the label font {} (install fonts-ipafont-gothic, or give --font or WMS_LABEL_FONT)",
                    font.display()
                )
            })?;
            let font = Font::from_bytes(bytes)?;
            let rendered = if as_png {
                render_png(&model, &font)?
            } else {
                render_zpl(&model, dpi, &font)?
            };
            write_atomically(&out, &rendered)?;
            Ok(())
        }
    }
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
    fn pdf_is_not_built_yet() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (out, result) = render(dir.path(), &example(Carrier::Yamato), LabelFormat::Pdf);
        match result {
            Err(Failure::Other(e)) => {
                assert!(
                    e.to_string().contains("PDF labels are not built yet"),
                    "{e}"
                );
            }
            other => panic!("expected an error, got {other:?}"),
        }
        assert!(!out.exists());
    }
}
