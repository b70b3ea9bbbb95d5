//! Packing slips (納品書): the paper in the parcel that tells the recipient what is in it.
//!
//! Printed on A4 by an office printer, one per order. Prices are left off unless asked for: in
//! cross-border fulfilment the parcel is often a gift or a marketplace order whose price the seller
//! does not want printed, so showing them is an explicit choice ([`PackingSlip::show_prices`]), and
//! when chosen every line must have its price (a slip with some prices missing reads as "free").

use serde::{Deserialize, Serialize};
use time::Date;

use super::error::{LabelError, LabelField, PartyRole};
use super::font::Font;
use super::layout::yen;
use super::model::{Party, iso_date, required, slash_date};
use super::pdf::{A4, Document, MM, Page};

/// One line of a packing slip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlipItem {
    pub sku: String,
    /// As the recipient knows the product (the marketplace title, typically Japanese).
    pub name: String,
    pub quantity: u32,
    /// Tax-inclusive unit price in yen; printed only with [`PackingSlip::show_prices`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price_yen: Option<u32>,
}

/// Everything printed on a packing slip: the JSON form `wms-server label slip` takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackingSlip {
    pub order_reference: String,
    #[serde(with = "iso_date")]
    pub ship_date: Date,
    pub recipient: Party,
    /// The shop or warehouse the parcel comes from.
    pub sender: Party,
    pub items: Vec<SlipItem>,
    /// Print unit prices, line amounts and the total; every item then needs `unit_price_yen`.
    #[serde(default)]
    pub show_prices: bool,
}

impl PackingSlip {
    /// Parse the JSON form (`label_malformed` when it is not one). Does not check the rules: that is
    /// [`validate`](Self::validate).
    pub fn from_json(json: &str) -> Result<PackingSlip, LabelError> {
        serde_json::from_str(json).map_err(|e| LabelError::Malformed {
            message: e.to_string(),
        })
    }

    /// The rules a slip must meet before it is drawn: order reference present; both parties as on a
    /// label (name, postal code `NNN-NNNN`, 1–3 address lines, phone); at least one item; each item
    /// with a SKU, a name and a quantity of at least 1; with `show_prices`, a price on every item.
    pub fn validate(&self) -> Result<(), LabelError> {
        required(LabelField::OrderReference, &self.order_reference)?;
        self.recipient.validate(PartyRole::Recipient)?;
        self.sender.validate(PartyRole::Sender)?;
        if self.items.is_empty() {
            return Err(LabelError::SlipNoItems);
        }
        for (i, item) in self.items.iter().enumerate() {
            let line = i + 1;
            required(LabelField::ItemSku(line), &item.sku)?;
            required(LabelField::ItemName(line), &item.name)?;
            if item.quantity == 0 {
                return Err(LabelError::SlipQuantityInvalid { line });
            }
            if self.show_prices && item.unit_price_yen.is_none() {
                return Err(LabelError::SlipPriceMissing { line });
            }
        }
        Ok(())
    }

    /// A valid slip for documentation and tests: the recipient of the Yamato example label.
    #[must_use]
    pub fn example() -> PackingSlip {
        let party = |name: &str, postal: &str, lines: &[&str], phone: &str| Party {
            name: name.to_owned(),
            postal_code: postal.to_owned(),
            address_lines: lines.iter().map(|l| (*l).to_owned()).collect(),
            phone: phone.to_owned(),
        };
        let item = |sku: &str, name: &str, quantity: u32, price: u32| SlipItem {
            sku: sku.to_owned(),
            name: name.to_owned(),
            quantity,
            unit_price_yen: Some(price),
        };
        PackingSlip {
            order_reference: "503-1234567-1234567".to_owned(),
            ship_date: time::macros::date!(2025 - 06 - 02),
            recipient: party(
                "山田 太郎",
                "100-0001",
                &["東京都千代田区千代田1-1", "パークハイツ千代田 305号室"],
                "090-1234-5678",
            ),
            sender: party(
                "ジリアン物流 大阪倉庫",
                "530-0001",
                &["大阪府大阪市北区梅田1-2-3", "梅田センタービル4F"],
                "06-1234-5678",
            ),
            items: vec![
                item("BK-4901234567894", "文庫本 吾輩は猫である", 1, 660),
                item("ST-0042-BLK", "ボールペン 0.5mm 黒 (10本入り)", 2, 1_100),
                item("ST-0107", "A5ノート 方眼 5冊パック", 1, 980),
            ],
            show_prices: false,
        }
    }
}

// Geometry of the slip, in points on A4 (y down).
const MARGIN: f32 = 18.0 * MM;
const BODY: f32 = 10.0;
const LINE: f32 = 15.0;
const ROW_PAD: f32 = 5.0;
const HEADER_ROW: f32 = 20.0;
/// Room kept under the table for the totals and the page footer.
const FOOTER: f32 = 70.0;

/// Columns of the item table: (heading, width, right-aligned).
fn columns(show_prices: bool) -> Vec<(&'static str, f32, bool)> {
    let width = A4.0 - 2.0 * MARGIN;
    let mut fixed = vec![("No.", 26.0, true), ("SKU", 120.0, false)];
    let mut tail = vec![("数量", 40.0, true)];
    if show_prices {
        tail.extend([("単価", 64.0, true), ("金額", 72.0, true)]);
    }
    let used: f32 = fixed.iter().chain(&tail).map(|c| c.1).sum();
    fixed.push(("品名", width - used, false));
    fixed.extend(tail);
    fixed
}

/// `text` broken into lines no wider than `max_w` at `px`; Japanese breaks between any two
/// characters, and so, for simplicity, does a long SKU.
fn wrap(font: &Font, text: &str, px: f32, max_w: f32) -> Result<Vec<String>, LabelError> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for c in text.chars() {
        line.push(c);
        if font.measure(&line, px)? > max_w && line.chars().count() > 1 {
            line.pop();
            lines.push(std::mem::take(&mut line));
            line.push(c);
        }
    }
    lines.push(line);
    Ok(lines)
}

/// The cells of one item row, wrapped to their columns.
fn row_cells(
    font: &Font,
    slip: &PackingSlip,
    index: usize,
    cols: &[(&'static str, f32, bool)],
) -> Result<Vec<Vec<String>>, LabelError> {
    let item = &slip.items[index];
    let mut values = vec![
        (index + 1).to_string(),
        item.sku.clone(),
        item.name.clone(),
        item.quantity.to_string(),
    ];
    if slip.show_prices {
        let price = item.unit_price_yen.unwrap_or(0);
        values.push(format!("{}円", yen(price)));
        values.push(format!("{}円", yen(price.saturating_mul(item.quantity))));
    }
    // Same order as the columns: No., SKU, 品名, 数量[, 単価, 金額].
    cols.iter()
        .zip(&values)
        .map(|(&(_, width, _), value)| wrap(font, value, BODY, width - 8.0))
        .collect()
}

/// Text right-aligned so that it ends at `right`.
fn text_right(
    page: &mut Page<'_, '_>,
    right: f32,
    y: f32,
    px: f32,
    text: &str,
) -> Result<(), LabelError> {
    let width = page_measure(page, text, px)?;
    page.text(right - width, y, px, text)?;
    Ok(())
}

fn page_measure(page: &Page<'_, '_>, text: &str, px: f32) -> Result<f32, LabelError> {
    page.font().measure(text, px)
}

fn table_header(
    page: &mut Page<'_, '_>,
    y: f32,
    cols: &[(&str, f32, bool)],
) -> Result<f32, LabelError> {
    let width = A4.0 - 2.0 * MARGIN;
    page.fill_grey(MARGIN, y, width, HEADER_ROW, 0.85);
    let mut x = MARGIN;
    for &(heading, w, right) in cols {
        let ty = y + (HEADER_ROW - BODY) / 2.0;
        if right {
            text_right(page, x + w - 4.0, ty, BODY, heading)?;
        } else {
            page.text(x + 4.0, ty, BODY, heading)?;
        }
        x += w;
    }
    page.fill(MARGIN, y + HEADER_ROW - 0.8, width, 0.8);
    Ok(y + HEADER_ROW)
}

/// A party's block: postal code, address lines, then the name (with 様 for the recipient).
fn party_block(
    page: &mut Page<'_, '_>,
    x: f32,
    mut y: f32,
    party: &Party,
    recipient: bool,
) -> Result<f32, LabelError> {
    if recipient {
        page.text(x, y, BODY, &format!("〒{}", party.postal_code))?;
        y += LINE;
        for line in &party.address_lines {
            page.text(x, y, 11.0, line)?;
            y += LINE;
        }
        y += 4.0;
        let advance = page.text(x, y, 15.0, &format!("{} 様", party.name))?;
        page.fill(x, y + 19.0, advance.max(200.0), 0.8);
        Ok(y + 26.0)
    } else {
        page.text(x, y, 11.0, &party.name)?;
        y += LINE + 2.0;
        page.text(x, y, 9.0, &format!("〒{}", party.postal_code))?;
        y += 13.0;
        for line in &party.address_lines {
            page.text(x, y, 9.0, line)?;
            y += 13.0;
        }
        page.text(x, y, 9.0, &format!("TEL {}", party.phone))?;
        Ok(y + 13.0)
    }
}

/// The first page's heading: title, date and order, both parties, a line of thanks. Returns where
/// the table starts.
fn heading(page: &mut Page<'_, '_>, slip: &PackingSlip) -> Result<f32, LabelError> {
    let title = "納品書";
    let width = page_measure(page, title, 22.0)?;
    page.text((A4.0 - width) / 2.0, MARGIN, 22.0, title)?;
    let right = A4.0 - MARGIN;
    let y = MARGIN + 40.0;
    text_right(
        page,
        right,
        y,
        BODY,
        &format!("発送日 {}", slash_date(slip.ship_date)),
    )?;
    text_right(
        page,
        right,
        y + LINE,
        BODY,
        &format!("注文番号 {}", slip.order_reference),
    )?;
    let left_end = party_block(page, MARGIN, y, &slip.recipient, true)?;
    let right_end = party_block(
        page,
        right - 190.0,
        y + 2.0 * LINE + 10.0,
        &slip.sender,
        false,
    )?;
    let y = left_end.max(right_end) + 14.0;
    page.text(
        MARGIN,
        y,
        BODY,
        "このたびはご注文いただき、誠にありがとうございます。下記の通り納品いたします。",
    )?;
    Ok(y + LINE + 8.0)
}

/// Render a packing slip that [`PackingSlip::validate`] has accepted: A4, as many pages as the items
/// need, each continuation page headed with the order reference and the table header again.
pub(crate) fn draw(slip: &PackingSlip, font: &Font) -> Result<Vec<u8>, LabelError> {
    let cols = columns(slip.show_prices);
    let rows: Vec<Vec<Vec<String>>> = (0..slip.items.len())
        .map(|i| row_cells(font, slip, i, &cols))
        .collect::<Result<_, _>>()?;
    // Split the rows into pages: the first page has the heading, all keep room for the footer.
    let first_top = {
        // Measure the heading by drawing it on a scratch document (same font, nothing kept).
        let mut scratch = Document::new(font);
        let mut top = 0.0;
        scratch.page(A4, |page| {
            top = heading(page, slip)?;
            Ok(())
        })?;
        top
    };
    let continuation_top = MARGIN + 30.0;
    let bottom = A4.1 - MARGIN - FOOTER;
    let mut pages: Vec<Vec<usize>> = vec![Vec::new()];
    let mut y = first_top + HEADER_ROW;
    for (i, cells) in rows.iter().enumerate() {
        let h = row_height(cells);
        if y + h > bottom && pages.last().is_some_and(|p| !p.is_empty()) {
            pages.push(Vec::new());
            y = continuation_top + HEADER_ROW;
        }
        if let Some(page) = pages.last_mut() {
            page.push(i);
        }
        y += h;
    }

    let mut doc = Document::new(font);
    let total_pages = pages.len();
    for (n, indices) in pages.iter().enumerate() {
        doc.page(A4, |page| {
            let mut y = if n == 0 {
                heading(page, slip)?
            } else {
                page.text(
                    MARGIN,
                    MARGIN,
                    BODY,
                    &format!("納品書 (続き)  注文番号 {}", slip.order_reference),
                )?;
                continuation_top
            };
            y = table_header(page, y, &cols)?;
            for &i in indices {
                y = table_row(page, y, &rows[i], &cols)?;
            }
            if n + 1 == total_pages {
                totals(page, y, slip)?;
            }
            let footer = format!("{} / {}", n + 1, total_pages);
            let width = page_measure(page, &footer, 8.0)?;
            page.text((A4.0 - width) / 2.0, A4.1 - MARGIN, 8.0, &footer)?;
            Ok(())
        })?;
    }
    doc.finish(&format!("納品書 {}", slip.order_reference), slip.ship_date)
}

fn row_height(cells: &[Vec<String>]) -> f32 {
    let lines = cells.iter().map(Vec::len).max().unwrap_or(1);
    lines as f32 * LINE + 2.0 * ROW_PAD - (LINE - BODY)
}

fn table_row(
    page: &mut Page<'_, '_>,
    y: f32,
    cells: &[Vec<String>],
    cols: &[(&str, f32, bool)],
) -> Result<f32, LabelError> {
    let mut x = MARGIN;
    for (lines, &(_, w, right)) in cells.iter().zip(cols) {
        for (k, line) in lines.iter().enumerate() {
            let ty = y + ROW_PAD + k as f32 * LINE;
            if right {
                text_right(page, x + w - 4.0, ty, BODY, line)?;
            } else {
                page.text(x + 4.0, ty, BODY, line)?;
            }
        }
        x += w;
    }
    let y = y + row_height(cells);
    page.fill(MARGIN, y - 0.4, A4.0 - 2.0 * MARGIN, 0.4);
    Ok(y)
}

fn totals(page: &mut Page<'_, '_>, y: f32, slip: &PackingSlip) -> Result<(), LabelError> {
    let right = A4.0 - MARGIN - 4.0;
    let quantity: u64 = slip.items.iter().map(|i| u64::from(i.quantity)).sum();
    let mut y = y + 8.0;
    text_right(page, right, y, BODY, &format!("合計数量 {quantity}"))?;
    if slip.show_prices {
        let total = slip
            .items
            .iter()
            .map(|i| i.unit_price_yen.unwrap_or(0).saturating_mul(i.quantity))
            .fold(0u32, u32::saturating_add);
        y += LINE;
        text_right(
            page,
            right,
            y,
            11.0,
            &format!("合計金額 {}円 (税込)", yen(total)),
        )?;
    }
    Ok(())
}
