//! PDF tests on the files themselves: page sizes, the embedded font, text kept as text (read back
//! through the file's own ToUnicode map), determinism, and the slip's and sheet's rules. Rasterising
//! with poppler and decoding the barcodes is `tests/pdf_poppler.rs`.
//!
//! Set `WMS_LABEL_TEST_OUT=DIR` to keep the PDFs for a look.

use std::collections::BTreeMap;

use super::tests::{example, font, keep};
use super::*;
use crate::tracking::Carrier;

/// The streams of a PDF, inflated where they are compressed.
fn streams(pdf: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = pdf;
    while let Some(start) = find(rest, b"stream\n") {
        let body = &rest[start + 7..];
        let end = find(body, b"\nendstream").expect("stream ends");
        let raw = &body[..end];
        out.push(
            miniz_oxide::inflate::decompress_to_vec_zlib(raw).unwrap_or_else(|_| raw.to_vec()),
        );
        rest = &body[end + b"\nendstream".len()..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// CID → text, from the ToUnicode CMap (`<cid> <utf-16be>` pairs).
fn to_unicode(streams: &[Vec<u8>]) -> BTreeMap<u16, String> {
    let cmap = streams
        .iter()
        .find(|s| find(s, b"beginbfchar").is_some())
        .expect("a ToUnicode CMap");
    let text = String::from_utf8_lossy(cmap);
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let hex: Vec<&str> = line
            .split(['<', '>', ' '])
            .filter(|s| !s.is_empty())
            .collect();
        if let [cid, utf16] = hex[..]
            && cid.len() == 4
            && let Ok(cid) = u16::from_str_radix(cid, 16)
        {
            let units: Vec<u16> = (0..utf16.len() / 4)
                .map(|i| u16::from_str_radix(&utf16[4 * i..4 * i + 4], 16).expect("hex"))
                .collect();
            map.insert(cid, String::from_utf16(&units).expect("UTF-16"));
        }
    }
    map
}

/// The strings shown by each text object (`BT … ET`) of a content stream, as raw bytes.
fn shown_strings(content: &[u8]) -> Vec<Vec<u8>> {
    let mut objects = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < content.len() {
        match content[i] {
            b'B' if content[i..].starts_with(b"BT") => current = Some(Vec::new()),
            b'E' if content[i..].starts_with(b"ET") => objects.extend(current.take()),
            b'(' => {
                let mut depth = 0;
                i += 1;
                while i < content.len() {
                    let b = content[i];
                    match b {
                        b'\\' => {
                            i += 1;
                            let e = content[i];
                            let byte = match e {
                                b'n' => b'\n',
                                b'r' => b'\r',
                                b't' => b'\t',
                                b'b' => 8,
                                b'f' => 12,
                                b'0'..=b'7' => {
                                    let digits = content[i..]
                                        .iter()
                                        .take(3)
                                        .take_while(|d| (b'0'..=b'7').contains(d))
                                        .count();
                                    let v = std::str::from_utf8(&content[i..i + digits])
                                        .expect("octal");
                                    i += digits - 1;
                                    u8::from_str_radix(v, 8).expect("octal")
                                }
                                other => other,
                            };
                            current.as_mut().expect("in BT").push(byte);
                        }
                        b'(' => {
                            depth += 1;
                            current.as_mut().expect("in BT").push(b);
                        }
                        b')' if depth == 0 => break,
                        b')' => {
                            depth -= 1;
                            current.as_mut().expect("in BT").push(b);
                        }
                        _ => current.as_mut().expect("in BT").push(b),
                    }
                    i += 1;
                }
            }
            b'<' if content.get(i + 1) != Some(&b'<') => {
                let end = i + content[i..].iter().position(|b| *b == b'>').expect(">");
                let hex = std::str::from_utf8(&content[i + 1..end]).expect("hex");
                let bytes = hex::decode(hex).expect("hex string");
                current.as_mut().expect("in BT").extend(bytes);
                i = end;
            }
            _ => {}
        }
        i += 1;
    }
    objects
}

/// The text of a PDF as a reader extracts it: each text object's CIDs mapped through ToUnicode, one
/// line per text object.
fn text_of(pdf: &[u8]) -> String {
    let streams = streams(pdf);
    let map = to_unicode(&streams);
    let mut lines = Vec::new();
    for content in streams.iter().filter(|s| find(s, b" Tf").is_some()) {
        for object in shown_strings(content) {
            let line: String = object
                .chunks(2)
                .map(|pair| {
                    let cid = u16::from_be_bytes([pair[0], pair[1]]);
                    map.get(&cid).cloned().unwrap_or_else(|| "\u{FFFD}".into())
                })
                .collect();
            lines.push(line);
        }
    }
    lines.join("\n")
}

/// Each page's size in millimetres, rounded to 0.1 mm.
fn page_sizes_mm(pdf: &[u8]) -> Vec<(f32, f32)> {
    let text = String::from_utf8_lossy(pdf);
    let mm = |pt: &str| (pt.parse::<f32>().expect("a number") / 72.0 * 254.0).round() / 10.0;
    text.match_indices("/MediaBox [")
        .map(|(i, m)| {
            let rest = &text[i + m.len()..];
            let numbers: Vec<&str> = rest[..rest.find(']').expect("]")].split(' ').collect();
            assert_eq!(numbers[..2], ["0", "0"]);
            (mm(numbers[2]), mm(numbers[3]))
        })
        .collect()
}

fn contains(pdf: &[u8], what: &str) -> bool {
    find(pdf, what.as_bytes()).is_some()
}

#[test]
fn label_pdf_is_a6_with_the_font_embedded_and_subset() {
    let Some(font) = font() else { return };
    let model = example(Carrier::Yamato);
    let pdf = render_pdf(&model, font).expect("renders");
    keep("yamato.pdf", &pdf);
    assert!(pdf.starts_with(b"%PDF-1.7"));
    assert_eq!(page_sizes_mm(&pdf), [(105.0, 148.0)], "A6");
    for key in [
        "/Subtype /Type0",
        "/Encoding /Identity-H",
        "/Subtype /CIDFontType2",
        "/CIDToGIDMap /Identity",
        "/FontFile2",
        "/ToUnicode",
        "+IPAGothic",
        "/CreationDate (D:20250602000000+09'00)",
    ] {
        assert!(contains(&pdf, key), "{key} missing");
    }
    // Subset: IPAGothic is about 6 MB; a label's hundred-odd glyphs are a few tens of KB.
    assert!(pdf.len() < 100_000, "{} bytes", pdf.len());
    // No raster image anywhere: barcodes are rectangles.
    assert!(!contains(&pdf, "/Image"));
}

#[test]
fn label_text_is_text_in_the_embedded_font() {
    let Some(font) = font() else { return };
    for carrier in Carrier::ALL {
        let model = example(carrier);
        let pdf = render_pdf(&model, font).expect("renders");
        let text = text_of(&pdf);
        let mut expected = vec![
            format!("{} 様", model.recipient.name),
            format!("〒{}", model.recipient.postal_code),
            model.tracking.to_string(),
            format!("TEL {}", model.recipient.phone),
        ];
        expected.extend(model.recipient.address_lines.iter().cloned());
        for line in expected {
            assert!(
                text.lines().any(|l| l == line),
                "{carrier}: {line:?} not a text line in\n{text}"
            );
        }
    }
}

#[test]
fn pdf_output_is_deterministic() {
    let Some(font) = font() else { return };
    let model = example(Carrier::Sagawa);
    let a = render_pdf(&model, font).expect("renders");
    assert_eq!(a, render_pdf(&model, font).expect("renders"));
    let mut other = model.clone();
    other.recipient.name = "佐藤 花子".to_owned();
    let b = render_pdf(&other, font).expect("renders");
    assert_ne!(a, b);
    let id = |pdf: &[u8]| {
        let text = String::from_utf8_lossy(pdf);
        let i = text.find("/ID [").expect("a file id");
        text[i..i + 40].to_owned()
    };
    assert_ne!(id(&a), id(&b), "the file id follows the content");
    let slip = PackingSlip::example();
    assert_eq!(
        render_packing_slip(&slip, font).expect("renders"),
        render_packing_slip(&slip, font).expect("renders")
    );
}

#[test]
fn sheet_puts_four_labels_on_each_a4_page() {
    let Some(font) = font() else { return };
    let mut models: Vec<LabelModel> = Carrier::ALL.into_iter().map(example).collect();
    models.extend(Carrier::ALL.into_iter().take(2).map(example));
    let pdf = render_pdf_sheet(&models, font).expect("renders");
    keep("sheet.pdf", &pdf);
    assert_eq!(page_sizes_mm(&pdf), [(210.0, 297.0); 2], "A4");
    assert!(contains(&pdf, "/Count 2"));
    let text = text_of(&pdf);
    for model in &models {
        assert!(text.contains(&model.tracking.to_string()));
    }
    // One font for the whole sheet.
    assert_eq!(text_of(&pdf).matches("ヤマト運輸 宅急便").count(), 2);
    assert_eq!(
        String::from_utf8_lossy(&pdf).matches("/FontFile2").count(),
        1
    );

    let e = render_pdf_sheet(&[], font).expect_err("empty");
    assert_eq!(e.code(), "label_sheet_empty");
    models[2].recipient.postal_code = "1000001".to_owned();
    let e = render_pdf_sheet(&models, font).expect_err("one refused");
    assert_eq!(e.code(), "label_postal_code_invalid");
    assert!(e.is_refusal());
    assert!(e.to_string().starts_with("label 3 of the sheet: "), "{e}");
}

#[test]
fn packing_slip_lists_the_items_without_prices_unless_asked() {
    let Some(font) = font() else { return };
    let mut slip = PackingSlip::example();
    let pdf = render_packing_slip(&slip, font).expect("renders");
    keep("slip.pdf", &pdf);
    assert_eq!(page_sizes_mm(&pdf), [(210.0, 297.0)], "A4");
    let text = text_of(&pdf);
    for line in [
        "納品書",
        "山田 太郎 様",
        "〒100-0001",
        "東京都千代田区千代田1-1",
        "注文番号 503-1234567-1234567",
        "発送日 2025/06/02",
        "ジリアン物流 大阪倉庫",
        "ST-0042-BLK",
        "ボールペン 0.5mm 黒 (10本入り)",
        "合計数量 4",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
    }
    assert!(!text.contains('円'), "no prices unless asked:\n{text}");

    slip.show_prices = true;
    let pdf = render_packing_slip(&slip, font).expect("renders");
    keep("slip-prices.pdf", &pdf);
    let text = text_of(&pdf);
    for line in ["単価", "1,100円", "2,200円", "合計金額 3,840円 (税込)"] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in\n{text}");
    }
}

#[test]
fn a_long_packing_slip_continues_on_more_pages() {
    let Some(font) = font() else { return };
    let mut slip = PackingSlip::example();
    for i in 0..60 {
        let mut item = slip.items[i % 3].clone();
        item.sku = format!("{}-{i}", item.sku);
        slip.items.push(item);
    }
    // A name too long for its column wraps instead of being cut.
    slip.items[0].name = "長い商品名".repeat(12);
    let pdf = render_packing_slip(&slip, font).expect("renders");
    keep("slip-long.pdf", &pdf);
    let pages = page_sizes_mm(&pdf).len();
    assert!(pages >= 3, "{pages} pages");
    let text = text_of(&pdf);
    assert!(text.contains(&format!("1 / {pages}")));
    assert!(text.contains("納品書 (続き)  注文番号 503-1234567-1234567"));
    assert!(
        text.contains("BK-4901234567894-57"),
        "the last items are there"
    );
    assert_eq!(
        text.matches("合計数量").count(),
        1,
        "totals once, at the end"
    );
    let name_lines = text
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| "長い商品名".contains(c)))
        .count();
    assert!(name_lines >= 2, "the long name wraps ({name_lines} lines)");
}

#[test]
fn packing_slip_rules() {
    let refused = |slip: &PackingSlip, code: &str| {
        let e = slip.validate().expect_err(code);
        assert_eq!(e.code(), code, "{e}");
        if let Some(font) = font() {
            let r = render_packing_slip(slip, font);
            assert_eq!(r.map_err(|e| e.code()).err(), Some(code));
        }
    };
    let good = PackingSlip::example();
    good.validate().expect("the example is valid");
    let json = serde_json::to_string(&good).expect("serialises");
    assert_eq!(PackingSlip::from_json(&json).expect("parses"), good);
    assert_eq!(
        PackingSlip::from_json(r#"{"order_reference": 1}"#)
            .expect_err("malformed")
            .code(),
        "label_malformed"
    );

    let mut slip = good.clone();
    slip.items.clear();
    refused(&slip, "slip_no_items");
    let mut slip = good.clone();
    slip.items[1].quantity = 0;
    refused(&slip, "slip_quantity_invalid");
    let mut slip = good.clone();
    slip.items[2].sku = " ".to_owned();
    refused(&slip, "label_field_missing");
    let mut slip = good.clone();
    slip.show_prices = true;
    slip.items[1].unit_price_yen = None;
    refused(&slip, "slip_price_missing");
    slip.show_prices = false;
    slip.validate().expect("no price needed when none is shown");
    let mut slip = good.clone();
    slip.recipient.postal_code = "100".to_owned();
    refused(&slip, "label_postal_code_invalid");
    let mut slip = good;
    slip.order_reference = String::new();
    refused(&slip, "label_field_missing");
}
