//! The office's inventory control and oversight, beyond what the bench needs: stock adjustments
//! and their approval by a second supervisor (four eyes), cycle counts (open → counted →
//! approved or rejected), and the admin's audit log, newest first. Every call goes through the station's session, like `desk`'s; the
//! server decides who may do what and refuses with a stable problem code (`four_eyes_required`
//! when the requester of an adjustment tries to approve it), which reaches the UI unchanged.

use serde::{Deserialize, Serialize};

use crate::station::{Station, StationError};

/// One adjustment request as `GET /api/v1/adjustments` lists it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AdjustmentRequest {
    pub id: String,
    /// The seller SKU.
    pub sku: String,
    /// The location code.
    pub location: String,
    #[serde(default)]
    pub lot: Option<String>,
    /// Positive: stock found; negative: written off.
    pub delta: i64,
    pub reason_code: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    /// A user id.
    pub requested_by: String,
    /// RFC 3339, UTC.
    pub requested_at: String,
    #[serde(default)]
    pub decided_by: Option<String>,
}

/// Where stock is counted or adjusted: a SKU (and lot) at a location.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StockPlace {
    /// The seller SKU.
    pub sku: String,
    /// The location code (in the tenant's default warehouse unless `warehouse` is given).
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warehouse: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
}

/// An adjustment to ask for (`POST /api/v1/stock/adjust`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewAdjustment {
    #[serde(flatten)]
    pub place: StockPlace,
    pub delta: i64,
    pub reason_code: String,
}

/// What became of an adjustment: posted at once, or waiting for another supervisor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AdjustOutcome {
    Applied,
    PendingApproval { request_id: String },
}

/// The answer to approving or rejecting an adjustment request.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Decision {
    pub id: String,
    /// `approved` or `rejected`.
    pub status: String,
}

/// A cycle count task.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CountTask {
    pub id: String,
    /// The seller SKU.
    pub sku: String,
    /// The location code.
    pub location: String,
    #[serde(default)]
    pub lot: Option<String>,
    /// `open`, `counted`, `approved` or `rejected`.
    pub status: String,
    /// On hand when the count was entered.
    #[serde(default)]
    pub expected: Option<i64>,
    #[serde(default)]
    pub counted: Option<i64>,
    /// `counted - expected`.
    #[serde(default)]
    pub variance: Option<i64>,
    /// When the task was opened (RFC 3339); absent from an older server's answers.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// One audit event as `GET /api/v1/audit` lists it. The action and outcome stay text: a server
/// that records a new kind of event must not make the older desktop's log unreadable.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuditEvent {
    /// The event's place in the tenant's hash chain.
    pub seq: i64,
    /// RFC 3339, UTC.
    pub at: String,
    pub actor: String,
    /// E.g. `login_ok`, `role_changed`, `device_wiped`.
    pub action: String,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    #[serde(default)]
    pub detail: Option<String>,
}

/// One page of the audit log, newest first.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(default)]
    pub next_before: Option<i64>,
}

/// An id as one URL path segment: ids come from the server, but a person may type one (a count
/// id), and a `/`, `?` or `..` in it must not reach another endpoint. Unreserved characters stay,
/// everything else is percent-encoded.
pub(crate) fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Station {
    /// Adjustment requests in one status (`pending` when `None`), newest first (at most 500).
    pub async fn adjustments(
        &self,
        status: Option<&str>,
    ) -> Result<Vec<AdjustmentRequest>, StationError> {
        let query: Vec<(&str, String)> = status
            .map(|s| ("status", s.to_owned()))
            .into_iter()
            .collect();
        self.get_json("/api/v1/adjustments", &query).await
    }

    /// Asks for a stock adjustment with a reason: applied at once, or (above the tenant's
    /// threshold) a request another supervisor must approve.
    pub async fn adjust(&self, a: &NewAdjustment) -> Result<AdjustOutcome, StationError> {
        let body = serde_json::to_value(a).unwrap_or_default();
        self.post_json("/api/v1/stock/adjust", body).await
    }

    /// Approves (posting it to the ledger) or rejects a pending adjustment request. The server
    /// refuses the requester's own approval with `four_eyes_required`.
    pub async fn decide_adjustment(
        &self,
        id: &str,
        approve: bool,
    ) -> Result<Decision, StationError> {
        let path = format!("/api/v1/adjustments/{}/{}", segment(id), verb(approve));
        self.post_json(&path, serde_json::Value::Null).await
    }

    /// Opens a cycle count of one SKU (and lot) at one location (`POST /api/v1/counts`).
    pub async fn create_count(&self, c: &StockPlace) -> Result<CountTask, StationError> {
        let body = serde_json::to_value(c).unwrap_or_default();
        self.post_json("/api/v1/counts", body).await
    }

    /// One count task.
    pub async fn count(&self, id: &str) -> Result<CountTask, StationError> {
        self.get_json(&format!("/api/v1/counts/{}", segment(id)), &[])
            .await
    }

    /// Enters the counted quantity; the server computes the variance against on-hand now.
    pub async fn enter_count(&self, id: &str, counted: i64) -> Result<CountTask, StationError> {
        let path = format!("/api/v1/counts/{}/count", segment(id));
        self.post_json(&path, serde_json::json!({ "counted": counted }))
            .await
    }

    /// Approves (posting the variance as a `count` movement) or rejects a counted task.
    pub async fn decide_count(&self, id: &str, approve: bool) -> Result<CountTask, StationError> {
        let path = format!("/api/v1/counts/{}/{}", segment(id), verb(approve));
        self.post_json(&path, serde_json::Value::Null).await
    }

    /// The audit log, newest first: events with a sequence number below `before` (all when
    /// `None`), `limit` of them (1–500; the server's default is 100). Admin only.
    pub async fn audit_log(
        &self,
        before: Option<i64>,
        limit: Option<u32>,
    ) -> Result<AuditPage, StationError> {
        let query: Vec<(&str, String)> = [
            before.map(|b| ("before", b.to_string())),
            limit.map(|l| ("limit", l.to_string())),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.get_json("/api/v1/audit", &query).await
    }
}

fn verb(approve: bool) -> &'static str {
    if approve { "approve" } else { "reject" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_stays_one_path_segment() {
        assert_eq!(
            segment("0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b"),
            "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b"
        );
        assert_eq!(segment("../users/x?y=1"), "%2E%2E%2Fusers%2Fx%3Fy%3D1");
        assert_eq!(segment("ü"), "%C3%BC");
    }

    #[test]
    fn outcomes_read_as_the_server_writes_them() {
        let a: AdjustOutcome = serde_json::from_str(r#"{"outcome":"applied"}"#).unwrap();
        assert_eq!(a, AdjustOutcome::Applied);
        let p: AdjustOutcome =
            serde_json::from_str(r#"{"outcome":"pending_approval","request_id":"r1"}"#).unwrap();
        assert_eq!(
            p,
            AdjustOutcome::PendingApproval {
                request_id: "r1".into()
            }
        );
    }

    #[test]
    fn an_audit_event_of_a_kind_this_build_does_not_know_still_reads() {
        let p: AuditPage = serde_json::from_str(
            r#"{"events":[{"seq":7,"at":"2026-11-28T10:00:00Z","actor":"user:u1","action":"some_future_action","outcome":"success"}]}"#,
        )
        .unwrap();
        assert_eq!(p.next_before, None);
        assert_eq!(p.events[0].action, "some_future_action");
        assert_eq!(p.events[0].target, None);
    }

    #[test]
    fn optional_fields_are_left_out_of_requests() {
        let a = NewAdjustment {
            place: StockPlace {
                sku: "TEA".into(),
                location: "A-01".into(),
                warehouse: None,
                lot: None,
            },
            delta: -3,
            reason_code: "damaged".into(),
        };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"sku":"TEA","location":"A-01","delta":-3,"reason_code":"damaged"})
        );
    }
}
