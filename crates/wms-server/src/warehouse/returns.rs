//! Returns (RMA): expected → received, where each line is restocked to a chosen location (and
//! batch), disposed of, or put in quarantine — each a ledger movement with a reason code.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use wms_core::ledger::MovementKind;

use super::master::{self, LocationKind};
use super::stock::{self, Post};
use super::{rule, state};
use crate::db::{Backend, TenantTx};
use crate::error::ApiError;
use crate::time::{now_ms, rfc3339};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReturnLine {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReturn {
    /// The order being returned, if known.
    #[serde(default)]
    pub order_id: Option<String>,
    /// Why the customer returned it (e.g. `damaged`, `wrong_item`, `unwanted`).
    pub reason_code: String,
    pub lines: Vec<NewReturnLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Back to sellable stock at `location`.
    Restock,
    /// Held for inspection in a quarantine location.
    Quarantine,
    /// Destroyed: received, then disposed of.
    Dispose,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveReturn {
    pub disposition: Disposition,
    /// Location code for restock or quarantine (default: the warehouse's returns or quarantine bin).
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub warehouse: Option<String>,
    /// Lot number for lot-tracked SKUs.
    #[serde(default)]
    pub lot: Option<String>,
    /// Inspection result, recorded with the movements.
    pub reason_code: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReturnLineView {
    pub line_no: i64,
    /// The seller SKU.
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReturnView {
    pub id: String,
    pub order_id: Option<String>,
    /// `expected`, then `restocked`, `quarantined` or `disposed` once received.
    pub status: String,
    pub reason_code: String,
    pub lines: Vec<ReturnLineView>,
    /// When it was announced (RFC 3339).
    pub created_at: String,
}

/// Statuses of a return (`received` is in the schema but no disposition leaves a return in it).
pub const STATUSES: &[&str] = &[
    "expected",
    "received",
    "restocked",
    "quarantined",
    "disposed",
];

type HeadRow = (String, Option<String>, String, String, i64);

const HEAD: &str = "SELECT r.id, r.order_id, r.status, r.reason_code, r.created_at FROM returns r WHERE r.tenant_id = $1";

pub async fn view(tx: &mut TenantTx, id: &str) -> Result<Option<ReturnView>, ApiError> {
    let head = crate::listing::by_id(tx, HEAD, "r", id).await?;
    Ok(with_lines(tx, head.into_iter().collect()).await?.pop())
}

/// The tenant's returns, newest first.
pub async fn list(
    tx: &mut TenantTx,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<ReturnView>, ApiError> {
    let heads = crate::listing::newest(tx, HEAD, "r", status.map(|s| ("status", s)), limit).await?;
    with_lines(tx, heads).await
}

/// Views of these returns, their lines read in one query.
async fn with_lines(tx: &mut TenantTx, heads: Vec<HeadRow>) -> Result<Vec<ReturnView>, ApiError> {
    let ids: Vec<&str> = heads.iter().map(|h| h.0.as_str()).collect();
    let mut lines = crate::listing::lines_by_parent(
        tx,
        "SELECT l.return_id, l.line_no, s.seller_sku, l.quantity FROM return_lines l JOIN skus s ON s.tenant_id = l.tenant_id AND s.id = l.sku_id \
         WHERE l.tenant_id = $1 AND l.return_id IN ({ids}) ORDER BY l.line_no",
        &ids,
        |(ret, line_no, sku, quantity): (String, i64, String, i64)| {
            (ret, ReturnLineView { line_no, sku, quantity })
        },
    )
    .await?;
    Ok(heads
        .into_iter()
        .map(|h| ReturnView {
            lines: lines.remove(&h.0).unwrap_or_default(),
            id: h.0,
            order_id: h.1,
            status: h.2,
            reason_code: h.3,
            created_at: rfc3339(h.4),
        })
        .collect())
}

fn valid_reason(r: &str) -> Result<(), ApiError> {
    if (1..=64).contains(&r.len())
        && r.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(())
    } else {
        Err(ApiError::Validation(
            "reason_code must be 1–64 characters of letters, digits, '_' or '-'".into(),
        ))
    }
}

pub async fn create(tx: &mut TenantTx, n: &NewReturn) -> Result<ReturnView, ApiError> {
    valid_reason(&n.reason_code)?;
    if n.lines.is_empty() || n.lines.len() > 200 {
        return Err(ApiError::Validation("a return needs 1–200 lines".into()));
    }
    if let Some(order) = &n.order_id
        && !super::orders::exists(tx, order).await?
    {
        return Err(ApiError::NotFound("order"));
    }
    let mut lines = Vec::new();
    for l in &n.lines {
        if !(1..=100_000).contains(&l.quantity) {
            return Err(rule("invalid_quantity", "quantity must be 1–100000"));
        }
        lines.push((master::sku_by_code(tx, &l.sku).await?.id, l.quantity));
    }
    let id = Uuid::now_v7().to_string();
    let now = now_ms();
    let (tid, conn) = tx.split();
    sqlx::query("INSERT INTO returns (tenant_id, id, order_id, status, reason_code, created_at, updated_at) VALUES ($1, $2, $3, 'expected', $4, $5, $5)")
        .bind(tid)
        .bind(&id)
        .bind(&n.order_id)
        .bind(&n.reason_code)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    for (i, (sku, q)) in lines.iter().enumerate() {
        sqlx::query("INSERT INTO return_lines (tenant_id, return_id, line_no, sku_id, quantity) VALUES ($1, $2, $3, $4, $5)")
            .bind(tid)
            .bind(&id)
            .bind(i as i64 + 1)
            .bind(sku)
            .bind(q)
            .execute(&mut *conn)
            .await?;
    }
    view(tx, &id).await?.ok_or(ApiError::NotFound("return"))
}

pub async fn exists(tx: &mut TenantTx, id: &str) -> Result<bool, ApiError> {
    let (tid, conn) = tx.split();
    let r: Option<(String,)> =
        sqlx::query_as("SELECT id FROM returns WHERE tenant_id = $1 AND id = $2")
            .bind(tid)
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(r.is_some())
}

/// Receive an expected return and apply the disposition to every line.
pub async fn receive(
    tx: &mut TenantTx,
    backend: Backend,
    user: &str,
    id: &str,
    r: &ReceiveReturn,
) -> Result<ReturnView, ApiError> {
    valid_reason(&r.reason_code)?;
    // Two receipts of one return at once must not both restock: on PostgreSQL the second waits
    // for the first's commit and then sees it received (SQLite has one writer at a time).
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let (tid, conn) = tx.split();
    let row: Option<(String, String)> = sqlx::query_as(&format!(
        "SELECT status, reason_code FROM returns WHERE tenant_id = $1 AND id = $2{lock}"
    ))
    .bind(tid)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let (status, reason) = row.ok_or(ApiError::NotFound("return"))?;
    if status != "expected" {
        return Err(state(
            "return_already_received",
            format!("this return is already {status}"),
        ));
    }
    let wh = master::resolve_warehouse(tx, r.warehouse.as_deref()).await?;
    let (default_kind, status) = match r.disposition {
        Disposition::Restock => (LocationKind::Storage, "restocked"),
        Disposition::Quarantine => (LocationKind::Quarantine, "quarantined"),
        Disposition::Dispose => (LocationKind::Returns, "disposed"),
    };
    let location = match &r.location {
        Some(code) => master::find_location(tx, &wh, code).await?,
        None => master::first_location_of_kind(tx, &wh.id, default_kind).await?,
    };
    if r.disposition == Disposition::Quarantine && location.kind != LocationKind::Quarantine {
        return Err(rule(
            "not_a_quarantine_location",
            format!("{} is not a quarantine location", location.code),
        ));
    }
    let (tid, conn) = tx.split();
    let lines: Vec<(String, i64)> = sqlx::query_as("SELECT sku_id, quantity FROM return_lines WHERE tenant_id = $1 AND return_id = $2 ORDER BY line_no").bind(tid).bind(id).fetch_all(conn).await?;
    let reference = format!("return:{id}");
    for (sku_id, qty) in lines {
        let sku = master::sku_by_id(tx, &sku_id).await?;
        let batch_key = match (&r.lot, sku.lot_tracked) {
            (Some(lot), _) => master::batch_for_receipt(tx, &sku, lot, None).await?,
            (None, true) => {
                return Err(rule(
                    "lot_required",
                    format!("{} is lot-tracked: give the lot", sku.seller_sku),
                ));
            }
            (None, false) => String::new(),
        };
        let post = Post {
            kind: MovementKind::Return,
            sku_id: &sku_id,
            from: None,
            to: Some(&location.id),
            batch_key: &batch_key,
            quantity: qty,
            reason: &reason,
            reference: Some(&reference),
        };
        stock::post(tx, backend, user, &post).await?;
        if r.disposition == Disposition::Dispose {
            let post = Post {
                kind: MovementKind::Dispose,
                sku_id: &sku_id,
                from: Some(&location.id),
                to: None,
                batch_key: &batch_key,
                quantity: qty,
                reason: &r.reason_code,
                reference: Some(&reference),
            };
            stock::post(tx, backend, user, &post).await?;
        }
    }
    let (tid, conn) = tx.split();
    sqlx::query("UPDATE returns SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(status)
        .bind(now_ms())
        .bind(tid)
        .bind(id)
        .execute(conn)
        .await?;
    view(tx, id).await?.ok_or(ApiError::NotFound("return"))
}
