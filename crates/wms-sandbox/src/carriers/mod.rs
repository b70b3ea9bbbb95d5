//! Yamato and Sagawa stand-ins (mounted under `/yamato` and `/sagawa`), with their control
//! endpoints under `/_sandbox/carriers/`.
//!
//! Neither carrier publishes a JSON API (Yamato B2 Cloud's is for contract holders without a
//! public spec; Sagawa's e飛伝 imports CSV). The wire shapes below are **the project's own**,
//! modelled on what `shared/reference/carriers-and-labels.md` says the carriers need and check.
//! They are defined here with serde_json values only, never with the client crate's types, so that
//! the client is tested against an independent reading of the same rules.
//!
//! Yamato (宅急便, B2 CSV field set): `Authorization: Bearer KEY`
//! - `POST /yamato/v1/shipments` + `Idempotency-Key`:
//!   `{"billingCustomerCode", "invoiceType": "0"|"2"|"5", "coolType": "0"|"1"|"2",
//!   "shipDate": "YYYY/MM/DD", "deliveryDate"?, "deliveryTime"?, "codAmount"?,
//!   "consignee": {"postalCode", "address": [1–3 lines], "name", "phone"}, "shipper": {…},
//!   "itemName", "orderReference", "packages": [{"weightGrams", "sizeCm"}]}`
//!   → 201 (200 when the key repeats) `{"shipmentId", "packages": [{"trackingNumber", "sortingCode"}]}`
//! - `POST /yamato/v1/shipments/{trackingNumber}/void` `{"reason"}` → 200
//! - `GET /yamato/v1/tracking/{trackingNumber}` → `{"trackingNumber", "events": [{"code", "at"}]}`
//!
//! Sagawa (飛脚宅配便, e飛伝 field set): `X-Api-Key`, `X-Customer-Code`
//! - `POST /sagawa/v1/consignments` + `Idempotency-Key`:
//!   `{"paymentType": "prepaid"|"collect"|"cod", "codAmountYen"?, "coolType": "normal"|"chilled"|"frozen",
//!   "shipDate": "YYYY-MM-DD", "deliveryDate"?, "timeSlotCode"?,
//!   "consignee": {"zip": "NNNNNNN", "address1", "address2"?, "address3"?, "name", "tel"}, "shipper": {…},
//!   "article", "customerReference", "pieces": [{"weightGrams", "sizeCm"}]}`
//!   → 201 (200 when the key repeats) `{"consignmentId", "pieces": [{"inquiryNumber", "branchCode"}]}`
//! - `POST /sagawa/v1/consignments/{inquiryNumber}/cancel` `{"reason"}` → 200
//! - `GET /sagawa/v1/inquiry/{inquiryNumber}` → `{"inquiryNumber", "history": [{"status", "time"}]}`
//!
//! Errors, both: `{"errors": [{"code", "field", "reason"}]}` with 400 (a field refused), 401 (key),
//! 403 (customer code not the key's), 404, 409 (void after pickup), 422 (`idempotency_key_reused`:
//! same key, different body), 429/500 (faults).
//!
//! What is checked (per carrier, see `rules.rs`): required fields, postal code format, 1–3 address
//! lines, phone characters, field widths (a full-width character counts 2; Sagawa: recipient name,
//! address lines and article 16 full-width; Yamato's limits follow the B2 layout and are
//! unverified), the carrier's time-slot codes, COD amount only with コレクト and required with it,
//! Sagawa's date-or-slot, delivery not before shipping, weights and sizes (published tariffs,
//! unverified). Tracking numbers come from a per-carrier serial counter with the mod-7 check digit;
//! Sagawa's counter skips the 110 and 119 prefixes. Milestones follow a test clock.

mod http;
mod rules;
mod store;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

pub use http::{control_routes, router};
pub use store::{CarrierCustomerRegistration, CarrierCustomerView, ClockChange};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CarrierKind {
    Yamato,
    Sagawa,
}

impl CarrierKind {
    pub fn name(self) -> &'static str {
        match self {
            CarrierKind::Yamato => "yamato",
            CarrierKind::Sagawa => "sagawa",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [CarrierKind::Yamato, CarrierKind::Sagawa]
            .into_iter()
            .find(|k| k.name() == s)
    }

    fn operations(self) -> [CarrierOperation; 3] {
        match self {
            CarrierKind::Yamato => [
                CarrierOperation::YamatoBook,
                CarrierOperation::YamatoVoid,
                CarrierOperation::YamatoTrack,
            ],
            CarrierKind::Sagawa => [
                CarrierOperation::SagawaBook,
                CarrierOperation::SagawaVoid,
                CarrierOperation::SagawaTrack,
            ],
        }
    }

    /// Where a fresh counter starts: the reference's sample numbers.
    fn first_serial(self) -> u64 {
        match self {
            CarrierKind::Yamato => 44_441_375_870,
            CarrierKind::Sagawa => 51_254_751_433,
        }
    }
}

/// The carrier stand-ins' operations, for fault injection (`{"operation": "yamatoBook", …}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CarrierOperation {
    YamatoBook,
    YamatoVoid,
    YamatoTrack,
    SagawaBook,
    SagawaVoid,
    SagawaTrack,
}

impl CarrierOperation {
    pub fn name(self) -> &'static str {
        match self {
            CarrierOperation::YamatoBook => "yamatoBook",
            CarrierOperation::YamatoVoid => "yamatoVoid",
            CarrierOperation::YamatoTrack => "yamatoTrack",
            CarrierOperation::SagawaBook => "sagawaBook",
            CarrierOperation::SagawaVoid => "sagawaVoid",
            CarrierOperation::SagawaTrack => "sagawaTrack",
        }
    }
}

/// A contract the stand-in accepts: API key and customer code. The key is stored because the
/// stand-in has to compare it; it is never logged and never returned by the control API.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarrierCustomer {
    pub carrier: CarrierKind,
    pub customer_code: String,
    pub api_key: String,
}

impl std::fmt::Debug for CarrierCustomer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarrierCustomer")
            .field("carrier", &self.carrier)
            .field("customer_code", &self.customer_code)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct VoidRecord {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub reason: String,
}

/// One booked package.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CarrierBooking {
    pub carrier: CarrierKind,
    pub customer_code: String,
    pub shipment_id: String,
    pub tracking_number: String,
    pub sorting_code: String,
    pub piece_index: usize,
    pub piece_total: usize,
    pub idempotency_key: String,
    /// On the carriers' test clock.
    #[serde(with = "time::serde::rfc3339")]
    pub booked_at: OffsetDateTime,
    /// `prepaid`, `collect` or `cod`.
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cod_amount_yen: Option<u64>,
    /// The booking request as received.
    pub request: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided: Option<VoidRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    pub carrier: CarrierKind,
    pub customer_code: String,
    pub key: String,
    /// SHA-256 of the request body as canonical JSON.
    pub body_sha256: String,
    pub shipment_id: String,
}

/// When milestones happen, in minutes after booking (on the test clock).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MilestoneTimes {
    pub picked_up_minutes: i64,
    pub in_transit_minutes: i64,
    pub delivered_minutes: i64,
}

impl Default for MilestoneTimes {
    fn default() -> Self {
        Self {
            picked_up_minutes: 60,
            in_transit_minutes: 180,
            delivered_minutes: 24 * 60,
        }
    }
}

/// Every call that reached a carrier stand-in, with its answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CarrierCall {
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub carrier: CarrierKind,
    /// `book`, `void` or `track`.
    pub operation: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
}

/// The carriers' part of the persisted state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CarrierState {
    pub customers: Vec<CarrierCustomer>,
    pub bookings: Vec<CarrierBooking>,
    pub idempotency: Vec<IdempotencyRecord>,
    /// The next 11-digit serial per carrier.
    pub next_serial: BTreeMap<CarrierKind, u64>,
    /// The test clock: real time plus this.
    pub clock_offset_seconds: i64,
    pub milestones: MilestoneTimes,
    pub calls: Vec<CarrierCall>,
    pub next_shipment: u64,
}

#[cfg(test)]
mod tests {
    use super::rules::width;
    use super::store::number;
    use super::*;

    #[test]
    fn numbers_carry_the_mod_7_check_digit() {
        assert_eq!(number(44_441_375_870), "444413758703");
        assert_eq!(number(51_254_751_433), "512547514334");
        assert_eq!(number(0), "000000000000");
    }

    #[test]
    fn sagawa_counter_skips_forbidden_blocks() {
        let mut st = CarrierState::default();
        st.next_serial.insert(CarrierKind::Sagawa, 10_999_999_999);
        assert_eq!(
            st.next_number(CarrierKind::Sagawa).ok().as_deref(),
            Some("109999999992")
        );
        let n = st.next_number(CarrierKind::Sagawa).unwrap_or_default();
        assert_eq!(&n[..3], "111", "{n}");
        st.next_serial.insert(CarrierKind::Sagawa, 11_900_000_000);
        let n = st.next_number(CarrierKind::Sagawa).unwrap_or_default();
        assert_eq!(&n[..3], "120", "{n}");
        st.next_serial.insert(CarrierKind::Yamato, 11_000_000_000);
        let n = st.next_number(CarrierKind::Yamato).unwrap_or_default();
        assert_eq!(&n[..3], "110", "Yamato has no forbidden prefix");
    }

    #[test]
    fn widths_count_full_width_as_two() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("東京都"), 6);
        assert_eq!(width("ｱｲｳ"), 3);
    }
}
