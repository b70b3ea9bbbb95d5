//! Data-subject requests about an order's recipient (privacy policy, section 8 and 11): export,
//! correction, deletion (anonymisation). An admin records a request once the requester's identity
//! and authority are verified; the server carries it out at once, inside the same transaction as
//! its record and its audit event, so `due_by` (verification + 30 days) is met by construction.
//! The record keeps a summary without PII.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use wms_core::retention::{RequestKind, due_by_ms};

use crate::db::{Backend, TenantTx};
use crate::error::ApiError;
use crate::keys::TenantKeys;
use crate::time::rfc3339;
use crate::warehouse::orders::{self, OrderView, Recipient};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDataRequest {
    pub kind: RequestKind,
    /// The order whose recipient the request is about.
    pub order_id: String,
    /// Why, and how the requester was verified (kept with the request: write no personal data here).
    pub reason: String,
    /// `correct` only: the recipient's details as they should be.
    #[serde(default)]
    pub recipient: Option<Recipient>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataRequestView {
    pub id: String,
    pub kind: RequestKind,
    pub order_id: String,
    /// The admin who recorded it (user id).
    pub requested_by: String,
    pub reason: String,
    pub verified_at: String,
    /// Verification + 30 days: the policy's deadline.
    pub due_by: String,
    /// `open` or `done`.
    pub status: String,
    pub done_at: Option<String>,
    /// What was done (no personal data).
    pub result: Option<String>,
}

/// The answer to a new request: its record, and for `export` the order's data.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataRequestOutcome {
    pub request: DataRequestView,
    /// `export` only: the order as stored, the full recipient included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<OrderView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DataRequestQuery {
    /// 1–500, default 100; newest first.
    pub limit: Option<i64>,
}

/// Check a request's shape before anything is looked up.
pub fn validate(r: &NewDataRequest) -> Result<(), ApiError> {
    let n = r.reason.trim().chars().count();
    if n == 0 || n > 500 {
        return Err(ApiError::Validation(
            "reason must be 1–500 characters".into(),
        ));
    }
    match (r.kind, &r.recipient) {
        (RequestKind::Correct, None) => Err(ApiError::Validation(
            "a `correct` request needs the corrected `recipient`".into(),
        )),
        (RequestKind::Export | RequestKind::Delete, Some(_)) => Err(ApiError::Validation(
            "only a `correct` request carries a `recipient`".into(),
        )),
        _ => Ok(()),
    }
}

/// Carry out a validated request on an order known to exist in the tenant, and record it.
/// Returns the outcome and the audit detail to record (no PII).
pub async fn carry_out(
    tx: &mut TenantTx,
    backend: Backend,
    keys: &TenantKeys,
    actor: &str,
    r: NewDataRequest,
    now: i64,
) -> Result<DataRequestOutcome, ApiError> {
    let id = Uuid::now_v7().to_string();
    let (result, export) = match r.kind {
        RequestKind::Export => {
            let view = orders::view(tx, backend, keys, &r.order_id, true)
                .await?
                .ok_or(ApiError::NotFound("order"))?;
            let what = if view.recipient.is_some() {
                "order, lines, packages and recipient exported"
            } else {
                "order, lines and packages exported (no recipient PII held)"
            };
            (what.to_owned(), Some(view))
        }
        RequestKind::Delete => {
            let erased = orders::erase_order_recipient(tx, backend, &r.order_id, now).await?;
            let what = if erased {
                "recipient erased (name, address, phone, e-mail and labels)"
            } else {
                "no recipient PII held (already erased or never stored)"
            };
            (what.to_owned(), None)
        }
        RequestKind::Correct => {
            let recipient = r.recipient.ok_or_else(|| {
                ApiError::Validation("a `correct` request needs the corrected `recipient`".into())
            })?;
            orders::correct_recipient(tx, backend, keys, &r.order_id, recipient).await?;
            ("recipient replaced and re-sealed".to_owned(), None)
        }
    };
    let reason = r.reason.trim().to_owned();
    let (tid, conn) = tx.split();
    sqlx::query(
        "INSERT INTO data_requests (tenant_id, id, kind, order_id, requested_by, reason, verified_at, due_by, status, done_at, result, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'done', $7, $9, $7)",
    )
    .bind(tid)
    .bind(&id)
    .bind(r.kind.as_str())
    .bind(&r.order_id)
    .bind(actor)
    .bind(&reason)
    .bind(now)
    .bind(due_by_ms(now))
    .bind(&result)
    .execute(conn)
    .await?;
    Ok(DataRequestOutcome {
        request: DataRequestView {
            id,
            kind: r.kind,
            order_id: r.order_id,
            requested_by: actor.to_owned(),
            reason,
            verified_at: rfc3339(now),
            due_by: rfc3339(due_by_ms(now)),
            status: "done".into(),
            done_at: Some(rfc3339(now)),
            result: Some(result),
        },
        export,
    })
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<i64>,
    Option<String>,
);

/// The tenant's requests, newest first.
pub async fn list(
    tx: &mut TenantTx,
    q: &DataRequestQuery,
) -> Result<Vec<DataRequestView>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Validation("limit must be 1–500".into()));
    }
    let (tid, conn) = tx.split();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, order_id, requested_by, reason, verified_at, due_by, status, done_at, result \
         FROM data_requests WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(tid)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(DataRequestView {
                kind: r.1.parse().map_err(ApiError::internal)?,
                id: r.0,
                order_id: r.2,
                requested_by: r.3,
                reason: r.4,
                verified_at: rfc3339(r.5),
                due_by: rfc3339(r.6),
                status: r.7,
                done_at: r.8.map(rfc3339),
                result: r.9,
            })
        })
        .collect()
}
