//! The retention job and the per-tenant retention settings (privacy policy, section 8): closed
//! orders whose last change is older than the tenant's business retention are deleted with every
//! row that depends on them; audit events older than the audit retention are removed from the
//! front of the chain, which then verifies from its anchor. The rules are in
//! `wms_core::retention`; this is the glue.
//!
//! Not covered here: stock movements (the ledger) are kept, because balances are derived from
//! them and `wms-server stock verify` must keep holding; they carry no PII.

use serde::Serialize;
use wms_core::audit::{AuditAction, Outcome};
use wms_core::fulfilment::{FeedbackStatusKind, OrderState};
use wms_core::ids::TenantId;
use wms_core::retention::{Keep, OrderFacts, RetentionPolicy, Verdict, verdict};

use crate::audit::{self, AuditError, NewEvent};
use crate::db::{Backend, DbError, TenantTx};
use crate::keys::KeyError;
use crate::state::AppState;

/// Orders looked at per transaction: short write transactions, so that SQLite's single writer is
/// not held for long while a large backlog is deleted.
const BATCH: i64 = 200;

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for RetentionError {
    fn from(e: sqlx::Error) -> Self {
        RetentionError::Db(e.into())
    }
}

/// What one run did for one tenant (counts only: no ids, no PII).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub orders_deleted: u64,
    /// Expired but kept: Amazon has not settled their shipment feedback.
    pub orders_kept_feedback: u64,
    /// Expired but kept: a return against them is still open.
    pub orders_kept_return: u64,
    pub audit_events_removed: u64,
    /// Stored responses to idempotent requests (sealed copies of business data) past the business
    /// retention.
    pub idempotency_keys_removed: u64,
    /// Sessions (with their refresh tokens and the IP they were used from) that ended before the
    /// audit retention.
    pub sessions_removed: u64,
    /// Records of data requests past the audit retention.
    pub data_requests_removed: u64,
}

/// The tenant's retention settings (the policy's defaults when none are stored).
pub async fn policy(tx: &mut TenantTx) -> Result<RetentionPolicy, DbError> {
    let (tid, conn) = tx.split();
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT business_days, audit_days FROM retention_settings WHERE tenant_id = $1",
    )
    .bind(tid)
    .fetch_optional(conn)
    .await?;
    match row {
        None => Ok(RetentionPolicy::default()),
        Some((b, a)) => RetentionPolicy::new(b, a).map_err(|e| DbError::Corrupt(e.to_string())),
    }
}

/// Store the tenant's retention settings (already validated by the type).
pub async fn set_policy(
    tx: &mut TenantTx,
    p: &RetentionPolicy,
    actor: &str,
    now_ms: i64,
) -> Result<(), DbError> {
    let (tid, conn) = tx.split();
    sqlx::query(
        "INSERT INTO retention_settings (tenant_id, business_days, audit_days, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id) DO UPDATE SET business_days = excluded.business_days, audit_days = excluded.audit_days, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(tid)
    .bind(p.business_days)
    .bind(p.audit_days)
    .bind(now_ms)
    .bind(actor)
    .execute(conn)
    .await?;
    Ok(())
}

/// Run retention for one tenant as of `now_ms` (the real time, except in tests). `actor` is who
/// ran it (`system` from the server's housekeeping, `cli`). Ends with one `retention_run` audit
/// event holding the counts.
pub async fn run_tenant(
    state: &AppState,
    tenant: TenantId,
    now_ms: i64,
    actor: &str,
) -> Result<RunReport, RetentionError> {
    let backend = state.db.backend();
    let mut report = RunReport::default();
    let mut after = String::new();
    loop {
        let mut tx = state.db.tenant_tx(tenant).await?;
        let p = policy(&mut tx).await?;
        let (last, done) = delete_batch(&mut tx, &p, now_ms, &after, &mut report).await?;
        tx.commit().await?;
        match last {
            Some(id) if !done => after = id,
            _ => break,
        }
    }
    let mut tx = state.db.tenant_tx(tenant).await?;
    let p = policy(&mut tx).await?;
    report.audit_events_removed = prune_audit(&mut tx, backend, p.audit_cutoff_ms(now_ms)).await?;
    prune_records(&mut tx, &p, now_ms, &mut report).await?;
    let keys = state.keys.tenant(&mut tx).await?;
    audit::append(
        &mut tx,
        backend,
        &keys,
        NewEvent::new(actor, AuditAction::RetentionRun, Outcome::Success).detail(format!(
            "business {} days, audit {} days: {} orders deleted, {} kept for outstanding Amazon feedback, {} kept for open returns, {} audit events removed, \
             {} stored idempotent responses, {} ended sessions and {} data-request records removed",
            p.business_days,
            p.audit_days,
            report.orders_deleted,
            report.orders_kept_feedback,
            report.orders_kept_return,
            report.audit_events_removed,
            report.idempotency_keys_removed,
            report.sessions_removed,
            report.data_requests_removed
        )),
    )
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// Run retention for every tenant; a tenant that fails is logged and the others still run.
pub async fn run_all(state: &AppState, now_ms: i64, actor: &str) -> Vec<(String, RunReport)> {
    let tenants = match state.db.list_tenants().await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "retention: cannot list tenants");
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(tenants.len());
    for t in tenants {
        match run_tenant(state, t.id, now_ms, actor).await {
            Ok(r) => out.push((t.name, r)),
            Err(e) => tracing::error!(tenant = %t.id, error = %e, "retention run failed"),
        }
    }
    out
}

type Candidate = (String, String, i64);

/// Look at up to [`BATCH`] closed orders last changed before the cutoff, after order id `after`,
/// and delete the expired ones. Returns the last id looked at and whether there are no more.
async fn delete_batch(
    tx: &mut TenantTx,
    p: &RetentionPolicy,
    now_ms: i64,
    after: &str,
    report: &mut RunReport,
) -> Result<(Option<String>, bool), RetentionError> {
    let (tid, conn) = tx.split();
    let rows: Vec<Candidate> = sqlx::query_as(
        "SELECT id, status, updated_at FROM orders WHERE tenant_id = $1 AND status IN ('dispatched', 'delivered', 'cancelled') \
         AND updated_at < $2 AND id > $3 ORDER BY id LIMIT $4",
    )
    .bind(tid)
    .bind(p.business_cutoff_ms(now_ms))
    .bind(after)
    .bind(BATCH)
    .fetch_all(conn)
    .await?;
    let done = (rows.len() as i64) < BATCH;
    let last = rows.last().map(|r| r.0.clone());
    for (id, status, updated_at) in rows {
        let state: OrderState = status
            .parse()
            .map_err(|_| RetentionError::Corrupt(format!("order {id} has status `{status}`")))?;
        let (tid, conn) = tx.split();
        let feedback: Vec<(String,)> = sqlx::query_as(
            "SELECT status FROM amazon_feedback WHERE tenant_id = $1 AND order_id = $2",
        )
        .bind(tid)
        .bind(&id)
        .fetch_all(&mut *conn)
        .await?;
        let feedback = feedback
            .into_iter()
            .map(|(s,)| {
                s.parse::<FeedbackStatusKind>().map_err(|_| {
                    RetentionError::Corrupt(format!("order {id} has feedback status `{s}`"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (open_returns,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM returns WHERE tenant_id = $1 AND order_id = $2 AND status IN ('expected', 'received')",
        )
        .bind(tid)
        .bind(&id)
        .fetch_one(conn)
        .await?;
        let facts = OrderFacts {
            state,
            updated_at_ms: updated_at,
            feedback: &feedback,
            open_return: open_returns > 0,
        };
        match verdict(&facts, p, now_ms) {
            Verdict::Delete => {
                delete_order(tx, &id).await?;
                report.orders_deleted += 1;
            }
            Verdict::Keep(Keep::FeedbackOutstanding) => report.orders_kept_feedback += 1,
            Verdict::Keep(Keep::ReturnOpen) => report.orders_kept_return += 1,
            Verdict::Keep(Keep::Open | Keep::Recent) => {}
        }
    }
    Ok((last, done))
}

/// Every table holding rows of an order, children first (the foreign keys' order). Each
/// statement binds the tenant as `$1` and the order id as `$2`.
const ORDER_ROWS: &[&str] = &[
    "DELETE FROM tracking_events WHERE tenant_id = $1 AND order_id = $2",
    "DELETE FROM package_voids WHERE tenant_id = $1 AND order_id = $2",
    "DELETE FROM amazon_feedback WHERE tenant_id = $1 AND order_id = $2",
    "DELETE FROM package_items WHERE tenant_id = $1 AND order_id = $2",
    "DELETE FROM packages WHERE tenant_id = $1 AND order_id = $2",
    "DELETE FROM order_allocations WHERE tenant_id = $1 AND order_id = $2",
    "DELETE FROM order_lines WHERE tenant_id = $1 AND order_id = $2",
    "DELETE FROM return_lines WHERE tenant_id = $1 AND return_id IN (SELECT id FROM returns WHERE tenant_id = $1 AND order_id = $2)",
    "DELETE FROM returns WHERE tenant_id = $1 AND order_id = $2",
    "DELETE FROM amazon_orders WHERE tenant_id = $1 AND order_id = $2",
    // A self-issued tracking number stays on record (none may be skipped without one); only its
    // link to the deleted order goes.
    "UPDATE issued_tracking_numbers SET order_id = NULL, package_seq = NULL WHERE tenant_id = $1 AND order_id = $2",
    "DELETE FROM orders WHERE tenant_id = $1 AND id = $2",
];

/// Delete one order with everything that hangs off it (its sealed recipient and labels go with
/// their rows), and tell the workstations' caches with a tombstone.
async fn delete_order(tx: &mut TenantTx, id: &str) -> Result<(), RetentionError> {
    let (tid, conn) = tx.split();
    for q in ORDER_ROWS {
        sqlx::query(q)
            .bind(tid)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    tx.deleted("order", id);
    Ok(())
}

/// The other records retention covers: stored idempotent responses (business data: they may
/// hold a recipient) past the business retention; sessions that ended (revoked, or refresh
/// expired) and data-request records past the audit retention.
async fn prune_records(
    tx: &mut TenantTx,
    p: &RetentionPolicy,
    now_ms: i64,
    report: &mut RunReport,
) -> Result<(), RetentionError> {
    let business = p.business_cutoff_ms(now_ms);
    let audit = p.audit_cutoff_ms(now_ms);
    let (tid, conn) = tx.split();
    report.idempotency_keys_removed =
        sqlx::query("DELETE FROM idempotency_keys WHERE tenant_id = $1 AND created_at < $2")
            .bind(tid)
            .bind(business)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    let ended = "SELECT id FROM sessions WHERE tenant_id = $1 AND COALESCE(revoked_at, refresh_expires_at) < $2";
    sqlx::query(&format!(
        "DELETE FROM refresh_tokens WHERE tenant_id = $1 AND session_id IN ({ended})"
    ))
    .bind(tid)
    .bind(audit)
    .execute(&mut *conn)
    .await?;
    report.sessions_removed = sqlx::query(&format!(
        "DELETE FROM sessions WHERE tenant_id = $1 AND id IN ({ended})"
    ))
    .bind(tid)
    .bind(audit)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    report.data_requests_removed =
        sqlx::query("DELETE FROM data_requests WHERE tenant_id = $1 AND created_at < $2")
            .bind(tid)
            .bind(audit)
            .execute(conn)
            .await?
            .rows_affected();
    Ok(())
}

/// Remove the audit events recorded before `before_ms` from the front of the tenant's chain,
/// never the newest, and keep the last removed event's seq and hash as the chain's anchor.
/// On PostgreSQL the application role cannot delete audit events or write anchors: the owner's
/// `prune_audit_events` does both (migrations/postgres/0011_retention.sql); SQLite runs the same
/// steps here.
async fn prune_audit(
    tx: &mut TenantTx,
    backend: Backend,
    before_ms: i64,
) -> Result<u64, RetentionError> {
    let (tid, conn) = tx.split();
    if backend == Backend::Postgres {
        let (n,): (i64,) = sqlx::query_as("SELECT prune_audit_events($1)")
            .bind(before_ms)
            .fetch_one(conn)
            .await?;
        return Ok(u64::try_from(n).unwrap_or(0));
    }
    let last: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT e.seq, e.hash FROM audit_events e JOIN audit_heads h ON h.tenant_id = e.tenant_id \
         WHERE e.tenant_id = $1 AND e.at_ms < $2 AND e.seq < h.seq ORDER BY e.seq DESC LIMIT 1",
    )
    .bind(tid)
    .bind(before_ms)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((seq, hash)) = last else {
        return Ok(0);
    };
    let n = sqlx::query("DELETE FROM audit_events WHERE tenant_id = $1 AND seq <= $2")
        .bind(tid)
        .bind(seq)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query(
        "INSERT INTO audit_anchors (tenant_id, seq, hash, pruned_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, pruned_at = excluded.pruned_at",
    )
    .bind(tid)
    .bind(seq)
    .bind(hash)
    .bind(crate::time::now_ms())
    .execute(conn)
    .await?;
    Ok(n)
}
