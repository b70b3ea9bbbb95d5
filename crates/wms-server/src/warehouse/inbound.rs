//! Expected inbound shipments (ASN). Receiving against one checks each receipt against what was
//! announced; an over-receipt is refused (receive the surplus blind, so it is visible as such).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::master::{self, Warehouse};
use super::{parse_date, rule, state};
use crate::db::{Backend, DbError, TenantTx};
use crate::error::ApiError;
use crate::time::{now_ms, rfc3339};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInboundLine {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInbound {
    #[serde(default)]
    pub warehouse: Option<String>,
    /// The supplier's ASN / delivery reference (unique per tenant).
    pub reference: String,
    #[serde(default)]
    pub expected_on: Option<String>,
    pub lines: Vec<NewInboundLine>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboundLineView {
    pub line_no: i64,
    pub sku: String,
    pub expected: i64,
    pub received: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboundView {
    pub id: String,
    pub reference: String,
    pub warehouse: String,
    pub expected_on: Option<String>,
    /// `open` or `received` (every line complete).
    pub status: String,
    pub lines: Vec<InboundLineView>,
    /// When it was announced (RFC 3339).
    pub created_at: String,
}

pub async fn create(tx: &mut TenantTx, n: &NewInbound) -> Result<String, ApiError> {
    if n.reference.trim().is_empty() || n.reference.len() > 64 {
        return Err(ApiError::Validation(
            "reference must be 1–64 characters".into(),
        ));
    }
    if let Some(d) = &n.expected_on {
        parse_date("expected_on", d)?;
    }
    if n.lines.is_empty() || n.lines.len() > 1000 {
        return Err(ApiError::Validation(
            "an inbound shipment needs 1–1000 lines".into(),
        ));
    }
    let wh = master::resolve_warehouse(tx, n.warehouse.as_deref()).await?;
    let mut lines = Vec::new();
    for l in &n.lines {
        if !(1..=10_000_000).contains(&l.quantity) {
            return Err(rule(
                "invalid_quantity",
                format!("quantity of {} must be positive", l.sku),
            ));
        }
        lines.push((master::sku_by_code(tx, &l.sku).await?.id, l.quantity));
    }
    let id = Uuid::now_v7().to_string();
    let now = now_ms();
    let (tid, conn) = tx.split();
    sqlx::query("INSERT INTO inbound_shipments (tenant_id, id, warehouse_id, reference, expected_on, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $6)")
        .bind(tid)
        .bind(&id)
        .bind(&wh.id)
        .bind(n.reference.trim())
        .bind(&n.expected_on)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(|e| match DbError::from(e) {
            DbError::Conflict(_) => ApiError::Conflict(format!("an inbound shipment `{}` already exists", n.reference.trim())),
            other => other.into(),
        })?;
    for (i, (sku, q)) in lines.iter().enumerate() {
        sqlx::query("INSERT INTO inbound_lines (tenant_id, inbound_id, line_no, sku_id, expected_qty) VALUES ($1, $2, $3, $4, $5)")
            .bind(tid)
            .bind(&id)
            .bind(i as i64 + 1)
            .bind(sku)
            .bind(q)
            .execute(&mut *conn)
            .await?;
    }
    Ok(id)
}

/// Statuses of an inbound shipment: `open` until every line is fully received.
pub const STATUSES: &[&str] = &["open", "received"];

type HeadRow = (String, String, String, Option<String>, String, i64);

const HEAD: &str = "SELECT i.id, i.reference, w.code, i.expected_on, i.status, i.created_at FROM inbound_shipments i \
     JOIN warehouses w ON w.tenant_id = i.tenant_id AND w.id = i.warehouse_id WHERE i.tenant_id = $1";

pub async fn view(tx: &mut TenantTx, id: &str) -> Result<Option<InboundView>, ApiError> {
    let head = crate::listing::by_id(tx, HEAD, "i", id).await?;
    Ok(with_lines(tx, head.into_iter().collect()).await?.pop())
}

/// The tenant's inbound shipments, newest first.
pub async fn list(
    tx: &mut TenantTx,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<InboundView>, ApiError> {
    let heads = crate::listing::newest(tx, HEAD, "i", status.map(|s| ("status", s)), limit).await?;
    with_lines(tx, heads).await
}

/// Views of these shipments, their lines read in one query.
async fn with_lines(tx: &mut TenantTx, heads: Vec<HeadRow>) -> Result<Vec<InboundView>, ApiError> {
    let ids: Vec<&str> = heads.iter().map(|h| h.0.as_str()).collect();
    let mut lines = crate::listing::lines_by_parent(
        tx,
        "SELECT l.inbound_id, l.line_no, s.seller_sku, l.expected_qty, l.received_qty FROM inbound_lines l JOIN skus s ON s.tenant_id = l.tenant_id AND s.id = l.sku_id \
         WHERE l.tenant_id = $1 AND l.inbound_id IN ({ids}) ORDER BY l.line_no",
        &ids,
        |(inbound, line_no, sku, expected, received): (String, i64, String, i64, i64)| {
            (inbound, InboundLineView { line_no, sku, expected, received })
        },
    )
    .await?;
    Ok(heads
        .into_iter()
        .map(|h| InboundView {
            lines: lines.remove(&h.0).unwrap_or_default(),
            id: h.0,
            reference: h.1,
            warehouse: h.2,
            expected_on: h.3,
            status: h.4,
            created_at: rfc3339(h.5),
        })
        .collect())
}

/// Record `qty` of `sku_id` as received against the shipment; refuses what was not announced or
/// more than was. Closes the shipment when every line is complete. Returns the shipment's warehouse.
pub async fn record_receipt(
    tx: &mut TenantTx,
    backend: Backend,
    id: &str,
    sku_id: &str,
    qty: i64,
) -> Result<Warehouse, ApiError> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let (tid, conn) = tx.split();
    let head: Option<(String, String)> = sqlx::query_as(&format!(
        "SELECT warehouse_id, status FROM inbound_shipments WHERE tenant_id = $1 AND id = $2{lock}"
    ))
    .bind(tid)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (warehouse_id, status) =
        head.ok_or_else(|| rule("unknown_inbound", "no such inbound shipment"))?;
    if status != "open" {
        return Err(state(
            "inbound_closed",
            "this inbound shipment is already fully received",
        ));
    }
    let line: Option<(i64, i64, i64)> = sqlx::query_as("SELECT line_no, expected_qty, received_qty FROM inbound_lines WHERE tenant_id = $1 AND inbound_id = $2 AND sku_id = $3 AND received_qty < expected_qty ORDER BY line_no LIMIT 1")
        .bind(tid)
        .bind(id)
        .bind(sku_id)
        .fetch_optional(&mut *conn)
        .await?;
    let (line_no, expected, received) = line.ok_or_else(|| {
        rule(
            "not_on_inbound",
            "this SKU is not expected (or already fully received) on this inbound shipment",
        )
    })?;
    if received + qty > expected {
        return Err(rule(
            "over_receipt",
            format!(
                "{} expected, {} already received: {} more is too many (receive the surplus blind)",
                expected, received, qty
            ),
        ));
    }
    sqlx::query("UPDATE inbound_lines SET received_qty = received_qty + $1 WHERE tenant_id = $2 AND inbound_id = $3 AND line_no = $4").bind(qty).bind(tid).bind(id).bind(line_no).execute(&mut *conn).await?;
    let (open,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM inbound_lines WHERE tenant_id = $1 AND inbound_id = $2 AND received_qty < expected_qty").bind(tid).bind(id).fetch_one(&mut *conn).await?;
    if open == 0 {
        sqlx::query("UPDATE inbound_shipments SET status = 'received', updated_at = $1 WHERE tenant_id = $2 AND id = $3").bind(now_ms()).bind(tid).bind(id).execute(&mut *conn).await?;
    }
    let whs = master::list_warehouses(tx).await?;
    whs.into_iter()
        .find(|w| w.id == warehouse_id)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("inbound warehouse missing")))
}
