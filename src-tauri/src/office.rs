//! The supervisor's approvals: stock adjustments (asked for with a reason; above the tenant's
//! threshold they wait for a second supervisor) and cycle counts; the admin's audit log. Thin
//! commands over
//! `wms_client::office`; the server's refusals (`four_eyes_required`, `count_not_counted`, …)
//! reach the UI with their codes unchanged.

use serde::Serialize;
use tauri::State;
use wms_client::office::{self, AdjustOutcome, NewAdjustment, StockPlace};

use crate::error::{AppError, Result};
use crate::{Desk, is_erasure};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdjustmentView {
    id: String,
    sku: String,
    location: String,
    lot: Option<String>,
    delta: i64,
    reason: String,
    status: String,
    requested_by: String,
    requested_at: String,
    decided_by: Option<String>,
}

impl From<office::AdjustmentRequest> for AdjustmentView {
    fn from(r: office::AdjustmentRequest) -> Self {
        Self {
            id: r.id,
            sku: r.sku,
            location: r.location,
            lot: r.lot,
            delta: r.delta,
            reason: r.reason_code,
            status: r.status,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            decided_by: r.decided_by,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdjustView {
    /// `applied` or `pending_approval`.
    outcome: &'static str,
    request_id: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CountView {
    id: String,
    sku: String,
    location: String,
    lot: Option<String>,
    status: String,
    expected: Option<i64>,
    counted: Option<i64>,
    variance: Option<i64>,
    created_at: Option<String>,
}

impl From<office::CountTask> for CountView {
    fn from(c: office::CountTask) -> Self {
        Self {
            id: c.id,
            sku: c.sku,
            location: c.location,
            lot: c.lot,
            status: c.status,
            expected: c.expected,
            counted: c.counted,
            variance: c.variance,
            created_at: c.created_at,
        }
    }
}

/// The statuses the server lists by; anything else is refused here with the contract's code.
fn adjustment_status(status: Option<&str>) -> Result<Option<&str>> {
    match status.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s @ ("pending" | "approved" | "rejected")) => Ok(Some(s)),
        Some(s) => Err(AppError::invalid(format!(
            "status: {s:?} is not pending, approved or rejected"
        ))),
    }
}

/// A text field the UI sends: trimmed; empty means not given.
pub(crate) fn given(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The SKU, location and lot the UI sends, trimmed; the tenant's default warehouse.
fn place(sku: &str, location: &str, lot: Option<String>) -> StockPlace {
    StockPlace {
        sku: sku.trim().to_owned(),
        location: location.trim().to_owned(),
        warehouse: None,
        lot: given(lot),
    }
}

/// Adjustment requests in one status (pending when none), newest first.
#[tauri::command]
pub async fn adjustments(
    desk: State<'_, Desk>,
    status: Option<String>,
) -> Result<Vec<AdjustmentView>> {
    let status = adjustment_status(status.as_deref())?;
    with_station!(desk, |s| {
        Ok(s.adjustments(status)
            .await?
            .into_iter()
            .map(AdjustmentView::from)
            .collect())
    })
}

/// Asks for an adjustment with a reason.
#[tauri::command]
pub async fn adjust(
    desk: State<'_, Desk>,
    sku: String,
    location: String,
    lot: Option<String>,
    delta: i64,
    reason: String,
) -> Result<AdjustView> {
    let a = NewAdjustment {
        place: place(&sku, &location, lot),
        delta,
        reason_code: reason.trim().to_owned(),
    };
    with_station!(desk, |s| {
        Ok(match s.adjust(&a).await? {
            AdjustOutcome::Applied => AdjustView {
                outcome: "applied",
                request_id: None,
            },
            AdjustOutcome::PendingApproval { request_id } => AdjustView {
                outcome: "pending_approval",
                request_id: Some(request_id),
            },
        })
    })
}

/// Approves or rejects a pending adjustment request; the answer is its new status.
#[tauri::command]
pub async fn adjustment_decide(desk: State<'_, Desk>, id: String, approve: bool) -> Result<String> {
    with_station!(desk, |s| Ok(s
        .decide_adjustment(&id, approve)
        .await?
        .status))
}

/// Opens a cycle count.
#[tauri::command]
pub async fn count_create(
    desk: State<'_, Desk>,
    sku: String,
    location: String,
    lot: Option<String>,
) -> Result<CountView> {
    let c = place(&sku, &location, lot);
    with_station!(desk, |s| Ok(s.create_count(&c).await?.into()))
}

/// One count task, by its id.
#[tauri::command]
pub async fn count_get(desk: State<'_, Desk>, id: String) -> Result<CountView> {
    with_station!(desk, |s| Ok(s.count(id.trim()).await?.into()))
}

/// Enters the counted quantity.
#[tauri::command]
pub async fn count_enter(desk: State<'_, Desk>, id: String, counted: i64) -> Result<CountView> {
    with_station!(desk, |s| Ok(s.enter_count(&id, counted).await?.into()))
}

/// Approves (posting the variance) or rejects a counted task.
#[tauri::command]
pub async fn count_decide(desk: State<'_, Desk>, id: String, approve: bool) -> Result<CountView> {
    with_station!(desk, |s| Ok(s.decide_count(&id, approve).await?.into()))
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventView {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: Option<String>,
    ip: Option<String>,
    outcome: String,
    detail: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPageView {
    events: Vec<AuditEventView>,
    next_before: Option<i64>,
}

impl From<office::AuditPage> for AuditPageView {
    fn from(p: office::AuditPage) -> Self {
        Self {
            events: p
                .events
                .into_iter()
                .map(|e| AuditEventView {
                    seq: e.seq,
                    at: e.at,
                    actor: e.actor,
                    action: e.action,
                    target: e.target,
                    ip: e.ip,
                    outcome: e.outcome,
                    detail: e.detail,
                })
                .collect(),
            next_before: p.next_before,
        }
    }
}

/// The audit log, newest first, a page at a time (admin).
#[tauri::command]
pub async fn audit_log(
    desk: State<'_, Desk>,
    before: Option<i64>,
    limit: Option<u32>,
) -> Result<AuditPageView> {
    with_station!(desk, |s| Ok(s.audit_log(before, limit).await?.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjustment_status_is_one_the_server_lists_by() {
        assert_eq!(adjustment_status(None).unwrap(), None);
        assert_eq!(adjustment_status(Some("")).unwrap(), None);
        for s in ["pending", "approved", "rejected"] {
            assert_eq!(adjustment_status(Some(s)).unwrap(), Some(s));
        }
        let e = adjustment_status(Some("all")).unwrap_err();
        assert_eq!(e.code, "validation_failed");
    }

    #[test]
    fn empty_text_is_not_given() {
        assert_eq!(given(None), None);
        assert_eq!(given(Some("  ".into())), None);
        assert_eq!(given(Some(" L1 ".into())), Some("L1".into()));
        let p = place(" TEA ", " A-01 ", Some(String::new()));
        assert_eq!((p.sku.as_str(), p.location.as_str()), ("TEA", "A-01"));
        assert_eq!((p.warehouse, p.lot), (None, None));
    }

    #[test]
    fn views_are_camel_case() {
        let v = serde_json::to_value(AdjustView {
            outcome: "pending_approval",
            request_id: Some("r1".into()),
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"outcome":"pending_approval","requestId":"r1"})
        );
        let p = AuditPageView::from(office::AuditPage {
            events: vec![],
            next_before: Some(41),
        });
        let v = serde_json::to_value(p).unwrap();
        assert_eq!(v, serde_json::json!({"events":[],"nextBefore":41}));
    }
}
