//! PDF for office and laser printers: the label on A6 or four to an A4 sheet, and packing slips.
//!
//! Writer: `pdf-writer` (typst's low-level writer: it writes exactly the objects asked for, no I/O, no
//! clock) with `subsetter` (typst's TrueType subsetter) for the font. Chosen over `printpdf` because
//! the PDF must hold *text* (a packer searches a slip, `pdftotext` checks it) in an embedded CJK font,
//! which needs a Type 0 / CIDFontType2 font with Identity-H and a ToUnicode map: pdf-writer has typed
//! writers for each of those objects and nothing in the way; only the glyphs used are embedded
//! (IPAGothic is 6 MB, a label uses about a hundred glyphs).
//!
//! Everything is drawn in vector: text as text, barcodes and QR as filled rectangles, from the same
//! encoders as the PNG preview (`preview.rs`), so the PDF scans the way the preview does.
//!
//! Output is deterministic, byte for byte: no clock (the creation date is the document's own date,
//! e.g. the ship date), and the file identifier is a hash of the content.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish as _, Name, Pdf, Rect, Ref, Str, TextStr};
use sha2::{Digest as _, Sha256};
use subsetter::GlyphRemapper;
use time::Date;

use super::error::LabelError;
use super::font::Font;
use super::layout::{Layout, Op};
use super::preview::{codabar, code128, qr};

/// Points per millimetre.
pub(crate) const MM: f32 = 72.0 / 25.4;
/// A6 portrait, in points.
pub(crate) const A6: (f32, f32) = (105.0 * MM, 148.0 * MM);
/// A4 portrait, in points.
pub(crate) const A4: (f32, f32) = (210.0 * MM, 297.0 * MM);
/// What office printers cannot print at the edge of a sheet (about 4 mm on common lasers): the label
/// is scaled to stay inside it rather than lose its border or a barcode's quiet zone.
const PRINTER_MARGIN: f32 = 4.0 * MM;

/// The resource name of the one font every document uses.
const FONT_RESOURCE: Name<'static> = Name(b"F1");

/// A PDF being built: pages of content, and the glyphs they use (for the font subset).
pub(crate) struct Document<'f> {
    font: &'f Font,
    /// Original glyph id → CID (the glyph's id in the subset), in order of first use.
    glyphs: GlyphRemapper,
    /// CID → the character it was drawn for, for the ToUnicode map (what `pdftotext` reads back).
    unicode: BTreeMap<u16, char>,
    pages: Vec<PageOut>,
}

struct PageOut {
    width: f32,
    height: f32,
    content: Vec<u8>,
}

/// One page being drawn. Coordinates are points from the top-left corner, y downwards, as the
/// layouts are designed; the page's content starts with the flip into PDF's y-up space.
pub(crate) struct Page<'d, 'f> {
    doc: &'d mut Document<'f>,
    content: Content,
}

impl<'f> Document<'f> {
    pub(crate) fn new(font: &'f Font) -> Document<'f> {
        Document {
            font,
            glyphs: GlyphRemapper::new(),
            unicode: BTreeMap::new(),
            pages: Vec::new(),
        }
    }

    /// Add a page of `width × height` points and draw it with `draw`.
    pub(crate) fn page(
        &mut self,
        (width, height): (f32, f32),
        draw: impl FnOnce(&mut Page<'_, 'f>) -> Result<(), LabelError>,
    ) -> Result<(), LabelError> {
        let mut content = Content::new();
        content.transform([1.0, 0.0, 0.0, -1.0, 0.0, height]);
        let mut page = Page { doc: self, content };
        draw(&mut page)?;
        let content = page.content.finish().into_vec();
        self.pages.push(PageOut {
            width,
            height,
            content,
        });
        Ok(())
    }

    /// The finished PDF: pages, the embedded font subset, and an information dictionary.
    pub(crate) fn finish(self, title: &str, date: Date) -> Result<Vec<u8>, LabelError> {
        let encoding = |message: String| LabelError::Encoding {
            what: "PDF font",
            message,
        };
        let subset = subsetter::subset(self.font.data(), 0, &self.glyphs)
            .map_err(|e| encoding(e.to_string()))?;
        let face =
            ttf_parser::Face::parse(self.font.data(), 0).map_err(|e| encoding(e.to_string()))?;

        // Identical input, identical bytes: the file id and the subset tag are hashes of what is drawn.
        let mut hash = Sha256::new();
        for page in &self.pages {
            hash.update(page.content.len().to_be_bytes());
            hash.update(&page.content);
        }
        hash.update(&subset);
        let digest = hash.finalize();
        let file_id = digest[..16].to_vec();
        // A subset's font name is prefixed with six capital letters (PDF 32000-1, 9.6.4).
        let tag: String = digest[16..22]
            .iter()
            .map(|b| char::from(b'A' + b % 26))
            .collect();
        let postscript = postscript_name(&face);
        let base_font = format!("{tag}+{postscript}");

        let mut pdf = Pdf::new();
        pdf.set_file_id((file_id.clone(), file_id));
        let catalog = Ref::new(1);
        let page_tree = Ref::new(2);
        let info = Ref::new(3);
        let type0 = Ref::new(4);
        let cid_font = Ref::new(5);
        let descriptor = Ref::new(6);
        let cmap = Ref::new(7);
        let font_file = Ref::new(8);
        let first_page = 9;
        let page_refs: Vec<Ref> = (0..self.pages.len())
            .map(|i| Ref::new(first_page + 2 * i as i32))
            .collect();

        pdf.catalog(catalog).pages(page_tree);
        pdf.pages(page_tree)
            .kids(page_refs.iter().copied())
            .count(page_refs.len() as i32);
        pdf.document_info(info)
            .title(TextStr(title))
            .producer(TextStr("Jilian WMS"))
            .creation_date(
                pdf_writer::Date::new(date.year().clamp(0, 9999) as u16)
                    .month(u8::from(date.month()))
                    .day(date.day())
                    .hour(0)
                    .minute(0)
                    .second(0)
                    .utc_offset_hour(9),
            );

        for (page, &id) in self.pages.iter().zip(&page_refs) {
            let content_id = Ref::new(id.get() + 1);
            let mut writer = pdf.page(id);
            writer
                .parent(page_tree)
                .media_box(Rect::new(0.0, 0.0, page.width, page.height))
                .contents(content_id);
            writer.resources().fonts().pair(FONT_RESOURCE, type0);
            writer.finish();
            let compressed = deflate(&page.content);
            pdf.stream(content_id, &compressed)
                .filter(Filter::FlateDecode);
        }

        // The font: Type 0 with Identity-H over a CIDFontType2 whose CIDs are the subset's glyph ids.
        let upem = self.font.units_per_em();
        let to_pdf = |v: f32| v * 1000.0 / upem;
        let system_info = SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        };
        pdf.type0_font(type0)
            .base_font(Name(base_font.as_bytes()))
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_font)
            .to_unicode(cmap);
        let widths: Vec<f32> = self
            .glyphs
            .remapped_gids()
            .map(|gid| to_pdf(self.font.advance(gid)))
            .collect();
        let mut cid = pdf.cid_font(cid_font);
        cid.subtype(CidFontType::Type2)
            .base_font(Name(base_font.as_bytes()))
            .system_info(system_info)
            .font_descriptor(descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        cid.widths().consecutive(0, widths);
        cid.finish();

        let bbox = face.global_bounding_box();
        let mut flags = FontFlags::SYMBOLIC;
        if face.is_monospaced() {
            flags |= FontFlags::FIXED_PITCH;
        }
        let (ascent, descent) = self.font.vertical_metrics();
        let weight = f32::from(face.weight().to_number());
        pdf.font_descriptor(descriptor)
            .name(Name(base_font.as_bytes()))
            .flags(flags)
            .bbox(Rect::new(
                to_pdf(f32::from(bbox.x_min)),
                to_pdf(f32::from(bbox.y_min)),
                to_pdf(f32::from(bbox.x_max)),
                to_pdf(f32::from(bbox.y_max)),
            ))
            .italic_angle(face.italic_angle())
            .ascent(to_pdf(ascent))
            .descent(to_pdf(descent))
            .cap_height(to_pdf(f32::from(
                face.capital_height().unwrap_or(face.ascender()),
            )))
            // No stem width in TrueType; the usual estimate from the weight class.
            .stem_v(10.0 + 0.244 * (weight - 50.0))
            .font_file2(font_file);

        let mut unicode = UnicodeCmap::new(Name(b"Custom"), system_info);
        for (&cid, &c) in &self.unicode {
            unicode.pair(cid, c);
        }
        pdf.cmap(cmap, unicode.finish().as_slice());
        let compressed = deflate(&subset);
        pdf.stream(font_file, &compressed)
            .filter(Filter::FlateDecode);

        Ok(pdf.finish())
    }
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(bytes, 6)
}

/// The font's PostScript name (name id 6), made safe for a PDF name; a fixed one when it has none.
fn postscript_name(face: &ttf_parser::Face<'_>) -> String {
    face.names()
        .into_iter()
        .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .find_map(|n| n.to_string())
        .map(|n| {
            n.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect::<String>()
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "LabelFont".to_owned())
}

impl<'f> Page<'_, 'f> {
    pub(crate) fn font(&self) -> &'f Font {
        self.doc.font
    }

    /// A filled rectangle.
    pub(crate) fn fill(&mut self, x: f32, y: f32, w: f32, h: f32) {
        self.content.rect(x, y, w, h).fill_nonzero();
    }

    /// A fill in grey (`0.0` black … `1.0` white), then back to black.
    pub(crate) fn fill_grey(&mut self, x: f32, y: f32, w: f32, h: f32, grey: f32) {
        self.content.set_fill_gray(grey);
        self.fill(x, y, w, h);
        self.content.set_fill_gray(0.0);
    }

    /// Bars left to right from `x`: each element is (bar?, width); one path, one fill.
    fn bars(&mut self, x: f32, y: f32, height: f32, elements: &[(bool, u32)]) {
        let mut cx = x;
        for &(bar, w) in elements {
            if bar {
                self.content.rect(cx, y, w as f32, height);
            }
            cx += w as f32;
        }
        self.content.fill_nonzero();
    }

    /// One line of `text` whose top is at `y`, `px` from ascent to descent: the same convention as
    /// the layout's text (and ab_glyph's scale), so text lands where the layout measured it. Returns
    /// the line's advance.
    pub(crate) fn text(&mut self, x: f32, y: f32, px: f32, text: &str) -> Result<f32, LabelError> {
        let font = self.doc.font;
        let (glyphs, advance) = font.glyphs(text, px)?;
        let (ascent, descent) = font.vertical_metrics();
        let upem = font.units_per_em();
        let size = px * upem / (ascent - descent);
        let baseline = y + px * ascent / (ascent - descent);
        self.content
            .begin_text()
            .set_font(FONT_RESOURCE, size)
            // The page is flipped (y down): flip the glyphs back upright.
            .set_text_matrix([1.0, 0.0, 0.0, -1.0, x, baseline]);
        let mut shown = self.content.show_positioned();
        let mut items = shown.items();
        let mut run: Vec<u8> = Vec::new();
        // Where PDF's own advance (the /W widths) has put the pen; differences from the layout's
        // positions (kerning) become TJ adjustments.
        let mut pen = 0.0f32;
        for ((gid, gx), c) in glyphs.into_iter().zip(text.chars()) {
            if gid == 0 {
                continue; // whitespace the font lacks: nothing to draw, the next glyph is placed
            }
            let shift = gx - pen;
            if shift.abs() > 0.001 * size {
                if !run.is_empty() {
                    items.show(Str(&run));
                    run.clear();
                }
                items.adjust(-shift / size * 1000.0);
            }
            let cid = self.doc.glyphs.remap(gid);
            self.doc.unicode.entry(cid).or_insert(c);
            run.extend_from_slice(&cid.to_be_bytes());
            pen = gx + font.advance(gid) * size / upem;
        }
        if !run.is_empty() {
            items.show(Str(&run));
        }
        items.finish();
        shown.finish();
        self.content.end_text();
        Ok(advance)
    }

    /// Draw with coordinates scaled by `scale` and moved to `(x, y)`.
    pub(crate) fn placed(
        &mut self,
        x: f32,
        y: f32,
        scale: f32,
        draw: impl FnOnce(&mut Self) -> Result<(), LabelError>,
    ) -> Result<(), LabelError> {
        self.content.save_state();
        self.content.transform([scale, 0.0, 0.0, scale, x, y]);
        draw(self)?;
        self.content.restore_state();
        Ok(())
    }

    /// Draw a laid-out label in its own units (dots), top-left at the current origin.
    fn layout(&mut self, layout: &Layout) -> Result<(), LabelError> {
        for op in &layout.ops {
            match op {
                Op::Fill { x, y, w, h } => self.fill(*x as f32, *y as f32, *w as f32, *h as f32),
                Op::Text { x, y, px, text } => {
                    self.text(*x as f32, *y as f32, *px as f32, text)?;
                }
                Op::Codabar {
                    x,
                    y,
                    module,
                    ratio,
                    height,
                    digits,
                } => self.bars(
                    *x as f32,
                    *y as f32,
                    *height as f32,
                    &codabar(digits, *module, *ratio)?,
                ),
                Op::Code128 {
                    x,
                    y,
                    module,
                    height,
                    digits,
                } => self.bars(
                    *x as f32,
                    *y as f32,
                    *height as f32,
                    &code128(digits, *module)?,
                ),
                Op::Qr {
                    x,
                    y,
                    module,
                    digits,
                } => {
                    let (n, dark) = qr(digits)?;
                    let m = *module as f32;
                    // Runs of dark modules along each row: far fewer rectangles than modules.
                    for (row, cells) in dark.chunks(n as usize).enumerate() {
                        let mut col = 0;
                        while col < cells.len() {
                            let run = cells[col..].iter().take_while(|d| **d).count();
                            if run > 0 {
                                self.content.rect(
                                    *x as f32 + col as f32 * m,
                                    *y as f32 + row as f32 * m,
                                    run as f32 * m,
                                    m,
                                );
                                col += run;
                            } else {
                                col += 1;
                            }
                        }
                    }
                    self.content.fill_nonzero();
                }
            }
        }
        Ok(())
    }

    /// A laid-out label (`dpi` dots per inch) centred in the cell `(x, y, w, h)` in points, at full
    /// size or scaled down to keep [`PRINTER_MARGIN`] free on every side.
    pub(crate) fn label(
        &mut self,
        layout: &Layout,
        dpi: u32,
        (x, y, w, h): (f32, f32, f32, f32),
    ) -> Result<(), LabelError> {
        let points_per_dot = 72.0 / dpi as f32;
        let (lw, lh) = (
            layout.width as f32 * points_per_dot,
            layout.height as f32 * points_per_dot,
        );
        let fit = ((w - 2.0 * PRINTER_MARGIN) / lw)
            .min((h - 2.0 * PRINTER_MARGIN) / lh)
            .min(1.0);
        let scale = points_per_dot * fit;
        let (ox, oy) = (x + (w - lw * fit) / 2.0, y + (h - lh * fit) / 2.0);
        self.placed(ox, oy, scale, |page| page.layout(layout))
    }
}
