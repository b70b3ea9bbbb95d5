//! Label tests. The rendering tests print real labels: ZPL is rendered to a PNG by the `zpl` crate
//! (an independent ZPL renderer, dev-dependency only), the preview PNG is ours, and `rxing` must read the
//! tracking number back from every barcode on both. They need a real Japanese font: IPAGothic from
//! Debian's `fonts-ipafont-gothic` (or `WMS_LABEL_FONT`). Without it they are skipped locally and
//! fail under `CI=true`, so a CI machine missing the package cannot pass by skipping.
//!
//! Set `WMS_LABEL_TEST_OUT=DIR` to keep the rendered PNGs and ZPL for a look.

use std::io::Cursor;
use std::sync::OnceLock;

use rxing::BarcodeFormat;

use super::*;
use crate::tracking::Carrier;

const DEFAULT_FONT: &str = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf";

pub(super) fn font() -> Option<&'static Font> {
    static FONT: OnceLock<Option<Font>> = OnceLock::new();
    FONT.get_or_init(|| {
        let path = std::env::var("WMS_LABEL_FONT").unwrap_or_else(|_| DEFAULT_FONT.to_owned());
        match std::fs::read(&path) {
            Ok(bytes) => Some(Font::from_bytes(bytes).expect("the label font parses")),
            Err(e) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "label tests need the font {path} (Debian package fonts-ipafont-gothic): {e}"
                );
                eprintln!(
                    "SKIPPED: no label font at {path} ({e}): apt-get install fonts-ipafont-gothic"
                );
                None
            }
        }
    })
    .as_ref()
}

pub(super) fn example(carrier: Carrier) -> LabelModel {
    LabelModel::example(carrier).expect("the examples are valid")
}

pub(super) fn keep(name: &str, bytes: &[u8]) {
    if let Ok(dir) = std::env::var("WMS_LABEL_TEST_OUT") {
        std::fs::create_dir_all(&dir).expect("output dir");
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).expect("write output");
    }
}

/// Decode a PNG of any colour type and depth to 8-bit luma.
fn luma(png_bytes: &[u8]) -> (Vec<u8>, u32, u32) {
    let mut decoder = png::Decoder::new(Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| match p.len() {
            1 | 2 => p[0],
            _ => {
                ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000)
                    as u8
            }
        })
        .collect();
    (pixels, info.width, info.height)
}

/// Every barcode on the page must read as the tracking number (Codabar without its start/stop).
fn assert_barcodes(png_bytes: &[u8], digits: &str, what: &str) {
    let (pixels, width, height) = luma(png_bytes);
    for format in [
        BarcodeFormat::CODABAR,
        BarcodeFormat::CODE_128,
        BarcodeFormat::QR_CODE,
    ] {
        let result = rxing::helpers::detect_in_luma(pixels.clone(), width, height, Some(format))
            .unwrap_or_else(|e| panic!("{what}: no {format:?} found: {e}"));
        let text = result
            .getText()
            .trim_start_matches(['A', 'B', 'C', 'D'])
            .trim_end_matches(['A', 'B', 'C', 'D']);
        assert_eq!(
            text,
            digits,
            "{what}: {format:?} reads {:?}",
            result.getText()
        );
        assert_eq!(
            crate::tracking::parse_scanned(Carrier::Yamato, result.getText())
                .map(|t| t.digits())
                .ok(),
            // Sagawa's and Japan Post's samples check under any carrier's rules.
            Some(digits.to_owned()),
            "{what}: {format:?} scans back through parse_scanned"
        );
    }
}

/// ZPL → pixels through the `zpl` crate (its PNG encoder, as a user of the crate would).
fn zpl_to_png(zpl_bytes: &[u8], dpi: Dpi) -> Vec<u8> {
    use ::zpl::output::Adapter as _;
    let (width, height) = match dpi {
        Dpi::D203 => (812, 1218),
        Dpi::D300 => (1200, 1800),
    };
    let options = ::zpl::Options {
        width,
        height,
        dpi: dpi.dots_per_inch(),
        ..::zpl::Options::default()
    };
    let document = ::zpl::render(zpl_bytes, options).expect("zpl renders our ZPL");
    for warning in &document.warnings {
        eprintln!("zpl warning: {warning}");
    }
    assert_eq!(document.labels.len(), 1, "one label per ZPL format");
    let scene = &document.labels[0];
    assert_eq!((scene.width, scene.height), (width, height));
    ::zpl::output::Png.encode(scene).expect("PNG")
}

#[test]
fn zpl_barcodes_decode_to_the_tracking_number_at_both_resolutions() {
    let Some(font) = font() else { return };
    for carrier in Carrier::ALL {
        let model = example(carrier);
        for dpi in [Dpi::D203, Dpi::D300] {
            let zpl = render_zpl(&model, dpi, font).expect("renders");
            keep(&format!("{carrier}-{dpi}.zpl"), &zpl);
            let png = zpl_to_png(&zpl, dpi);
            keep(&format!("{carrier}-{dpi}-zpl.png"), &png);
            assert_barcodes(
                &png,
                &model.tracking.digits(),
                &format!("{carrier} ZPL {dpi} dpi"),
            );
        }
    }
}

#[test]
fn zpl_structure() {
    let Some(font) = font() else { return };
    let model = example(Carrier::Yamato);
    let zpl =
        String::from_utf8(render_zpl(&model, Dpi::D203, font).expect("renders")).expect("UTF-8");
    // Japanese text went into bitmaps: nothing on the wire needs a printer font beyond ^A0.
    assert!(zpl.is_ascii(), "ZPL must be ASCII only");
    assert!(
        zpl.starts_with("^XA\n^CI28\n^PW812\n^LL1218\n"),
        "{}",
        &zpl[..40]
    );
    assert!(zpl.trim_end().ends_with("^XZ"));
    assert!(zpl.contains("^BY3,3,130^BKN,N,130,N,N,A,A^FD444413758703^FS"));
    assert!(zpl.contains("^BCN,62,N,N,N^FD>;444413758703^FS"));
    assert!(zpl.contains("^BY2,2,10^FO640,720^BQN,2,6^FDMA,444413758703^FS"));
    assert!(zpl.contains("^A0N,32,32^FDTEL 090-1234-5678^FS"));
    assert!(
        zpl.contains("^A0N,64,64^FD03-123-45^FS"),
        "sorting code as given"
    );
    let graphics = zpl.matches("^GFA,").count();
    assert!(
        graphics >= 15,
        "Japanese fields are ^GFA bitmaps ({graphics})"
    );
    // Each ^GFA field: declared sizes agree with the hex payload and hold some ink.
    for field in zpl.split("^GFA,").skip(1) {
        let body = field.split("^FS").next().expect("terminated");
        let parts: Vec<&str> = body.splitn(4, ',').collect();
        let total: usize = parts[0].parse().expect("total");
        assert_eq!(parts[1], parts[0]);
        let row: usize = parts[2].parse().expect("row bytes");
        assert!(row > 0 && total.is_multiple_of(row));
        assert_eq!(parts[3].len(), total * 2, "hex for every byte");
        assert!(parts[3].bytes().any(|b| b != b'0'), "some ink");
    }

    let zpl300 =
        String::from_utf8(render_zpl(&model, Dpi::D300, font).expect("renders")).expect("UTF-8");
    assert!(zpl300.contains("^PW1200\n^LL1800\n"));
}

#[test]
fn png_preview_barcodes_decode_to_the_tracking_number() {
    let Some(font) = font() else { return };
    for carrier in Carrier::ALL {
        let model = example(carrier);
        let png = render_png(&model, font).expect("renders");
        keep(&format!("{carrier}-preview.png"), &png);
        let (_, width, height) = luma(&png);
        assert_eq!((width, height), (812, 1218));
        assert_barcodes(
            &png,
            &model.tracking.digits(),
            &format!("{carrier} preview"),
        );
    }
}

#[test]
fn ascii_field_data_is_escaped() {
    let Some(font) = font() else { return };
    let mut model = example(Carrier::Yamato);
    model.sorting_code = Some("A^B~C_D".to_owned());
    let zpl =
        String::from_utf8(render_zpl(&model, Dpi::D203, font).expect("renders")).expect("UTF-8");
    assert!(zpl.contains("^FH_^FDA_5EB_7EC_5FD^FS"), "{zpl}");
}

#[test]
fn long_yamato_address_shrinks_to_fit_and_an_impossible_one_is_refused() {
    let Some(font) = font() else { return };
    let mut model = example(Carrier::Yamato);
    // Yamato has no 16-character rule: a long line is set smaller rather than cut off.
    model.recipient.address_lines[1] = "グランドパレス千代田壱番館ノース棟 1205号室".to_owned();
    assert!(render_zpl(&model, Dpi::D203, font).is_ok());
    model.recipient.address_lines[1] = "長".repeat(60);
    let e = render_zpl(&model, Dpi::D203, font).expect_err("too long to print legibly");
    assert_eq!(e.code(), "label_text_does_not_fit");
    assert!(render_png(&model, font).is_err());
}

#[test]
fn a_character_missing_from_the_font_is_refused_not_printed_as_a_box() {
    let Some(font) = font() else { return };
    let mut model = example(Carrier::Yamato);
    // U+20BB7 (𠮷, the 吉 of 吉野家) is outside IPAGothic's JIS X 0208 repertoire.
    model.recipient.name = "𠮷田 花子".to_owned();
    let e = render_zpl(&model, Dpi::D203, font).expect_err("missing glyph");
    assert_eq!(e.code(), "label_missing_glyph");
    assert!(!e.is_refusal(), "a font problem, not the carrier's rule");
}

#[test]
fn a_latin_only_font_is_refused() {
    let Ok(bytes) = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") else {
        return;
    };
    let e = Font::from_bytes(bytes).expect_err("no Japanese glyphs");
    assert_eq!(e.code(), "label_invalid_font");
    assert_eq!(
        Font::from_bytes(b"not a font".to_vec())
            .expect_err("garbage")
            .code(),
        "label_invalid_font"
    );
}

/// Refusals: each rule gives its code, and neither renderer produces anything.
fn assert_refused(model: &LabelModel, code: &str) {
    let e = model.validate().expect_err(code);
    assert_eq!(e.code(), code, "{e}");
    assert!(e.is_refusal());
    if let Some(font) = font() {
        for dpi in [Dpi::D203, Dpi::D300] {
            let r = render_zpl(model, dpi, font);
            assert_eq!(r.as_ref().map_err(LabelError::code).err(), Some(code));
        }
        let r = render_png(model, font);
        assert_eq!(r.as_ref().map_err(LabelError::code).err(), Some(code));
        let r = render_pdf(model, font);
        assert_eq!(r.as_ref().map_err(LabelError::code).err(), Some(code));
    }
}

#[test]
fn examples_are_valid_and_round_trip_through_json() {
    for carrier in Carrier::ALL {
        let model = example(carrier);
        model.validate().expect("valid");
        let json = serde_json::to_string_pretty(&model).expect("serialises");
        assert_eq!(LabelModel::from_json(&json).expect("parses"), model);
    }
    let json = serde_json::to_value(example(Carrier::Yamato)).expect("serialises");
    assert_eq!(json["ship_date"], "2025-06-02");
    assert_eq!(json["time_slot"], "1416");
    assert_eq!(json["service"], "cod");
    assert_eq!(json["cool"], "chilled");
    assert_eq!(json["tracking"]["number"], "444413758703");
}

#[test]
fn sagawa_line_longer_than_16_full_width_characters_is_refused() {
    let mut model = example(Carrier::Sagawa);
    // 17 full-width characters.
    model.recipient.address_lines[0] = "東京都千代田区千代田一丁目一番一号".to_owned();
    assert_eq!(display_width(&model.recipient.address_lines[0]), 34);
    assert_refused(&model, "label_field_too_long");
    let e = model.validate().expect_err("too long");
    assert_eq!(
        e.to_string(),
        "the recipient address line 1 is 17 full-width characters wide; Sagawa allows at most 16"
    );

    // Exactly 16 full-width passes; half-width counts half, so 15 full-width + 2 ASCII passes too.
    model.recipient.address_lines[0] = "東京都千代田区千代田一丁目一番".to_owned() + "一";
    assert_eq!(display_width(&model.recipient.address_lines[0]), 32);
    model.validate().expect("16 full-width characters fit");
    model.recipient.address_lines[0] = "東京都千代田区千代田一丁目一番1-".to_owned();
    model.validate().expect("15 full-width + 2 half-width fit");
    model.recipient.address_lines[0] = "東京都千代田区千代田一丁目一番1-1".to_owned();
    assert_refused(&model, "label_field_too_long");

    let mut model = example(Carrier::Sagawa);
    model.recipient.name = "株式会社ジリアン物流システムズ 御中".to_owned();
    assert_refused(&model, "label_field_too_long");
    let mut model = example(Carrier::Sagawa);
    model.item_description = "書籍・文具・雑貨・衣料品・食品・その他".to_owned();
    assert_refused(&model, "label_field_too_long");

    // The same line is fine for Yamato (no such rule in the reference).
    let mut model = example(Carrier::Yamato);
    model.recipient.address_lines[0] = "東京都千代田区千代田一丁目一番一号".to_owned();
    model.validate().expect("Yamato has no 16-character rule");
}

#[test]
fn missing_or_malformed_postal_code_is_refused() {
    let mut model = example(Carrier::Yamato);
    model.recipient.postal_code = String::new();
    assert_refused(&model, "label_postal_code_missing");
    model.recipient.postal_code = "  ".to_owned();
    assert_refused(&model, "label_postal_code_missing");
    for bad in [
        "1000001",
        "100-001",
        "１００-０００１",
        "100 0001",
        "100-00011",
    ] {
        model.recipient.postal_code = bad.to_owned();
        assert_refused(&model, "label_postal_code_invalid");
    }
    let mut model = example(Carrier::Sagawa);
    model.sender.postal_code = String::new();
    assert_refused(&model, "label_postal_code_missing");
}

#[test]
fn invalid_time_slot_is_refused() {
    for bad in ["1921", "0912", "", "1416 ", "午前中"] {
        let mut model = example(Carrier::Yamato);
        model.time_slot = Some(bad.to_owned());
        assert_refused(&model, "label_invalid_time_slot");
    }
    for slot in TimeSlot::ALL {
        let mut model = example(Carrier::Yamato);
        model.time_slot = Some(slot.code().to_owned());
        model.validate().expect("a carrier code");
        assert_eq!(model.time_slot(), Some(slot));
    }
}

#[test]
fn cod_amount_only_with_collect_on_delivery() {
    let mut model = example(Carrier::Yamato);
    model.service = ServiceType::Prepaid; // 発払 with an amount
    assert_refused(&model, "label_cod_amount_without_cod");
    model.service = ServiceType::Collect; // 着払 with an amount
    assert_refused(&model, "label_cod_amount_without_cod");
    model.service = ServiceType::Cod;
    model.cod_amount_yen = None;
    assert_refused(&model, "label_cod_amount_missing");
    model.cod_amount_yen = Some(0);
    assert_refused(&model, "label_cod_amount_missing");
}

#[test]
fn sagawa_takes_a_date_or_a_time_slot_not_both() {
    let mut model = example(Carrier::Sagawa);
    model.time_slot = Some("1416".to_owned());
    assert_refused(&model, "label_date_and_time_slot");
    model.delivery_date = None;
    model.validate().expect("time slot alone");
    // Yamato takes both.
    let model = example(Carrier::Yamato);
    assert!(model.delivery_date.is_some() && model.time_slot.is_some());
    model.validate().expect("Yamato takes both");
}

#[test]
fn other_rules() {
    let mut model = example(Carrier::Yamato);
    model.piece = Piece { index: 3, total: 2 };
    assert_refused(&model, "label_piece_invalid");
    model.piece = Piece { index: 0, total: 2 };
    assert_refused(&model, "label_piece_invalid");

    let mut model = example(Carrier::Yamato);
    model.delivery_date = Some(time::macros::date!(2025 - 06 - 01));
    assert_refused(&model, "label_delivery_before_ship");

    let mut model = example(Carrier::Yamato);
    model.recipient.address_lines.clear();
    assert_refused(&model, "label_address_line_count");
    model.recipient.address_lines = vec!["a".into(), "b".into(), "c".into(), "d".into()];
    assert_refused(&model, "label_address_line_count");

    let mut model = example(Carrier::Yamato);
    model.recipient.address_lines[1] = "3F\n4F".to_owned();
    assert_refused(&model, "label_control_character");

    let mut model = example(Carrier::Yamato);
    model.recipient.phone = "ｰ".to_owned();
    assert_refused(&model, "label_phone_invalid");
    model.recipient.phone = String::new();
    assert_refused(&model, "label_field_missing");

    let mut model = example(Carrier::Yamato);
    model.recipient.name = " ".to_owned();
    assert_refused(&model, "label_field_missing");
}

#[test]
fn from_json_reports_a_bad_check_digit_with_its_tracking_code() {
    let mut json = serde_json::to_value(example(Carrier::Yamato)).expect("serialises");
    json["tracking"]["number"] = "444413758704".into();
    let e = LabelModel::from_json(&json.to_string()).expect_err("bad check digit");
    assert_eq!(e.code(), "tracking_check_digit_mismatch");

    let mut json = serde_json::to_value(example(Carrier::Sagawa)).expect("serialises");
    json["tracking"]["number"] = "110000000003".into();
    let e = LabelModel::from_json(&json.to_string()).expect_err("forbidden prefix");
    assert_eq!(e.code(), "tracking_forbidden_prefix");

    let mut json = serde_json::to_value(example(Carrier::Sagawa)).expect("serialises");
    json["colour"] = "red".into();
    let e = LabelModel::from_json(&json.to_string()).expect_err("unknown field");
    assert_eq!(e.code(), "label_malformed");
    assert_eq!(
        LabelModel::from_json("{").expect_err("not JSON").code(),
        "label_malformed"
    );
}

#[test]
fn display_width_counts_half_width_as_half() {
    assert_eq!(display_width("ABC 123-"), 8);
    assert_eq!(display_width("東京"), 4);
    assert_eq!(display_width("ｱｲｳ"), 3, "half-width katakana");
    assert_eq!(display_width("ＡＢ"), 4, "full-width Latin");
}

/// Not a benchmark: one render's wall time, printed so a release-mode run can report it
/// (`cargo test --release -p wms-core label::tests::render_time -- --nocapture`). The target of
/// issue 5 is under 20 ms per label at 203 dpi, rasterisation included.
#[test]
fn render_time() {
    let Some(font) = font() else { return };
    let model = example(Carrier::Yamato);
    let _ = render_zpl(&model, Dpi::D203, font).expect("warm-up");
    let n = 20u32;
    let start = std::time::Instant::now();
    for _ in 0..n {
        let _ = render_zpl(&model, Dpi::D203, font).expect("renders");
    }
    let each = start.elapsed() / n;
    let start = std::time::Instant::now();
    let _ = render_zpl(&model, Dpi::D300, font).expect("renders");
    let at300 = start.elapsed();
    eprintln!("render_zpl: {each:?} per label at 203 dpi, {at300:?} at 300 dpi (one render)");
    let start = std::time::Instant::now();
    let _ = render_pdf(&model, font).expect("renders");
    eprintln!(
        "render_pdf: {:?} (one render; `cargo run --release -p wms-core --example label_bench` for more)",
        start.elapsed()
    );
}
