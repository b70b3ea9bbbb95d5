//! Inventory control: adjustment approvals (four eyes) and cycle counts; SKU import from CSV.

use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wms_core::wire::Problem;

use super::extract::{ApiJson, ApiQuery};
use super::warehouse_api::batch_of;
use crate::auth::extract::{Authorized, ReadOnly, req};
use crate::error::ApiError;
use crate::warehouse::control::{self, AdjustmentQuery, AdjustmentRequest, CountTask};
use crate::warehouse::{ListQuery, master};

#[utoipa::path(get, path = "/api/v1/adjustments", tag = "inventory", security(("bearer" = [])), params(AdjustmentQuery), responses((status = 200, body = Vec<AdjustmentRequest>)))]
pub async fn list_adjustments(
    mut auth: Authorized<req::ManageInventory, ReadOnly>,
    ApiQuery(q): ApiQuery<AdjustmentQuery>,
) -> Result<axum::Json<Vec<AdjustmentRequest>>, ApiError> {
    Ok(axum::Json(
        control::list_adjustments(&mut auth.tx, q.status.as_deref().unwrap_or("pending")).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Decision {
    pub id: String,
    pub status: String,
}

async fn decide_adjustment(
    mut auth: Authorized<req::ManageInventory>,
    id: String,
    approve: bool,
) -> Result<axum::Json<Decision>, ApiError> {
    if !control::adjustment_exists(&mut auth.tx, &id).await? {
        return Err(auth
            .not_found("adjustment request", format!("adjustment:{id}"))
            .await);
    }
    let (backend, user) = (auth.state.db.backend(), auth.ctx.actor());
    let status = control::decide_adjustment(&mut auth.tx, backend, &user, &id, approve).await?;
    auth.tx.commit().await?;
    Ok(axum::Json(Decision { id, status }))
}

#[utoipa::path(post, path = "/api/v1/adjustments/{id}/approve", tag = "inventory", security(("bearer" = [])), params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Decision), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, description = "`four_eyes_required`", body = Problem)))]
pub async fn approve_adjustment(
    auth: Authorized<req::ManageInventory>,
    Path(id): Path<String>,
) -> Result<axum::Json<Decision>, ApiError> {
    decide_adjustment(auth, id, true).await
}

#[utoipa::path(post, path = "/api/v1/adjustments/{id}/reject", tag = "inventory", security(("bearer" = [])), params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Decision), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reject_adjustment(
    auth: Authorized<req::ManageInventory>,
    Path(id): Path<String>,
) -> Result<axum::Json<Decision>, ApiError> {
    decide_adjustment(auth, id, false).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCount {
    #[serde(default)]
    pub warehouse: Option<String>,
    pub location: String,
    pub sku: String,
    #[serde(default)]
    pub lot: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/counts", tag = "inventory", security(("bearer" = [])), request_body = NewCount, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = CountTask), (status = 422, body = Problem)))]
pub async fn create_count(
    mut auth: Authorized<req::ManageInventory>,
    ApiJson(b): ApiJson<NewCount>,
) -> Result<(StatusCode, axum::Json<CountTask>), ApiError> {
    let tx = &mut auth.tx;
    let wh = master::resolve_warehouse(tx, b.warehouse.as_deref()).await?;
    let loc = master::find_location(tx, &wh, &b.location).await?;
    let sku = master::sku_by_code(tx, &b.sku).await?;
    let batch_key = batch_of(tx, &sku, b.lot.as_deref()).await?;
    let user = auth.ctx.actor();
    let id = control::create_count(tx, &user, &sku, &loc.id, &batch_key).await?;
    let view = control::view_count(tx, auth.state.db.backend(), &id)
        .await?
        .ok_or(ApiError::NotFound("count task"))?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(get, path = "/api/v1/counts", tag = "inventory", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "Cycle counts, newest first; `status`: `open`, `counted`, `approved` or `rejected`", body = Vec<CountTask>),
        (status = 403, body = Problem), (status = 422, description = "`validation_failed`: unknown status, limit out of range", body = Problem)))]
pub async fn list_counts(
    mut auth: Authorized<req::ManageInventory, ReadOnly>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Vec<CountTask>>, ApiError> {
    let (status, limit) = q.checked(control::COUNT_STATUSES)?;
    Ok(axum::Json(
        control::list_counts(&mut auth.tx, status, limit).await?,
    ))
}

async fn count_or_404<R>(
    auth: Authorized<R>,
    id: &str,
) -> Result<(Authorized<R>, CountTask), ApiError> {
    let mut auth = auth;
    match control::view_count(&mut auth.tx, auth.state.db.backend(), id).await? {
        Some(c) => Ok((auth, c)),
        None => Err(auth.not_found("count task", format!("count:{id}")).await),
    }
}

#[utoipa::path(get, path = "/api/v1/counts/{id}", tag = "inventory", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = CountTask), (status = 404, body = Problem)))]
pub async fn get_count(
    auth: Authorized<req::ManageInventory>,
    Path(id): Path<String>,
) -> Result<axum::Json<CountTask>, ApiError> {
    Ok(axum::Json(count_or_404(auth, &id).await?.1))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterCount {
    pub counted: i64,
}

#[utoipa::path(post, path = "/api/v1/counts/{id}/count", tag = "inventory", security(("bearer" = [])), request_body = EnterCount, params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, description = "Counted; variance against on-hand now", body = CountTask), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn enter_count(
    auth: Authorized<req::ManageInventory>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<EnterCount>,
) -> Result<axum::Json<CountTask>, ApiError> {
    let (mut auth, _) = count_or_404(auth, &id).await?;
    let (backend, user) = (auth.state.db.backend(), auth.ctx.actor());
    control::enter_count(&mut auth.tx, backend, &user, &id, b.counted).await?;
    let view = control::view_count(&mut auth.tx, backend, &id)
        .await?
        .ok_or(ApiError::NotFound("count task"))?;
    auth.tx.commit().await?;
    Ok(axum::Json(view))
}

async fn decide_count(
    auth: Authorized<req::ManageInventory>,
    id: String,
    approve: bool,
) -> Result<axum::Json<CountTask>, ApiError> {
    let (mut auth, _) = count_or_404(auth, &id).await?;
    let (backend, user) = (auth.state.db.backend(), auth.ctx.actor());
    control::decide_count(&mut auth.tx, backend, &user, &id, approve).await?;
    let view = control::view_count(&mut auth.tx, backend, &id)
        .await?
        .ok_or(ApiError::NotFound("count task"))?;
    auth.tx.commit().await?;
    Ok(axum::Json(view))
}

#[utoipa::path(post, path = "/api/v1/counts/{id}/approve", tag = "inventory", security(("bearer" = [])), params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, description = "Approved; the variance is posted as a count movement", body = CountTask), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn approve_count(
    auth: Authorized<req::ManageInventory>,
    Path(id): Path<String>,
) -> Result<axum::Json<CountTask>, ApiError> {
    decide_count(auth, id, true).await
}

#[utoipa::path(post, path = "/api/v1/counts/{id}/reject", tag = "inventory", security(("bearer" = [])), params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = CountTask), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reject_count(
    auth: Authorized<req::ManageInventory>,
    Path(id): Path<String>,
) -> Result<axum::Json<CountTask>, ApiError> {
    decide_count(auth, id, false).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowError {
    /// 1-based data row (the header is row 0).
    pub row: usize,
    pub seller_sku: Option<String>,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub created: usize,
    pub errors: Vec<ImportRowError>,
}

/// Columns of the SKU import, in any order (header names); only `seller_sku` and `name` are required.
pub const IMPORT_COLUMNS: &[&str] = &[
    "seller_sku",
    "name",
    "jan",
    "upc",
    "fnsku",
    "lot_tracked",
    "shelf_life_days",
    "weight_g",
    "length_mm",
    "width_mm",
    "height_mm",
    "low_stock_level",
];

fn parse_row(
    rec: &csv::StringRecord,
    idx: &std::collections::HashMap<&str, usize>,
) -> Result<master::NewSku, (String, String)> {
    let get = |c: &str| {
        idx.get(c)
            .and_then(|i| rec.get(*i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let num = |c: &str| -> Result<Option<i64>, (String, String)> {
        get(c)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    (
                        "validation_failed".to_owned(),
                        format!("{c} must be a whole number, got `{v}`"),
                    )
                })
            })
            .transpose()
    };
    let lot_tracked = match get("lot_tracked").map(str::to_ascii_lowercase).as_deref() {
        None | Some("0" | "false" | "no" | "n") => false,
        Some("1" | "true" | "yes" | "y") => true,
        Some(other) => {
            return Err((
                "validation_failed".into(),
                format!("lot_tracked must be true or false, got `{other}`"),
            ));
        }
    };
    let mut barcodes = Vec::new();
    for (col, kind) in [
        ("jan", master::BarcodeKind::Jan),
        ("upc", master::BarcodeKind::Upc),
        ("fnsku", master::BarcodeKind::Fnsku),
    ] {
        if let Some(code) = get(col) {
            barcodes.push(master::Barcode {
                code: code.to_owned(),
                kind,
            });
        }
    }
    Ok(master::NewSku {
        seller_sku: get("seller_sku")
            .ok_or((
                "validation_failed".to_owned(),
                "seller_sku is empty".to_owned(),
            ))?
            .to_owned(),
        name: get("name")
            .ok_or(("validation_failed".to_owned(), "name is empty".to_owned()))?
            .to_owned(),
        lot_tracked,
        shelf_life_days: num("shelf_life_days")?,
        weight_g: num("weight_g")?,
        length_mm: num("length_mm")?,
        width_mm: num("width_mm")?,
        height_mm: num("height_mm")?,
        low_stock_level: num("low_stock_level")?,
        barcodes,
    })
}

#[utoipa::path(post, path = "/api/v1/skus/import", tag = "inventory", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "UTF-8 CSV with a header row; columns: seller_sku, name, jan, upc, fnsku, lot_tracked, shelf_life_days, weight_g, length_mm, width_mm, height_mm, low_stock_level"),
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, description = "Valid rows created; every other row reported with its error", body = ImportReport), (status = 400, body = Problem)))]
pub async fn import_skus(
    mut auth: Authorized<req::ManageInventory>,
    body: axum::body::Bytes,
) -> Result<axum::Json<ImportReport>, ApiError> {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("the CSV must be UTF-8".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| ApiError::BadRequest(format!("cannot read the CSV header: {e}")))?
        .clone();
    let idx: std::collections::HashMap<&str, usize> = headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            IMPORT_COLUMNS
                .iter()
                .find(|c| c.eq_ignore_ascii_case(h))
                .map(|c| (*c, i))
        })
        .collect();
    if let Some(unknown) = headers
        .iter()
        .find(|h| !IMPORT_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(h)))
    {
        return Err(ApiError::BadRequest(format!(
            "unknown column `{unknown}` (expected some of: {})",
            IMPORT_COLUMNS.join(", ")
        )));
    }
    if !idx.contains_key("seller_sku") || !idx.contains_key("name") {
        return Err(ApiError::BadRequest(
            "the CSV needs seller_sku and name columns".into(),
        ));
    }
    let mut report = ImportReport {
        created: 0,
        errors: Vec::new(),
    };
    let mut seen = std::collections::HashSet::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 1;
        if row > 50_000 {
            return Err(ApiError::BadRequest(
                "at most 50,000 rows per import".into(),
            ));
        }
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                report.errors.push(ImportRowError {
                    row,
                    seller_sku: None,
                    code: "malformed_row".into(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let new = match parse_row(&rec, &idx) {
            Ok(n) => n,
            Err((code, message)) => {
                report.errors.push(ImportRowError {
                    row,
                    seller_sku: None,
                    code,
                    message,
                });
                continue;
            }
        };
        if !seen.insert(new.seller_sku.clone()) {
            report.errors.push(ImportRowError {
                row,
                seller_sku: Some(new.seller_sku.clone()),
                code: "duplicate_in_file".into(),
                message: "this seller SKU appears earlier in the file".into(),
            });
            continue;
        }
        // Validate everything (incl. existing SKUs and barcodes) before inserting: a failed INSERT
        // would abort the whole PostgreSQL transaction.
        match master::check_new_sku(&mut auth.tx, &new).await {
            Ok(()) => {
                master::create_sku(&mut auth.tx, &new).await?;
                report.created += 1;
            }
            Err(e) => {
                let (code, message) = match &e {
                    ApiError::Conflict(m) => ("conflict".to_owned(), m.clone()),
                    other => (other.code().to_owned(), other.to_string()),
                };
                report.errors.push(ImportRowError {
                    row,
                    seller_sku: Some(new.seller_sku.clone()),
                    code,
                    message,
                });
            }
        }
    }
    auth.tx.commit().await?;
    Ok(axum::Json(report))
}
