//! Why a label was refused or could not be drawn.

use std::fmt;

use crate::tracking::{Carrier, TrackingError};

/// Which of the two parties on a label a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyRole {
    /// ご依頼主: who ships.
    Sender,
    /// お届け先: who receives.
    Recipient,
}

impl fmt::Display for PartyRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartyRole::Sender => "sender",
            PartyRole::Recipient => "recipient",
        })
    }
}

/// A text field of the label, named in errors so the packer (or the UI) knows what to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelField {
    Name(PartyRole),
    /// Address line `n`, counted from 1 as a person would.
    AddressLine(PartyRole, usize),
    PostalCode(PartyRole),
    Phone(PartyRole),
    ItemDescription,
    SortingCode,
    OrderReference,
    TimeSlot,
    /// The carrier's product heading (宅急便…).
    Carrier,
    Service,
    Cool,
    DeliveryDate,
    ShipDate,
    Piece,
    CodAmount,
    TrackingNumber,
    /// The SKU of item line `n` of a packing slip, counted from 1.
    ItemSku(usize),
    /// The product name of item line `n` of a packing slip, counted from 1.
    ItemName(usize),
}

impl fmt::Display for LabelField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelField::Name(p) => write!(f, "{p} name"),
            LabelField::AddressLine(p, n) => write!(f, "{p} address line {n}"),
            LabelField::PostalCode(p) => write!(f, "{p} postal code"),
            LabelField::Phone(p) => write!(f, "{p} phone"),
            LabelField::ItemDescription => f.write_str("item description"),
            LabelField::SortingCode => f.write_str("sorting code"),
            LabelField::OrderReference => f.write_str("order reference"),
            LabelField::TimeSlot => f.write_str("time slot"),
            LabelField::Carrier => f.write_str("carrier heading"),
            LabelField::Service => f.write_str("service type"),
            LabelField::Cool => f.write_str("cool type"),
            LabelField::DeliveryDate => f.write_str("delivery date"),
            LabelField::ShipDate => f.write_str("ship date"),
            LabelField::Piece => f.write_str("piece count"),
            LabelField::CodAmount => f.write_str("COD amount"),
            LabelField::TrackingNumber => f.write_str("tracking number"),
            LabelField::ItemSku(n) => write!(f, "SKU of item line {n}"),
            LabelField::ItemName(n) => write!(f, "product name of item line {n}"),
        }
    }
}

/// Why a label model was refused, or why it could not be drawn.
///
/// The first group are the carriers' own rules (`shared/reference/carriers-and-labels.md`): a label
/// that breaks one would be refused at booking or misdelivered, so it is refused here, before
/// anything is printed or sent. Each variant has a stable [`code`](Self::code) for the UI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error(transparent)]
    Tracking(#[from] TrackingError),
    #[error("the label is not a valid label model: {message}")]
    Malformed { message: String },
    #[error("the {0} is missing")]
    Missing(LabelField),
    #[error("the {field} {found:?} is not a postal code of the form NNN-NNNN")]
    PostalCodeInvalid { field: LabelField, found: String },
    #[error("the {field} {found:?} may only hold digits, hyphens, parentheses, '+' and spaces")]
    PhoneInvalid { field: LabelField, found: String },
    #[error("the {field} contains a control character (line breaks, tabs): one line per field")]
    ControlCharacter { field: LabelField },
    #[error(
        "the {field} is {} full-width characters wide; {} allows at most {}",
        half_width(.width),
        carrier_name(.carrier),
        half_width(.max)
    )]
    FieldTooLong {
        carrier: Carrier,
        field: LabelField,
        /// In half-width units (a full-width character counts 2).
        width: usize,
        /// In half-width units.
        max: usize,
    },
    #[error("the {party} address has {found} lines; a label has room for 1 to {max}")]
    AddressLineCount {
        party: PartyRole,
        found: usize,
        max: usize,
    },
    #[error(
        "time slot {found:?} is not a carrier time-slot code (0812, 1214, 1416, 1618, 1820, 2021)"
    )]
    InvalidTimeSlot { found: String },
    #[error("a COD amount is only printed on コレクト (COD) labels, not on {service}")]
    CodAmountWithoutCod { service: &'static str },
    #[error("a コレクト (COD) label needs the amount to collect (1 yen or more)")]
    CodAmountMissing,
    #[error("{} takes a delivery date or a time slot on one label, not both", carrier_name(.carrier))]
    DateAndTimeSlot { carrier: Carrier },
    #[error("the delivery date {delivery} is before the ship date {ship}")]
    DeliveryBeforeShip { ship: String, delivery: String },
    #[error("piece {index}/{total} is not a piece of a shipment (1 <= n <= N)")]
    PieceInvalid { index: u16, total: u16 },
    #[error("the {field} does not fit on the label even at the smallest legible size")]
    TextDoesNotFit { field: LabelField },
    #[error("the font has no glyph for {character:?} (U+{:04X})", u32::from(*.character))]
    MissingGlyph { character: char },
    #[error("not a usable label font: {reason}")]
    InvalidFont { reason: &'static str },
    #[error("could not encode the {what}: {message}")]
    Encoding { what: &'static str, message: String },
    #[error("a packing slip needs at least one item line")]
    SlipNoItems,
    #[error("item line {line} has quantity 0")]
    SlipQuantityInvalid { line: usize },
    #[error("prices are to be shown but item line {line} has no unit price")]
    SlipPriceMissing { line: usize },
    #[error("a label sheet needs at least one label")]
    SheetEmpty,
    /// A label of a sheet failed: the whole sheet is refused, so no label of it prints twice later.
    #[error("label {} of the sheet: {error}", .index + 1)]
    InSheet {
        /// Counted from 0, printed from 1.
        index: usize,
        error: Box<LabelError>,
    },
}

/// The carrier as people write it in English.
fn carrier_name(carrier: &Carrier) -> &'static str {
    match carrier {
        Carrier::Yamato => "Yamato",
        Carrier::Sagawa => "Sagawa",
        Carrier::JapanPost => "Japan Post",
    }
}

/// `width` half-width units as full-width characters (`33` → `16.5`).
fn half_width(width: &usize) -> String {
    let width = *width;
    if width.is_multiple_of(2) {
        (width / 2).to_string()
    } else {
        format!("{}.5", width / 2)
    }
}

impl LabelError {
    /// A stable machine-readable code the UI can branch on (message text may change). Tracking-number
    /// errors keep their own `tracking_*` codes.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            LabelError::Tracking(e) => e.code(),
            LabelError::Malformed { .. } => "label_malformed",
            LabelError::Missing(LabelField::PostalCode(_)) => "label_postal_code_missing",
            LabelError::Missing(_) => "label_field_missing",
            LabelError::PostalCodeInvalid { .. } => "label_postal_code_invalid",
            LabelError::PhoneInvalid { .. } => "label_phone_invalid",
            LabelError::ControlCharacter { .. } => "label_control_character",
            LabelError::FieldTooLong { .. } => "label_field_too_long",
            LabelError::AddressLineCount { .. } => "label_address_line_count",
            LabelError::InvalidTimeSlot { .. } => "label_invalid_time_slot",
            LabelError::CodAmountWithoutCod { .. } => "label_cod_amount_without_cod",
            LabelError::CodAmountMissing => "label_cod_amount_missing",
            LabelError::DateAndTimeSlot { .. } => "label_date_and_time_slot",
            LabelError::DeliveryBeforeShip { .. } => "label_delivery_before_ship",
            LabelError::PieceInvalid { .. } => "label_piece_invalid",
            LabelError::TextDoesNotFit { .. } => "label_text_does_not_fit",
            LabelError::MissingGlyph { .. } => "label_missing_glyph",
            LabelError::InvalidFont { .. } => "label_invalid_font",
            LabelError::Encoding { .. } => "label_encoding",
            LabelError::SlipNoItems => "slip_no_items",
            LabelError::SlipQuantityInvalid { .. } => "slip_quantity_invalid",
            LabelError::SlipPriceMissing { .. } => "slip_price_missing",
            LabelError::SheetEmpty => "label_sheet_empty",
            LabelError::InSheet { error, .. } => error.code(),
        }
    }

    /// True for the carriers' rules and a malformed model: the label itself must change. False for
    /// problems of this installation (font, encoder), where retrying with another font may work.
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        match self {
            LabelError::InSheet { error, .. } => error.is_refusal(),
            LabelError::MissingGlyph { .. }
            | LabelError::InvalidFont { .. }
            | LabelError::Encoding { .. } => false,
            _ => true,
        }
    }
}
