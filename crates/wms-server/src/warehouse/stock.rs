//! The stock ledger in the database: every change is an immutable movement, and the balance rows
//! it touches are updated in the same transaction, after `wms_core::ledger` has accepted it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use wms_core::ledger::{self, Balance, Balances, LedgerError, Movement, MovementKind, StockKey};

use super::rule;
use crate::db::{Backend, TenantTx};
use crate::error::ApiError;
use crate::time::{now_ms, rfc3339};

/// One movement to post. Ids, not codes: callers resolve codes first.
#[derive(Debug, Clone)]
pub struct Post<'a> {
    pub kind: MovementKind,
    pub sku_id: &'a str,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    /// Batch id, or "" for unbatched stock.
    pub batch_key: &'a str,
    pub quantity: i64,
    pub reason: &'a str,
    pub reference: Option<&'a str>,
}

impl Post<'_> {
    fn movement(&self) -> Movement {
        Movement {
            sku: self.sku_id.to_owned(),
            from: self.from.map(str::to_owned),
            to: self.to.map(str::to_owned),
            batch: (!self.batch_key.is_empty()).then(|| self.batch_key.to_owned()),
            quantity: self.quantity,
            kind: self.kind,
            reason_code: self.reason.to_owned(),
        }
    }
}

pub fn ledger_error(e: LedgerError) -> ApiError {
    rule(e.code(), e.to_string())
}

async fn load_balance(
    tx: &mut TenantTx,
    backend: Backend,
    sku: &str,
    location: &str,
    batch_key: &str,
) -> Result<Balance, ApiError> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let (tid, conn) = tx.split();
    if backend == Backend::Postgres {
        // Make sure the row exists before locking it: two transactions creating the same balance
        // row (two picks onto one packing bench) then queue on the row lock instead of one of
        // them failing on the primary key. A zero row satisfies every CHECK.
        sqlx::query(
            "INSERT INTO stock_balances (tenant_id, sku_id, location_id, batch_key, on_hand, reserved, since_ms) VALUES ($1, $2, $3, $4, 0, 0, $5) \
             ON CONFLICT (tenant_id, sku_id, location_id, batch_key) DO NOTHING",
        )
        .bind(tid)
        .bind(sku)
        .bind(location)
        .bind(batch_key)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    }
    let row: Option<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT on_hand, reserved FROM stock_balances WHERE tenant_id = $1 AND sku_id = $2 AND location_id = $3 AND batch_key = $4{lock}"
    ))
    .bind(tid)
    .bind(sku)
    .bind(location)
    .bind(batch_key)
    .fetch_optional(conn)
    .await?;
    Ok(
        row.map_or_else(Balance::default, |(on_hand, reserved)| Balance {
            on_hand,
            reserved,
        }),
    )
}

/// Post a movement: validate with the ledger rules against the current (locked) balances, then
/// write the movement and the new balances. On any error nothing is written.
pub async fn post(
    tx: &mut TenantTx,
    backend: Backend,
    user: &str,
    p: &Post<'_>,
) -> Result<(), ApiError> {
    let m = p.movement();
    let mut entries = Vec::with_capacity(2);
    for loc in [p.from, p.to].into_iter().flatten() {
        let b = load_balance(tx, backend, p.sku_id, loc, p.batch_key).await?;
        entries.push((StockKey::new(p.sku_id, loc, m.batch.as_deref()), b));
    }
    let current = Balances::from_entries(entries).map_err(ledger_error)?;
    let changes = current.check(&m).map_err(ledger_error)?;
    let now = now_ms();
    let (tid, conn) = tx.split();
    for (key, new) in changes {
        let bind = |q: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments<'static>>| {
            q.bind(tid.to_owned())
                .bind(p.sku_id.to_owned())
                .bind(key.location.clone())
                .bind(p.batch_key.to_owned())
        };
        let zero = new.on_hand == 0 && new.reserved == 0;
        let existed = current.get(&key) != Balance::default();
        let q = match backend {
            // PostgreSQL: `load_balance` created the row if it was missing and locked it. Rows are
            // never deleted there, so a concurrent writer always finds the row and queues on its
            // lock (deleting a zero row would let a waiting writer find nothing and lose its
            // update). A zero row is simply a zero balance; listings skip it.
            Backend::Postgres => bind(sqlx::query(
                "UPDATE stock_balances SET on_hand = $5, reserved = $6 WHERE tenant_id = $1 AND sku_id = $2 AND location_id = $3 AND batch_key = $4",
            ))
            .bind(new.on_hand)
            .bind(new.reserved),
            // SQLite has one writer at a time, so the row's state read above is still current.
            Backend::Sqlite if zero => bind(sqlx::query(
                "DELETE FROM stock_balances WHERE tenant_id = $1 AND sku_id = $2 AND location_id = $3 AND batch_key = $4",
            )),
            Backend::Sqlite if existed => bind(sqlx::query(
                "UPDATE stock_balances SET on_hand = $5, reserved = $6 WHERE tenant_id = $1 AND sku_id = $2 AND location_id = $3 AND batch_key = $4",
            ))
            .bind(new.on_hand)
            .bind(new.reserved),
            Backend::Sqlite => bind(sqlx::query(
                "INSERT INTO stock_balances (tenant_id, sku_id, location_id, batch_key, on_hand, reserved, since_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            ))
            .bind(new.on_hand)
            .bind(new.reserved)
            .bind(now),
        };
        // Exactly one balance row must change; anything else means the row moved under us, and
        // writing the movement without its balance would break the ledger: refuse instead.
        let affected = q.execute(&mut *conn).await?.rows_affected();
        if affected != 1 {
            return Err(ApiError::Conflict(format!(
                "the stock balance of {key} changed concurrently ({affected} rows); retry"
            )));
        }
    }
    sqlx::query(
        "INSERT INTO stock_movements (tenant_id, id, at_ms, kind, sku_id, from_location, to_location, batch_key, quantity, reason_code, user_id, reference) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tid)
    .bind(Uuid::now_v7().to_string())
    .bind(now)
    .bind(p.kind.as_str())
    .bind(p.sku_id)
    .bind(p.from)
    .bind(p.to)
    .bind(p.batch_key)
    .bind(p.quantity)
    .bind(p.reason)
    .bind(user)
    .bind(p.reference)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StockQuery {
    /// Seller SKU.
    pub sku: Option<String>,
    /// Location code.
    pub location: Option<String>,
    /// Lot number.
    pub batch: Option<String>,
    /// Only stock expiring on or before this date (YYYY-MM-DD).
    pub expiring_before: Option<String>,
    /// Only SKUs whose total available quantity is at or below their low-stock level.
    pub low_stock: Option<bool>,
    /// 1–1000, default 200.
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StockRow {
    pub sku: String,
    pub sku_name: String,
    pub warehouse: String,
    pub location: String,
    pub location_kind: String,
    pub lot: Option<String>,
    pub expiry: Option<String>,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

type StockTuple = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

pub async fn query(
    tx: &mut TenantTx,
    backend: Backend,
    q: &StockQuery,
) -> Result<Vec<StockRow>, ApiError> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Validation(
            "limit must be between 1 and 1000".into(),
        ));
    }
    if let Some(d) = &q.expiring_before {
        super::parse_date("expiring_before", d)?;
    }
    // Only the filters actually given become SQL: `($n = '' OR col = $n)` would keep the planner
    // from using any index (and PostgreSQL's generic plan for it joins every row of the tenant).
    // Each combination of filters is its own statement, still with bound parameters only.
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let mut conds = vec![
        "b.tenant_id = $1".to_owned(),
        "(b.on_hand > 0 OR b.reserved > 0)".to_owned(),
    ];
    let mut binds: Vec<String> = vec![tx.tid().to_owned()];
    let mut add = |cond: &str, value: String| {
        binds.push(value);
        conds.push(cond.replace("$?", &format!("${}", binds.len())));
    };
    if let Some(v) = given(&q.sku) {
        add("s.seller_sku = $?", v);
    }
    if let Some(v) = given(&q.location) {
        add("l.code = $?", v);
    }
    if let Some(v) = given(&q.batch) {
        add("bt.lot = $?", v);
    }
    let mut expiring = given(&q.expiring_before);
    // An expiry listing with no other filter reads only as far as it shows: the first page is the
    // soonest `limit` rows, so the page is the same with the date lowered to the expiry of its
    // last row. That date comes from the batch expiry index alone (no SKU, location or warehouse
    // joined, no sort), and the full query then joins and sorts a page's worth of rows instead of
    // everything expiring before the date (which PostgreSQL otherwise hash-joins and sorts).
    let only_expiry = given(&q.sku).is_none()
        && given(&q.location).is_none()
        && given(&q.batch).is_none()
        && q.low_stock != Some(true);
    if let (Some(before), true) = (&expiring, only_expiry) {
        let (tid, conn) = tx.split();
        if backend == Backend::Postgres {
            // Both queries below are written in the nesting they need (the expiry index drives,
            // every other table by its key). Kept in that order, PostgreSQL chooses the same plan
            // and skips the search over join orders: 0.5 ms of planning instead of 2.9 ms for
            // the page, and custom plans (which see the lowered date) stay affordable. Local to
            // this read-only transaction.
            sqlx::query("SET LOCAL join_collapse_limit = 1")
                .execute(&mut *conn)
                .await?;
        }
        let last: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT bt.expiry FROM batches bt CROSS JOIN stock_balances b \
             WHERE bt.tenant_id = $1 AND bt.expiry <= $2 AND b.tenant_id = bt.tenant_id \
             AND b.batch_key = bt.id AND (b.on_hand > 0 OR b.reserved > 0) \
             ORDER BY bt.expiry LIMIT 1 OFFSET $3",
        )
        .bind(tid)
        .bind(before)
        .bind(limit - 1)
        .fetch_optional(conn)
        .await?;
        if let Some((Some(last),)) = last {
            expiring = Some(last);
        }
    }
    if let Some(v) = expiring.clone() {
        add("bt.expiry <= $?", v);
    }
    if q.low_stock == Some(true) {
        conds.push(
            "s.low_stock_level >= (SELECT COALESCE(SUM(x.on_hand - x.reserved), 0) FROM stock_balances x WHERE x.tenant_id = b.tenant_id AND x.sku_id = b.sku_id)"
                .to_owned(),
        );
    }
    // Expiry listings are read soonest first, and that order lets an expiry index stop early.
    let (batch_join, order) = if expiring.is_some() {
        ("JOIN", "bt.expiry, s.seller_sku, l.walk_order, l.code")
    } else {
        ("LEFT JOIN", "s.seller_sku, l.walk_order, l.code, bt.expiry")
    };
    // The table the filter selects from drives the join. SQLite's planner otherwise walks every
    // balance of the tenant through a tenant-prefixed index and sorts afterwards (300+ ms on
    // 100,000 rows); `CROSS JOIN` fixes the nesting order there and is a plain inner join to
    // PostgreSQL's planner. By SKU the SKU's unique index already drives.
    let balances = "stock_balances b";
    let sku_on = "s.tenant_id = b.tenant_id AND s.id = b.sku_id";
    let loc_on = "l.tenant_id = b.tenant_id AND l.id = b.location_id";
    let wh_on = "w.tenant_id = l.tenant_id AND w.id = l.warehouse_id";
    let sku_join = format!("JOIN skus s ON {sku_on}");
    let loc_join = format!("JOIN locations l ON {loc_on}");
    let wh_join = format!("JOIN warehouses w ON {wh_on}");
    let batch_on = "bt.tenant_id = b.tenant_id AND bt.id = b.batch_key";
    let from = if given(&q.sku).is_none() && given(&q.location).is_some() {
        conds.push("b.tenant_id = l.tenant_id AND b.location_id = l.id".to_owned());
        format!(
            "locations l CROSS JOIN {balances} {sku_join} {wh_join} {batch_join} batches bt ON {batch_on}"
        )
    } else if given(&q.sku).is_none() && expiring.is_some() {
        // Every join is a `CROSS JOIN` here: with plain joins SQLite 3.46 moves the warehouse
        // scan up and builds a Bloom filter over every location of the tenant for each query
        // (2.5 times the instructions of this nesting under callgrind, 30.5M against 12.2M a page).
        conds.extend([batch_on, sku_on, loc_on, wh_on].map(str::to_owned));
        format!(
            "batches bt CROSS JOIN {balances} CROSS JOIN skus s CROSS JOIN locations l CROSS JOIN warehouses w"
        )
    } else {
        format!("{balances} {sku_join} {loc_join} {wh_join} {batch_join} batches bt ON {batch_on}")
    };
    let sql = format!(
        "SELECT s.seller_sku, s.name, w.code, l.code, l.kind, bt.lot, bt.expiry, b.on_hand, b.reserved \
         FROM {from} WHERE {} ORDER BY {order} LIMIT ${}",
        conds.join(" AND "),
        binds.len() + 1
    );
    let mut query = sqlx::query_as::<_, StockTuple>(&sql);
    for v in &binds {
        query = query.bind(v);
    }
    let rows = query.bind(limit).fetch_all(tx.conn()).await?;
    Ok(rows
        .into_iter()
        .map(|r| StockRow {
            sku: r.0,
            sku_name: r.1,
            warehouse: r.2,
            location: r.3,
            location_kind: r.4,
            lot: r.5,
            expiry: r.6,
            on_hand: r.7,
            reserved: r.8,
            available: r.7 - r.8,
        })
        .collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MovementQuery {
    pub sku: Option<String>,
    pub kind: Option<MovementKind>,
    /// Movements at or after this time (RFC 3339 or epoch milliseconds).
    pub since_ms: Option<i64>,
    /// Page backwards: movements strictly before this id.
    pub before: Option<String>,
    /// 1–1000, default 200.
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MovementRow {
    pub id: String,
    pub at: String,
    pub kind: MovementKind,
    pub sku: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub lot: Option<String>,
    pub quantity: i64,
    pub reason_code: String,
    pub user_id: String,
    pub reference: Option<String>,
}

type MovTuple = (
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    String,
    String,
    Option<String>,
);

pub async fn movements(tx: &mut TenantTx, q: &MovementQuery) -> Result<Vec<MovementRow>, ApiError> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Validation(
            "limit must be between 1 and 1000".into(),
        ));
    }
    let (tid, conn) = tx.split();
    let rows: Vec<MovTuple> = sqlx::query_as(
        "SELECT m.id, m.at_ms, m.kind, s.seller_sku, lf.code, lt.code, bt.lot, m.quantity, m.reason_code, m.user_id, m.reference \
         FROM stock_movements m JOIN skus s ON s.tenant_id = m.tenant_id AND s.id = m.sku_id \
         LEFT JOIN locations lf ON lf.tenant_id = m.tenant_id AND lf.id = m.from_location \
         LEFT JOIN locations lt ON lt.tenant_id = m.tenant_id AND lt.id = m.to_location \
         LEFT JOIN batches bt ON bt.tenant_id = m.tenant_id AND bt.id = m.batch_key \
         WHERE m.tenant_id = $1 AND ($2 = '' OR s.seller_sku = $2) AND ($3 = '' OR m.kind = $3) AND m.at_ms >= $4 AND ($5 = '' OR m.id < $5) \
         ORDER BY m.id DESC LIMIT $6",
    )
    .bind(tid)
    .bind(q.sku.as_deref().unwrap_or(""))
    .bind(q.kind.map_or("", MovementKind::as_str))
    .bind(q.since_ms.unwrap_or(0))
    .bind(q.before.as_deref().unwrap_or(""))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let kind =
                r.2.parse()
                    .map_err(|_| ApiError::internal(anyhow::anyhow!("bad movement kind")))?;
            Ok(MovementRow {
                id: r.0,
                at: rfc3339(r.1),
                kind,
                sku: r.3,
                from: r.4,
                to: r.5,
                lot: r.6,
                quantity: r.7,
                reason_code: r.8,
                user_id: r.9,
                reference: r.10,
            })
        })
        .collect()
}

/// A balance that does not equal the sum of its movements.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    pub sku_id: String,
    pub location_id: String,
    pub batch_key: String,
    pub stored: (i64, i64),
    pub from_ledger: (i64, i64),
}

/// Recompute every balance from the ledger (order-independent sums, `wms_core::ledger::recompute`)
/// and list where the stored balances differ.
pub async fn verify(tx: &mut TenantTx) -> Result<Vec<Difference>, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<(String, String, Option<String>, Option<String>, String, i64, String)> =
        sqlx::query_as("SELECT kind, sku_id, from_location, to_location, batch_key, quantity, reason_code FROM stock_movements WHERE tenant_id = $1")
            .bind(tid)
            .fetch_all(&mut *conn)
            .await?;
    let mut ms = Vec::with_capacity(rows.len());
    for (kind, sku, from, to, batch, quantity, reason) in rows {
        let kind: MovementKind = kind
            .parse()
            .map_err(|_| ApiError::internal(anyhow::anyhow!("bad movement kind")))?;
        ms.push(Movement {
            sku,
            from,
            to,
            batch: (!batch.is_empty()).then_some(batch),
            quantity,
            kind,
            reason_code: reason,
        });
    }
    let expected = ledger::recompute(&ms).map_err(ledger_error)?;
    let stored_rows: Vec<(String, String, String, i64, i64)> =
        sqlx::query_as("SELECT sku_id, location_id, batch_key, on_hand, reserved FROM stock_balances WHERE tenant_id = $1").bind(tid).fetch_all(conn).await?;
    let mut stored: BTreeMap<StockKey, Balance> = BTreeMap::new();
    for (sku, loc, batch, on_hand, reserved) in stored_rows {
        if on_hand != 0 || reserved != 0 {
            stored.insert(
                StockKey::new(&sku, &loc, (!batch.is_empty()).then_some(batch.as_str())),
                Balance { on_hand, reserved },
            );
        }
    }
    let mut diffs = Vec::new();
    let keys: std::collections::BTreeSet<&StockKey> =
        expected.keys().chain(stored.keys()).collect();
    for k in keys {
        let (e, s) = (
            expected.get(k).copied().unwrap_or_default(),
            stored.get(k).copied().unwrap_or_default(),
        );
        if e != s {
            diffs.push(Difference {
                sku_id: k.sku.clone(),
                location_id: k.location.clone(),
                batch_key: k.batch.clone().unwrap_or_default(),
                stored: (s.on_hand, s.reserved),
                from_ledger: (e.on_hand, e.reserved),
            });
        }
    }
    Ok(diffs)
}
