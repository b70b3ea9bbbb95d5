//! Inventory control: adjustments above a threshold need a second supervisor (four eyes), and
//! cycle counts go open → counted → approved, the approval posting the variance as a `count`
//! movement (built by `wms_core::ledger::Balances::count_movement`).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use wms_core::ledger::{Balance, Balances, MovementKind, StockKey};

use super::master::{self, Sku};
use super::stock::{self, Post, ledger_error};
use super::{rule, state};
use crate::db::{Backend, TenantTx};
use crate::error::ApiError;
use crate::time::{now_ms, rfc3339};

/// An adjustment as asked for, resolved to ids.
pub struct Adjustment<'a> {
    pub sku: &'a Sku,
    pub location_id: &'a str,
    pub batch_key: &'a str,
    pub delta: i64,
    pub reason_code: &'a str,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AdjustOutcome {
    /// Posted to the ledger at once.
    Applied,
    /// Above the approval threshold: waits for another supervisor.
    PendingApproval { request_id: String },
}

async fn apply(
    tx: &mut TenantTx,
    backend: Backend,
    user: &str,
    a: &Adjustment<'_>,
    reference: Option<&str>,
) -> Result<(), ApiError> {
    let (from, to) = if a.delta > 0 {
        (None, Some(a.location_id))
    } else {
        (Some(a.location_id), None)
    };
    let post = Post {
        kind: MovementKind::Adjust,
        sku_id: &a.sku.id,
        from,
        to,
        batch_key: a.batch_key,
        quantity: a.delta.abs(),
        reason: a.reason_code,
        reference,
    };
    stock::post(tx, backend, user, &post).await
}

/// Apply at once, or (|delta| above `threshold`) record a request for a second supervisor.
pub async fn adjust(
    tx: &mut TenantTx,
    backend: Backend,
    user: &str,
    a: &Adjustment<'_>,
    threshold: i64,
) -> Result<AdjustOutcome, ApiError> {
    if a.delta == 0 {
        return Err(rule(
            "ledger_non_positive_quantity",
            "delta must not be zero",
        ));
    }
    if a.reason_code.trim().is_empty() || a.reason_code.len() > 64 {
        return Err(rule(
            "ledger_missing_reason",
            "an adjustment needs a reason code",
        ));
    }
    if a.delta.abs() <= threshold {
        apply(tx, backend, user, a, None).await?;
        return Ok(AdjustOutcome::Applied);
    }
    // Refuse now what could never be applied (writing off more than is available).
    if a.delta < 0 {
        let key = StockKey::new(
            &a.sku.id,
            a.location_id,
            (!a.batch_key.is_empty()).then_some(a.batch_key),
        );
        let b = current(tx, &key).await?;
        let m = wms_core::ledger::Movement {
            sku: key.sku.clone(),
            from: Some(key.location.clone()),
            to: None,
            batch: key.batch.clone(),
            quantity: -a.delta,
            kind: MovementKind::Adjust,
            reason_code: a.reason_code.into(),
        };
        Balances::from_entries([(key, b)])
            .map_err(ledger_error)?
            .check(&m)
            .map_err(ledger_error)?;
    }
    let id = Uuid::now_v7().to_string();
    let (tid, conn) = tx.split();
    sqlx::query(
        "INSERT INTO adjustment_requests (tenant_id, id, sku_id, location_id, batch_key, delta, reason_code, status, requested_by, requested_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9)",
    )
    .bind(tid)
    .bind(&id)
    .bind(&a.sku.id)
    .bind(a.location_id)
    .bind(a.batch_key)
    .bind(a.delta)
    .bind(a.reason_code.trim())
    .bind(user)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(AdjustOutcome::PendingApproval { request_id: id })
}

async fn current(tx: &mut TenantTx, key: &StockKey) -> Result<Balance, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<(i64, i64)> = sqlx::query_as("SELECT on_hand, reserved FROM stock_balances WHERE tenant_id = $1 AND sku_id = $2 AND location_id = $3 AND batch_key = $4")
        .bind(tid)
        .bind(&key.sku)
        .bind(&key.location)
        .bind(key.batch.as_deref().unwrap_or(""))
        .fetch_optional(conn)
        .await?;
    Ok(
        row.map_or_else(Balance::default, |(on_hand, reserved)| Balance {
            on_hand,
            reserved,
        }),
    )
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdjustmentRequest {
    pub id: String,
    pub sku: String,
    pub location: String,
    pub lot: Option<String>,
    pub delta: i64,
    pub reason_code: String,
    pub status: String,
    pub requested_by: String,
    pub requested_at: String,
    pub decided_by: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentQuery {
    /// `pending` (default), `approved` or `rejected`.
    pub status: Option<String>,
}

pub async fn list_adjustments(
    tx: &mut TenantTx,
    status: &str,
) -> Result<Vec<AdjustmentRequest>, ApiError> {
    if !["pending", "approved", "rejected"].contains(&status) {
        return Err(ApiError::Validation(
            "status must be pending, approved or rejected".into(),
        ));
    }
    let (tid, conn) = tx.split();
    let rows: Vec<(String, String, String, Option<String>, i64, String, String, String, i64, Option<String>)> = sqlx::query_as(
        "SELECT r.id, s.seller_sku, l.code, b.lot, r.delta, r.reason_code, r.status, r.requested_by, r.requested_at, r.decided_by FROM adjustment_requests r \
         JOIN skus s ON s.tenant_id = r.tenant_id AND s.id = r.sku_id JOIN locations l ON l.tenant_id = r.tenant_id AND l.id = r.location_id \
         LEFT JOIN batches b ON b.tenant_id = r.tenant_id AND b.id = r.batch_key WHERE r.tenant_id = $1 AND r.status = $2 ORDER BY r.id DESC LIMIT 500",
    )
    .bind(tid)
    .bind(status)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AdjustmentRequest {
            id: r.0,
            sku: r.1,
            location: r.2,
            lot: r.3,
            delta: r.4,
            reason_code: r.5,
            status: r.6,
            requested_by: r.7,
            requested_at: rfc3339(r.8),
            decided_by: r.9,
        })
        .collect())
}

pub async fn adjustment_exists(tx: &mut TenantTx, id: &str) -> Result<bool, ApiError> {
    let (tid, conn) = tx.split();
    let r: Option<(String,)> =
        sqlx::query_as("SELECT id FROM adjustment_requests WHERE tenant_id = $1 AND id = $2")
            .bind(tid)
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(r.is_some())
}

/// Approve (posting the adjustment) or reject a pending request. The requester cannot decide.
pub async fn decide_adjustment(
    tx: &mut TenantTx,
    backend: Backend,
    user: &str,
    id: &str,
    approve: bool,
) -> Result<String, ApiError> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let (tid, conn) = tx.split();
    let row: Option<(String, String, String, i64, String, String, String)> = sqlx::query_as(&format!(
        "SELECT sku_id, location_id, batch_key, delta, reason_code, status, requested_by FROM adjustment_requests WHERE tenant_id = $1 AND id = $2{lock}"
    ))
    .bind(tid)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let (sku_id, location_id, batch_key, delta, reason, status, requested_by) =
        row.ok_or(ApiError::NotFound("adjustment request"))?;
    if status != "pending" {
        return Err(state(
            "adjustment_already_decided",
            format!("this request is already {status}"),
        ));
    }
    if requested_by == user {
        return Err(rule(
            "four_eyes_required",
            "another supervisor must approve an adjustment you requested",
        ));
    }
    let new_status = if approve {
        let sku = master::sku_by_id(tx, &sku_id).await?;
        let reference = format!("adjustment:{id}");
        apply(
            tx,
            backend,
            user,
            &Adjustment {
                sku: &sku,
                location_id: &location_id,
                batch_key: &batch_key,
                delta,
                reason_code: &reason,
            },
            Some(&reference),
        )
        .await?;
        "approved"
    } else {
        "rejected"
    };
    let (tid, conn) = tx.split();
    sqlx::query("UPDATE adjustment_requests SET status = $1, decided_by = $2, decided_at = $3 WHERE tenant_id = $4 AND id = $5")
        .bind(new_status)
        .bind(user)
        .bind(now_ms())
        .bind(tid)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(new_status.into())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountTask {
    pub id: String,
    pub sku: String,
    pub location: String,
    pub lot: Option<String>,
    pub status: String,
    /// On hand when the count was entered.
    pub expected: Option<i64>,
    pub counted: Option<i64>,
    pub variance: Option<i64>,
    /// When the task was created (RFC 3339).
    pub created_at: String,
}

/// Statuses of a cycle count: `open` → `counted` → `approved` or `rejected`.
pub const COUNT_STATUSES: &[&str] = &["open", "counted", "approved", "rejected"];

pub async fn create_count(
    tx: &mut TenantTx,
    user: &str,
    sku: &Sku,
    location_id: &str,
    batch_key: &str,
) -> Result<String, ApiError> {
    let id = Uuid::now_v7().to_string();
    let now = now_ms();
    let (tid, conn) = tx.split();
    sqlx::query("INSERT INTO count_tasks (tenant_id, id, sku_id, location_id, batch_key, status, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $7)")
        .bind(tid)
        .bind(&id)
        .bind(&sku.id)
        .bind(location_id)
        .bind(batch_key)
        .bind(user)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(id)
}

type CountRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
    i64,
);

/// A [`CountRow`] with the location's code where its id would be, over `count_tasks c`.
const COUNT_LISTED: &str = "SELECT c.id, c.sku_id, l.code, c.batch_key, s.seller_sku, b.lot, c.status, c.expected, c.counted, c.created_at FROM count_tasks c \
     JOIN skus s ON s.tenant_id = c.tenant_id AND s.id = c.sku_id JOIN locations l ON l.tenant_id = c.tenant_id AND l.id = c.location_id \
     LEFT JOIN batches b ON b.tenant_id = c.tenant_id AND b.id = c.batch_key WHERE c.tenant_id = $1";

fn count_task(r: CountRow, location: String) -> CountTask {
    CountTask {
        id: r.0,
        sku: r.4,
        location,
        lot: r.5,
        status: r.6,
        expected: r.7,
        counted: r.8,
        variance: r.7.zip(r.8).map(|(e, c)| c - e),
        created_at: rfc3339(r.9),
    }
}

/// The tenant's cycle counts, newest first.
pub async fn list_counts(
    tx: &mut TenantTx,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<CountTask>, ApiError> {
    let rows: Vec<CountRow> =
        crate::listing::newest(tx, COUNT_LISTED, "c", status.map(|s| ("status", s)), limit).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let location = r.2.clone();
            count_task(r, location)
        })
        .collect())
}

async fn load_count(
    tx: &mut TenantTx,
    backend: Backend,
    id: &str,
) -> Result<Option<CountRow>, ApiError> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE OF c"
    } else {
        ""
    };
    let (tid, conn) = tx.split();
    Ok(sqlx::query_as(&format!(
        "SELECT c.id, c.sku_id, c.location_id, c.batch_key, s.seller_sku, b.lot, c.status, c.expected, c.counted, c.created_at FROM count_tasks c \
         JOIN skus s ON s.tenant_id = c.tenant_id AND s.id = c.sku_id LEFT JOIN batches b ON b.tenant_id = c.tenant_id AND b.id = c.batch_key \
         WHERE c.tenant_id = $1 AND c.id = $2{lock}"
    ))
    .bind(tid)
    .bind(id)
    .fetch_optional(conn)
    .await?)
}

pub async fn view_count(
    tx: &mut TenantTx,
    backend: Backend,
    id: &str,
) -> Result<Option<CountTask>, ApiError> {
    let Some(r) = load_count(tx, backend, id).await? else {
        return Ok(None);
    };
    let loc = master::location_by_id(tx, &r.2).await?;
    Ok(Some(count_task(r, loc.code)))
}

/// Enter the counted quantity; the variance is against on-hand at this moment.
pub async fn enter_count(
    tx: &mut TenantTx,
    backend: Backend,
    user: &str,
    id: &str,
    counted: i64,
) -> Result<(), ApiError> {
    let r = load_count(tx, backend, id)
        .await?
        .ok_or(ApiError::NotFound("count task"))?;
    if r.6 != "open" && r.6 != "counted" {
        return Err(state(
            "count_already_decided",
            format!("this count is already {}", r.6),
        ));
    }
    if !(0..=10_000_000).contains(&counted) {
        return Err(rule("invalid_quantity", "counted must be 0 or more"));
    }
    let key = StockKey::new(&r.1, &r.2, (!r.3.is_empty()).then_some(r.3.as_str()));
    let expected = current(tx, &key).await?.on_hand;
    let (tid, conn) = tx.split();
    sqlx::query("UPDATE count_tasks SET status = 'counted', expected = $1, counted = $2, counted_by = $3, updated_at = $4 WHERE tenant_id = $5 AND id = $6")
        .bind(expected)
        .bind(counted)
        .bind(user)
        .bind(now_ms())
        .bind(tid)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Approve a counted task: posts the variance (if any) as a `count` movement. Rejecting closes it.
pub async fn decide_count(
    tx: &mut TenantTx,
    backend: Backend,
    user: &str,
    id: &str,
    approve: bool,
) -> Result<(), ApiError> {
    let r = load_count(tx, backend, id)
        .await?
        .ok_or(ApiError::NotFound("count task"))?;
    if r.6 != "counted" {
        return Err(state(
            "count_not_counted",
            format!("this count is {}: enter the count first", r.6),
        ));
    }
    if approve {
        let counted = r.8.unwrap_or(0);
        let key = StockKey::new(&r.1, &r.2, (!r.3.is_empty()).then_some(r.3.as_str()));
        let b = current(tx, &key).await?;
        let balances = Balances::from_entries([(key.clone(), b)]).map_err(ledger_error)?;
        if let Some(m) = balances
            .count_movement(&key, counted, "cycle_count")
            .map_err(ledger_error)?
        {
            let reference = format!("count:{id}");
            let post = Post {
                kind: MovementKind::Count,
                sku_id: &r.1,
                from: m.from.as_deref(),
                to: m.to.as_deref(),
                batch_key: &r.3,
                quantity: m.quantity,
                reason: "cycle_count",
                reference: Some(&reference),
            };
            stock::post(tx, backend, user, &post).await?;
        }
    }
    let (tid, conn) = tx.split();
    sqlx::query("UPDATE count_tasks SET status = $1, decided_by = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5")
        .bind(if approve { "approved" } else { "rejected" })
        .bind(user)
        .bind(now_ms())
        .bind(tid)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
