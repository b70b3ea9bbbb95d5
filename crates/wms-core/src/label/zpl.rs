//! ZPL II for thermal label printers (Zebra and ZPL-compatible SATO/TSC).
//!
//! Japanese text is the hard part: a printer prints it only with a downloaded Kanji font (`~DU`, `^CW`,
//! `^A@`), which differs by model and is often absent. So every field that is not plain ASCII is
//! rasterised here and sent as a `^GFA` graphic field (1 bit per dot, rows padded to whole bytes, hex),
//! which every ZPL printer prints. ASCII (phones, numbers, codes) uses the printer's scalable font `^A0`,
//! crisper and smaller on the wire. The output is therefore pure ASCII bytes.

use std::fmt::Write as _;

use super::error::LabelError;
use super::font::{Coverage, Font};
use super::layout::{Layout, Op};

/// `^GFA,<total bytes>,<total bytes>,<bytes per row>,<hex>`: uncompressed ASCII hex, the form every
/// ZPL printer accepts.
fn graphic_field(out: &mut String, bitmap: &Coverage) {
    let row_bytes = bitmap.width.div_ceil(8);
    let mut bytes = vec![0u8; (row_bytes * bitmap.height) as usize];
    for y in 0..bitmap.height {
        for x in 0..bitmap.width {
            if bitmap.is_ink(x, y) {
                bytes[(y * row_bytes + x / 8) as usize] |= 0x80 >> (x % 8);
            }
        }
    }
    let total = bytes.len();
    let _ = write!(
        out,
        "^GFA,{total},{total},{row_bytes},{}",
        hex::encode_upper(&bytes)
    );
}

/// Field data for `^FD`: `^` and `~` would start a command, so they (and `_`, the escape character
/// itself) go through `^FH` hex escapes.
fn field_data(out: &mut String, text: &str) {
    if text.contains(['^', '~', '_']) {
        out.push_str("^FH_^FD");
        for c in text.chars() {
            match c {
                '^' => out.push_str("_5E"),
                '~' => out.push_str("_7E"),
                '_' => out.push_str("_5F"),
                c => out.push(c),
            }
        }
    } else {
        out.push_str("^FD");
        out.push_str(text);
    }
}

/// The ZPL of a laid-out label: one format (`^XA … ^XZ`), UTF-8 declared (`^CI28`), width and length
/// set so the printer does not rely on its stored media settings.
pub(crate) fn emit(layout: &Layout, font: &Font) -> Result<Vec<u8>, LabelError> {
    let mut out = String::with_capacity(96 * 1024);
    let _ = write!(
        out,
        "^XA\n^CI28\n^PW{}\n^LL{}\n^LH0,0\n",
        layout.width, layout.height
    );
    for op in &layout.ops {
        match op {
            Op::Fill { x, y, w, h } => {
                let t = (*w).min(*h);
                let _ = write!(out, "^FO{x},{y}^GB{w},{h},{t},B,0^FS");
            }
            Op::Text { x, y, px, text } if text.is_ascii() => {
                let _ = write!(out, "^FO{x},{y}^A0N,{px},{px}");
                field_data(&mut out, text);
                out.push_str("^FS");
            }
            Op::Text { x, y, px, text } => {
                let bitmap = font.rasterise(text, *px as f32)?;
                let _ = write!(out, "^FO{x},{y}");
                graphic_field(&mut out, &bitmap);
                out.push_str("^FS");
            }
            Op::Codabar {
                x,
                y,
                module,
                ratio,
                height,
                digits,
            } => {
                // ^BK orientation, no check digit, height, no interpretation line (the number is
                // printed grouped NNNN-NNNN-NNNN below instead), start A, stop A.
                let _ = write!(
                    out,
                    "^FO{x},{y}^BY{module},{ratio},{height}^BKN,N,{height},N,N,A,A^FD{digits}^FS"
                );
            }
            Op::Code128 {
                x,
                y,
                module,
                height,
                digits,
            } => {
                // `>;` starts in subset C (two digits per symbol): half the width of subset B.
                let _ = write!(
                    out,
                    "^FO{x},{y}^BY{module}^BCN,{height},N,N,N^FD>;{digits}^FS"
                );
            }
            Op::Qr {
                x,
                y,
                module,
                digits,
            } => {
                // Model 2; `MA,`: error correction M, automatic input mode (numeric for digits).
                // Zebra firmware (ZD621, as captured by the `zpl` crate) moves QR ink down by the
                // current `^BY` height minus one dot, where the guide puts it at `^FO`: resetting the
                // height to its default (10) first bounds the difference to 9 dots on either kind.
                let _ = write!(out, "^BY2,2,10^FO{x},{y}^BQN,2,{module}^FDMA,{digits}^FS");
            }
        }
        out.push('\n');
    }
    out.push_str("^XZ\n");
    Ok(out.into_bytes())
}
