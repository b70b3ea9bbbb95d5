//! Wall time per label of each renderer, criterion-free:
//! `cargo run --release -p wms-core --example label_bench [N]` (default N = 200).
//!
//! Renders the Yamato example label N times as ZPL at 203 dpi, ZPL at 300 dpi and PDF (A6), after one
//! warm-up render each, and prints milliseconds per label. Font: `WMS_LABEL_FONT` or IPAGothic from
//! Debian's fonts-ipafont-gothic.

use std::io::Write as _;
use std::time::Instant;

use wms_core::label::{Dpi, Font, LabelError, LabelModel, render_pdf, render_zpl};
use wms_core::tracking::Carrier;

const DEFAULT_FONT: &str = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u32 = match std::env::args().nth(1) {
        Some(arg) => arg.parse()?,
        None => 200,
    };
    let path = std::env::var("WMS_LABEL_FONT").unwrap_or_else(|_| DEFAULT_FONT.to_owned());
    let font = Font::from_bytes(std::fs::read(&path)?)?;
    let model = LabelModel::example(Carrier::Yamato)?;
    let renderers: [(&str, &dyn Fn() -> Result<Vec<u8>, LabelError>); 3] = [
        ("ZPL 203 dpi", &|| render_zpl(&model, Dpi::D203, &font)),
        ("ZPL 300 dpi", &|| render_zpl(&model, Dpi::D300, &font)),
        ("PDF A6", &|| render_pdf(&model, &font)),
    ];
    let mut out = std::io::stdout().lock();
    writeln!(out, "{n} labels each, font {path}")?;
    for (name, render) in renderers {
        let size = render()?.len();
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(render()?);
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(n.max(1));
        writeln!(out, "{name:<12} {ms:>8.2} ms/label  ({size} bytes)")?;
    }
    Ok(())
}
