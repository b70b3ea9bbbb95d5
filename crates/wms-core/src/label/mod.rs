//! Carrier labels (100×150 mm): one [`LabelModel`], the carriers' rules over it, and its renderings —
//! ZPL for thermal printers ([`render_zpl`]), a PNG preview for the UI ([`render_png`]), and PDF for
//! office printers: one label on A6 ([`render_pdf`]) or four to an A4 sheet ([`render_pdf_sheet`]).
//! Packing slips (納品書, [`PackingSlip`]) are PDF too ([`render_packing_slip`]).
//!
//! Every renderer validates first ([`LabelModel::validate`]): a label that a carrier would refuse is
//! never drawn, so it can never be printed and stuck on a parcel. Rendering is pure: the font comes in
//! as bytes ([`Font::from_bytes`]), the output goes back as bytes.
//!
//! ```text
//!   LabelModel ──validate──▶ layout (display list, dots) ──┬─▶ zpl.rs      ^XA … ^GFA … ^XZ
//!                                                         ├─▶ preview.rs  PNG
//!                                                         └─▶ pdf.rs      PDF (text + vectors)
//! ```

mod error;
mod font;
mod layout;
mod model;
mod pdf;
mod preview;
mod slip;
mod zpl;

#[cfg(test)]
mod pdf_tests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use error::{LabelError, LabelField, PartyRole};
pub use font::Font;
pub use model::{
    CoolType, LabelModel, MAX_ADDRESS_LINES, Party, Piece, SAGAWA_MAX_LINE_WIDTH, ServiceType,
    TimeSlot, display_width, slash_date,
};
pub use slip::{PackingSlip, SlipItem};

/// Printer resolution. The two that label printers ship with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Dpi {
    /// 8 dots/mm: a 4×6 in label is 812 × 1218 dots.
    #[default]
    D203,
    /// 12 dots/mm: 1200 × 1800 dots.
    D300,
}

impl Dpi {
    #[must_use]
    pub const fn dots_per_inch(self) -> u32 {
        match self {
            Dpi::D203 => 203,
            Dpi::D300 => 300,
        }
    }
}

impl fmt::Display for Dpi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dots_per_inch())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported resolution `{0}` (expected 203 or 300)")]
pub struct UnknownDpi(pub String);

impl FromStr for Dpi {
    type Err = UnknownDpi;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "203" => Ok(Dpi::D203),
            "300" => Ok(Dpi::D300),
            other => Err(UnknownDpi(other.to_owned())),
        }
    }
}

/// The label as ZPL II for a thermal printer at `dpi`: 100×150 mm, NW-7 (Codabar, start/stop `A`),
/// Code 128 and QR of the tracking number, Japanese text as `^GFA` bitmaps. The bytes are ASCII.
pub fn render_zpl(model: &LabelModel, dpi: Dpi, font: &Font) -> Result<Vec<u8>, LabelError> {
    model.validate()?;
    let layout = layout::build(model, font, dpi.dots_per_inch())?;
    zpl::emit(&layout, font)
}

/// A PNG preview of the label as it prints at 203 dpi (812 × 1218 pixels, greyscale).
pub fn render_png(model: &LabelModel, font: &Font) -> Result<Vec<u8>, LabelError> {
    model.validate()?;
    let layout = layout::build(model, font, Dpi::D203.dots_per_inch())?;
    preview::draw(&layout, font)
}

/// The resolution PDF labels are laid out at: barcode modules are whole dots at 300 dpi, so they
/// rasterise cleanly at the 300 and 600 dpi of office printers.
const PDF_LAYOUT_DPI: Dpi = Dpi::D300;

/// The label as a PDF page of A6 (105×148 mm) for office printers: the 4×6 in label scaled to fit the
/// page inside the printer's margins, text as real text in the embedded (subset) font, NW-7, Code 128
/// and QR as vector rectangles. Deterministic: the same model and font give the same bytes.
pub fn render_pdf(model: &LabelModel, font: &Font) -> Result<Vec<u8>, LabelError> {
    model.validate()?;
    let layout = layout::build(model, font, PDF_LAYOUT_DPI.dots_per_inch())?;
    let mut doc = pdf::Document::new(font);
    doc.page(pdf::A6, |page| {
        page.label(
            &layout,
            PDF_LAYOUT_DPI.dots_per_inch(),
            (0.0, 0.0, pdf::A6.0, pdf::A6.1),
        )
    })?;
    doc.finish(
        &format!("{} {}", model.carrier(), model.tracking),
        model.ship_date,
    )
}

/// Labels four to an A4 page (2×2, each quarter being an A6 cell laid out as [`render_pdf`]), in
/// order, left to right then top to bottom, for A4 sheets of four labels on laser printers. Every
/// label is checked first: if one is refused ([`LabelError::InSheet`] says which), none is drawn.
pub fn render_pdf_sheet(models: &[LabelModel], font: &Font) -> Result<Vec<u8>, LabelError> {
    let Some(first) = models.first() else {
        return Err(LabelError::SheetEmpty);
    };
    let in_sheet = |index: usize| {
        move |error: LabelError| LabelError::InSheet {
            index,
            error: Box::new(error),
        }
    };
    let dpi = PDF_LAYOUT_DPI.dots_per_inch();
    let layouts = models
        .iter()
        .enumerate()
        .map(|(i, model)| {
            model.validate().map_err(in_sheet(i))?;
            layout::build(model, font, dpi).map_err(in_sheet(i))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (cell_w, cell_h) = (pdf::A4.0 / 2.0, pdf::A4.1 / 2.0);
    let mut doc = pdf::Document::new(font);
    for (p, chunk) in layouts.chunks(4).enumerate() {
        doc.page(pdf::A4, |page| {
            for (i, layout) in chunk.iter().enumerate() {
                let (col, row) = ((i % 2) as f32, (i / 2) as f32);
                page.label(layout, dpi, (col * cell_w, row * cell_h, cell_w, cell_h))
                    .map_err(in_sheet(p * 4 + i))?;
            }
            Ok(())
        })?;
    }
    let date = models
        .iter()
        .map(|m| m.ship_date)
        .min()
        .unwrap_or(first.ship_date);
    doc.finish(&format!("labels ({})", models.len()), date)
}

/// A packing slip (納品書) as an A4 PDF, as many pages as its items need. Checked first
/// ([`PackingSlip::validate`]).
pub fn render_packing_slip(slip: &PackingSlip, font: &Font) -> Result<Vec<u8>, LabelError> {
    slip.validate()?;
    slip::draw(slip, font)
}
