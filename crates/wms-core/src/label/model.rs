//! The label model: everything printed on one carrier label, and the carriers' rules over it.
//!
//! Why a model separate from the renderers: the same label goes to a thermal printer (ZPL), to the UI
//! (PNG preview) and later to office printers (PDF), and the carriers' rules must hold for all of them.
//! So the rules are checked once, here, and every renderer starts with [`LabelModel::validate`].
//!
//! The model is the wire form (`wms-server label example` prints it): fields that a carrier's rules
//! constrain (postal codes, time-slot codes, COD amount) are kept as received and checked by
//! `validate`, so that a refused label says *which* rule it broke rather than failing to parse.
//! The tracking number is the exception: it is a [`TrackingNumber`], valid by construction, and
//! [`LabelModel::from_json`] reports its check-digit errors with their own codes.

use serde::{Deserialize, Serialize};
use time::Date;

use super::error::{LabelError, LabelField, PartyRole};
use crate::tracking::{Carrier, TrackingNumber};

time::serde::format_description!(pub(super) iso_date, Date, "[year]-[month]-[day]");

/// Sagawa e飛伝: recipient name and each address line at most 16 full-width characters (32
/// half-width units); the item name likewise.
pub const SAGAWA_MAX_LINE_WIDTH: usize = 32;
/// Address lines a party may have: the label has room for three (a carrier's CSV has three
/// address columns too: 住所1–3).
pub const MAX_ADDRESS_LINES: usize = 3;

/// 送り状種別: who pays, and whether the driver collects money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// 発払: the shipper pays.
    Prepaid,
    /// 着払: the recipient pays the carriage.
    Collect,
    /// コレクト: cash on delivery; the driver collects [`LabelModel::cod_amount_yen`].
    Cod,
}

impl ServiceType {
    /// As printed on the label.
    #[must_use]
    pub const fn japanese(self) -> &'static str {
        match self {
            ServiceType::Prepaid => "発払",
            ServiceType::Collect => "着払",
            ServiceType::Cod => "コレクト",
        }
    }
}

/// クール区分.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoolType {
    #[default]
    Normal,
    /// 冷蔵.
    Chilled,
    /// 冷凍.
    Frozen,
}

impl CoolType {
    /// As printed on the label; nothing for normal parcels.
    #[must_use]
    pub const fn japanese(self) -> Option<&'static str> {
        match self {
            CoolType::Normal => None,
            CoolType::Chilled => Some("冷蔵"),
            CoolType::Frozen => Some("冷凍"),
        }
    }
}

/// 配達時間帯: the codes of the carriers' CSV layouts (`shared/reference/carriers-and-labels.md`).
///
/// Kept in this one place on purpose: the reference's list is the B2 layout's, and the carriers
/// revise their slots from time to time, so a change is one edit here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeSlot {
    /// `0812`: 午前中 (morning).
    Morning,
    /// `1214`.
    From12To14,
    /// `1416`.
    From14To16,
    /// `1618`.
    From16To18,
    /// `1820`.
    From18To20,
    /// `2021`.
    From20To21,
}

impl TimeSlot {
    pub const ALL: [TimeSlot; 6] = [
        TimeSlot::Morning,
        TimeSlot::From12To14,
        TimeSlot::From14To16,
        TimeSlot::From16To18,
        TimeSlot::From18To20,
        TimeSlot::From20To21,
    ];

    /// The four-digit code carriers' systems take.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            TimeSlot::Morning => "0812",
            TimeSlot::From12To14 => "1214",
            TimeSlot::From14To16 => "1416",
            TimeSlot::From16To18 => "1618",
            TimeSlot::From18To20 => "1820",
            TimeSlot::From20To21 => "2021",
        }
    }

    /// As printed on the label.
    #[must_use]
    pub const fn japanese(self) -> &'static str {
        match self {
            TimeSlot::Morning => "午前中",
            TimeSlot::From12To14 => "12時-14時",
            TimeSlot::From14To16 => "14時-16時",
            TimeSlot::From16To18 => "16時-18時",
            TimeSlot::From18To20 => "18時-20時",
            TimeSlot::From20To21 => "20時-21時",
        }
    }

    /// The slot of a code; `None` for anything else (no trimming, no guessing).
    #[must_use]
    pub fn from_code(code: &str) -> Option<TimeSlot> {
        TimeSlot::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// One side of the shipment, with a Japanese postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    /// Person or company, as it should be printed (the recipient's gets 様 appended on the label).
    pub name: String,
    /// `NNN-NNNN`.
    pub postal_code: String,
    /// Prefecture, city and street first, building and room last; 1 to [`MAX_ADDRESS_LINES`] lines.
    pub address_lines: Vec<String>,
    pub phone: String,
}

/// Piece `index` of `total` in a multi-package shipment (`1/1` for a single parcel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Piece {
    pub index: u16,
    pub total: u16,
}

/// Everything printed on one label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelModel {
    /// The carrier is the tracking number's.
    pub tracking: TrackingNumber,
    pub service: ServiceType,
    /// Only with [`ServiceType::Cod`], and required with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cod_amount_yen: Option<u32>,
    #[serde(default)]
    pub cool: CoolType,
    #[serde(with = "iso_date")]
    pub ship_date: Date,
    #[serde(
        default,
        with = "iso_date::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub delivery_date: Option<Date>,
    /// A [`TimeSlot`] code such as `"1416"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_slot: Option<String>,
    pub sender: Party,
    pub recipient: Party,
    pub item_description: String,
    pub piece: Piece,
    /// Printed as the carrier returned it (Yamato 仕分コード, Sagawa branch code). There is no public
    /// algorithm, so it is never computed here; `None` until the carrier has given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sorting_code: Option<String>,
    pub order_reference: String,
}

/// Display width in half-width units, the way Japanese carriers' systems count field lengths: ASCII
/// and half-width katakana count 1, everything else (kanji, kana, full-width forms) 2.
#[must_use]
pub fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c {
            ' '..='~' | '\u{FF61}'..='\u{FF9F}' => 1,
            _ => 2,
        })
        .sum()
}

/// `NNN-NNNN` with ASCII digits.
fn is_postal_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 8
        && b[3] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 3 || c.is_ascii_digit())
}

/// Phones are printed with the printer's own ASCII font, and carriers' systems take digits and
/// hyphens: anything else is more likely a paste error than a number.
fn is_phone(s: &str) -> bool {
    s.bytes().any(|c| c.is_ascii_digit())
        && s.bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'(' | b')' | b'+' | b' '))
}

pub(super) fn required(field: LabelField, value: &str) -> Result<(), LabelError> {
    if value.trim().is_empty() {
        return Err(LabelError::Missing(field));
    }
    no_control(field, value)
}

fn no_control(field: LabelField, value: &str) -> Result<(), LabelError> {
    if value.chars().any(char::is_control) {
        return Err(LabelError::ControlCharacter { field });
    }
    Ok(())
}

fn max_width(
    carrier: Carrier,
    field: LabelField,
    value: &str,
    max: usize,
) -> Result<(), LabelError> {
    let width = display_width(value);
    if width > max {
        return Err(LabelError::FieldTooLong {
            carrier,
            field,
            width,
            max,
        });
    }
    Ok(())
}

impl Party {
    pub(super) fn validate(&self, role: PartyRole) -> Result<(), LabelError> {
        required(LabelField::Name(role), &self.name)?;
        let postal = LabelField::PostalCode(role);
        if self.postal_code.trim().is_empty() {
            return Err(LabelError::Missing(postal));
        }
        if !is_postal_code(&self.postal_code) {
            return Err(LabelError::PostalCodeInvalid {
                field: postal,
                found: self.postal_code.clone(),
            });
        }
        if self.address_lines.is_empty() || self.address_lines.len() > MAX_ADDRESS_LINES {
            return Err(LabelError::AddressLineCount {
                party: role,
                found: self.address_lines.len(),
                max: MAX_ADDRESS_LINES,
            });
        }
        for (i, line) in self.address_lines.iter().enumerate() {
            required(LabelField::AddressLine(role, i + 1), line)?;
        }
        let phone = LabelField::Phone(role);
        required(phone, &self.phone)?;
        if !is_phone(&self.phone) {
            return Err(LabelError::PhoneInvalid {
                field: phone,
                found: self.phone.clone(),
            });
        }
        Ok(())
    }
}

impl LabelModel {
    /// The carrier, which is the tracking number's.
    #[must_use]
    pub const fn carrier(&self) -> Carrier {
        self.tracking.carrier()
    }

    /// The time slot, once [`validate`](Self::validate) has accepted the model (`None` before, for an
    /// unknown code).
    #[must_use]
    pub fn time_slot(&self) -> Option<TimeSlot> {
        self.time_slot.as_deref().and_then(TimeSlot::from_code)
    }

    /// Parse the JSON form. A tracking number that fails its checks is reported with the tracking
    /// error's own code (`tracking_check_digit_mismatch`…), anything else malformed as
    /// `label_malformed`. Does not apply the carriers' rules: that is [`validate`](Self::validate).
    pub fn from_json(json: &str) -> Result<LabelModel, LabelError> {
        let malformed = |e: serde_json::Error| LabelError::Malformed {
            message: e.to_string(),
        };
        let value: serde_json::Value = serde_json::from_str(json).map_err(malformed)?;
        // Check the tracking number on its own first: through serde its error would be flattened into
        // text, and a mistyped check digit deserves its own code.
        if let Some(tracking) = value.get("tracking")
            && let (Some(carrier), Some(number)) = (
                tracking.get("carrier").and_then(|c| c.as_str()),
                tracking.get("number").and_then(|n| n.as_str()),
            )
            && let Ok(carrier) = carrier.parse::<Carrier>()
        {
            TrackingNumber::new(carrier, number)?;
        }
        serde_json::from_value(value).map_err(malformed)
    }

    /// Apply the carriers' rules (`shared/reference/carriers-and-labels.md`); the first broken rule is
    /// returned. Every renderer calls this first, so a refused label is never drawn.
    ///
    /// - both parties: name, postal code `NNN-NNNN`, 1–3 address lines and phone present; no control
    ///   characters in any printed field;
    /// - time slot: one of the carriers' codes;
    /// - COD amount: only with コレクト, and required with it;
    /// - Sagawa: recipient name, each recipient address line and the item name at most 16 full-width
    ///   characters (half-width counts half); a delivery date or a time slot, not both;
    /// - the delivery date is not before the ship date; piece `n/N` with `1 <= n <= N`;
    /// - the tracking number's check digit and prefixes hold by construction ([`TrackingNumber`]).
    pub fn validate(&self) -> Result<(), LabelError> {
        let carrier = self.carrier();
        self.sender.validate(PartyRole::Sender)?;
        self.recipient.validate(PartyRole::Recipient)?;
        required(LabelField::ItemDescription, &self.item_description)?;
        required(LabelField::OrderReference, &self.order_reference)?;
        if let Some(code) = &self.sorting_code {
            required(LabelField::SortingCode, code)?;
        }

        if let Some(code) = &self.time_slot
            && TimeSlot::from_code(code).is_none()
        {
            return Err(LabelError::InvalidTimeSlot {
                found: code.clone(),
            });
        }

        match (self.service, self.cod_amount_yen) {
            (ServiceType::Cod, None | Some(0)) => return Err(LabelError::CodAmountMissing),
            (service @ (ServiceType::Prepaid | ServiceType::Collect), Some(_)) => {
                return Err(LabelError::CodAmountWithoutCod {
                    service: service.japanese(),
                });
            }
            _ => {}
        }

        if carrier == Carrier::Sagawa {
            let recipient = PartyRole::Recipient;
            max_width(
                carrier,
                LabelField::Name(recipient),
                &self.recipient.name,
                SAGAWA_MAX_LINE_WIDTH,
            )?;
            for (i, line) in self.recipient.address_lines.iter().enumerate() {
                max_width(
                    carrier,
                    LabelField::AddressLine(recipient, i + 1),
                    line,
                    SAGAWA_MAX_LINE_WIDTH,
                )?;
            }
            max_width(
                carrier,
                LabelField::ItemDescription,
                &self.item_description,
                SAGAWA_MAX_LINE_WIDTH,
            )?;
            if self.delivery_date.is_some() && self.time_slot.is_some() {
                return Err(LabelError::DateAndTimeSlot { carrier });
            }
        }

        if let Some(delivery) = self.delivery_date
            && delivery < self.ship_date
        {
            return Err(LabelError::DeliveryBeforeShip {
                ship: slash_date(self.ship_date),
                delivery: slash_date(delivery),
            });
        }

        let Piece { index, total } = self.piece;
        if index == 0 || index > total {
            return Err(LabelError::PieceInvalid { index, total });
        }
        Ok(())
    }

    /// A complete, valid label for `carrier`, with the reference document's sample tracking number:
    /// for `wms-server label example`, demos and tests. Sagawa's gets a delivery date and no time
    /// slot (it takes only one of the two); Yamato's a COD amount and a chilled parcel, so the
    /// example shows the optional parts.
    ///
    /// Fallible only in form: the samples are checked by the tests for every carrier.
    pub fn example(carrier: Carrier) -> Result<LabelModel, LabelError> {
        let (digits, service, cod, cool, delivery, slot, sorting) = match carrier {
            Carrier::Yamato => (
                "444413758703",
                ServiceType::Cod,
                Some(3_980),
                CoolType::Chilled,
                Some(time::macros::date!(2025 - 06 - 03)),
                Some("1416"),
                "03-123-45",
            ),
            Carrier::Sagawa => (
                "512547514334",
                ServiceType::Prepaid,
                None,
                CoolType::Normal,
                Some(time::macros::date!(2025 - 06 - 03)),
                None,
                "0123",
            ),
            Carrier::JapanPost => (
                "405548424886",
                ServiceType::Prepaid,
                None,
                CoolType::Normal,
                None,
                Some("0812"),
                "100-03",
            ),
        };
        Ok(LabelModel {
            tracking: TrackingNumber::new(carrier, digits)?,
            service,
            cod_amount_yen: cod,
            cool,
            ship_date: time::macros::date!(2025 - 06 - 02),
            delivery_date: delivery,
            time_slot: slot.map(str::to_owned),
            sender: Party {
                name: "ジリアン物流 大阪倉庫".to_owned(),
                postal_code: "530-0001".to_owned(),
                address_lines: vec![
                    "大阪府大阪市北区梅田1-2-3".to_owned(),
                    "梅田センタービル4F".to_owned(),
                ],
                phone: "06-1234-5678".to_owned(),
            },
            recipient: Party {
                name: "山田 太郎".to_owned(),
                postal_code: "100-0001".to_owned(),
                address_lines: vec![
                    "東京都千代田区千代田1-1".to_owned(),
                    "パークハイツ千代田 305号室".to_owned(),
                ],
                phone: "090-1234-5678".to_owned(),
            },
            item_description: "書籍・文具".to_owned(),
            piece: Piece { index: 1, total: 1 },
            sorting_code: Some(sorting.to_owned()),
            order_reference: "503-1234567-1234567".to_owned(),
        })
    }
}

/// `YYYY/MM/DD`, as Japanese labels and the carriers' CSVs write dates.
#[must_use]
pub fn slash_date(d: Date) -> String {
    format!("{:04}/{:02}/{:02}", d.year(), u8::from(d.month()), d.day())
}
