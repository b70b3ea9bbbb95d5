//! The supervisor's goods in and returns: expected inbound shipments (ASN) and receipts against
//! them or blind, putaway from the receiving bin to storage, customer returns (expected → received
//! and restocked, quarantined or disposed of), the lists of each, and the list of cycle counts.
//! Every call goes through the station's session; the server checks every rule (an over-receipt,
//! a lot missing for a lot-tracked SKU, a quarantine that is no quarantine bin) and refuses with a
//! stable problem code that reaches the UI unchanged.
//!
//! The wire shapes tolerate fields they do not know and default the ones an older server does not
//! send (a list's `created_at`, a return's lines), so neither side has to be upgraded first.

use serde::{Deserialize, Serialize};

use crate::model::Sku;
use crate::office::{CountTask, segment};
use crate::station::{Station, StationError};

/// One line of an inbound shipment: what was announced and what has arrived so far.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct InboundLine {
    pub line_no: i64,
    /// The seller SKU.
    pub sku: String,
    pub expected: i64,
    pub received: i64,
}

/// An expected inbound shipment (ASN) as `GET /api/v1/inbound/{id}` and the list show it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Inbound {
    pub id: String,
    /// The supplier's ASN / delivery reference (unique per tenant).
    pub reference: String,
    /// The warehouse code.
    pub warehouse: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub expected_on: Option<String>,
    /// `open` until every line is fully received, then `received`.
    pub status: String,
    #[serde(default)]
    pub lines: Vec<InboundLine>,
    /// When it was announced (RFC 3339); absent from an older server's answers.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A SKU and a quantity: a line of a new inbound shipment or return.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct NewLine {
    /// The seller SKU.
    pub sku: String,
    pub quantity: i64,
}

/// An inbound shipment to announce (`POST /api/v1/inbound`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewInbound {
    /// The warehouse code (the tenant's only warehouse when `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
    pub reference: String,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_on: Option<String>,
    pub lines: Vec<NewLine>,
}

/// Goods put down at a location (`POST /api/v1/stock/receive`): against an inbound shipment's
/// line, or blind (surplus, or nothing announced).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Receipt {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
    /// Where the goods are put down: the receiving bin, or a storage bin directly.
    pub location: String,
    /// The seller SKU.
    pub sku: String,
    pub quantity: i64,
    /// Required for a lot-tracked SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// `YYYY-MM-DD`, with the lot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
    /// A delivery note number or the like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The inbound shipment received against; `None`: a blind receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_id: Option<String>,
}

/// Stock moved from one bin to another (`POST /api/v1/stock/move`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct StockMove {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
    /// The seller SKU.
    pub sku: String,
    /// Location codes.
    pub from: String,
    pub to: String,
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// A putaway (from receiving into storage) rather than a bin-to-bin move: the ledger records
    /// which it was.
    pub putaway: bool,
}

/// One line of a customer return.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ReturnLine {
    #[serde(default)]
    pub line_no: Option<i64>,
    /// The seller SKU.
    pub sku: String,
    pub quantity: i64,
}

/// A customer return (RMA) as the server shows it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Return {
    pub id: String,
    /// The order returned, when known.
    #[serde(default)]
    pub order_id: Option<String>,
    /// `expected`, then `restocked`, `quarantined` or `disposed`.
    pub status: String,
    /// Why the customer returned it.
    pub reason_code: String,
    /// Absent from the answer to a create or a receipt of an older server.
    #[serde(default)]
    pub lines: Vec<ReturnLine>,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A return to expect (`POST /api/v1/returns`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewReturn {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Why the customer returns it (e.g. `damaged`, `wrong_item`, `unwanted`).
    pub reason_code: String,
    pub lines: Vec<NewLine>,
}

/// What becomes of a received return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Back to sellable stock at the chosen location (and lot).
    Restock,
    /// Held in a quarantine location.
    Quarantine,
    /// Received, then disposed of.
    Dispose,
}

impl Disposition {
    pub const ALL: [Disposition; 3] = [Self::Restock, Self::Quarantine, Self::Dispose];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Restock => "restock",
            Self::Quarantine => "quarantine",
            Self::Dispose => "dispose",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// The inspection of a return as it is received (`POST /api/v1/returns/{id}/receive`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ReturnReceipt {
    pub disposition: Disposition,
    /// The location code (restock, quarantine); `None`: the warehouse's default bin of the kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
    /// For lot-tracked SKUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// The inspection's result, recorded with the movements.
    pub reason_code: String,
}

/// A location as `GET /api/v1/locations` lists it. Level and kind stay text: a kind a newer
/// server adds must not make the list unreadable.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Location {
    pub id: String,
    pub warehouse: String,
    pub code: String,
    #[serde(default)]
    pub parent: Option<String>,
    /// `zone`, `aisle` or `bin`.
    pub level: String,
    /// `storage`, `receiving`, `packing`, `outbound`, `returns`, `quarantine`.
    pub kind: String,
    #[serde(default)]
    pub walk_order: i64,
}

/// `status` and `limit` of a list, as query parameters (left out when not given).
fn list_query(status: Option<&str>, limit: Option<u32>) -> Vec<(&'static str, String)> {
    [
        status
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| ("status", s.to_owned())),
        limit.map(|l| ("limit", l.to_string())),
    ]
    .into_iter()
    .flatten()
    .collect()
}

impl Station {
    /// Inbound shipments in one status (all when `None`), newest first; `limit` 1–1000 (the
    /// server's default is 200).
    pub async fn inbound_shipments(
        &self,
        status: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<Inbound>, StationError> {
        self.get_json("/api/v1/inbound", &list_query(status, limit))
            .await
    }

    /// One inbound shipment with its lines.
    pub async fn inbound(&self, id: &str) -> Result<Inbound, StationError> {
        self.get_json(&format!("/api/v1/inbound/{}", segment(id)), &[])
            .await
    }

    /// Announces an inbound shipment; the answer is the shipment as the server holds it.
    pub async fn create_inbound(&self, n: &NewInbound) -> Result<Inbound, StationError> {
        let body = serde_json::to_value(n).unwrap_or_default();
        self.post_json("/api/v1/inbound", body).await
    }

    /// Receives goods into a location: against an inbound shipment's line (an over-receipt is
    /// refused: receive the surplus blind) or blind.
    pub async fn receive(&self, r: &Receipt) -> Result<(), StationError> {
        let body = serde_json::to_value(r).unwrap_or_default();
        self.post_unit("/api/v1/stock/receive", body).await
    }

    /// Moves stock between two bins: a putaway from receiving, or a bin-to-bin move.
    pub async fn move_stock(&self, m: &StockMove) -> Result<(), StationError> {
        let body = serde_json::to_value(m).unwrap_or_default();
        self.post_unit("/api/v1/stock/move", body).await
    }

    /// Customer returns in one status (all when `None`), newest first; `limit` 1–1000.
    pub async fn customer_returns(
        &self,
        status: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<Return>, StationError> {
        self.get_json("/api/v1/returns", &list_query(status, limit))
            .await
    }

    /// One customer return.
    pub async fn customer_return(&self, id: &str) -> Result<Return, StationError> {
        self.get_json(&format!("/api/v1/returns/{}", segment(id)), &[])
            .await
    }

    /// Records a return to expect (for an order, or none).
    pub async fn create_return(&self, n: &NewReturn) -> Result<Return, StationError> {
        let body = serde_json::to_value(n).unwrap_or_default();
        self.post_json("/api/v1/returns", body).await
    }

    /// Receives an expected return and applies the disposition to every line: restocked to a
    /// location (and lot), quarantined, or disposed of.
    pub async fn receive_return(
        &self,
        id: &str,
        r: &ReturnReceipt,
    ) -> Result<Return, StationError> {
        let body = serde_json::to_value(r).unwrap_or_default();
        let path = format!("/api/v1/returns/{}/receive", segment(id));
        self.post_json(&path, body).await
    }

    /// Cycle counts in one status (all when `None`), newest first; `limit` 1–1000.
    pub async fn counts(
        &self,
        status: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<CountTask>, StationError> {
        self.get_json("/api/v1/counts", &list_query(status, limit))
            .await
    }

    /// The locations of the tenant's warehouse (of `warehouse` when given), in walking order.
    pub async fn locations(&self, warehouse: Option<&str>) -> Result<Vec<Location>, StationError> {
        let query: Vec<(&str, String)> = warehouse
            .map(|w| ("warehouse", w.to_owned()))
            .into_iter()
            .collect();
        self.get_json("/api/v1/locations", &query).await
    }

    /// The SKU a scanned barcode or a typed seller SKU names, from this station's catalogue (the
    /// synced SKUs); `None` when it is not there. Whether it is lot-tracked is known for SKUs
    /// synced by this version (`lot_tracked`), and never changes once a SKU exists.
    pub async fn catalogue_sku(&self, code: &str) -> Result<Option<Sku>, StationError> {
        let code = code.trim();
        if code.is_empty() || code.len() > 128 {
            return Ok(None);
        }
        Ok(self.cache().sku_by_barcode(code).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_inbound_reads_with_or_without_the_fields_a_newer_server_adds() {
        let old: Inbound = serde_json::from_value(json!({
            "id": "in-1", "reference": "ASN-1", "warehouse": "TOKYO1", "expected_on": null,
            "status": "open", "lines": [{"line_no": 1, "sku": "JP-00001", "expected": 10, "received": 4}]
        }))
        .unwrap();
        assert_eq!(old.created_at, None);
        assert_eq!(old.lines[0].expected - old.lines[0].received, 6);
        let new: Inbound = serde_json::from_value(json!({
            "id": "in-1", "reference": "ASN-1", "warehouse": "TOKYO1", "expected_on": "2026-12-01",
            "status": "received", "lines": [], "created_at": "2026-11-29T08:00:00.000Z",
            "supplier": "some future field"
        }))
        .unwrap();
        assert_eq!(new.expected_on.as_deref(), Some("2026-12-01"));
        assert_eq!(new.created_at.as_deref(), Some("2026-11-29T08:00:00.000Z"));
    }

    #[test]
    fn a_blind_receipt_carries_no_inbound_and_no_empty_fields() {
        let r = Receipt {
            location: "RCV-01-01".into(),
            sku: "JP-00002".into(),
            quantity: 3,
            ..Receipt::default()
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"location": "RCV-01-01", "sku": "JP-00002", "quantity": 3})
        );
        let r = Receipt {
            lot: Some("L1".into()),
            expiry: Some("2027-03-31".into()),
            inbound_id: Some("in-1".into()),
            ..r
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            (&v["lot"], &v["expiry"], &v["inbound_id"]),
            (&json!("L1"), &json!("2027-03-31"), &json!("in-1"))
        );
    }

    #[test]
    fn a_putaway_says_it_is_one() {
        let m = StockMove {
            sku: "JP-00002".into(),
            from: "RCV-01-01".into(),
            to: "A-01-01-01".into(),
            quantity: 2,
            putaway: true,
            ..StockMove::default()
        };
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"sku": "JP-00002", "from": "RCV-01-01", "to": "A-01-01-01", "quantity": 2, "putaway": true})
        );
    }

    #[test]
    fn a_return_reads_as_a_create_answers_and_as_a_list_shows_it() {
        let created: Return = serde_json::from_value(json!({
            "id": "r-1", "order_id": "ord-1", "status": "expected", "reason_code": "damaged"
        }))
        .unwrap();
        assert!(created.lines.is_empty() && created.created_at.is_none());
        let listed: Return = serde_json::from_value(json!({
            "id": "r-1", "order_id": null, "status": "restocked", "reason_code": "unwanted",
            "lines": [{"line_no": 1, "sku": "JP-00002", "quantity": 1}],
            "created_at": "2026-11-29T08:00:00.000Z", "received_at": "x"
        }))
        .unwrap();
        assert_eq!(listed.order_id, None);
        assert_eq!(listed.lines[0].sku, "JP-00002");
    }

    #[test]
    fn dispositions_are_the_servers_words() {
        for d in Disposition::ALL {
            assert_eq!(serde_json::to_value(d).unwrap(), json!(d.as_str()));
            assert_eq!(Disposition::parse(d.as_str()), Some(d));
        }
        assert_eq!(Disposition::parse("burn"), None);
        let r = ReturnReceipt {
            disposition: Disposition::Dispose,
            location: None,
            warehouse: None,
            lot: None,
            reason_code: "damaged".into(),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"disposition": "dispose", "reason_code": "damaged"})
        );
    }

    #[test]
    fn a_location_of_a_kind_this_build_does_not_know_still_reads() {
        let l: Location = serde_json::from_value(json!({
            "id": "l1", "warehouse": "TOKYO1", "code": "COLD-01-01", "parent": "COLD-01",
            "level": "bin", "kind": "cold_storage", "walk_order": 5
        }))
        .unwrap();
        assert_eq!((l.kind.as_str(), l.level.as_str()), ("cold_storage", "bin"));
    }

    #[test]
    fn list_filters_left_out_when_not_given() {
        assert!(list_query(None, None).is_empty());
        assert!(list_query(Some(" "), None).is_empty());
        assert_eq!(
            list_query(Some("open"), Some(50)),
            vec![("status", "open".to_owned()), ("limit", "50".to_owned())]
        );
    }
}
