//! Master data: warehouses, locations (zone → aisle → bin), SKUs with their barcodes, batches.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::rule;
use crate::db::{DbError, TenantTx};
use crate::error::ApiError;
use crate::time::now_ms;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Warehouse {
    pub id: String,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWarehouse {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationLevel {
    Zone,
    Aisle,
    Bin,
}

impl LocationLevel {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Zone => "zone",
            Self::Aisle => "aisle",
            Self::Bin => "bin",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        [Self::Zone, Self::Aisle, Self::Bin]
            .into_iter()
            .find(|l| l.as_str() == s)
    }
    fn parent(self) -> Option<Self> {
        match self {
            Self::Zone => None,
            Self::Aisle => Some(Self::Zone),
            Self::Bin => Some(Self::Aisle),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    Storage,
    Receiving,
    Packing,
    Outbound,
    Returns,
    /// On hold: stock here is never allocated.
    Quarantine,
}

impl LocationKind {
    pub const ALL: [LocationKind; 6] = [
        Self::Storage,
        Self::Receiving,
        Self::Packing,
        Self::Outbound,
        Self::Returns,
        Self::Quarantine,
    ];
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Storage => "storage",
            Self::Receiving => "receiving",
            Self::Packing => "packing",
            Self::Outbound => "outbound",
            Self::Returns => "returns",
            Self::Quarantine => "quarantine",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Location {
    pub id: String,
    pub warehouse: String,
    pub code: String,
    pub parent: Option<String>,
    pub level: LocationLevel,
    pub kind: LocationKind,
    /// Position on the picking walk (pick lists are sorted by it).
    pub walk_order: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLocation {
    /// Warehouse code; may be omitted when the tenant has one warehouse.
    #[serde(default)]
    pub warehouse: Option<String>,
    /// e.g. `A`, `A-01`, `A-01-02-03`.
    pub code: String,
    /// Code of the parent (a zone for an aisle, an aisle for a bin).
    #[serde(default)]
    pub parent: Option<String>,
    pub level: LocationLevel,
    pub kind: LocationKind,
    #[serde(default)]
    pub walk_order: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BarcodeKind {
    /// JAN / EAN-13.
    Jan,
    Upc,
    /// Amazon FNSKU (X00…).
    Fnsku,
    Other,
}

impl BarcodeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Jan => "jan",
            Self::Upc => "upc",
            Self::Fnsku => "fnsku",
            Self::Other => "other",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        [Self::Jan, Self::Upc, Self::Fnsku, Self::Other]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Barcode {
    pub code: String,
    pub kind: BarcodeKind,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sku {
    pub id: String,
    pub seller_sku: String,
    pub name: String,
    pub lot_tracked: bool,
    pub shelf_life_days: Option<i64>,
    pub weight_g: Option<i64>,
    pub length_mm: Option<i64>,
    pub width_mm: Option<i64>,
    pub height_mm: Option<i64>,
    pub low_stock_level: i64,
    pub barcodes: Vec<Barcode>,
    pub version: i64,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSku {
    pub seller_sku: String,
    pub name: String,
    #[serde(default)]
    pub lot_tracked: bool,
    #[serde(default)]
    pub shelf_life_days: Option<i64>,
    #[serde(default)]
    pub weight_g: Option<i64>,
    #[serde(default)]
    pub length_mm: Option<i64>,
    #[serde(default)]
    pub width_mm: Option<i64>,
    #[serde(default)]
    pub height_mm: Option<i64>,
    #[serde(default)]
    pub low_stock_level: Option<i64>,
    #[serde(default)]
    pub barcodes: Vec<Barcode>,
}

/// JAN/EAN-13 and UPC-A carry a GS1 mod-10 check digit: a mistyped code is refused at entry, not
/// discovered at the packing bench.
pub fn gs1_check_digit_ok(code: &str) -> bool {
    let digits: Vec<u32> = code.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != code.len() || digits.len() < 2 {
        return false;
    }
    let (body, check) = digits.split_at(digits.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10 == check[0]
}

/// The JAN check digit for a 12-digit body (used by the demo data).
pub fn jan_with_check_digit(body12: &str) -> String {
    let digits: Vec<u32> = body12.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    format!("{body12}{}", (10 - sum % 10) % 10)
}

fn validate_barcode(b: &Barcode) -> Result<(), ApiError> {
    let ok = match b.kind {
        BarcodeKind::Jan => b.code.len() == 13 && gs1_check_digit_ok(&b.code),
        BarcodeKind::Upc => b.code.len() == 12 && gs1_check_digit_ok(&b.code),
        BarcodeKind::Fnsku => {
            b.code.len() == 10
                && b.code
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        }
        BarcodeKind::Other => {
            (1..=64).contains(&b.code.len()) && b.code.chars().all(|c| c.is_ascii_graphic())
        }
    };
    if ok {
        Ok(())
    } else {
        Err(rule(
            "invalid_barcode",
            format!("`{}` is not a valid {} barcode", b.code, b.kind.as_str()),
        ))
    }
}

fn validate_code(field: &str, s: &str) -> Result<(), ApiError> {
    if (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(())
    } else {
        Err(ApiError::Validation(format!(
            "{field} must be 1–64 characters of letters, digits, '-', '_' or '.'"
        )))
    }
}

fn conflict(what: &str) -> impl Fn(sqlx::Error) -> ApiError + '_ {
    move |e| match DbError::from(e) {
        DbError::Conflict(_) => ApiError::Conflict(format!("{what} already exists")),
        other => other.into(),
    }
}

pub async fn create_warehouse(tx: &mut TenantTx, w: &NewWarehouse) -> Result<Warehouse, ApiError> {
    validate_code("code", &w.code)?;
    if w.name.trim().is_empty() || w.name.len() > 200 {
        return Err(ApiError::Validation("name must be 1–200 characters".into()));
    }
    let id = Uuid::now_v7().to_string();
    let (tid, conn) = tx.split();
    sqlx::query("INSERT INTO warehouses (tenant_id, id, code, name, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(tid)
        .bind(&id)
        .bind(&w.code)
        .bind(w.name.trim())
        .bind(now_ms())
        .execute(conn)
        .await
        .map_err(conflict("a warehouse with this code"))?;
    Ok(Warehouse {
        id,
        code: w.code.clone(),
        name: w.name.trim().to_owned(),
    })
}

pub async fn list_warehouses(tx: &mut TenantTx) -> Result<Vec<Warehouse>, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT id, code, name FROM warehouses WHERE tenant_id = $1 ORDER BY code")
            .bind(tid)
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, code, name)| Warehouse { id, code, name })
        .collect())
}

/// The warehouse named by `code`, or the only one when `code` is absent.
pub async fn resolve_warehouse(
    tx: &mut TenantTx,
    code: Option<&str>,
) -> Result<Warehouse, ApiError> {
    let all = list_warehouses(tx).await?;
    match code {
        Some(c) => all
            .into_iter()
            .find(|w| w.code == c)
            .ok_or_else(|| rule("unknown_warehouse", format!("no warehouse `{c}`"))),
        None if all.len() == 1 => all
            .into_iter()
            .next()
            .ok_or_else(|| rule("unknown_warehouse", "no warehouse")),
        None if all.is_empty() => Err(rule("unknown_warehouse", "create a warehouse first")),
        None => Err(ApiError::Validation(
            "this tenant has several warehouses: name one with `warehouse`".into(),
        )),
    }
}

type LocRow = (String, String, String, Option<String>, String, String, i64);
const LOC_COLS: &str = "l.id, w.code, l.code, p.code, l.level, l.kind, l.walk_order";

fn loc_from(r: LocRow) -> Result<Location, ApiError> {
    let level = LocationLevel::parse(&r.4)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("bad location level")))?;
    let kind = LocationKind::parse(&r.5)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("bad location kind")))?;
    Ok(Location {
        id: r.0,
        warehouse: r.1,
        code: r.2,
        parent: r.3,
        level,
        kind,
        walk_order: r.6,
    })
}

const LOC_FROM: &str = "FROM locations l JOIN warehouses w ON w.tenant_id = l.tenant_id AND w.id = l.warehouse_id \
                        LEFT JOIN locations p ON p.tenant_id = l.tenant_id AND p.id = l.parent_id";

pub async fn create_location(tx: &mut TenantTx, n: &NewLocation) -> Result<Location, ApiError> {
    validate_code("code", &n.code)?;
    let wh = resolve_warehouse(tx, n.warehouse.as_deref()).await?;
    let parent_id = match (n.level.parent(), &n.parent) {
        (None, None) => None,
        (None, Some(_)) => return Err(ApiError::Validation("a zone has no parent".into())),
        (Some(_), None) => {
            return Err(ApiError::Validation(format!(
                "a {} needs a parent",
                n.level.as_str()
            )));
        }
        (Some(want), Some(code)) => {
            let p = find_location(tx, &wh, code).await?;
            if p.level != want {
                return Err(ApiError::Validation(format!(
                    "the parent of a {} must be a {}, `{code}` is a {}",
                    n.level.as_str(),
                    want.as_str(),
                    p.level.as_str()
                )));
            }
            Some(p.id)
        }
    };
    let id = Uuid::now_v7().to_string();
    let (tid, conn) = tx.split();
    sqlx::query("INSERT INTO locations (tenant_id, id, warehouse_id, parent_id, level, kind, code, walk_order, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(tid)
        .bind(&id)
        .bind(&wh.id)
        .bind(&parent_id)
        .bind(n.level.as_str())
        .bind(n.kind.as_str())
        .bind(&n.code)
        .bind(n.walk_order.unwrap_or(0))
        .bind(now_ms())
        .execute(conn)
        .await
        .map_err(conflict("a location with this code"))?;
    find_location(tx, &wh, &n.code).await
}

pub async fn find_location(
    tx: &mut TenantTx,
    wh: &Warehouse,
    code: &str,
) -> Result<Location, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<LocRow> = sqlx::query_as(&format!("SELECT {LOC_COLS} {LOC_FROM} WHERE l.tenant_id = $1 AND l.warehouse_id = $2 AND l.code = $3"))
        .bind(tid)
        .bind(&wh.id)
        .bind(code)
        .fetch_optional(conn)
        .await?;
    row.map(loc_from).transpose()?.ok_or_else(|| {
        rule(
            "unknown_location",
            format!("no location `{code}` in warehouse {}", wh.code),
        )
    })
}

pub async fn location_by_id(tx: &mut TenantTx, id: &str) -> Result<Location, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<LocRow> = sqlx::query_as(&format!(
        "SELECT {LOC_COLS} {LOC_FROM} WHERE l.tenant_id = $1 AND l.id = $2"
    ))
    .bind(tid)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.map(loc_from)
        .transpose()?
        .ok_or(ApiError::NotFound("location"))
}

pub async fn list_locations(
    tx: &mut TenantTx,
    warehouse: Option<&str>,
) -> Result<Vec<Location>, ApiError> {
    let wh = resolve_warehouse(tx, warehouse).await?;
    let (tid, conn) = tx.split();
    let rows: Vec<LocRow> = sqlx::query_as(&format!("SELECT {LOC_COLS} {LOC_FROM} WHERE l.tenant_id = $1 AND l.warehouse_id = $2 ORDER BY l.walk_order, l.code"))
        .bind(tid)
        .bind(&wh.id)
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(loc_from).collect()
}

/// The location of a kind to use by default (the packing bench for picked stock, the receiving dock…).
pub async fn first_location_of_kind(
    tx: &mut TenantTx,
    warehouse_id: &str,
    kind: LocationKind,
) -> Result<Location, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<LocRow> = sqlx::query_as(&format!(
        "SELECT {LOC_COLS} {LOC_FROM} WHERE l.tenant_id = $1 AND l.warehouse_id = $2 AND l.kind = $3 AND l.level = 'bin' ORDER BY l.walk_order, l.code LIMIT 1"
    ))
    .bind(tid)
    .bind(warehouse_id)
    .bind(kind.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(loc_from).transpose()?.ok_or_else(|| {
        rule(
            "no_location_of_kind",
            format!("the warehouse has no {} bin", kind.as_str()),
        )
    })
}

type SkuRow = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
);
const SKU_COLS: &str = "id, seller_sku, name, lot_tracked, shelf_life_days, weight_g, length_mm, width_mm, height_mm, low_stock_level, version";

fn sku_from(r: SkuRow, barcodes: Vec<Barcode>) -> Sku {
    Sku {
        id: r.0,
        seller_sku: r.1,
        name: r.2,
        lot_tracked: r.3 == 1,
        shelf_life_days: r.4,
        weight_g: r.5,
        length_mm: r.6,
        width_mm: r.7,
        height_mm: r.8,
        low_stock_level: r.9,
        version: r.10,
        barcodes,
    }
}

/// Everything `create_sku` would refuse, checked without writing (existing seller SKU or barcode
/// included).
pub async fn check_new_sku(tx: &mut TenantTx, n: &NewSku) -> Result<(), ApiError> {
    validate_sku(n)?;
    let (tid, conn) = tx.split();
    let exists: Option<(String,)> =
        sqlx::query_as("SELECT id FROM skus WHERE tenant_id = $1 AND seller_sku = $2")
            .bind(tid)
            .bind(n.seller_sku.trim())
            .fetch_optional(&mut *conn)
            .await?;
    if exists.is_some() {
        return Err(ApiError::Conflict(
            "a SKU with this seller SKU already exists".into(),
        ));
    }
    let mut codes = std::collections::HashSet::new();
    for b in &n.barcodes {
        let taken: Option<(String,)> =
            sqlx::query_as("SELECT sku_id FROM sku_barcodes WHERE tenant_id = $1 AND barcode = $2")
                .bind(tid)
                .bind(&b.code)
                .fetch_optional(&mut *conn)
                .await?;
        if taken.is_some() || !codes.insert(b.code.clone()) {
            return Err(ApiError::Conflict(format!(
                "barcode {} already belongs to a SKU",
                b.code
            )));
        }
    }
    Ok(())
}

fn validate_sku(n: &NewSku) -> Result<(), ApiError> {
    if n.seller_sku.trim().is_empty() || n.seller_sku.len() > 64 {
        return Err(ApiError::Validation(
            "seller_sku must be 1–64 characters".into(),
        ));
    }
    if n.name.trim().is_empty() || n.name.chars().count() > 200 {
        return Err(ApiError::Validation("name must be 1–200 characters".into()));
    }
    check_measures([
        n.shelf_life_days,
        n.weight_g,
        n.length_mm,
        n.width_mm,
        n.height_mm,
        n.low_stock_level,
    ])?;
    for b in &n.barcodes {
        validate_barcode(b)?;
    }
    Ok(())
}

pub async fn create_sku(tx: &mut TenantTx, n: &NewSku) -> Result<Sku, ApiError> {
    validate_sku(n)?;
    let id = Uuid::now_v7().to_string();
    let now = now_ms();
    let (tid, conn) = tx.split();
    sqlx::query(
        "INSERT INTO skus (tenant_id, id, seller_sku, name, lot_tracked, shelf_life_days, weight_g, length_mm, width_mm, height_mm, low_stock_level, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(tid)
    .bind(&id)
    .bind(n.seller_sku.trim())
    .bind(n.name.trim())
    .bind(i64::from(n.lot_tracked))
    .bind(n.shelf_life_days)
    .bind(n.weight_g)
    .bind(n.length_mm)
    .bind(n.width_mm)
    .bind(n.height_mm)
    .bind(n.low_stock_level.unwrap_or(0))
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(conflict("a SKU with this seller SKU"))?;
    for b in &n.barcodes {
        sqlx::query(
            "INSERT INTO sku_barcodes (tenant_id, barcode, kind, sku_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(tid)
        .bind(&b.code)
        .bind(b.kind.as_str())
        .bind(&id)
        .execute(&mut *conn)
        .await
        .map_err(conflict("barcode"))?;
    }
    tx.changed("sku", &id);
    sku_by_id(tx, &id).await
}

async fn barcodes_of(tx: &mut TenantTx, sku_id: &str) -> Result<Vec<Barcode>, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT barcode, kind FROM sku_barcodes WHERE tenant_id = $1 AND sku_id = $2 ORDER BY barcode").bind(tid).bind(sku_id).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(code, kind)| {
            Some(Barcode {
                code,
                kind: BarcodeKind::parse(&kind)?,
            })
        })
        .collect())
}

pub async fn sku_by_id(tx: &mut TenantTx, id: &str) -> Result<Sku, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<SkuRow> = sqlx::query_as(&format!(
        "SELECT {SKU_COLS} FROM skus WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tid)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let row = row.ok_or(ApiError::NotFound("sku"))?;
    let barcodes = barcodes_of(tx, id).await?;
    Ok(sku_from(row, barcodes))
}

/// A SKU by seller SKU: unknown SKUs are a clear 422 (`unknown_sku`).
pub async fn sku_by_code(tx: &mut TenantTx, seller_sku: &str) -> Result<Sku, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<SkuRow> = sqlx::query_as(&format!(
        "SELECT {SKU_COLS} FROM skus WHERE tenant_id = $1 AND seller_sku = $2"
    ))
    .bind(tid)
    .bind(seller_sku)
    .fetch_optional(conn)
    .await?;
    let row = row.ok_or_else(|| rule("unknown_sku", format!("no SKU `{seller_sku}`")))?;
    let barcodes = barcodes_of(tx, &row.0).await?;
    Ok(sku_from(row, barcodes))
}

/// The SKU a scanned barcode (or a typed seller SKU) stands for.
pub async fn sku_by_scan(tx: &mut TenantTx, scanned: &str) -> Result<Option<String>, ApiError> {
    let code = scanned.trim();
    let (tid, conn) = tx.split();
    let by_barcode: Option<(String,)> =
        sqlx::query_as("SELECT sku_id FROM sku_barcodes WHERE tenant_id = $1 AND barcode = $2")
            .bind(tid)
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((id,)) = by_barcode {
        return Ok(Some(id));
    }
    let by_sku: Option<(String,)> =
        sqlx::query_as("SELECT id FROM skus WHERE tenant_id = $1 AND seller_sku = $2")
            .bind(tid)
            .bind(code)
            .fetch_optional(conn)
            .await?;
    Ok(by_sku.map(|r| r.0))
}

pub async fn list_skus(
    tx: &mut TenantTx,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Sku>, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<SkuRow> = sqlx::query_as(&format!("SELECT {SKU_COLS} FROM skus WHERE tenant_id = $1 AND seller_sku > $2 ORDER BY seller_sku LIMIT $3"))
        .bind(tid)
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let mut codes: std::collections::HashMap<String, Vec<Barcode>> =
        std::collections::HashMap::new();
    if !ids.is_empty() {
        let first = rows.first().map(|r| r.1.clone()).unwrap_or_default();
        let last = rows.last().map(|r| r.1.clone()).unwrap_or_default();
        // The page's SKUs drive the join (`CROSS JOIN` fixes that order on SQLite, whose planner
        // otherwise walked every barcode of the tenant to avoid a sort: 48 ms a page at 50,000
        // SKUs); each SKU's barcodes come in barcode order from its index.
        let bc: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT b.sku_id, b.barcode, b.kind FROM skus s CROSS JOIN sku_barcodes b \
             WHERE s.tenant_id = $1 AND s.seller_sku >= $2 AND s.seller_sku <= $3 \
               AND b.tenant_id = s.tenant_id AND b.sku_id = s.id \
             ORDER BY s.seller_sku, b.barcode",
        )
        .bind(tid)
        .bind(first)
        .bind(last)
        .fetch_all(conn)
        .await?;
        for (sku, code, kind) in bc {
            if let Some(kind) = BarcodeKind::parse(&kind) {
                codes.entry(sku).or_default().push(Barcode { code, kind });
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let b = codes.remove(&r.0).unwrap_or_default();
            sku_from(r, b)
        })
        .collect())
}

/// A batch of a SKU by lot number, created on first receipt.
pub async fn batch_for_receipt(
    tx: &mut TenantTx,
    sku: &Sku,
    lot: &str,
    expiry: Option<time::Date>,
) -> Result<String, ApiError> {
    if lot.trim().is_empty() || lot.len() > 64 {
        return Err(ApiError::Validation("lot must be 1–64 characters".into()));
    }
    let (tid, conn) = tx.split();
    let existing: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT id, expiry FROM batches WHERE tenant_id = $1 AND sku_id = $2 AND lot = $3",
    )
    .bind(tid)
    .bind(&sku.id)
    .bind(lot)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((id, stored)) = existing {
        let given = expiry.map(super::format_date);
        if given.is_some() && given != stored {
            return Err(rule(
                "batch_expiry_mismatch",
                format!(
                    "lot `{lot}` is already recorded with expiry {}",
                    stored.unwrap_or_else(|| "none".into())
                ),
            ));
        }
        return Ok(id);
    }
    let id = Uuid::now_v7().to_string();
    sqlx::query("INSERT INTO batches (tenant_id, id, sku_id, lot, expiry, received_on, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(tid)
        .bind(&id)
        .bind(&sku.id)
        .bind(lot)
        .bind(expiry.map(super::format_date))
        .bind(super::format_date(super::today()))
        .bind(now_ms())
        .execute(conn)
        .await?;
    Ok(id)
}

/// An existing batch by lot number (for moves, adjustments, scans).
pub async fn batch_by_lot(tx: &mut TenantTx, sku_id: &str, lot: &str) -> Result<String, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<(String,)> =
        sqlx::query_as("SELECT id FROM batches WHERE tenant_id = $1 AND sku_id = $2 AND lot = $3")
            .bind(tid)
            .bind(sku_id)
            .bind(lot)
            .fetch_optional(conn)
            .await?;
    row.map(|r| r.0)
        .ok_or_else(|| rule("unknown_batch", format!("no lot `{lot}` for this SKU")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs1_check_digits() {
        assert!(gs1_check_digit_ok("4901234567894"));
        assert!(!gs1_check_digit_ok("4901234567895"));
        assert!(gs1_check_digit_ok("036000291452"));
        assert!(!gs1_check_digit_ok("03600029145x"));
        assert_eq!(jan_with_check_digit("490123456789"), "4901234567894");
    }
}

/// Changes to a SKU. `version` is what the editor saw (optimistic concurrency: two supervisors
/// editing the same SKU cannot overwrite each other silently). `lot_tracked` is fixed once created.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkuEdit {
    pub version: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub shelf_life_days: Option<i64>,
    #[serde(default)]
    pub weight_g: Option<i64>,
    #[serde(default)]
    pub length_mm: Option<i64>,
    #[serde(default)]
    pub width_mm: Option<i64>,
    #[serde(default)]
    pub height_mm: Option<i64>,
    #[serde(default)]
    pub low_stock_level: Option<i64>,
    /// Barcodes to add.
    #[serde(default)]
    pub add_barcodes: Vec<Barcode>,
}

pub async fn sku_exists(tx: &mut TenantTx, id: &str) -> Result<bool, ApiError> {
    let (tid, conn) = tx.split();
    let r: Option<(String,)> =
        sqlx::query_as("SELECT id FROM skus WHERE tenant_id = $1 AND id = $2")
            .bind(tid)
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(r.is_some())
}

pub async fn edit_sku(tx: &mut TenantTx, id: &str, e: &SkuEdit) -> Result<Sku, ApiError> {
    if e.name
        .as_ref()
        .is_some_and(|n| n.trim().is_empty() || n.chars().count() > 200)
    {
        return Err(ApiError::Validation("name must be 1–200 characters".into()));
    }
    check_measures([
        e.shelf_life_days,
        e.weight_g,
        e.length_mm,
        e.width_mm,
        e.height_mm,
        e.low_stock_level,
    ])?;
    for b in &e.add_barcodes {
        validate_barcode(b)?;
    }
    let (tid, conn) = tx.split();
    let n = sqlx::query(
        "UPDATE skus SET name = COALESCE($1, name), shelf_life_days = COALESCE($2, shelf_life_days), weight_g = COALESCE($3, weight_g), \
         length_mm = COALESCE($4, length_mm), width_mm = COALESCE($5, width_mm), height_mm = COALESCE($6, height_mm), \
         low_stock_level = COALESCE($7, low_stock_level), version = version + 1, updated_at = $8 \
         WHERE tenant_id = $9 AND id = $10 AND version = $11",
    )
    .bind(e.name.as_deref().map(str::trim))
    .bind(e.shelf_life_days)
    .bind(e.weight_g)
    .bind(e.length_mm)
    .bind(e.width_mm)
    .bind(e.height_mm)
    .bind(e.low_stock_level)
    .bind(now_ms())
    .bind(tid)
    .bind(id)
    .bind(e.version)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(super::state(
            "version_conflict",
            "the SKU changed meanwhile; reload and retry",
        ));
    }
    for b in &e.add_barcodes {
        let taken: Option<(String,)> =
            sqlx::query_as("SELECT sku_id FROM sku_barcodes WHERE tenant_id = $1 AND barcode = $2")
                .bind(tid)
                .bind(&b.code)
                .fetch_optional(&mut *conn)
                .await?;
        if taken.is_some() {
            return Err(ApiError::Conflict(format!(
                "barcode {} already belongs to a SKU",
                b.code
            )));
        }
        sqlx::query(
            "INSERT INTO sku_barcodes (tenant_id, barcode, kind, sku_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(tid)
        .bind(&b.code)
        .bind(b.kind.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    tx.changed("sku", id);
    sku_by_id(tx, id).await
}

/// Shelf life, weight, dimensions and low-stock level, in that order: none may be negative.
fn check_measures(values: [Option<i64>; 6]) -> Result<(), ApiError> {
    const FIELDS: [&str; 6] = [
        "shelf_life_days",
        "weight_g",
        "length_mm",
        "width_mm",
        "height_mm",
        "low_stock_level",
    ];
    match FIELDS
        .iter()
        .zip(values)
        .find(|(_, v)| v.is_some_and(|v| v < 0))
    {
        Some((field, _)) => Err(ApiError::Validation(format!(
            "{field} must not be negative"
        ))),
        None => Ok(()),
    }
}
