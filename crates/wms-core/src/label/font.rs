//! Text rasterisation on the host, so that a ZPL printer needs no Japanese font of its own.
//!
//! Rasteriser: `ab_glyph` (the glyph layer of `glyph_brush`/`imageproc`, Apache-2.0, actively kept).
//! Chosen over `fontdue` because it reads glyphs lazily from the font bytes (`ttf-parser` underneath),
//! whereas fontdue parses every outline when the font is loaded: IPAGothic has ~12,000 glyphs and a
//! label prints perhaps a hundred, so a command-line render would pay most of its time loading. fontdue
//! also asks users not to reuse its (unsafe) raster code on untrusted input; ab_glyph's rasteriser is
//! safe Rust. Neither shapes text, which Japanese horizontal text does not need.

use std::fmt;

use ab_glyph::{Font as _, FontVec, GlyphId, PxScale, ScaleFont as _, point};

use super::error::LabelError;

/// A TrueType/OpenType font with Japanese glyphs (IPAGothic: Debian's `fonts-ipafont-gothic`), built from
/// its bytes. Reading the file is the caller's business: this crate does no I/O.
pub struct Font {
    inner: FontVec,
}

impl fmt::Debug for Font {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Font")
            .field("glyphs", &self.inner.glyph_count())
            .finish_non_exhaustive()
    }
}

/// Characters every label prints: a font without them is not a Japanese label font (a Latin-only
/// font would otherwise fail later, on the first address).
const REQUIRED: [char; 8] = ['〒', '様', '発', '払', '東', 'ア', 'あ', '0'];

/// Grey coverage of one rasterised line of text: 0.0 paper, 1.0 ink; `width × height`, row-major.
pub(crate) struct Coverage {
    pub width: u32,
    pub height: u32,
    pub alpha: Vec<f32>,
}

impl Coverage {
    /// Ink at `(x, y)`, thresholded for 1-bit printing. Slightly below one half, so that the thin
    /// strokes of small kanji (a pixel wide, often straddling two) do not vanish.
    pub fn is_ink(&self, x: u32, y: u32) -> bool {
        self.alpha[(y * self.width + x) as usize] >= 0.45
    }
}

impl Font {
    /// Parse a font and check it can print Japanese labels.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Font, LabelError> {
        let inner = FontVec::try_from_vec(bytes).map_err(|_| LabelError::InvalidFont {
            reason: "not a TrueType or OpenType font",
        })?;
        if REQUIRED.iter().any(|&c| inner.glyph_id(c) == GlyphId(0)) {
            return Err(LabelError::InvalidFont {
                reason: "it has no Japanese glyphs",
            });
        }
        Ok(Font { inner })
    }

    /// The glyphs of `text` and the pen position of each at `px` (line height in pixels), plus the
    /// advance of the whole line. A character the font lacks is an error, never a blank box: an
    /// address printed with a missing character can send a parcel to the wrong place.
    fn shape(&self, text: &str, px: f32) -> Result<(Vec<(GlyphId, f32)>, f32), LabelError> {
        let font = self.inner.as_scaled(PxScale::from(px));
        let mut glyphs = Vec::with_capacity(text.len());
        let mut caret = 0.0f32;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let id = font.glyph_id(c);
            if id == GlyphId(0) && !c.is_whitespace() {
                return Err(LabelError::MissingGlyph { character: c });
            }
            if let Some(p) = previous {
                caret += font.kern(p, id);
            }
            glyphs.push((id, caret));
            caret += font.h_advance(id);
            previous = Some(id);
        }
        Ok((glyphs, caret))
    }

    /// The glyph ids of `text` and the pen position of each at `px`, plus the line's advance: what
    /// the PDF writer places, so that PDF text sits exactly where the layout measured it.
    pub(crate) fn glyphs(&self, text: &str, px: f32) -> Result<(Vec<(u16, f32)>, f32), LabelError> {
        let (glyphs, advance) = self.shape(text, px)?;
        Ok((
            glyphs.into_iter().map(|(id, x)| (id.0, x)).collect(),
            advance,
        ))
    }

    /// The font file itself, for embedding.
    pub(crate) fn data(&self) -> &[u8] {
        self.inner.as_slice()
    }

    /// Font units per em (1000 or 2048 typically; IPAGothic has 2048).
    pub(crate) fn units_per_em(&self) -> f32 {
        self.inner.units_per_em().unwrap_or(1000.0)
    }

    /// Ascent and descent (negative) in font units: `px` in [`Self::rasterise`] is their distance.
    pub(crate) fn vertical_metrics(&self) -> (f32, f32) {
        (self.inner.ascent_unscaled(), self.inner.descent_unscaled())
    }

    /// Advance of glyph `id` in font units.
    pub(crate) fn advance(&self, id: u16) -> f32 {
        self.inner.h_advance_unscaled(GlyphId(id))
    }

    /// Width in pixels of `text` set at `px`.
    pub(crate) fn measure(&self, text: &str, px: f32) -> Result<f32, LabelError> {
        Ok(self.shape(text, px)?.1)
    }

    /// Rasterise one line of `text` at `px`: the box is the line's advance wide and `px` high (ab_glyph's
    /// scale is ascent to descent), so it sits where an ASCII field of height `px` would.
    pub(crate) fn rasterise(&self, text: &str, px: f32) -> Result<Coverage, LabelError> {
        let (glyphs, advance) = self.shape(text, px)?;
        let font = self.inner.as_scaled(PxScale::from(px));
        let ascent = font.ascent();
        // Both are at least 1: a zero-sized field is refused by ZPL and by the PNG blitter.
        let width = (advance.ceil() as u32).max(1);
        let height = ((font.ascent() - font.descent()).ceil() as u32).max(1);
        let mut alpha = vec![0.0f32; (width * height) as usize];
        for (id, x) in glyphs {
            let glyph = id.with_scale_and_position(PxScale::from(px), point(x, ascent));
            let Some(outlined) = self.inner.outline_glyph(glyph) else {
                continue; // spaces have no outline
            };
            let bounds = outlined.px_bounds();
            let (ox, oy) = (bounds.min.x as i64, bounds.min.y as i64);
            outlined.draw(|gx, gy, c| {
                let (x, y) = (ox + i64::from(gx), oy + i64::from(gy));
                if (0..i64::from(width)).contains(&x) && (0..i64::from(height)).contains(&y) {
                    let cell = &mut alpha[(y as u32 * width + x as u32) as usize];
                    *cell = (*cell + c).min(1.0);
                }
            });
        }
        Ok(Coverage {
            width,
            height,
            alpha,
        })
    }
}
