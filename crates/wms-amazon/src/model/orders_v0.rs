//! Orders API v0 `confirmShipment` (model `ordersV0.json`). v2026-01-01 has no confirmation call.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `ConfirmShipmentRequest`. Every schema field is modelled so bodies round-trip exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmShipmentRequest {
    pub package_detail: PackageDetail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cod_collection_method: Option<CodCollectionMethod>,
    pub marketplace_id: String,
}

/// `codCollectionMethod` (JP only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodCollectionMethod {
    DirectPayment,
}

/// `PackageDetail`: one package of the order (one call per package).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageDetail {
    /// A positive integer as a string ("1", "2"…); re-sending the same id edits that package.
    pub package_reference_id: String,
    /// Must match Amazon's carrier list exactly; `Other` requires `carrier_name`.
    pub carrier_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
    pub tracking_number: String,
    pub ship_date: ShipDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_from_supply_source_id: Option<String>,
    /// An array: sending an object is a known cause of `InvalidInput … OrderItemId is invalid`.
    pub order_items: Vec<ConfirmShipmentOrderItem>,
}

/// `ConfirmShipmentOrderItem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmShipmentOrderItem {
    pub order_item_id: String,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transparency_codes: Option<Vec<String>>,
}

/// `shipDate`: ISO 8601 date-time in the model, kept as the exact string on the wire.
///
/// Why a string: the model's own 400 example sends `"02/21/2022"`, and its 204 example sends
/// fractional seconds (`…01:00:00.000Z`) that a typed timestamp would not re-serialise
/// byte-for-byte. This client only builds values through [`ShipDate::from_datetime`]; a server
/// (the sandbox) validates with [`ShipDate::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShipDate(String);

impl ShipDate {
    pub fn from_datetime(t: OffsetDateTime) -> Self {
        // RFC 3339 formatting only fails outside years 0..=9999, which no ship date is.
        Self(t.format(&Rfc3339).unwrap_or_default())
    }

    /// The raw wire string, valid or not.
    pub fn from_raw(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The instant, if the string is ISO 8601 / RFC 3339.
    pub fn parse(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(&self.0, &Rfc3339).ok()
    }
}

impl PackageDetail {
    /// Checks the rules Amazon enforces that the schema cannot express, before spending a call.
    pub fn validate(&self) -> Result<(), &'static str> {
        let id_ok = !self.package_reference_id.is_empty()
            && self
                .package_reference_id
                .bytes()
                .all(|b| b.is_ascii_digit())
            && self.package_reference_id.bytes().any(|b| b != b'0');
        if !id_ok {
            return Err("packageReferenceId must be a positive integer");
        }
        if self.carrier_code.trim().is_empty() {
            return Err("carrierCode is required");
        }
        if self.carrier_code == "Other" && self.carrier_name.as_deref().is_none_or(str::is_empty) {
            return Err("carrierName is required when carrierCode is Other");
        }
        if self.tracking_number.trim().is_empty() {
            return Err("trackingNumber is required");
        }
        if self.ship_date.parse().is_none() {
            return Err("shipDate must be ISO 8601");
        }
        if self.order_items.is_empty() || self.order_items.iter().any(|i| i.quantity == 0) {
            return Err("orderItems must list at least one item with a positive quantity");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn detail() -> PackageDetail {
        PackageDetail {
            package_reference_id: "1".into(),
            carrier_code: "Yamato Transport".into(),
            carrier_name: None,
            shipping_method: None,
            tracking_number: "123456789012".into(),
            ship_date: ShipDate::from_datetime(datetime!(2026-02-01 09:30 +09:00)),
            ship_from_supply_source_id: None,
            order_items: vec![ConfirmShipmentOrderItem {
                order_item_id: "1".into(),
                quantity: 1,
                transparency_codes: None,
            }],
        }
    }

    #[test]
    fn ship_date_is_rfc3339_and_items_an_array() {
        let d = detail();
        assert_eq!(d.ship_date.as_str(), "2026-02-01T09:30:00+09:00");
        let v = serde_json::to_value(&d).expect("json");
        assert!(v["orderItems"].is_array());
        assert!(d.validate().is_ok());
    }

    #[test]
    fn validation_rules() {
        for bad in ["0", "", "-1", "A1", "00"] {
            let mut d = detail();
            d.package_reference_id = bad.into();
            assert!(d.validate().is_err(), "{bad:?}");
        }
        let mut d = detail();
        d.carrier_code = "Other".into();
        assert!(d.validate().is_err());
        d.carrier_name = Some("Seino".into());
        assert!(d.validate().is_ok());
        d.ship_date = ShipDate::from_raw("02/21/2022");
        assert!(d.validate().is_err());
    }
}
