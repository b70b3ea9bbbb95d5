//! The admin's privacy duties (the privacy policy, sections 8 and 11): the tenant's retention
//! settings and data-subject requests about an order's recipient (export, correct, delete). The
//! server carries a request out at once and records it; changing the retention or recording a
//! request needs a fresh MFA step-up (`step_up_required` otherwise, which reaches the UI unchanged,
//! as do `validation_failed` and `pii_purged`).

use serde::{Deserialize, Serialize};

use crate::api::Call;
use crate::station::{Station, StationError};

/// A tenant's retention, in days (30–3650 each): the core's type, which checks the range.
pub use wms_core::retention::RetentionPolicy;

/// A recipient in Japanese address order, as a `correct` request replaces it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Recipient {
    pub name: String,
    /// `NNN-NNNN` (or seven digits).
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub address1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A data-subject request to record (`POST /api/v1/data-requests`). The kind stays text, so the
/// server alone decides which kinds exist (`export`, `correct`, `delete` today).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewDataRequest {
    pub kind: String,
    pub order_id: String,
    /// Why, and how the requester was verified (no personal data).
    pub reason: String,
    /// `correct` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
}

/// One recorded request as `GET /api/v1/data-requests` lists it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DataRequest {
    pub id: String,
    pub kind: String,
    pub order_id: String,
    /// The admin who recorded it (a user id).
    pub requested_by: String,
    pub reason: String,
    /// RFC 3339, UTC.
    pub verified_at: String,
    /// Verification + 30 days: the policy's deadline.
    pub due_by: String,
    /// `open` or `done`.
    pub status: String,
    #[serde(default)]
    pub done_at: Option<String>,
    /// What was done (no personal data).
    #[serde(default)]
    pub result: Option<String>,
}

/// The answer to a new request: its record and, for `export`, the order as the server holds it
/// (the full recipient included). The export is kept as the server's JSON document: it is handed
/// to the requester as it is, and a field a newer server adds must not be dropped on the way.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DataRequestOutcome {
    pub request: DataRequest,
    #[serde(default)]
    pub export: Option<serde_json::Value>,
}

impl Station {
    /// The tenant's retention settings (admin).
    pub async fn retention(&self) -> Result<RetentionPolicy, StationError> {
        self.get_json("/api/v1/settings/retention", &[]).await
    }

    /// Replaces the tenant's retention settings (admin, after a step-up); the answer is what the
    /// server now holds.
    pub async fn set_retention(
        &self,
        policy: RetentionPolicy,
    ) -> Result<RetentionPolicy, StationError> {
        let body = serde_json::to_value(policy).unwrap_or_default();
        // The same key for the call and its retries: the change is recorded and audited once.
        let key = uuid::Uuid::now_v7().to_string();
        Ok(self
            .session()
            .json(|t| {
                Call::put("/api/v1/settings/retention", body.clone())
                    .idempotency_key(&key)
                    .bearer(t)
            })
            .await?)
    }

    /// The recorded data-subject requests, newest first; `limit` 1–500 (the server's default is
    /// 100). Admin.
    pub async fn data_requests(
        &self,
        limit: Option<u32>,
    ) -> Result<Vec<DataRequest>, StationError> {
        let query: Vec<(&str, String)> = limit
            .map(|l| ("limit", l.to_string()))
            .into_iter()
            .collect();
        self.get_json("/api/v1/data-requests", &query).await
    }

    /// Records a data-subject request, which the server carries out at once (admin, after a
    /// step-up). A `delete` erases the recipient: there is no undo.
    pub async fn record_data_request(
        &self,
        r: &NewDataRequest,
    ) -> Result<DataRequestOutcome, StationError> {
        let body = serde_json::to_value(r).unwrap_or_default();
        self.post_json("/api/v1/data-requests", body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delete_request_carries_no_recipient() {
        let r = NewDataRequest {
            kind: "delete".into(),
            order_id: "ord-1".into(),
            reason: "verified by phone".into(),
            recipient: None,
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"kind":"delete","order_id":"ord-1","reason":"verified by phone"})
        );
    }

    #[test]
    fn a_correction_leaves_out_the_fields_not_given() {
        let r = Recipient {
            name: "山田 太郎".into(),
            postal_code: "100-0001".into(),
            prefecture: "東京都".into(),
            city: "千代田区".into(),
            address1: "千代田1-1".into(),
            address2: None,
            phone: Some("03-1234-5678".into()),
            email: None,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["phone"], "03-1234-5678");
        assert!(v.get("address2").is_none() && v.get("email").is_none());
    }

    #[test]
    fn an_outcome_reads_as_the_server_writes_it() {
        let o: DataRequestOutcome = serde_json::from_str(
            r#"{"request":{"id":"r1","kind":"export","order_id":"ord-1","requested_by":"u1","reason":"x",
                "verified_at":"2026-11-29T00:00:00Z","due_by":"2026-12-29T00:00:00Z","status":"done",
                "done_at":"2026-11-29T00:00:00Z","result":"order, lines, packages and recipient exported"},
                "export":{"id":"ord-1","recipient":{"name":"山田 太郎"},"some_future_field":1}}"#,
        )
        .unwrap();
        assert_eq!(o.request.status, "done");
        let export = o.export.unwrap();
        assert_eq!(export["recipient"]["name"], "山田 太郎");
        assert_eq!(export["some_future_field"], 1);
        let d: DataRequestOutcome = serde_json::from_str(
            r#"{"request":{"id":"r2","kind":"delete","order_id":"ord-1","requested_by":"u1","reason":"x",
                "verified_at":"a","due_by":"b","status":"done"}}"#,
        )
        .unwrap();
        assert!(d.export.is_none() && d.request.done_at.is_none());
    }
}
