//! PNG preview of a label for the UI: the same display list as the ZPL, drawn at 203 dpi.
//!
//! Barcodes come from `barcoders` (NW-7, Code 128) and `qrcode` (already the project's QR encoder for
//! TOTP enrolment), so the preview is drawn by encoders independent of the printer's; the tests decode
//! both. Text keeps its grey anti-aliasing here (a screen is not a 1-bit printer).

use barcoders::sym::codabar::Codabar;
use barcoders::sym::code128::Code128;
use qrcode::{Color, EcLevel, QrCode};

use super::error::LabelError;
use super::font::Font;
use super::layout::{Layout, Op};

/// An 8-bit grey page, 255 = paper.
struct Canvas {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: u32, height: u32) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![255; (width * height) as usize],
        }
    }

    /// Paint `value` over a rectangle, clipped to the page.
    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32) {
        let (x1, y1) = ((x + w).min(self.width), (y + h).min(self.height));
        for row in y.min(y1)..y1 {
            let start = (row * self.width) as usize;
            self.pixels[start + x.min(x1) as usize..start + x1 as usize].fill(0);
        }
    }

    /// Draw bars left to right from `x`: each element is (bar?, width in dots).
    fn bars(&mut self, x: u32, y: u32, height: u32, elements: &[(bool, u32)]) {
        let mut cx = x;
        for &(bar, w) in elements {
            if bar {
                self.fill(cx, y, w, height);
            }
            cx += w;
        }
    }
}

fn encoding_error(what: &'static str) -> impl Fn(barcoders::error::Error) -> LabelError {
    move |e| LabelError::Encoding {
        what,
        message: e.to_string(),
    }
}

/// Runs of equal modules as (bar?, run length).
fn runs(modules: &[u8]) -> Vec<(bool, u32)> {
    let mut out: Vec<(bool, u32)> = Vec::new();
    for &m in modules {
        let bar = m != 0;
        match out.last_mut() {
            Some((b, n)) if *b == bar => *n += 1,
            _ => out.push((bar, 1)),
        }
    }
    out
}

/// NW-7 `A<digits>A`. `barcoders` draws wide elements two modules wide; printers use `ratio` (3 here,
/// as `^BY3,3`), so each run of two becomes one wide element of `ratio × module` dots.
pub(crate) fn codabar(
    digits: &str,
    module: u32,
    ratio: u32,
) -> Result<Vec<(bool, u32)>, LabelError> {
    let modules = Codabar::new(format!("A{digits}A"))
        .map_err(encoding_error("NW-7 barcode"))?
        .encode();
    Ok(runs(&modules)
        .into_iter()
        .map(|(bar, n)| (bar, if n >= 2 { ratio * module } else { module }))
        .collect())
}

/// Code 128 in subset C (`Ć` is barcoders' spelling of "start C").
pub(crate) fn code128(digits: &str, module: u32) -> Result<Vec<(bool, u32)>, LabelError> {
    let modules = Code128::new(format!("Ć{digits}"))
        .map_err(encoding_error("Code 128 barcode"))?
        .encode();
    Ok(runs(&modules)
        .into_iter()
        .map(|(bar, n)| (bar, n * module))
        .collect())
}

/// QR of `digits`, error correction M (as the ZPL's `^BQN,2,…^FDMA,`): the side in modules and the
/// modules row by row, `true` for dark.
pub(crate) fn qr(digits: &str) -> Result<(u32, Vec<bool>), LabelError> {
    let code = QrCode::with_error_correction_level(digits.as_bytes(), EcLevel::M).map_err(|e| {
        LabelError::Encoding {
            what: "QR code",
            message: e.to_string(),
        }
    })?;
    let n = code.width() as u32;
    let dark = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok((n, dark))
}

fn png(canvas: &Canvas) -> Result<Vec<u8>, LabelError> {
    let error = |e: png::EncodingError| LabelError::Encoding {
        what: "PNG preview",
        message: e.to_string(),
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, canvas.width, canvas.height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(error)?;
    writer.write_image_data(&canvas.pixels).map_err(error)?;
    writer.finish().map_err(error)?;
    Ok(out)
}

/// Draw a laid-out label and encode it as an 8-bit greyscale PNG.
pub(crate) fn draw(layout: &Layout, font: &Font) -> Result<Vec<u8>, LabelError> {
    let mut canvas = Canvas::new(layout.width, layout.height);
    for op in &layout.ops {
        match op {
            Op::Fill { x, y, w, h } => canvas.fill(*x, *y, *w, *h),
            Op::Text { x, y, px, text } => {
                let glyphs = font.rasterise(text, *px as f32)?;
                for gy in 0..glyphs.height {
                    for gx in 0..glyphs.width {
                        let (cx, cy) = (x + gx, y + gy);
                        if cx >= canvas.width || cy >= canvas.height {
                            continue;
                        }
                        let a = glyphs.alpha[(gy * glyphs.width + gx) as usize];
                        let ink = 255 - (a * 255.0).round() as u8;
                        let cell = &mut canvas.pixels[(cy * canvas.width + cx) as usize];
                        *cell = (*cell).min(ink);
                    }
                }
            }
            Op::Codabar {
                x,
                y,
                module,
                ratio,
                height,
                digits,
            } => canvas.bars(*x, *y, *height, &codabar(digits, *module, *ratio)?),
            Op::Code128 {
                x,
                y,
                module,
                height,
                digits,
            } => canvas.bars(*x, *y, *height, &code128(digits, *module)?),
            Op::Qr {
                x,
                y,
                module,
                digits,
            } => {
                let (n, dark) = qr(digits)?;
                for (i, _) in dark.iter().enumerate().filter(|(_, d)| **d) {
                    let (mx, my) = (i as u32 % n, i as u32 / n);
                    canvas.fill(x + mx * module, y + my * module, *module, *module);
                }
            }
        }
    }
    png(&canvas)
}
