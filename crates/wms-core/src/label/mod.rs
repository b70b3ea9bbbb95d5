//! Carrier labels (100×150 mm): one [`LabelModel`], the carriers' rules over it, and its renderings —
//! ZPL for thermal printers ([`render_zpl`]) and a PNG preview for the UI ([`render_png`]).
//! PDF for office printers is a later step.
//!
//! Every renderer validates first ([`LabelModel::validate`]): a label that a carrier would refuse is
//! never drawn, so it can never be printed and stuck on a parcel. Rendering is pure: the font comes in
//! as bytes ([`Font::from_bytes`]), the output goes back as bytes.
//!
//! ```text
//!   LabelModel ──validate──▶ layout (display list, dots) ──┬─▶ zpl.rs      ^XA … ^GFA … ^XZ
//!                                                         └─▶ preview.rs  PNG
//! ```

mod error;
mod font;
mod layout;
mod model;
mod preview;
mod zpl;

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
