//! Amazon orders into warehouse orders: import (idempotent upsert), cancellation at Amazon, and what
//! the order view shows about Amazon.

use time::OffsetDateTime;
use wms_amazon::model::orders_v2026::{FulfillmentStatus, Order};
use wms_core::fulfilment::OrderState;

use super::authz::AuthRow;
use crate::db::{Backend, TenantTx};
use crate::error::ApiError;
use crate::keys::TenantKeys;
use crate::time::now_ms;
use crate::warehouse::orders::{
    self, AmazonOrderInfo, MaskedRecipient, OrderInsert, PII_NOT_GRANTED, Recipient,
};
use crate::warehouse::{format_date, master};

/// What one Amazon order did to the warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    Created,
    /// Known already; nothing to change.
    Unchanged,
    /// Cancelled at Amazon before dispatch: cancelled here, reservations released.
    Cancelled,
    /// Cancelled at Amazon after dispatch here: flagged for a supervisor.
    Flagged,
    /// Not ours to ship (FBA, not yet payable, already shipped elsewhere, cancelled before import).
    Ignored,
    /// Could not be imported; kept as a sync problem and retried.
    Problem(String),
}

pub async fn info(tx: &mut TenantTx, order_id: &str) -> Result<Option<AmazonOrderInfo>, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<(String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT amazon_order_id, marketplace_id, authorization_id, amazon_status, flag FROM amazon_orders WHERE tenant_id = $1 AND order_id = $2",
    )
    .bind(tid)
    .bind(order_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| AmazonOrderInfo {
        amazon_order_id: r.0,
        marketplace_id: r.1,
        authorization_id: r.2,
        amazon_status: r.3,
        flag: r.4,
    }))
}

/// The local order of an Amazon order, with its status.
async fn local(
    tx: &mut TenantTx,
    auth_id: &str,
    amazon_order_id: &str,
) -> Result<Option<(String, String)>, ApiError> {
    let (tid, conn) = tx.split();
    Ok(sqlx::query_as(
        "SELECT a.order_id, o.status FROM amazon_orders a JOIN orders o ON o.tenant_id = a.tenant_id AND o.id = a.order_id \
         WHERE a.tenant_id = $1 AND a.authorization_id = $2 AND a.amazon_order_id = $3",
    )
    .bind(tid)
    .bind(auth_id)
    .bind(amazon_order_id)
    .fetch_optional(conn)
    .await?)
}

/// The calendar date in Japan of an instant (ship-by dates are Japanese dates).
fn jst_day(t: OffsetDateTime) -> time::Date {
    let jst = time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC);
    t.to_offset(jst).date()
}

fn jst_date(t: OffsetDateTime) -> String {
    format_date(jst_day(t))
}

fn postal_prefix(p: &str) -> String {
    let digits: String = p.chars().filter(char::is_ascii_digit).take(3).collect();
    format!("{digits}-****")
}

/// The recipient as far as the granted scopes allow: `None` when the restricted role is missing
/// (or Amazon sent only city / region / postal code).
fn recipient_of(auth: &AuthRow, order: &Order) -> (Option<Recipient>, MaskedRecipient) {
    let addr = order
        .recipient
        .as_ref()
        .and_then(|r| r.delivery_address.as_ref());
    let prefecture = addr
        .and_then(|a| a.state_or_region.clone())
        .unwrap_or_default();
    let postal = addr.and_then(|a| a.postal_code.clone()).unwrap_or_default();
    let full =
        auth.pii_recipient && addr.is_some_and(|a| a.name.is_some() && a.address_line1.is_some());
    match addr {
        Some(a) if full => {
            let address2 = [a.address_line2.as_deref(), a.address_line3.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let mut r = Recipient {
                name: a.name.clone().unwrap_or_default(),
                postal_code: postal.clone(),
                prefecture: prefecture.clone(),
                city: a.city.clone().unwrap_or_default(),
                address1: a.address_line1.clone().unwrap_or_default(),
                address2: (!address2.is_empty()).then_some(address2),
                phone: a.phone.clone(),
                email: if auth.pii_buyer_email {
                    order.buyer.as_ref().and_then(|b| b.buyer_email.clone())
                } else {
                    None
                },
            };
            // Amazon's data is stored as given when it does not fit our stricter manual-entry rules
            // (the rules normalise the postal code when they can).
            if r.validate().is_err() {
                tracing::warn!(order = %order.order_id, "recipient from Amazon does not pass address validation; stored as received");
            }
            let masked = r.masked();
            (Some(r), masked)
        }
        _ => (
            None,
            MaskedRecipient {
                name: PII_NOT_GRANTED.into(),
                postal_code: postal_prefix(&postal),
                prefecture,
            },
        ),
    }
}

/// Upsert one order seen at Amazon.
pub async fn import(
    tx: &mut TenantTx,
    backend: Backend,
    keys: &TenantKeys,
    auth: &AuthRow,
    order: &Order,
) -> Result<Imported, ApiError> {
    let Some(f) = &order.fulfillment else {
        return Ok(Imported::Problem(
            "Amazon sent no fulfillment details (includedData=FULFILLMENT)".into(),
        ));
    };
    if f.fulfilled_by
        .as_deref()
        .is_some_and(|b| !b.eq_ignore_ascii_case("MERCHANT"))
    {
        return Ok(Imported::Ignored);
    }
    let status = f.fulfillment_status;
    let updated_ms = (order.last_updated_time.unix_timestamp_nanos() / 1_000_000) as i64;
    if let Some((order_id, local_status)) = local(tx, &auth.id, &order.order_id).await? {
        let mut outcome = Imported::Unchanged;
        let mut flag = None;
        if status == FulfillmentStatus::Cancelled {
            match local_status.parse::<OrderState>() {
                Ok(OrderState::Dispatched | OrderState::Delivered) => {
                    flag = Some("cancelled_at_amazon_after_dispatch");
                    outcome = Imported::Flagged;
                }
                Ok(OrderState::Cancelled) => {}
                _ => {
                    orders::cancel(tx, backend, "amazon-sync", &order_id).await?;
                    outcome = Imported::Cancelled;
                }
            }
        }
        let (tid, conn) = tx.split();
        sqlx::query(
            "UPDATE amazon_orders SET amazon_status = $1, last_updated_ms = $2, flag = COALESCE($3, flag) WHERE tenant_id = $4 AND order_id = $5",
        )
        .bind(status.as_str())
        .bind(updated_ms)
        .bind(flag)
        .bind(tid)
        .bind(&order_id)
        .execute(conn)
        .await?;
        tx.changed("order", &order_id);
        return Ok(outcome);
    }
    if !matches!(
        status,
        FulfillmentStatus::Unshipped | FulfillmentStatus::PartiallyShipped
    ) {
        return Ok(Imported::Ignored);
    }
    let mut lines = Vec::new();
    for item in &order.order_items {
        let qty = item
            .fulfillment
            .as_ref()
            .and_then(|f| f.quantity_unfulfilled)
            .unwrap_or(item.quantity_ordered);
        if qty == 0 {
            continue;
        }
        let Some(sku) = item.product.seller_sku.as_deref() else {
            return Ok(Imported::Problem(format!(
                "order item {} has no seller SKU",
                item.order_item_id
            )));
        };
        let sku_id = match master::sku_by_code(tx, sku).await {
            Ok(s) => s.id,
            Err(ApiError::Rule { .. } | ApiError::NotFound(_)) => {
                return Ok(Imported::Problem(format!(
                    "unknown seller SKU `{sku}`: create it, the order is retried at the next sync"
                )));
            }
            Err(e) => return Err(e),
        };
        lines.push((sku_id, i64::from(qty), Some(item.order_item_id.clone())));
    }
    if lines.is_empty() {
        return Ok(Imported::Ignored);
    }
    let (recipient, masked) = recipient_of(auth, order);
    let ship_by = f
        .ship_by_window
        .as_ref()
        .and_then(|w| w.latest_date_time)
        .map(jst_date);
    let deliver_by = f
        .deliver_by_window
        .as_ref()
        .and_then(|w| w.latest_date_time)
        .map(jst_date);
    let marketplace = order
        .sales_channel
        .marketplace_id
        .clone()
        .unwrap_or_else(|| auth.marketplace().to_owned());
    let id = orders::insert_order(
        tx,
        keys,
        OrderInsert {
            channel: "amazon",
            external_id: &order.order_id,
            warehouse_id: &auth.warehouse_id,
            ship_by: ship_by.as_deref(),
            deliver_by: deliver_by.as_deref(),
            recipient: recipient.as_ref(),
            masked: &masked,
        },
        &lines,
    )
    .await?;
    let (tid, conn) = tx.split();
    sqlx::query(
        "INSERT INTO amazon_orders (tenant_id, order_id, authorization_id, amazon_order_id, marketplace_id, amazon_status, last_updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tid)
    .bind(&id)
    .bind(&auth.id)
    .bind(&order.order_id)
    .bind(marketplace)
    .bind(status.as_str())
    .bind(updated_ms)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM amazon_sync_problems WHERE tenant_id = $1 AND authorization_id = $2 AND amazon_order_id = $3")
        .bind(tid)
        .bind(&auth.id)
        .bind(&order.order_id)
        .execute(conn)
        .await?;
    Ok(Imported::Created)
}

/// Remember an order that could not be imported (retried at every sync).
pub async fn record_problem(
    tx: &mut TenantTx,
    auth_id: &str,
    amazon_order_id: &str,
    reason: &str,
) -> Result<(), ApiError> {
    let now = now_ms();
    let (tid, conn) = tx.split();
    sqlx::query(
        "INSERT INTO amazon_sync_problems (tenant_id, authorization_id, amazon_order_id, reason, first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (tenant_id, authorization_id, amazon_order_id) DO UPDATE SET reason = excluded.reason, last_seen = excluded.last_seen",
    )
    .bind(tid)
    .bind(auth_id)
    .bind(amazon_order_id)
    .bind(reason)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn problems(tx: &mut TenantTx, auth_id: &str) -> Result<Vec<(String, String)>, ApiError> {
    let (tid, conn) = tx.split();
    Ok(sqlx::query_as(
        "SELECT amazon_order_id, reason FROM amazon_sync_problems WHERE tenant_id = $1 AND authorization_id = $2 ORDER BY first_seen",
    )
    .bind(tid)
    .bind(auth_id)
    .fetch_all(conn)
    .await?)
}

/// An Amazon order a supervisor should look at before Amazon acts on it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AtRiskOrder {
    pub order_id: String,
    pub amazon_order_id: String,
    pub status: String,
    pub ship_by: Option<String>,
    /// `ship_by_passed`, `ship_by_due` (today or tomorrow, JST), or `feedback_not_confirmed`
    /// (dispatched, but Amazon has not accepted the confirmation: an unconfirmed order is
    /// cancelled by Amazon after its ship-by window).
    pub reason: String,
}

/// Orders at risk: not shipped and due by tomorrow (JST), or shipped without a confirmed feedback
/// an hour after dispatch.
pub async fn at_risk(tx: &mut TenantTx) -> Result<Vec<AtRiskOrder>, ApiError> {
    let today = jst_day(OffsetDateTime::now_utc());
    let today_s = format_date(today);
    let tomorrow = format_date(today.next_day().unwrap_or(today));
    let (tid, conn) = tx.split();
    let due: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT o.id, a.amazon_order_id, o.status, o.ship_by FROM orders o JOIN amazon_orders a ON a.tenant_id = o.tenant_id AND a.order_id = o.id \
         WHERE o.tenant_id = $1 AND o.status NOT IN ('dispatched', 'delivered', 'cancelled') AND o.ship_by IS NOT NULL AND o.ship_by <= $2 \
         ORDER BY o.ship_by, o.id LIMIT 500",
    )
    .bind(tid)
    .bind(&tomorrow)
    .fetch_all(&mut *conn)
    .await?;
    let hour_ago = now_ms() - 3_600_000;
    let unconfirmed: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT DISTINCT o.id, a.amazon_order_id, o.status, o.ship_by FROM orders o \
         JOIN amazon_orders a ON a.tenant_id = o.tenant_id AND a.order_id = o.id \
         JOIN amazon_feedback f ON f.tenant_id = o.tenant_id AND f.order_id = o.id \
         WHERE o.tenant_id = $1 AND (f.status = 'failed' OR (f.status IN ('pending', 'sent') AND f.created_at < $2)) \
         ORDER BY o.id LIMIT 500",
    )
    .bind(tid)
    .bind(hour_ago)
    .fetch_all(conn)
    .await?;
    let mut out: Vec<AtRiskOrder> = due
        .into_iter()
        .map(|r| AtRiskOrder {
            reason: if r.3.as_deref() < Some(today_s.as_str()) {
                "ship_by_passed".into()
            } else {
                "ship_by_due".into()
            },
            order_id: r.0,
            amazon_order_id: r.1,
            status: r.2,
            ship_by: r.3,
        })
        .collect();
    out.extend(unconfirmed.into_iter().map(|r| AtRiskOrder {
        order_id: r.0,
        amazon_order_id: r.1,
        status: r.2,
        ship_by: r.3,
        reason: "feedback_not_confirmed".into(),
    }));
    Ok(out)
}
