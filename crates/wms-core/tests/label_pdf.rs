#![allow(clippy::unwrap_used, clippy::expect_used)]
//! PDF labels and slips through the real poppler tools, as an office printer's driver would read
//! them: `pdftoppm -r 300` rasterises each page and `rxing` must read the tracking number back from
//! the NW-7, Code 128 and QR on it; `pdftotext` must find the Japanese recipient name and address
//! (text, not pictures of text); `pdffonts` must list the font as embedded.
//!
//! Needs poppler-utils and IPAGothic (fonts-ipafont-gothic, or `WMS_LABEL_FONT`). Without them the
//! tests skip with a message locally and fail under `CI=true`. Set `WMS_LABEL_TEST_OUT=DIR` to keep
//! the PDFs and PNGs.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use rxing::BarcodeFormat;
use wms_core::label::{
    Font, LabelModel, PackingSlip, render_packing_slip, render_pdf, render_pdf_sheet,
};
use wms_core::tracking::Carrier;

const DEFAULT_FONT: &str = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf";

fn missing(what: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {what}: the PDF tests must run in CI"
    );
    eprintln!("SKIPPED: {what}");
}

/// The font and the poppler tools, or None (skip) outside CI; panics in CI.
fn setup() -> Option<&'static Font> {
    static FONT: OnceLock<Option<Font>> = OnceLock::new();
    FONT.get_or_init(|| {
        for tool in ["pdftoppm", "pdftotext", "pdffonts"] {
            if Command::new(tool).arg("-v").output().is_err() {
                missing(&format!(
                    "{tool} is not installed (apt-get install poppler-utils)"
                ));
                return None;
            }
        }
        let path = std::env::var("WMS_LABEL_FONT").unwrap_or_else(|_| DEFAULT_FONT.to_owned());
        match std::fs::read(&path) {
            Ok(bytes) => Some(Font::from_bytes(bytes).expect("the label font parses")),
            Err(e) => {
                missing(&format!(
                    "no label font at {path} ({e}): apt-get install fonts-ipafont-gothic"
                ));
                None
            }
        }
    })
    .as_ref()
}

/// A directory for the files: `WMS_LABEL_TEST_OUT` when set (kept), else a fresh temporary one.
fn workdir(name: &str) -> (PathBuf, Option<tempfile::TempDir>) {
    if let Ok(dir) = std::env::var("WMS_LABEL_TEST_OUT") {
        let dir = PathBuf::from(dir).join(name);
        std::fs::create_dir_all(&dir).unwrap();
        return (dir, None);
    }
    let tmp = tempfile::tempdir().unwrap();
    (tmp.path().to_owned(), Some(tmp))
}

fn run(tool: &str, args: &[&str]) -> String {
    let output = Command::new(tool).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Page `page` (from 1) of `pdf` at 300 dpi as 8-bit grey pixels.
fn rasterise(pdf: &Path, page: usize) -> (Vec<u8>, u32, u32) {
    let prefix = pdf.with_extension("");
    let prefix = prefix.to_str().unwrap();
    let n = page.to_string();
    run(
        "pdftoppm",
        &[
            "-r",
            "300",
            "-png",
            "-gray",
            "-f",
            &n,
            "-l",
            &n,
            "-singlefile",
            pdf.to_str().unwrap(),
            prefix,
        ],
    );
    let png_bytes = std::fs::read(format!("{prefix}.png")).unwrap();
    let mut decoder = png::Decoder::new(Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    // `-gray` paints grey, but poppler 22 still writes RGB PNGs: take one channel of each pixel.
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| p[0])
        .collect();
    (pixels, info.width, info.height)
}

/// A rectangle of a grey image.
fn crop(image: &(Vec<u8>, u32, u32), x: u32, y: u32, w: u32, h: u32) -> (Vec<u8>, u32, u32) {
    let (pixels, width, _) = image;
    let mut out = Vec::with_capacity((w * h) as usize);
    for row in y..y + h {
        let start = (row * width + x) as usize;
        out.extend_from_slice(&pixels[start..start + w as usize]);
    }
    (out, w, h)
}

/// NW-7, Code 128 and QR on the image all read as `digits` (NW-7 without its start/stop).
fn assert_barcodes(image: &(Vec<u8>, u32, u32), digits: &str, what: &str) {
    let (pixels, width, height) = image;
    for format in [
        BarcodeFormat::CODABAR,
        BarcodeFormat::CODE_128,
        BarcodeFormat::QR_CODE,
    ] {
        let result = rxing::helpers::detect_in_luma(pixels.clone(), *width, *height, Some(format))
            .unwrap_or_else(|e| panic!("{what}: no {format:?} found: {e}"));
        let text = result.getText();
        // rxing returns NW-7 without its start/stop characters (zbarimg would print `A…A`).
        let text = text
            .trim_start_matches(['A', 'B', 'C', 'D'])
            .trim_end_matches(['A', 'B', 'C', 'D']);
        assert_eq!(text, digits, "{what}: {format:?}");
    }
}

fn assert_font_embedded(pdf: &Path) {
    let fonts = run("pdffonts", &[pdf.to_str().unwrap()]);
    let line = fonts
        .lines()
        .find(|l| l.contains("CID TrueType"))
        .unwrap_or_else(|| panic!("no CID TrueType font in\n{fonts}"));
    // name, type (2 words), encoding, then emb sub uni.
    let columns: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &columns[4..7],
        ["yes", "yes", "yes"],
        "embedded, subset, ToUnicode:\n{fonts}"
    );
    assert!(columns[0].ends_with("+IPAGothic") || std::env::var("WMS_LABEL_FONT").is_ok());
}

fn assert_text(pdf: &Path, lines: &[String]) {
    let text = run("pdftotext", &["-enc", "UTF-8", pdf.to_str().unwrap(), "-"]);
    for line in lines {
        assert!(
            text.contains(line.as_str()),
            "{line:?} not in pdftotext output:\n{text}"
        );
    }
}

fn recipient_lines(model: &LabelModel) -> Vec<String> {
    let mut lines = vec![
        format!("{} 様", model.recipient.name),
        format!("〒{}", model.recipient.postal_code),
    ];
    lines.extend(model.recipient.address_lines.iter().cloned());
    lines
}

#[test]
fn a6_label_scans_and_reads_back() {
    let Some(font) = setup() else { return };
    let (dir, _tmp) = workdir("a6");
    for carrier in Carrier::ALL {
        let model = LabelModel::example(carrier).unwrap();
        let path = dir.join(format!("{carrier}.pdf"));
        std::fs::write(&path, render_pdf(&model, font).unwrap()).unwrap();
        let image = rasterise(&path, 1);
        // A6 at 300 dpi (poppler rounds up).
        assert!(
            image.1.abs_diff(1240) <= 1 && image.2.abs_diff(1748) <= 1,
            "{}x{}",
            image.1,
            image.2
        );
        assert_barcodes(&image, &model.tracking.digits(), &format!("{carrier} A6"));
        assert_text(&path, &recipient_lines(&model));
        assert_font_embedded(&path);
    }
}

#[test]
fn a4_sheet_scans_label_by_label() {
    let Some(font) = setup() else { return };
    let (dir, _tmp) = workdir("sheet");
    let mut models: Vec<LabelModel> = Carrier::ALL
        .into_iter()
        .map(|c| LabelModel::example(c).unwrap())
        .collect();
    // A fourth label, another Yamato parcel with the next number.
    let mut next = models[0].clone();
    next.tracking =
        wms_core::tracking::TrackingNumber::new(Carrier::Yamato, "444413758714").unwrap();
    models.push(next);
    let path = dir.join("sheet.pdf");
    std::fs::write(&path, render_pdf_sheet(&models, font).unwrap()).unwrap();
    let image = rasterise(&path, 1);
    let (w, h) = (image.1 / 2, image.2 / 2);
    for (i, model) in models.iter().enumerate() {
        let (col, row) = (i as u32 % 2, i as u32 / 2);
        let quarter = crop(&image, col * w, row * h, w, h);
        assert_barcodes(
            &quarter,
            &model.tracking.digits(),
            &format!("sheet label {}", i + 1),
        );
    }
    assert_text(&path, &recipient_lines(&models[0]));
    assert_font_embedded(&path);
}

#[test]
fn packing_slip_reads_back() {
    let Some(font) = setup() else { return };
    let (dir, _tmp) = workdir("slip");
    let mut slip = PackingSlip::example();
    slip.show_prices = true;
    let path = dir.join("slip.pdf");
    std::fs::write(&path, render_packing_slip(&slip, font).unwrap()).unwrap();
    let mut lines = vec![
        "納品書".to_owned(),
        format!("{} 様", slip.recipient.name),
        format!("〒{}", slip.recipient.postal_code),
        format!("注文番号 {}", slip.order_reference),
        "合計金額 3,840円".to_owned(),
    ];
    lines.extend(slip.recipient.address_lines.iter().cloned());
    lines.extend(slip.items.iter().map(|i| i.name.clone()));
    lines.extend(slip.items.iter().map(|i| i.sku.clone()));
    assert_text(&path, &lines);
    assert_font_embedded(&path);
}
