//! The admin's privacy screen: retention settings and data-subject requests (export, correct,
//! delete an order's recipient). Thin commands over `wms_client::privacy`; the shapes are checked
//! here only as far as the form can get them wrong, the rules (days 30–3650, the postal code,
//! `pii_purged`) are the server's, and its codes reach the UI unchanged.

use serde::{Deserialize, Serialize};
use tauri::State;
use wms_client::privacy::{self, NewDataRequest, Recipient, RetentionPolicy};

use crate::error::{AppError, Result};
use crate::office::given;
use crate::{Desk, is_erasure};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionView {
    business_days: i64,
    audit_days: i64,
}

impl From<RetentionPolicy> for RetentionView {
    fn from(p: RetentionPolicy) -> Self {
        Self {
            business_days: p.business_days,
            audit_days: p.audit_days,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataRequestView {
    id: String,
    kind: String,
    order_id: String,
    requested_by: String,
    reason: String,
    verified_at: String,
    due_by: String,
    status: String,
    done_at: Option<String>,
    result: Option<String>,
}

impl From<privacy::DataRequest> for DataRequestView {
    fn from(r: privacy::DataRequest) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            order_id: r.order_id,
            requested_by: r.requested_by,
            reason: r.reason,
            verified_at: r.verified_at,
            due_by: r.due_by,
            status: r.status,
            done_at: r.done_at,
            result: r.result,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataRequestOutcomeView {
    request: DataRequestView,
    /// `export` only: the server's document as it came (its own snake_case field names), for the
    /// admin to hand over.
    export: Option<serde_json::Value>,
}

/// A corrected recipient as the form sends it (camelCase); empty optional fields are not given.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipientInput {
    name: String,
    postal_code: String,
    prefecture: String,
    city: String,
    address1: String,
    #[serde(default)]
    address2: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

impl From<RecipientInput> for Recipient {
    fn from(r: RecipientInput) -> Self {
        Self {
            name: r.name.trim().to_owned(),
            postal_code: r.postal_code.trim().to_owned(),
            prefecture: r.prefecture.trim().to_owned(),
            city: r.city.trim().to_owned(),
            address1: r.address1.trim().to_owned(),
            address2: given(r.address2),
            phone: given(r.phone),
            email: given(r.email),
        }
    }
}

/// The request as the server takes it: a known kind, an order, a reason, and a recipient exactly
/// when the kind is `correct`.
fn new_request(
    kind: &str,
    order_id: &str,
    reason: &str,
    recipient: Option<RecipientInput>,
) -> Result<NewDataRequest> {
    let order_id = order_id.trim();
    let reason = reason.trim();
    if order_id.is_empty() {
        return Err(AppError::invalid("orderId is required"));
    }
    if reason.is_empty() {
        return Err(AppError::invalid("reason is required"));
    }
    let recipient = match (kind, recipient) {
        ("correct", Some(r)) => Some(r.into()),
        ("correct", None) => return Err(AppError::invalid("a correction needs the recipient")),
        ("export" | "delete", None) => None,
        ("export" | "delete", Some(_)) => {
            return Err(AppError::invalid("only a correction carries a recipient"));
        }
        (k, _) => {
            return Err(AppError::invalid(format!(
                "kind: {k:?} is not export, correct or delete"
            )));
        }
    };
    Ok(NewDataRequest {
        kind: kind.to_owned(),
        order_id: order_id.to_owned(),
        reason: reason.to_owned(),
        recipient,
    })
}

/// The tenant's retention settings (admin).
#[tauri::command]
pub async fn retention(desk: State<'_, Desk>) -> Result<RetentionView> {
    with_station!(desk, |s| Ok(s.retention().await?.into()))
}

/// Replaces the retention settings (admin, step-up); the answer is what the server now holds.
#[tauri::command]
pub async fn set_retention(
    desk: State<'_, Desk>,
    business_days: i64,
    audit_days: i64,
) -> Result<RetentionView> {
    // The core's range check, the same the server makes: out of range is refused before a
    // step-up is asked for.
    let p = RetentionPolicy::new(business_days, audit_days)
        .map_err(|e| AppError::invalid(e.to_string()))?;
    with_station!(desk, |s| Ok(s.set_retention(p).await?.into()))
}

/// The recorded data-subject requests, newest first (admin).
#[tauri::command]
pub async fn data_requests(
    desk: State<'_, Desk>,
    limit: Option<u32>,
) -> Result<Vec<DataRequestView>> {
    with_station!(desk, |s| {
        Ok(s.data_requests(limit)
            .await?
            .into_iter()
            .map(DataRequestView::from)
            .collect())
    })
}

/// Records a data-subject request, carried out by the server at once (admin, step-up).
#[tauri::command]
pub async fn data_request_create(
    desk: State<'_, Desk>,
    kind: String,
    order_id: String,
    reason: String,
    recipient: Option<RecipientInput>,
) -> Result<DataRequestOutcomeView> {
    let r = new_request(&kind, &order_id, &reason, recipient)?;
    with_station!(desk, |s| {
        let out = s.record_data_request(&r).await?;
        Ok(DataRequestOutcomeView {
            request: out.request.into(),
            export: out.export,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient() -> RecipientInput {
        serde_json::from_value(serde_json::json!({
            "name": " 山田 太郎 ", "postalCode": "100-0001", "prefecture": "東京都", "city": "千代田区",
            "address1": "千代田1-1", "address2": "  ", "phone": "03-1234-5678", "email": null
        }))
        .unwrap()
    }

    #[test]
    fn a_request_is_checked_for_its_shape() {
        let r = new_request("delete", " ord-1 ", " verified ", None).unwrap();
        assert_eq!(
            (r.order_id.as_str(), r.reason.as_str()),
            ("ord-1", "verified")
        );
        assert!(r.recipient.is_none());
        let c = new_request("correct", "ord-1", "x", Some(recipient())).unwrap();
        let rec = c.recipient.unwrap();
        assert_eq!(rec.name, "山田 太郎");
        assert_eq!((rec.address2, rec.email), (None, None));
        assert_eq!(rec.phone.as_deref(), Some("03-1234-5678"));
        for (kind, order, reason, rec) in [
            ("correct", "ord-1", "x", None),
            ("delete", "ord-1", "x", Some(recipient())),
            ("purge", "ord-1", "x", None),
            ("export", " ", "x", None),
            ("export", "ord-1", " ", None),
        ] {
            let e = new_request(kind, order, reason, rec).unwrap_err();
            assert_eq!(e.code, "validation_failed", "{kind} {order:?} {reason:?}");
        }
    }

    #[test]
    fn views_are_camel_case_and_the_export_as_it_came() {
        let v = serde_json::to_value(DataRequestOutcomeView {
            request: privacy::DataRequest {
                id: "r1".into(),
                kind: "export".into(),
                order_id: "ord-1".into(),
                requested_by: "u1".into(),
                reason: "x".into(),
                verified_at: "a".into(),
                due_by: "b".into(),
                status: "done".into(),
                done_at: None,
                result: None,
            }
            .into(),
            export: Some(serde_json::json!({"external_id": "503-1"})),
        })
        .unwrap();
        assert_eq!(v["request"]["orderId"], "ord-1");
        assert_eq!(v["request"]["dueBy"], "b");
        assert_eq!(v["export"]["external_id"], "503-1");
        let r = serde_json::to_value(RetentionView::from(RetentionPolicy::new(90, 365).unwrap()))
            .unwrap();
        assert_eq!(r, serde_json::json!({"businessDays": 90, "auditDays": 365}));
    }
}
