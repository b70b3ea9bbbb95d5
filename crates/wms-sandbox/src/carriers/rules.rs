//! What the stand-ins check: each carrier's wire form parsed into one neutral booking, field
//! errors collected so that one answer names every refused field.

use serde_json::{Value, json};
use time::Date;

use super::CarrierKind;

/// What each carrier checks. Yamato's widths follow the B2 layout (お届け先名 16 full-width,
/// 住所 32, 建物名 16, 品名 25) and all weight/size limits the published tariffs: neither is in the
/// reference, so both are this stand-in's assumption.
pub(super) struct Spec {
    time_slots: &'static [&'static str],
    name_width: usize,
    /// Per address line, in half-width units.
    line_widths: [usize; 3],
    item_width: usize,
    date_or_slot: bool,
    max_size_cm: u64,
    max_grams: u64,
    cool_max_size_cm: u64,
    cool_max_grams: u64,
    max_cod_yen: u64,
}

pub(super) const YAMATO: Spec = Spec {
    time_slots: &["0812", "1214", "1416", "1618", "1820", "2021"],
    name_width: 32,
    line_widths: [64, 32, 32],
    item_width: 50,
    date_or_slot: false,
    max_size_cm: 200,
    max_grams: 30_000,
    cool_max_size_cm: 120,
    cool_max_grams: 15_000,
    max_cod_yen: 300_000,
};

/// Sagawa: 16 full-width characters per recipient name, address line and article (the reference);
/// a date or a slot per label; no 20–21 slot.
pub(super) const SAGAWA: Spec = Spec {
    time_slots: &["0812", "1214", "1416", "1618", "1820"],
    name_width: 32,
    line_widths: [32, 32, 32],
    item_width: 32,
    date_or_slot: true,
    max_size_cm: 160,
    max_grams: 30_000,
    cool_max_size_cm: 140,
    cool_max_grams: 20_000,
    max_cod_yen: 300_000,
};

/// A sender's fields are printed but not length-checked by the carriers' rules in the reference;
/// a generous bound still refuses nonsense.
pub(super) const SENDER_WIDTH: usize = 80;
pub(super) const MAX_PIECES: usize = 99;

pub(super) fn spec(kind: CarrierKind) -> &'static Spec {
    match kind {
        CarrierKind::Yamato => &YAMATO,
        CarrierKind::Sagawa => &SAGAWA,
    }
}

/// Half-width units: ASCII and half-width katakana 1, everything else 2.
pub(super) fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            ' '..='~' | '\u{FF61}'..='\u{FF9F}' => 1,
            _ => 2,
        })
        .sum()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Service {
    Prepaid,
    Collect,
    Cod,
}

impl Service {
    pub(super) fn name(self) -> &'static str {
        match self {
            Service::Prepaid => "prepaid",
            Service::Collect => "collect",
            Service::Cod => "cod",
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Addr {
    /// Seven digits.
    pub(super) postal: String,
    pub(super) lines: Vec<String>,
}

/// A booking request in carrier-neutral terms, after parsing; `None` fields were refused.
#[derive(Debug)]
pub(super) struct Booking {
    pub(super) billing_code: Option<String>,
    pub(super) service: Option<Service>,
    pub(super) cod: Option<u64>,
    pub(super) cool: bool,
    pub(super) ship_date: Option<Date>,
    pub(super) delivery_date: Option<Date>,
    pub(super) time_slot: Option<String>,
    pub(super) consignee: Addr,
    pub(super) packages: Vec<(u64, u64)>,
}

/// Field errors, collected so that one answer names every refused field.
#[derive(Default)]
pub(super) struct Check {
    pub(super) errors: Vec<Value>,
}

impl Check {
    fn refuse(&mut self, field: &str, reason: impl Into<String>) {
        self.errors
            .push(json!({"code": "invalid_field", "field": field, "reason": reason.into()}));
    }

    /// A string field: present (when required), one line, at most `max` half-width units.
    fn text(&mut self, v: &Value, field: &str, required: bool, max: usize) -> Option<String> {
        let key = field.rsplit('.').next().unwrap_or(field);
        match v.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.refuse(field, "required");
                }
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                if required {
                    self.refuse(field, "required");
                }
                None
            }
            Some(Value::String(s)) => {
                if s.chars().any(char::is_control) {
                    self.refuse(
                        field,
                        "control characters (line breaks, tabs) are not allowed",
                    );
                } else if width(s) > max {
                    self.refuse(
                        field,
                        format!(
                            "{} half-width units (a full-width character counts 2); at most {max}",
                            width(s)
                        ),
                    );
                }
                Some(s.clone())
            }
            Some(_) => {
                self.refuse(field, "must be a string");
                None
            }
        }
    }

    fn number(&mut self, v: &Value, field: &str, required: bool) -> Option<u64> {
        let key = field.rsplit('.').next().unwrap_or(field);
        match v.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.refuse(field, "required");
                }
                None
            }
            Some(n) => {
                let parsed = n.as_u64();
                if parsed.is_none() {
                    self.refuse(field, "must be a non-negative integer");
                }
                parsed
            }
        }
    }

    fn date(&mut self, v: &Value, field: &str, required: bool, sep: char) -> Option<Date> {
        let s = self.text(v, field, required, 10)?;
        let parts: Vec<&str> = s.split(sep).collect();
        let parsed = match parts.as_slice() {
            [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
                match (y.parse::<i32>(), m.parse::<u8>(), d.parse::<u8>()) {
                    (Ok(y), Ok(m), Ok(d)) => time::Month::try_from(m)
                        .ok()
                        .and_then(|m| Date::from_calendar_date(y, m, d).ok()),
                    _ => None,
                }
            }
            _ => None,
        };
        if parsed.is_none() {
            self.refuse(field, format!("not a date of the form YYYY{sep}MM{sep}DD"));
        }
        parsed
    }

    /// One of `allowed` (wire value → meaning).
    fn choice<T: Copy>(&mut self, v: &Value, field: &str, allowed: &[(&str, T)]) -> Option<T> {
        let s = self.text(v, field, true, 16)?;
        let found = allowed.iter().find(|(k, _)| *k == s).map(|(_, t)| *t);
        if found.is_none() {
            let names: Vec<&str> = allowed.iter().map(|(k, _)| *k).collect();
            self.refuse(field, format!("{s:?} is not one of {names:?}"));
        }
        found
    }

    fn postal(&mut self, v: &Value, field: &str, hyphen_allowed: bool) -> String {
        let Some(s) = self.text(v, field, true, 8) else {
            return String::new();
        };
        let b = s.as_bytes();
        let seven = b.len() == 7 && b.iter().all(u8::is_ascii_digit);
        let hyphenated = hyphen_allowed
            && b.len() == 8
            && b[3] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 3 || c.is_ascii_digit());
        if !(seven || hyphenated) {
            let form = if hyphen_allowed {
                "NNN-NNNN or NNNNNNN"
            } else {
                "NNNNNNN"
            };
            self.refuse(field, format!("not a postal code ({form})"));
        }
        s.chars().filter(char::is_ascii_digit).collect()
    }

    fn phone(&mut self, v: &Value, field: &str) {
        if let Some(p) = self.text(v, field, true, 20)
            && !(p.bytes().any(|c| c.is_ascii_digit())
                && p.bytes().all(|c| c.is_ascii_digit() || c == b'-'))
        {
            self.refuse(field, "digits and hyphens only");
        }
    }

    fn object<'v>(&mut self, v: &'v Value, field: &str) -> Option<&'v Value> {
        match v.get(field) {
            Some(o @ Value::Object(_)) => Some(o),
            _ => {
                self.refuse(field, "required (an object)");
                None
            }
        }
    }

    fn packages(&mut self, v: &Value, field: &str) -> Vec<(u64, u64)> {
        let Some(list) = v.get(field).and_then(Value::as_array) else {
            self.refuse(field, "required (a list)");
            return Vec::new();
        };
        if list.is_empty() || list.len() > MAX_PIECES {
            self.refuse(field, format!("1 to {MAX_PIECES} packages"));
        }
        list.iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let g = self.number(p, &format!("{field}[{i}].weightGrams"), true);
                let s = self.number(p, &format!("{field}[{i}].sizeCm"), true);
                Some((g?, s?))
            })
            .collect()
    }
}

pub(super) fn parse_yamato(v: &Value, c: &mut Check) -> Booking {
    let spec = &YAMATO;
    let billing_code = c.text(v, "billingCustomerCode", true, 20);
    let service = c.choice(
        v,
        "invoiceType",
        &[
            ("0", Service::Prepaid),
            ("2", Service::Cod),
            ("5", Service::Collect),
        ],
    );
    let cool = c.choice(v, "coolType", &[("0", false), ("1", true), ("2", true)]);
    let ship_date = c.date(v, "shipDate", true, '/');
    let delivery_date = c.date(v, "deliveryDate", false, '/');
    let time_slot = c.text(v, "deliveryTime", false, 4);
    let cod = c.number(v, "codAmount", false);
    let mut consignee = Addr::default();
    if let Some(o) = c.object(v, "consignee") {
        consignee.postal = c.postal(o, "consignee.postalCode", true);
        c.text(o, "consignee.name", true, spec.name_width);
        c.phone(o, "consignee.phone");
        consignee.lines = yamato_lines(c, o, "consignee", &spec.line_widths);
    }
    if let Some(o) = c.object(v, "shipper") {
        c.postal(o, "shipper.postalCode", true);
        c.text(o, "shipper.name", true, SENDER_WIDTH);
        c.phone(o, "shipper.phone");
        yamato_lines(c, o, "shipper", &[SENDER_WIDTH; 3]);
    }
    c.text(v, "itemName", true, spec.item_width);
    c.text(v, "orderReference", true, 50);
    let packages = c.packages(v, "packages");
    Booking {
        billing_code,
        service,
        cod,
        cool: cool.unwrap_or(false),
        ship_date,
        delivery_date,
        time_slot,
        consignee,
        packages,
    }
}

pub(super) fn yamato_lines(
    c: &mut Check,
    party: &Value,
    name: &str,
    widths: &[usize; 3],
) -> Vec<String> {
    let field = format!("{name}.address");
    let Some(lines) = party.get("address").and_then(Value::as_array) else {
        c.refuse(&field, "required (a list of 1 to 3 lines)");
        return Vec::new();
    };
    if lines.is_empty() || lines.len() > 3 {
        c.refuse(&field, "1 to 3 lines");
    }
    lines
        .iter()
        .zip(widths)
        .enumerate()
        .filter_map(|(i, (line, max))| {
            // `text` looks the value up by key: wrap the line so every check is the same one.
            c.text(
                &json!({ "line": line }),
                &format!("{field}[{i}].line"),
                true,
                *max,
            )
        })
        .collect()
}

pub(super) fn parse_sagawa(v: &Value, c: &mut Check) -> Booking {
    let spec = &SAGAWA;
    let service = c.choice(
        v,
        "paymentType",
        &[
            ("prepaid", Service::Prepaid),
            ("collect", Service::Collect),
            ("cod", Service::Cod),
        ],
    );
    let cool = c.choice(
        v,
        "coolType",
        &[("normal", false), ("chilled", true), ("frozen", true)],
    );
    let ship_date = c.date(v, "shipDate", true, '-');
    let delivery_date = c.date(v, "deliveryDate", false, '-');
    let time_slot = c.text(v, "timeSlotCode", false, 4);
    let cod = c.number(v, "codAmountYen", false);
    let mut consignee = Addr::default();
    if let Some(o) = c.object(v, "consignee") {
        consignee.postal = c.postal(o, "consignee.zip", false);
        c.text(o, "consignee.name", true, spec.name_width);
        c.phone(o, "consignee.tel");
        consignee.lines = sagawa_lines(c, o, "consignee", &spec.line_widths);
    }
    if let Some(o) = c.object(v, "shipper") {
        c.postal(o, "shipper.zip", false);
        c.text(o, "shipper.name", true, SENDER_WIDTH);
        c.phone(o, "shipper.tel");
        sagawa_lines(c, o, "shipper", &[SENDER_WIDTH; 3]);
    }
    c.text(v, "article", true, spec.item_width);
    c.text(v, "customerReference", true, 50);
    let packages = c.packages(v, "pieces");
    Booking {
        billing_code: None,
        service,
        cod,
        cool: cool.unwrap_or(false),
        ship_date,
        delivery_date,
        time_slot,
        consignee,
        packages,
    }
}

pub(super) fn sagawa_lines(
    c: &mut Check,
    party: &Value,
    name: &str,
    widths: &[usize; 3],
) -> Vec<String> {
    widths
        .iter()
        .enumerate()
        .filter_map(|(i, max)| c.text(party, &format!("{name}.address{}", i + 1), i == 0, *max))
        .collect()
}

/// The rules that do not depend on the wire form.
pub(super) fn check_common(kind: CarrierKind, b: &Booking, c: &mut Check) {
    let spec = spec(kind);
    let (slot_field, cod_field, packages_field) = match kind {
        CarrierKind::Yamato => ("deliveryTime", "codAmount", "packages"),
        CarrierKind::Sagawa => ("timeSlotCode", "codAmountYen", "pieces"),
    };
    if let Some(slot) = &b.time_slot
        && !spec.time_slots.contains(&slot.as_str())
    {
        c.refuse(
            slot_field,
            format!(
                "{slot:?} is not a time-slot code of {}: {:?}",
                kind.name(),
                spec.time_slots
            ),
        );
    }
    match (b.service, b.cod) {
        (Some(Service::Cod), None | Some(0)) => {
            c.refuse(cod_field, "コレクト (COD) needs the amount to collect");
        }
        (Some(Service::Cod), Some(n)) if n > spec.max_cod_yen => {
            c.refuse(cod_field, format!("at most {} yen", spec.max_cod_yen));
        }
        (Some(Service::Prepaid | Service::Collect), Some(_)) => {
            c.refuse(cod_field, "a COD amount only goes with コレクト (COD)");
        }
        _ => {}
    }
    if spec.date_or_slot && b.delivery_date.is_some() && b.time_slot.is_some() {
        c.refuse(slot_field, "a delivery date or a time slot, not both");
    }
    if let (Some(ship), Some(delivery)) = (b.ship_date, b.delivery_date)
        && delivery < ship
    {
        c.refuse("deliveryDate", "before the ship date");
    }
    let (max_cm, max_g) = if b.cool {
        (spec.cool_max_size_cm, spec.cool_max_grams)
    } else {
        (spec.max_size_cm, spec.max_grams)
    };
    for (i, (g, cm)) in b.packages.iter().enumerate() {
        if *g == 0 || *g > max_g {
            c.refuse(
                &format!("{packages_field}[{i}].weightGrams"),
                format!("1 to {max_g} g"),
            );
        }
        if *cm == 0 || *cm > max_cm {
            c.refuse(
                &format!("{packages_field}[{i}].sizeCm"),
                format!("1 to {max_cm} cm (length + width + height)"),
            );
        }
    }
}
