//! Orders and their fulfilment: manual creation, allocation (FEFO/FIFO via `wms_core::ledger`),
//! picking, pack verification scan by scan, packages, dispatch, cancellation. Every transition goes
//! through `wms_core::fulfilment`; every stock effect through the ledger.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use wms_core::fulfilment::{
    OrderEvent, OrderState, PackLine, PackRefusal, PackageInput, check_pack, check_package,
};
use wms_core::ledger::{MovementKind, StockLot, allocate_fefo};
use wms_core::seal::Aad;

use super::master::{self, LocationKind};
use super::stock::{self, Post};
use super::{parse_date, rule, state, today};
use crate::db::{Backend, DbError, TenantTx};
use crate::error::ApiError;
use crate::keys::TenantKeys;
use crate::time::{now_ms, rfc3339};

/// The 47 prefectures, as written in addresses.
pub const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// A recipient in Japanese address order. Sealed at rest; lists show only [`MaskedRecipient`].
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    pub name: String,
    /// `NNN-NNNN` (or seven digits).
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub address1: String,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl Recipient {
    pub(crate) fn validate(&mut self) -> Result<(), ApiError> {
        let digits: String = self
            .postal_code
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        if digits.len() != 7
            || self
                .postal_code
                .chars()
                .any(|c| !c.is_ascii_digit() && c != '-')
        {
            return Err(rule(
                "invalid_postal_code",
                format!("postal code must be NNN-NNNN, got `{}`", self.postal_code),
            ));
        }
        self.postal_code = format!("{}-{}", &digits[..3], &digits[3..]);
        if !PREFECTURES.contains(&self.prefecture.as_str()) {
            return Err(rule(
                "invalid_prefecture",
                format!("`{}` is not a prefecture", self.prefecture),
            ));
        }
        for (field, v, max) in [
            ("name", &self.name, 64usize),
            ("city", &self.city, 64),
            ("address1", &self.address1, 128),
        ] {
            let n = v.trim().chars().count();
            if n == 0 || n > max {
                return Err(ApiError::Validation(format!(
                    "recipient {field} must be 1–{max} characters"
                )));
            }
        }
        if self
            .address2
            .as_ref()
            .is_some_and(|a| a.chars().count() > 128)
        {
            return Err(ApiError::Validation(
                "recipient address2 must be at most 128 characters".into(),
            ));
        }
        if let Some(p) = &self.phone {
            let d = p.chars().filter(char::is_ascii_digit).count();
            if !(10..=11).contains(&d)
                || p.chars()
                    .any(|c| !c.is_ascii_digit() && c != '-' && c != '+')
            {
                return Err(rule(
                    "invalid_phone",
                    "phone must be a Japanese number of 10–11 digits",
                ));
            }
        }
        if self
            .email
            .as_ref()
            .is_some_and(|e| !e.contains('@') || e.len() > 254)
        {
            return Err(rule("invalid_email", "recipient e-mail is not valid"));
        }
        Ok(())
    }

    pub(crate) fn masked(&self) -> MaskedRecipient {
        MaskedRecipient {
            name: wms_core::mask::name(&self.name),
            postal_code: format!(
                "{}-****",
                &self.postal_code[..3.min(self.postal_code.len())]
            ),
            prefecture: self.prefecture.clone(),
        }
    }
}

/// What lists show: enough to tell orders apart at the bench, not enough to identify anyone.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MaskedRecipient {
    pub name: String,
    pub postal_code: String,
    pub prefecture: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrderLine {
    /// Seller SKU.
    pub sku: String,
    pub quantity: i64,
    #[serde(default)]
    pub marketplace_item_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    pub external_id: String,
    #[serde(default)]
    pub warehouse: Option<String>,
    #[serde(default)]
    pub ship_by: Option<String>,
    #[serde(default)]
    pub deliver_by: Option<String>,
    pub lines: Vec<NewOrderLine>,
    pub recipient: Recipient,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderLineView {
    pub line_no: i64,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub packed: i64,
    pub marketplace_item_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackageView {
    pub seq: i64,
    pub box_type: String,
    pub weight_g: i64,
    pub length_mm: Option<i64>,
    pub width_mm: Option<i64>,
    pub height_mm: Option<i64>,
    /// `yamato`, `sagawa`, `japan_post`, once the label is booked or scanned.
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    /// Which order lines (and how many units) travel in this package; empty: not stated (a single
    /// package carries everything).
    pub items: Vec<PackageItem>,
    /// Amazon shipment feedback for this package (`not_required` for other channels; `pending`
    /// before dispatch is recorded once the order is dispatched).
    #[schema(value_type = Object)]
    pub feedback: wms_core::fulfilment::FeedbackStatus,
}

/// Units of one order line in one package.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PackageItem {
    pub line_no: i64,
    pub quantity: i64,
}

/// What Amazon said about an order the sync imported.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AmazonOrderInfo {
    pub amazon_order_id: String,
    pub marketplace_id: String,
    pub authorization_id: String,
    /// Amazon's fulfillment status at the last sync (`UNSHIPPED`, `CANCELLED`…).
    pub amazon_status: String,
    /// Needs a supervisor (e.g. `cancelled_at_amazon_after_dispatch`).
    pub flag: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    pub channel: String,
    pub external_id: String,
    pub warehouse: String,
    pub status: OrderState,
    pub ship_by: Option<String>,
    pub deliver_by: Option<String>,
    pub recipient_masked: MaskedRecipient,
    /// Present only when asked for with `?include=recipient` by a role allowed to read PII (audited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
    /// `granted` when the full recipient is stored (sealed); `not_granted` when the Amazon seller
    /// authorization lacks the restricted role (only city / prefecture / postal code are known);
    /// `purged` after the authorization was withdrawn and its PII erased.
    pub recipient_pii: String,
    pub lines: Vec<OrderLineView>,
    pub packages: Vec<PackageView>,
    pub ship_time: Option<String>,
    /// Amazon orders only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amazon: Option<AmazonOrderInfo>,
    pub version: i64,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderSummary {
    pub id: String,
    pub channel: String,
    pub external_id: String,
    pub status: OrderState,
    pub ship_by: Option<String>,
    pub recipient_masked: MaskedRecipient,
    pub created_at: String,
}

fn recipient_aad(tenant: wms_core::ids::TenantId, order_id: &str) -> Aad<'_> {
    Aad {
        tenant,
        table: "orders",
        column: "recipient",
        row: order_id,
    }
}

/// Internal: an order row, locked for update on PostgreSQL when mutating.
struct OrderRow {
    id: String,
    channel: String,
    external_id: String,
    warehouse_id: String,
    warehouse: String,
    status: OrderState,
    ship_by: Option<String>,
    deliver_by: Option<String>,
    recipient_sealed: Option<Vec<u8>>,
    recipient_masked: String,
    ship_time_ms: Option<i64>,
    version: i64,
    created_at: i64,
}

type OrderTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    String,
    Option<i64>,
    i64,
    i64,
);

async fn load(
    tx: &mut TenantTx,
    backend: Backend,
    id: &str,
    lock: bool,
) -> Result<Option<OrderRow>, ApiError> {
    let for_update = if lock && backend == Backend::Postgres {
        " FOR UPDATE OF o"
    } else {
        ""
    };
    let (tid, conn) = tx.split();
    let row: Option<OrderTuple> = sqlx::query_as(&format!(
        "SELECT o.id, o.channel, o.external_id, o.warehouse_id, w.code, o.status, o.ship_by, o.deliver_by, o.recipient_sealed, o.recipient_masked, o.ship_time_ms, o.version, o.created_at \
         FROM orders o JOIN warehouses w ON w.tenant_id = o.tenant_id AND w.id = o.warehouse_id WHERE o.tenant_id = $1 AND o.id = $2{for_update}"
    ))
    .bind(tid)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let status: OrderState =
        r.5.parse()
            .map_err(|_| ApiError::internal(anyhow::anyhow!("bad order status")))?;
    Ok(Some(OrderRow {
        id: r.0,
        channel: r.1,
        external_id: r.2,
        warehouse_id: r.3,
        warehouse: r.4,
        status,
        ship_by: r.6,
        deliver_by: r.7,
        recipient_sealed: r.8,
        recipient_masked: r.9,
        ship_time_ms: r.10,
        version: r.11,
        created_at: r.12,
    }))
}

/// The order to act on, or `None` (the caller answers 404 and audits the attempt).
pub async fn exists(tx: &mut TenantTx, id: &str) -> Result<bool, ApiError> {
    let (tid, conn) = tx.split();
    let r: Option<(String,)> =
        sqlx::query_as("SELECT id FROM orders WHERE tenant_id = $1 AND id = $2")
            .bind(tid)
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(r.is_some())
}

fn transition(o: &OrderRow, event: OrderEvent) -> Result<OrderState, ApiError> {
    o.status.apply(event).map_err(|e| {
        state(
            e.code(),
            format!("order {} is {}: cannot {}", o.external_id, o.status, event),
        )
    })
}

async fn set_status(tx: &mut TenantTx, o: &OrderRow, to: OrderState) -> Result<(), ApiError> {
    let (tid, conn) = tx.split();
    let n = sqlx::query("UPDATE orders SET status = $1, version = version + 1, updated_at = $2 WHERE tenant_id = $3 AND id = $4 AND version = $5")
        .bind(to.as_str())
        .bind(now_ms())
        .bind(tid)
        .bind(&o.id)
        .bind(o.version)
        .execute(conn)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(ApiError::Conflict(
            "the order was changed by someone else meanwhile; reload and retry".into(),
        ));
    }
    tx.changed("order", &o.id);
    Ok(())
}

pub async fn create_manual(
    tx: &mut TenantTx,
    keys: &TenantKeys,
    mut n: NewOrder,
) -> Result<String, ApiError> {
    if n.external_id.trim().is_empty() || n.external_id.len() > 64 {
        return Err(ApiError::Validation(
            "external_id must be 1–64 characters".into(),
        ));
    }
    for d in [&n.ship_by, &n.deliver_by].into_iter().flatten() {
        parse_date("ship_by/deliver_by", d)?;
    }
    n.recipient.validate()?;
    let wh = master::resolve_warehouse(tx, n.warehouse.as_deref()).await?;
    let lines = resolve_lines(tx, &n.lines).await?;
    let masked = n.recipient.masked();
    insert_order(
        tx,
        keys,
        OrderInsert {
            channel: "manual",
            external_id: n.external_id.trim(),
            warehouse_id: &wh.id,
            ship_by: n.ship_by.as_deref(),
            deliver_by: n.deliver_by.as_deref(),
            recipient: Some(&n.recipient),
            masked: &masked,
        },
        &lines,
    )
    .await
}

pub(crate) struct OrderInsert<'a> {
    pub channel: &'static str,
    pub external_id: &'a str,
    pub warehouse_id: &'a str,
    pub ship_by: Option<&'a str>,
    pub deliver_by: Option<&'a str>,
    /// `None`: no recipient PII may be kept (Amazon restricted role not granted).
    pub recipient: Option<&'a Recipient>,
    pub masked: &'a MaskedRecipient,
}

/// Insert an order (recipient sealed) and its lines; a duplicate external id is a conflict.
pub(crate) async fn insert_order(
    tx: &mut TenantTx,
    keys: &TenantKeys,
    n: OrderInsert<'_>,
    lines: &[ResolvedLine],
) -> Result<String, ApiError> {
    let id = Uuid::now_v7().to_string();
    let sealed = match n.recipient {
        Some(r) => Some(
            keys.data
                .seal(
                    &recipient_aad(tx.tenant(), &id),
                    &serde_json::to_vec(r).map_err(ApiError::internal)?,
                )
                .map_err(ApiError::internal)?,
        ),
        None => None,
    };
    let masked = serde_json::to_string(n.masked).map_err(ApiError::internal)?;
    let now = now_ms();
    let (tid, conn) = tx.split();
    sqlx::query(
        "INSERT INTO orders (tenant_id, id, channel, external_id, warehouse_id, status, ship_by, deliver_by, recipient_sealed, recipient_masked, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'received', $6, $7, $8, $9, $10, $10)",
    )
    .bind(tid)
    .bind(&id)
    .bind(n.channel)
    .bind(n.external_id)
    .bind(n.warehouse_id)
    .bind(n.ship_by)
    .bind(n.deliver_by)
    .bind(sealed)
    .bind(masked)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(|e| match DbError::from(e) {
        DbError::Conflict(_) => ApiError::Conflict(format!(
            "an order with external id `{}` already exists",
            n.external_id
        )),
        other => other.into(),
    })?;
    insert_lines(tx, &id, lines).await?;
    tx.changed("order", &id);
    Ok(id)
}

async fn lines_of(
    tx: &mut TenantTx,
    order_id: &str,
) -> Result<Vec<(OrderLineView, String)>, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<(i64, String, String, i64, i64, Option<String>, String)> = sqlx::query_as(
        "SELECT l.line_no, s.seller_sku, s.name, l.quantity, l.packed, l.marketplace_item_id, l.sku_id FROM order_lines l \
         JOIN skus s ON s.tenant_id = l.tenant_id AND s.id = l.sku_id WHERE l.tenant_id = $1 AND l.order_id = $2 ORDER BY l.line_no",
    )
    .bind(tid)
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                OrderLineView {
                    line_no: r.0,
                    sku: r.1,
                    name: r.2,
                    quantity: r.3,
                    packed: r.4,
                    marketplace_item_id: r.5,
                },
                r.6,
            )
        })
        .collect())
}

type PackageTuple = (
    i64,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

pub(crate) async fn packages_of(
    tx: &mut TenantTx,
    order_id: &str,
) -> Result<Vec<PackageView>, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<PackageTuple> = sqlx::query_as(
        "SELECT p.seq, p.box_type, p.weight_g, p.length_mm, p.width_mm, p.height_mm, p.carrier, p.tracking_number, f.status, f.reason \
         FROM packages p LEFT JOIN amazon_feedback f ON f.tenant_id = p.tenant_id AND f.order_id = p.order_id AND f.package_seq = p.seq \
         WHERE p.tenant_id = $1 AND p.order_id = $2 ORDER BY p.seq",
    )
    .bind(tid)
    .bind(order_id)
    .fetch_all(&mut *conn)
    .await?;
    let items: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT package_seq, line_no, quantity FROM package_items WHERE tenant_id = $1 AND order_id = $2 ORDER BY package_seq, line_no",
    )
    .bind(tid)
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let feedback = match r.8 {
            Some(status) => wms_core::fulfilment::FeedbackStatus::from_db(&status, r.9)
                .map_err(ApiError::internal)?,
            None => wms_core::fulfilment::FeedbackStatus::NotRequired,
        };
        out.push(PackageView {
            seq: r.0,
            box_type: r.1,
            weight_g: r.2,
            length_mm: r.3,
            width_mm: r.4,
            height_mm: r.5,
            carrier: r.6,
            tracking_number: r.7,
            items: items
                .iter()
                .filter(|i| i.0 == r.0)
                .map(|i| PackageItem {
                    line_no: i.1,
                    quantity: i.2,
                })
                .collect(),
            feedback,
        });
    }
    Ok(out)
}

/// Marker stored in `recipient_masked.name` when no recipient PII may be kept.
pub(crate) const PII_NOT_GRANTED: &str = "(PII not granted)";
pub(crate) const PII_PURGED: &str = "(PII purged)";

fn recipient_pii_of(sealed: &Option<Vec<u8>>, masked: &str) -> String {
    if sealed.is_some() {
        return "granted".into();
    }
    if masked_of(masked).name == PII_PURGED {
        "purged".into()
    } else {
        "not_granted".into()
    }
}

fn masked_of(text: &str) -> MaskedRecipient {
    serde_json::from_str(text).unwrap_or(MaskedRecipient {
        name: "***".into(),
        postal_code: "***".into(),
        prefecture: String::new(),
    })
}

/// The order as the API shows it. `with_recipient` opens the sealed recipient (the caller audits it).
pub async fn view(
    tx: &mut TenantTx,
    backend: Backend,
    keys: &TenantKeys,
    id: &str,
    with_recipient: bool,
) -> Result<Option<OrderView>, ApiError> {
    let Some(o) = load(tx, backend, id, false).await? else {
        return Ok(None);
    };
    let recipient = match (&o.recipient_sealed, with_recipient) {
        (Some(sealed), true) => {
            let json = keys
                .data
                .open(&recipient_aad(tx.tenant(), &o.id), sealed)
                .map_err(ApiError::internal)?;
            Some(serde_json::from_slice(&json).map_err(ApiError::internal)?)
        }
        _ => None,
    };
    let lines = lines_of(tx, id)
        .await?
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    let mut packages = packages_of(tx, id).await?;
    let amazon = crate::amazon::orders::info(tx, id).await?;
    if amazon.is_some() && o.ship_time_ms.is_none() {
        // Not dispatched yet: feedback will be due once it is.
        for p in &mut packages {
            p.feedback = wms_core::fulfilment::FeedbackStatus::Pending;
        }
    }
    let recipient_pii = recipient_pii_of(&o.recipient_sealed, &o.recipient_masked);
    Ok(Some(OrderView {
        id: o.id,
        channel: o.channel,
        external_id: o.external_id,
        warehouse: o.warehouse,
        status: o.status,
        ship_by: o.ship_by,
        deliver_by: o.deliver_by,
        recipient_masked: masked_of(&o.recipient_masked),
        recipient,
        recipient_pii,
        lines,
        packages,
        ship_time: o.ship_time_ms.map(rfc3339),
        amazon,
        version: o.version,
        created_at: rfc3339(o.created_at),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    pub status: Option<OrderState>,
    /// Page backwards: orders created before this order id.
    pub before: Option<String>,
    /// 1–500, default 100.
    pub limit: Option<i64>,
}

pub async fn list(tx: &mut TenantTx, q: &OrderQuery) -> Result<Vec<OrderSummary>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Validation(
            "limit must be between 1 and 500".into(),
        ));
    }
    let (tid, conn) = tx.split();
    let rows: Vec<(String, String, String, String, Option<String>, String, i64)> = sqlx::query_as(
        "SELECT id, channel, external_id, status, ship_by, recipient_masked, created_at FROM orders \
         WHERE tenant_id = $1 AND ($2 = '' OR status = $2) AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4",
    )
    .bind(tid)
    .bind(q.status.map_or("", OrderState::as_str))
    .bind(q.before.as_deref().unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let status =
                r.3.parse()
                    .map_err(|_| ApiError::internal(anyhow::anyhow!("bad order status")))?;
            Ok(OrderSummary {
                id: r.0,
                channel: r.1,
                external_id: r.2,
                status,
                ship_by: r.4,
                recipient_masked: masked_of(&r.5),
                created_at: rfc3339(r.6),
            })
        })
        .collect()
}

/// Reserved quantity per line so far.
async fn reserved_by_line(
    tx: &mut TenantTx,
    order_id: &str,
) -> Result<std::collections::HashMap<i64, i64>, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT line_no, CAST(SUM(quantity) AS BIGINT) FROM order_allocations WHERE tenant_id = $1 AND order_id = $2 AND state IN ('reserved', 'picked') GROUP BY line_no",
    )
    .bind(tid)
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().collect())
}

async fn record_allocation(
    tx: &mut TenantTx,
    order_id: &str,
    line_no: i64,
    location: &str,
    batch_key: &str,
    qty: i64,
    st: &str,
) -> Result<(), ApiError> {
    let (tid, conn) = tx.split();
    // The same (line, place, batch, state) may be reached twice (a second allocation round): add up.
    let updated = sqlx::query(
        "UPDATE order_allocations SET quantity = quantity + $1 WHERE tenant_id = $2 AND order_id = $3 AND line_no = $4 AND location_id = $5 AND batch_key = $6 AND state = $7",
    )
    .bind(qty)
    .bind(tid)
    .bind(order_id)
    .bind(line_no)
    .bind(location)
    .bind(batch_key)
    .bind(st)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if updated == 0 {
        sqlx::query("INSERT INTO order_allocations (tenant_id, order_id, line_no, location_id, batch_key, quantity, state) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(tid)
            .bind(order_id)
            .bind(line_no)
            .bind(location)
            .bind(batch_key)
            .bind(qty)
            .bind(st)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Reserve stock for every line (FEFO for lot-tracked SKUs, never a batch expiring before ship date
/// plus the minimum shelf life; FIFO otherwise). Partial allocation keeps what it reserved and
/// backorders the order; allocating a backordered order again tops it up.
pub async fn allocate(
    tx: &mut TenantTx,
    backend: Backend,
    user: &str,
    id: &str,
    min_shelf_life_days: u32,
) -> Result<OrderState, ApiError> {
    let o = load(tx, backend, id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    if !matches!(o.status, OrderState::Received | OrderState::Backordered) {
        return Err(transition(&o, OrderEvent::Allocate)
            .err()
            .unwrap_or_else(|| state("order_illegal_transition", "cannot allocate")));
    }
    let ship_date = match &o.ship_by {
        // The later of today and the ship-by date: the stricter shelf-life check.
        Some(d) => parse_date("ship_by", d)?.max(today()),
        None => today(),
    };
    let reserved = reserved_by_line(tx, id).await?;
    let mut short = 0i64;
    // Lines in SKU order: concurrent allocations then lock balance rows in one global order
    // (no deadlock between two orders listing the same SKUs in different orders).
    let mut lines = lines_of(tx, id).await?;
    lines.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.line_no.cmp(&b.0.line_no)));
    for (line, sku_id) in lines {
        let need = line.quantity - reserved.get(&line.line_no).copied().unwrap_or(0);
        if need <= 0 {
            continue;
        }
        let lock = if backend == Backend::Postgres {
            " FOR UPDATE OF b"
        } else {
            ""
        };
        let (tid, conn) = tx.split();
        // Candidates: storage bins of the order's warehouse (never quarantine, receiving, packing…).
        let rows: Vec<(String, String, i64, i64, i64, Option<String>, Option<String>)> = sqlx::query_as(&format!(
            "SELECT b.location_id, b.batch_key, b.on_hand, b.reserved, b.since_ms, bt.expiry, bt.received_on FROM stock_balances b \
             JOIN locations l ON l.tenant_id = b.tenant_id AND l.id = b.location_id \
             LEFT JOIN batches bt ON bt.tenant_id = b.tenant_id AND bt.id = b.batch_key \
             WHERE b.tenant_id = $1 AND b.sku_id = $2 AND l.warehouse_id = $3 AND l.kind = 'storage' AND b.on_hand > b.reserved{lock}"
        ))
        .bind(tid)
        .bind(&sku_id)
        .bind(&o.warehouse_id)
        .fetch_all(conn)
        .await?;
        let lots: Vec<StockLot> = rows
            .iter()
            .map(|r| {
                let received =
                    r.6.as_deref()
                        .and_then(|d| parse_date("received_on", d).ok())
                        .unwrap_or_else(|| {
                            time::OffsetDateTime::from_unix_timestamp(r.4 / 1000)
                                .map(|t| t.date())
                                .unwrap_or_else(|_| today())
                        });
                StockLot {
                    location: r.0.clone(),
                    batch: (!r.1.is_empty()).then(|| r.1.clone()),
                    expiry: r.5.as_deref().and_then(|d| parse_date("expiry", d).ok()),
                    received,
                    available: r.2 - r.3,
                }
            })
            .collect();
        let alloc = allocate_fefo(&lots, need, ship_date, min_shelf_life_days);
        for a in &alloc.lines {
            let batch_key = a.batch.clone().unwrap_or_default();
            let reference = format!("order:{id}");
            stock::post(
                tx,
                backend,
                user,
                &Post {
                    kind: MovementKind::Reserve,
                    sku_id: &sku_id,
                    from: Some(&a.location),
                    to: None,
                    batch_key: &batch_key,
                    quantity: a.quantity,
                    reason: "allocation",
                    reference: Some(&reference),
                },
            )
            .await?;
            record_allocation(
                tx,
                id,
                line.line_no,
                &a.location,
                &batch_key,
                a.quantity,
                "reserved",
            )
            .await?;
        }
        short += alloc.shortfall;
    }
    let next = if short == 0 {
        transition(&o, OrderEvent::Allocate)?
    } else if o.status == OrderState::Received {
        transition(&o, OrderEvent::Backorder)?
    } else {
        OrderState::Backordered
    };
    set_status(tx, &o, next).await?;
    Ok(next)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PickLine {
    pub location: String,
    pub walk_order: i64,
    pub sku: String,
    pub name: String,
    pub lot: Option<String>,
    pub expiry: Option<String>,
    pub quantity: i64,
    pub order_id: String,
    /// The order's external id (what is written on the tote).
    pub order: String,
}

/// What to pick for one or several orders, in walking order (a batch pick walks the warehouse
/// once; each line says which order it is for).
pub async fn pick_list(tx: &mut TenantTx, ids: &[String]) -> Result<Vec<PickLine>, ApiError> {
    if ids.is_empty() || ids.len() > 200 {
        return Err(ApiError::Validation(
            "a pick list covers 1–200 orders".into(),
        ));
    }
    let sql = format!(
        "SELECT l.code, l.walk_order, s.seller_sku, s.name, bt.lot, bt.expiry, CAST(SUM(a.quantity) AS BIGINT), o.id, o.external_id FROM order_allocations a \
         JOIN orders o ON o.tenant_id = a.tenant_id AND o.id = a.order_id \
         JOIN order_lines ol ON ol.tenant_id = a.tenant_id AND ol.order_id = a.order_id AND ol.line_no = a.line_no \
         JOIN skus s ON s.tenant_id = ol.tenant_id AND s.id = ol.sku_id \
         JOIN locations l ON l.tenant_id = a.tenant_id AND l.id = a.location_id \
         LEFT JOIN batches bt ON bt.tenant_id = a.tenant_id AND bt.id = a.batch_key \
         WHERE a.tenant_id = $1 AND a.order_id IN ({}) AND a.state = 'reserved' \
         GROUP BY l.code, l.walk_order, s.seller_sku, s.name, bt.lot, bt.expiry, o.id, o.external_id \
         ORDER BY l.walk_order, l.code, s.seller_sku, o.external_id",
        crate::db::placeholders(2, ids.len())
    );
    let (tid, conn) = tx.split();
    let mut q = sqlx::query_as::<
        _,
        (
            String,
            i64,
            String,
            String,
            Option<String>,
            Option<String>,
            i64,
            String,
            String,
        ),
    >(&sql)
    .bind(tid);
    for id in ids {
        q = q.bind(id);
    }
    let rows = q.fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|r| PickLine {
            location: r.0,
            walk_order: r.1,
            sku: r.2,
            name: r.3,
            lot: r.4,
            expiry: r.5,
            quantity: r.6,
            order_id: r.7,
            order: r.8,
        })
        .collect())
}

type AllocRow = (i64, String, String, i64, String);

async fn allocations(tx: &mut TenantTx, id: &str, states: &str) -> Result<Vec<AllocRow>, ApiError> {
    let (tid, conn) = tx.split();
    Ok(sqlx::query_as(&format!(
        "SELECT a.line_no, a.location_id, a.batch_key, a.quantity, ol.sku_id FROM order_allocations a \
         JOIN order_lines ol ON ol.tenant_id = a.tenant_id AND ol.order_id = a.order_id AND ol.line_no = a.line_no \
         WHERE a.tenant_id = $1 AND a.order_id = $2 AND a.state IN ({states}) \
         ORDER BY ol.sku_id, a.location_id, a.batch_key, a.line_no"
    ))
    .bind(tid)
    .bind(id)
    .fetch_all(conn)
    .await?)
}

async fn drop_allocations(tx: &mut TenantTx, id: &str, states: &str) -> Result<(), ApiError> {
    let (tid, conn) = tx.split();
    sqlx::query(&format!("DELETE FROM order_allocations WHERE tenant_id = $1 AND order_id = $2 AND state IN ({states})")).bind(tid).bind(id).execute(conn).await?;
    Ok(())
}

/// Release the order to picking: its reserved stock moves (still reserved) from the bins to the
/// warehouse's packing bench, where the packer verifies it.
pub async fn start_picking(
    tx: &mut TenantTx,
    backend: Backend,
    user: &str,
    id: &str,
) -> Result<OrderState, ApiError> {
    let o = load(tx, backend, id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let next = transition(&o, OrderEvent::StartPicking)?;
    let bench = master::first_location_of_kind(tx, &o.warehouse_id, LocationKind::Packing).await?;
    transfer_allocations(
        tx,
        backend,
        user,
        id,
        "'reserved'",
        MovementKind::Pick,
        Some(&bench.id),
        "picked",
        "pick",
    )
    .await?;
    set_status(tx, &o, next).await?;
    Ok(next)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackScan {
    /// What the scanner read: a JAN/UPC/FNSKU barcode or the seller SKU.
    pub barcode: String,
    /// Defaults to 1.
    #[serde(default)]
    pub quantity: Option<i64>,
    /// Lot number, when the packer scans or types it: it must be one allocated to this order.
    #[serde(default)]
    pub lot: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PackResult {
    pub line_no: i64,
    pub sku: String,
    pub packed: i64,
    pub quantity: i64,
    /// True when every line is fully packed (the order is now `packed`).
    pub order_complete: bool,
    pub status: OrderState,
}

/// One scan at the packing bench. A wrong item, too many, or a lot that was not allocated is
/// refused with a specific code and nothing changes.
pub async fn pack_scan(
    tx: &mut TenantTx,
    backend: Backend,
    id: &str,
    scan: &PackScan,
) -> Result<PackResult, ApiError> {
    let o = load(tx, backend, id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let sku_id = master::sku_by_scan(tx, &scan.barcode).await?;
    let lines = lines_of(tx, id).await?;
    let view: Vec<PackLine<'_>> = lines
        .iter()
        .map(|(l, sku)| PackLine {
            line_no: l.line_no,
            sku,
            quantity: l.quantity,
            packed: l.packed,
        })
        .collect();
    // The rule is `wms_core`'s, shared with the workstation's offline check; the messages name
    // what the packer scanned.
    let step = match check_pack(
        o.status,
        &view,
        sku_id.as_deref(),
        scan.quantity.unwrap_or(1),
    ) {
        Ok(step) => step,
        Err(e @ PackRefusal::UnknownBarcode) => {
            return Err(rule(
                e.code(),
                format!("`{}` is not a known barcode or SKU", scan.barcode.trim()),
            ));
        }
        Err(e @ PackRefusal::WrongItem) => {
            let sku_id = sku_id.unwrap_or_default();
            let sku = master::sku_by_id(tx, &sku_id).await?;
            return Err(rule(
                e.code(),
                format!(
                    "{} ({}) is not in order {}",
                    sku.seller_sku, sku.name, o.external_id
                ),
            ));
        }
        Err(e) => return Err(refusal(&o, e, "only orders being picked can be packed")),
    };
    let Some((line, sku_id)) = lines.iter().find(|(l, _)| l.line_no == step.line_no) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "pack rule chose line {} of order {id}, which it was not given",
            step.line_no
        )));
    };
    if let Some(lot) = &scan.lot {
        let batch = master::batch_by_lot(tx, sku_id, lot).await.map_err(|_| {
            rule(
                "batch_not_allocated",
                format!("lot `{lot}` was not allocated to this order"),
            )
        })?;
        let allocated = allocations(tx, id, "'picked'")
            .await?
            .iter()
            .any(|a| a.0 == line.line_no && a.2 == batch);
        if !allocated {
            return Err(rule(
                "batch_not_allocated",
                format!("lot `{lot}` was not allocated to this order"),
            ));
        }
    }
    let packed = step.packed;
    let (tid, conn) = tx.split();
    sqlx::query("UPDATE order_lines SET packed = $1 WHERE tenant_id = $2 AND order_id = $3 AND line_no = $4").bind(packed).bind(tid).bind(id).bind(line.line_no).execute(conn).await?;
    let complete = step.order_complete;
    let status = if complete {
        let next = transition(&o, OrderEvent::Pack)?;
        set_status(tx, &o, next).await?;
        next
    } else {
        o.status
    };
    tx.changed("order", id);
    Ok(PackResult {
        line_no: line.line_no,
        sku: line.sku.clone(),
        packed,
        quantity: line.quantity,
        order_complete: complete,
        status,
    })
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPackage {
    pub box_type: String,
    pub weight_g: i64,
    #[serde(default)]
    pub length_mm: Option<i64>,
    #[serde(default)]
    pub width_mm: Option<i64>,
    #[serde(default)]
    pub height_mm: Option<i64>,
    /// `yamato`, `sagawa` or `japan_post`; with `tracking_number` (a pre-printed label scanned at
    /// the bench, or what the carrier booking returned).
    #[serde(default)]
    pub carrier: Option<String>,
    /// 12 digits with the carrier's mod-7 check digit; spaces and hyphens are ignored.
    #[serde(default)]
    pub tracking_number: Option<String>,
    /// What this package holds. Needed when an Amazon order ships in more than one package.
    #[serde(default)]
    pub items: Vec<PackageItem>,
}

/// A refusal of `wms_core`'s pack or package rule as the API's problem; `what` completes "order
/// X is STATE: …" for an order in the wrong state.
fn refusal(o: &OrderRow, e: PackRefusal, what: &str) -> ApiError {
    match e {
        PackRefusal::NotPackable(s) => {
            state(e.code(), format!("order {} is {s}: {what}", o.external_id))
        }
        PackRefusal::InvalidBoxType | PackRefusal::LabelIncomplete => {
            ApiError::Validation(e.to_string())
        }
        PackRefusal::InvalidWeight => rule(
            e.code(),
            "weight_g must be 1–70000 (carriers take at most 30 kg; 70 kg for freight)",
        ),
        PackRefusal::OverQuantity {
            packed, quantity, ..
        } if packed == quantity => rule(
            e.code(),
            format!("all {quantity} of this item are already packed"),
        ),
        e => rule(e.code(), e.to_string()),
    }
}

/// A carrier and a tracking number checked for it, normalised.
fn tracking_pair(carrier: &str, number: &str) -> Result<(String, String), ApiError> {
    let checked = carrier
        .parse::<wms_core::tracking::Carrier>()
        .map_err(PackRefusal::from)
        .and_then(|c| {
            wms_core::tracking::TrackingNumber::new(c, number).map_err(PackRefusal::from)
        });
    match checked {
        Ok(t) => Ok((t.carrier().as_str().to_owned(), t.digits())),
        Err(e) => Err(rule(e.code(), e.to_string())),
    }
}

/// A package's carrier and tracking number, normalised (`wms_core`'s package rule).
fn package_tracking(
    o: &OrderRow,
    p: PackageInput<'_>,
    what: &str,
) -> Result<Option<(String, String)>, ApiError> {
    let number = check_package(o.status, &p).map_err(|e| refusal(o, e, what))?;
    Ok(number.map(|t| (t.carrier().as_str().to_owned(), t.digits())))
}

pub async fn add_package(
    tx: &mut TenantTx,
    backend: Backend,
    id: &str,
    p: &NewPackage,
) -> Result<PackageView, ApiError> {
    let o = load(tx, backend, id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let tracking = package_tracking(
        &o,
        PackageInput {
            box_type: &p.box_type,
            weight_g: p.weight_g,
            carrier: p.carrier.as_deref(),
            tracking_number: p.tracking_number.as_deref(),
        },
        "packages are added while packing",
    )?;
    for v in [p.length_mm, p.width_mm, p.height_mm].into_iter().flatten() {
        if !(1..=3_000).contains(&v) {
            return Err(ApiError::Validation("dimensions must be 1–3000 mm".into()));
        }
    }
    let lines = lines_of(tx, id).await?;
    let existing = packages_of(tx, id).await?;
    let mut seen = std::collections::BTreeSet::new();
    for item in &p.items {
        let Some((line, _)) = lines.iter().find(|(l, _)| l.line_no == item.line_no) else {
            return Err(rule(
                "unknown_line",
                format!("order {} has no line {}", o.external_id, item.line_no),
            ));
        };
        if !seen.insert(item.line_no) {
            return Err(ApiError::Validation(format!(
                "line {} is listed twice in this package",
                item.line_no
            )));
        }
        let already: i64 = existing
            .iter()
            .flat_map(|pk| pk.items.iter())
            .filter(|i| i.line_no == item.line_no)
            .map(|i| i.quantity)
            .sum();
        if item.quantity < 1 || already + item.quantity > line.quantity {
            return Err(rule(
                "package_quantity_exceeds_line",
                format!(
                    "line {} ({}) has {} units, {} already in other packages; {} more do not fit",
                    line.line_no, line.sku, line.quantity, already, item.quantity
                ),
            ));
        }
    }
    let next = existing.iter().map(|pk| pk.seq).max().unwrap_or(0) + 1;
    let (tid, conn) = tx.split();
    sqlx::query("INSERT INTO packages (tenant_id, order_id, seq, box_type, weight_g, length_mm, width_mm, height_mm, created_at, carrier, tracking_number) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind(tid)
        .bind(id)
        .bind(next)
        .bind(p.box_type.trim())
        .bind(p.weight_g)
        .bind(p.length_mm)
        .bind(p.width_mm)
        .bind(p.height_mm)
        .bind(now_ms())
        .bind(tracking.as_ref().map(|t| t.0.clone()))
        .bind(tracking.as_ref().map(|t| t.1.clone()))
        .execute(&mut *conn)
        .await?;
    for item in &p.items {
        sqlx::query("INSERT INTO package_items (tenant_id, order_id, package_seq, line_no, quantity) VALUES ($1, $2, $3, $4, $5)")
            .bind(tid)
            .bind(id)
            .bind(next)
            .bind(item.line_no)
            .bind(item.quantity)
            .execute(&mut *conn)
            .await?;
    }
    tx.changed("order", id);
    Ok(PackageView {
        seq: next,
        box_type: p.box_type.trim().to_owned(),
        weight_g: p.weight_g,
        length_mm: p.length_mm,
        width_mm: p.width_mm,
        height_mm: p.height_mm,
        carrier: tracking.as_ref().map(|t| t.0.clone()),
        tracking_number: tracking.map(|t| t.1),
        items: p.items.clone(),
        feedback: wms_core::fulfilment::FeedbackStatus::NotRequired,
    })
}

/// Record the carrier and tracking number of a package after the fact (label booked or scanned
/// once the box was closed). Allowed until dispatch.
pub async fn set_package_tracking(
    tx: &mut TenantTx,
    backend: Backend,
    id: &str,
    seq: i64,
    carrier: &str,
    number: &str,
) -> Result<(), ApiError> {
    let o = load(tx, backend, id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    if !matches!(o.status, OrderState::Picking | OrderState::Packed) {
        return Err(state(
            "order_not_packable",
            format!(
                "order {} is {}: tracking numbers are recorded until dispatch",
                o.external_id, o.status
            ),
        ));
    }
    let (carrier, number) = tracking_pair(carrier, number)?;
    let (tid, conn) = tx.split();
    let n = sqlx::query("UPDATE packages SET carrier = $1, tracking_number = $2 WHERE tenant_id = $3 AND order_id = $4 AND seq = $5")
        .bind(carrier)
        .bind(number)
        .bind(tid)
        .bind(id)
        .bind(seq)
        .execute(conn)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(ApiError::NotFound("package"));
    }
    tx.changed("order", id);
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchRequest {
    /// When the parcel left (RFC 3339). Defaults to now; a station that was offline sends the real
    /// time. At most 7 days in the past, never in the future.
    #[serde(default)]
    pub ship_time: Option<String>,
}

/// Dispatch: the packed stock leaves (ship movements consume the reservations at the bench) and the
/// ship time is recorded.
pub async fn dispatch(
    tx: &mut TenantTx,
    backend: Backend,
    amazon: &crate::amazon::AmazonRuntime,
    user: &str,
    id: &str,
    req: &DispatchRequest,
) -> Result<OrderState, ApiError> {
    let o = load(tx, backend, id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let next = transition(&o, OrderEvent::Dispatch).map_err(|e| match o.status {
        OrderState::Dispatched | OrderState::Delivered => state(
            "already_dispatched",
            format!("order {} was already dispatched", o.external_id),
        ),
        _ => e,
    })?;
    let now = now_ms();
    let ship_ms = match &req.ship_time {
        None => now,
        Some(t) => {
            let parsed =
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| {
                        ApiError::Validation(format!("ship_time must be RFC 3339, got `{t}`"))
                    })?;
            let ms = (parsed.unix_timestamp_nanos() / 1_000_000) as i64;
            if ms > now + 5 * 60 * 1000 || ms < now - 7 * 24 * 3600 * 1000 {
                return Err(rule(
                    "invalid_ship_time",
                    "ship_time must be within the last 7 days and not in the future",
                ));
            }
            ms
        }
    };
    if packages_of(tx, id).await?.is_empty() {
        return Err(rule(
            "no_package",
            "record at least one package before dispatch",
        ));
    }
    transfer_allocations(
        tx,
        backend,
        user,
        id,
        "'picked'",
        MovementKind::Ship,
        None,
        "shipped",
        "dispatch",
    )
    .await?;
    set_status(tx, &o, next).await?;
    let (tid, conn) = tx.split();
    sqlx::query("UPDATE orders SET ship_time_ms = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(ship_ms)
        .bind(tid)
        .bind(id)
        .execute(conn)
        .await?;
    // Amazon must be told: the confirmations are queued in this same transaction.
    if o.channel == "amazon"
        && let Some(info) = crate::amazon::orders::info(tx, id).await?
    {
        crate::amazon::feedback::enqueue(tx, amazon, id, &info, ship_ms).await?;
    }
    Ok(next)
}

/// Cancel before dispatch: every reservation is released where the stock now is.
pub async fn cancel(
    tx: &mut TenantTx,
    backend: Backend,
    user: &str,
    id: &str,
) -> Result<OrderState, ApiError> {
    let o = load(tx, backend, id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let next = transition(&o, OrderEvent::Cancel)?;
    transfer_allocations(
        tx,
        backend,
        user,
        id,
        "'reserved', 'picked'",
        MovementKind::Unreserve,
        None,
        "released",
        "cancelled",
    )
    .await?;
    set_status(tx, &o, next).await?;
    Ok(next)
}

/// Changes to an order that has not started picking. `version` is the version the editor saw:
/// a concurrent change makes the edit fail (`version_conflict`) instead of overwriting it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderEdit {
    pub version: i64,
    #[serde(default)]
    pub ship_by: Option<String>,
    #[serde(default)]
    pub deliver_by: Option<String>,
    #[serde(default)]
    pub recipient: Option<Recipient>,
    /// Replaces all lines; only while the order is `received` (nothing reserved yet).
    #[serde(default)]
    pub lines: Option<Vec<NewOrderLine>>,
}

pub async fn edit(
    tx: &mut TenantTx,
    backend: Backend,
    keys: &TenantKeys,
    id: &str,
    mut e: OrderEdit,
) -> Result<(), ApiError> {
    let o = load(tx, backend, id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    if !matches!(
        o.status,
        OrderState::Received | OrderState::Allocated | OrderState::Backordered
    ) {
        return Err(state(
            "order_locked",
            format!(
                "order {} is {}: orders cannot be edited once picking has started",
                o.external_id, o.status
            ),
        ));
    }
    if e.version != o.version {
        return Err(state(
            "version_conflict",
            format!(
                "the order changed meanwhile (version {} now, you edited {}); reload and retry",
                o.version, e.version
            ),
        ));
    }
    for d in [&e.ship_by, &e.deliver_by].into_iter().flatten() {
        parse_date("ship_by/deliver_by", d)?;
    }
    let mut new_lines = Vec::new();
    if let Some(lines) = &e.lines {
        if o.status != OrderState::Received {
            return Err(state(
                "order_locked",
                "lines can only change before allocation; cancel and re-create the order instead",
            ));
        }
        new_lines = resolve_lines(tx, lines).await?;
    }
    let sealed = match &mut e.recipient {
        Some(r) => Some(seal_recipient(tx, keys, id, r)?),
        None => None,
    };
    let (tid, conn) = tx.split();
    sqlx::query(
        "UPDATE orders SET ship_by = COALESCE($1, ship_by), deliver_by = COALESCE($2, deliver_by), \
         recipient_sealed = COALESCE($3, recipient_sealed), recipient_masked = COALESCE($4, recipient_masked), \
         version = version + 1, updated_at = $5 WHERE tenant_id = $6 AND id = $7",
    )
    .bind(&e.ship_by)
    .bind(&e.deliver_by)
    .bind(sealed.as_ref().map(|s| s.0.clone()))
    .bind(sealed.as_ref().map(|s| s.1.clone()))
    .bind(now_ms())
    .bind(tid)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    if !new_lines.is_empty() {
        sqlx::query("DELETE FROM order_lines WHERE tenant_id = $1 AND order_id = $2")
            .bind(tid)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        insert_lines(tx, id, &new_lines).await?;
    }
    tx.changed("order", id);
    Ok(())
}

/// Validate a recipient and seal it for order `id`: (ciphertext, masked JSON).
fn seal_recipient(
    tx: &TenantTx,
    keys: &TenantKeys,
    id: &str,
    r: &mut Recipient,
) -> Result<(Vec<u8>, String), ApiError> {
    r.validate()?;
    let json = zeroize::Zeroizing::new(serde_json::to_vec(r).map_err(ApiError::internal)?);
    Ok((
        keys.data
            .seal(&recipient_aad(tx.tenant(), id), &json)
            .map_err(ApiError::internal)?,
        serde_json::to_string(&r.masked()).map_err(ApiError::internal)?,
    ))
}

/// Replace an order's recipient (a data-subject correction): re-sealed, the masked view updated,
/// whatever the order's state. An erased recipient stays erased (`pii_purged`).
pub(crate) async fn correct_recipient(
    tx: &mut TenantTx,
    backend: Backend,
    keys: &TenantKeys,
    id: &str,
    mut r: Recipient,
) -> Result<(), ApiError> {
    let o = load(tx, backend, id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    if recipient_pii_of(&o.recipient_sealed, &o.recipient_masked) == "purged" {
        return Err(rule(
            "pii_purged",
            "this order's recipient PII was erased; it cannot be corrected",
        ));
    }
    let (sealed, masked) = seal_recipient(tx, keys, id, &mut r)?;
    let (tid, conn) = tx.split();
    sqlx::query(
        "UPDATE orders SET recipient_sealed = $1, recipient_masked = $2, version = version + 1, updated_at = $3 \
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(sealed)
    .bind(masked)
    .bind(now_ms())
    .bind(tid)
    .bind(id)
    .execute(conn)
    .await?;
    tx.changed("order", id);
    Ok(())
}

/// Erase an order's recipient (a deletion request); `false` when it held no PII any more.
pub(crate) async fn erase_order_recipient(
    tx: &mut TenantTx,
    backend: Backend,
    id: &str,
    now: i64,
) -> Result<bool, ApiError> {
    let o = load(tx, backend, id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    if recipient_pii_of(&o.recipient_sealed, &o.recipient_masked) == "purged" {
        return Ok(false);
    }
    erase_recipient(tx, id, &o.recipient_masked, now).await?;
    Ok(true)
}

/// Erase one order's recipient PII (withdrawn Amazon authorization, a deletion request): the
/// sealed recipient and the sealed labels (which print the address) are dropped, and the masked
/// form keeps only the prefecture. The order itself, its lines and shipments stay.
pub(crate) async fn erase_recipient(
    tx: &mut TenantTx,
    order_id: &str,
    masked: &str,
    now: i64,
) -> Result<(), ApiError> {
    let purged = MaskedRecipient {
        name: PII_PURGED.into(),
        postal_code: "***-****".into(),
        prefecture: masked_of(masked).prefecture,
    };
    let (tid, conn) = tx.split();
    sqlx::query(
        "UPDATE orders SET recipient_sealed = NULL, recipient_masked = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
    )
    .bind(serde_json::to_string(&purged).map_err(ApiError::internal)?)
    .bind(now)
    .bind(tid)
    .bind(order_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE packages SET label_sealed = NULL WHERE tenant_id = $1 AND order_id = $2")
        .bind(tid)
        .bind(order_id)
        .execute(conn)
        .await?;
    tx.changed("order", order_id);
    Ok(())
}

pub(crate) type ResolvedLine = (String, i64, Option<String>);

/// Validate order lines and resolve their SKUs (unknown SKUs are `unknown_sku`).
async fn resolve_lines(
    tx: &mut TenantTx,
    lines: &[NewOrderLine],
) -> Result<Vec<ResolvedLine>, ApiError> {
    if lines.is_empty() || lines.len() > 500 {
        return Err(ApiError::Validation("an order needs 1–500 lines".into()));
    }
    let mut out = Vec::with_capacity(lines.len());
    for l in lines {
        if !(1..=100_000).contains(&l.quantity) {
            return Err(rule(
                "invalid_quantity",
                format!("quantity of {} must be 1–100000, got {}", l.sku, l.quantity),
            ));
        }
        out.push((
            master::sku_by_code(tx, &l.sku).await?.id,
            l.quantity,
            l.marketplace_item_id.clone(),
        ));
    }
    Ok(out)
}

async fn insert_lines(
    tx: &mut TenantTx,
    order_id: &str,
    lines: &[ResolvedLine],
) -> Result<(), ApiError> {
    let (tid, conn) = tx.split();
    for (i, (sku_id, qty, item)) in lines.iter().enumerate() {
        sqlx::query("INSERT INTO order_lines (tenant_id, order_id, line_no, sku_id, quantity, marketplace_item_id) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(tid)
            .bind(order_id)
            .bind(i as i64 + 1)
            .bind(sku_id)
            .bind(qty)
            .bind(item)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Post one `kind` movement for every allocation of the order in `states` (into `to` for two-sided
/// kinds; one-sided kinds act where the stock is), record each under `new_state`, and drop the old
/// rows. Allocations come in SKU order, so concurrent orders lock balance rows in one global order.
#[allow(clippy::too_many_arguments)]
async fn transfer_allocations(
    tx: &mut TenantTx,
    backend: Backend,
    user: &str,
    id: &str,
    states: &str,
    kind: MovementKind,
    to: Option<&str>,
    new_state: &str,
    reason: &str,
) -> Result<(), ApiError> {
    let reference = format!("order:{id}");
    for (line_no, loc, batch_key, qty, sku_id) in allocations(tx, id, states).await? {
        let post = Post {
            kind,
            sku_id: &sku_id,
            from: Some(&loc),
            to,
            batch_key: &batch_key,
            quantity: qty,
            reason,
            reference: Some(&reference),
        };
        stock::post(tx, backend, user, &post).await?;
        record_allocation(
            tx,
            id,
            line_no,
            to.unwrap_or(&loc),
            &batch_key,
            qty,
            new_state,
        )
        .await?;
    }
    drop_allocations(tx, id, states).await
}
