//! Where everything goes on a 100×150 mm label, as a list of drawing operations in printer dots.
//!
//! Why a display list: the ZPL and the PNG preview draw the *same* list, so the preview a packer sees
//! is the label that prints, and a layout change is made once. Positions are designed at 203 dpi
//! (812 × 1218 dots, `shared/reference/carriers-and-labels.md`) and scaled for 300 dpi; barcode
//! module widths are whole dots at either resolution, as printers require.

use super::error::{LabelError, LabelField, PartyRole};
use super::font::Font;
use super::model::{LabelModel, ServiceType, slash_date};
use crate::tracking::Carrier;

/// Label width and height at 203 dpi (4 × 6 in).
const BASE_WIDTH: u32 = 812;
const BASE_HEIGHT: u32 = 1218;
const BASE_DPI: u32 = 203;

/// One drawing operation, in dots of the target resolution. `y` is the top edge.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// One line of text, `px` dots high. ASCII goes to the printer's font, anything else is
    /// rasterised (see `zpl.rs`).
    Text {
        x: u32,
        y: u32,
        px: u32,
        text: String,
    },
    /// A filled rectangle (rules and frames are made of these).
    Fill { x: u32, y: u32, w: u32, h: u32 },
    /// NW-7 with start/stop `A`: `module` dots narrow, `ratio × module` wide.
    Codabar {
        x: u32,
        y: u32,
        module: u32,
        ratio: u32,
        height: u32,
        digits: String,
    },
    Code128 {
        x: u32,
        y: u32,
        module: u32,
        height: u32,
        digits: String,
    },
    /// QR, error correction M, `module` dots per module.
    Qr {
        x: u32,
        y: u32,
        module: u32,
        digits: String,
    },
}

/// A laid-out label.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub width: u32,
    pub height: u32,
    pub ops: Vec<Op>,
}

struct Builder<'a> {
    font: &'a Font,
    dpi: u32,
    ops: Vec<Op>,
}

impl Builder<'_> {
    /// A 203-dpi length at the target resolution.
    fn s(&self, v: u32) -> u32 {
        (v * self.dpi + BASE_DPI / 2) / BASE_DPI
    }

    /// A 203-dpi barcode module at the target resolution: whole dots, never thinner than designed.
    fn module(&self, v: u32) -> u32 {
        self.s(v).max(v)
    }

    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32) {
        let (x, y, w, h) = (self.s(x), self.s(y), self.s(w).max(1), self.s(h).max(1));
        self.ops.push(Op::Fill { x, y, w, h });
    }

    /// A rectangle outline, `t` thick.
    fn frame(&mut self, x: u32, y: u32, w: u32, h: u32, t: u32) {
        self.fill(x, y, w, t);
        self.fill(x, y + h - t, w, t);
        self.fill(x, y, t, h);
        self.fill(x + w - t, y, t, h);
    }

    /// A full-width horizontal rule.
    fn rule(&mut self, y: u32) {
        self.fill(16, y, BASE_WIDTH - 32, 3);
    }

    /// A line of text at its nominal size, shrunk to `max_w` if it is wider, but never below 60 % of
    /// nominal nor below 16 dots at 203 dpi (about 2 mm, the smallest a driver reads in a van):
    /// past that the label is refused rather than an address printed illegibly or cut off.
    fn text(
        &mut self,
        field: LabelField,
        x: u32,
        y: u32,
        px: u32,
        max_w: u32,
        text: &str,
    ) -> Result<(), LabelError> {
        let (x, y, nominal, max_w) = (self.s(x), self.s(y), self.s(px), self.s(max_w));
        let width = self.font.measure(text, nominal as f32)?;
        let mut px = nominal;
        if width > max_w as f32 {
            px = (nominal as f32 * max_w as f32 / width).floor() as u32;
            let floor = (nominal * 6 / 10).max(self.s(16));
            if px < floor {
                return Err(LabelError::TextDoesNotFit { field });
            }
        }
        self.ops.push(Op::Text {
            x,
            y,
            px,
            text: text.to_owned(),
        });
        Ok(())
    }
}

/// What the carrier's own label calls the product.
fn carrier_heading(carrier: Carrier) -> &'static str {
    match carrier {
        Carrier::Yamato => "ヤマト運輸 宅急便",
        Carrier::Sagawa => "佐川急便 飛脚宅配便",
        Carrier::JapanPost => "日本郵便 ゆうパック",
    }
}

/// `3980` → `3,980`.
pub(super) fn yen(amount: u32) -> String {
    let digits = amount.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Lay out a label that [`LabelModel::validate`] has accepted, at `dpi` dots per inch.
pub(crate) fn build(model: &LabelModel, font: &Font, dpi: u32) -> Result<Layout, LabelError> {
    let mut b = Builder {
        font,
        dpi,
        ops: Vec::new(),
    };
    let recipient = PartyRole::Recipient;
    let sender = PartyRole::Sender;
    let name_of = LabelField::Name;

    // Border.
    b.frame(8, 8, BASE_WIDTH - 16, BASE_HEIGHT - 16, 3);

    // Header: product, service (発払/着払/コレクト), cool.
    b.text(
        LabelField::Carrier,
        28,
        28,
        40,
        420,
        carrier_heading(model.carrier()),
    )?;
    b.frame(460, 20, 170, 92, 4);
    b.text(
        LabelField::Service,
        474,
        42,
        48,
        142,
        model.service.japanese(),
    )?;
    if let Some(cool) = model.cool.japanese() {
        b.frame(640, 20, 152, 92, 8);
        b.text(LabelField::Cool, 668, 42, 48, 100, cool)?;
    }

    // Sorting code, as the carrier gave it.
    b.text(LabelField::SortingCode, 28, 140, 26, 80, "仕分")?;
    if let Some(code) = &model.sorting_code {
        b.text(LabelField::SortingCode, 100, 128, 64, 690, code)?;
    }
    b.rule(212);

    // Recipient.
    b.text(name_of(recipient), 28, 224, 24, 200, "お届け先")?;
    b.text(
        LabelField::PostalCode(recipient),
        28,
        256,
        36,
        400,
        &format!("〒{}", model.recipient.postal_code),
    )?;
    for (i, line) in model.recipient.address_lines.iter().enumerate() {
        let y = 300 + 44 * i as u32;
        b.text(
            LabelField::AddressLine(recipient, i + 1),
            28,
            y,
            36,
            756,
            line,
        )?;
    }
    b.text(
        name_of(recipient),
        28,
        436,
        56,
        756,
        &format!("{} 様", model.recipient.name),
    )?;
    b.text(
        LabelField::Phone(recipient),
        28,
        504,
        32,
        756,
        &format!("TEL {}", model.recipient.phone),
    )?;
    b.rule(548);

    // Delivery: date and slot, pieces, COD.
    let date = model
        .delivery_date
        .map_or_else(|| "指定なし".to_owned(), slash_date);
    b.text(
        LabelField::DeliveryDate,
        28,
        560,
        30,
        380,
        &format!("お届け日 {date}"),
    )?;
    let slot = model.time_slot().map_or("指定なし", |s| s.japanese());
    b.text(
        LabelField::TimeSlot,
        420,
        560,
        30,
        370,
        &format!("時間帯 {slot}"),
    )?;
    b.text(
        LabelField::Piece,
        28,
        602,
        30,
        380,
        &format!("個数 {}/{}", model.piece.index, model.piece.total),
    )?;
    if let (ServiceType::Cod, Some(amount)) = (model.service, model.cod_amount_yen) {
        b.frame(410, 594, 386, 48, 3);
        b.text(
            LabelField::CodAmount,
            420,
            602,
            32,
            366,
            &format!("代引金額 {}円", yen(amount)),
        )?;
    }
    b.text(
        LabelField::ShipDate,
        28,
        644,
        30,
        380,
        &format!("発送日 {}", slash_date(model.ship_date)),
    )?;
    b.rule(688);

    // Barcodes: NW-7 (what carriers scan), Code 128 and QR of the same 12 digits.
    let digits = model.tracking.digits();
    let (codabar_module, code128_module, qr_module) = (b.module(3), b.module(2), b.module(6));
    b.ops.push(Op::Codabar {
        x: b.s(40),
        y: b.s(708),
        module: codabar_module,
        ratio: 3,
        height: b.s(130),
        digits: digits.clone(),
    });
    b.text(
        LabelField::TrackingNumber,
        40,
        848,
        44,
        560,
        &model.tracking.to_string(),
    )?;
    b.ops.push(Op::Code128 {
        x: b.s(40),
        y: b.s(904),
        module: code128_module,
        height: b.s(62),
        digits: digits.clone(),
    });
    b.ops.push(Op::Qr {
        x: b.s(640),
        y: b.s(720),
        module: qr_module,
        digits,
    });
    b.rule(980);

    // Sender, item, order.
    b.text(name_of(sender), 28, 990, 22, 200, "ご依頼主")?;
    let sender_address = format!(
        "〒{} {}",
        model.sender.postal_code,
        model.sender.address_lines.join(" ")
    );
    b.text(
        LabelField::AddressLine(sender, 1),
        28,
        1018,
        26,
        756,
        &sender_address,
    )?;
    b.text(name_of(sender), 28, 1052, 30, 470, &model.sender.name)?;
    b.text(
        LabelField::Phone(sender),
        520,
        1054,
        26,
        264,
        &format!("TEL {}", model.sender.phone),
    )?;
    b.text(
        LabelField::ItemDescription,
        28,
        1100,
        30,
        756,
        &format!("品名 {}", model.item_description),
    )?;
    b.text(
        LabelField::OrderReference,
        28,
        1146,
        26,
        756,
        &format!("注文番号 {}", model.order_reference),
    )?;

    Ok(Layout {
        width: b.s(BASE_WIDTH),
        height: b.s(BASE_HEIGHT),
        ops: b.ops,
    })
}
