//! Master data and inventory: `/api/v1/warehouses`, `/locations`, `/skus`, `/stock`, `/movements`.

use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use wms_core::ledger::MovementKind;
use wms_core::wire::Problem;

use super::extract::{ApiJson, ApiQuery};
use crate::auth::extract::{Authorized, ReadOnly, req};
use crate::error::ApiError;
use crate::warehouse::control::{self, AdjustOutcome, Adjustment};
use crate::warehouse::inbound::{self, InboundView, NewInbound};
use crate::warehouse::master::{self, Location, NewLocation, NewSku, NewWarehouse, Sku, Warehouse};
use crate::warehouse::stock::{self, MovementQuery, MovementRow, Post, StockQuery, StockRow};
use crate::warehouse::{ListQuery, parse_date, rule};

#[utoipa::path(get, path = "/api/v1/warehouses", tag = "inventory", security(("bearer" = [])), responses((status = 200, body = Vec<Warehouse>)))]
pub async fn list_warehouses(
    mut auth: Authorized<req::Pack, ReadOnly>,
) -> Result<axum::Json<Vec<Warehouse>>, ApiError> {
    Ok(axum::Json(master::list_warehouses(&mut auth.tx).await?))
}

#[utoipa::path(post, path = "/api/v1/warehouses", tag = "inventory", security(("bearer" = [])), request_body = NewWarehouse,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 201, body = Warehouse), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_warehouse(
    mut auth: Authorized<req::ManageInventory>,
    ApiJson(body): ApiJson<NewWarehouse>,
) -> Result<(StatusCode, axum::Json<Warehouse>), ApiError> {
    let w = master::create_warehouse(&mut auth.tx, &body).await?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(w)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LocationQuery {
    pub warehouse: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/locations", tag = "inventory", security(("bearer" = [])), params(LocationQuery), responses((status = 200, body = Vec<Location>)))]
pub async fn list_locations(
    mut auth: Authorized<req::Pack, ReadOnly>,
    ApiQuery(q): ApiQuery<LocationQuery>,
) -> Result<axum::Json<Vec<Location>>, ApiError> {
    Ok(axum::Json(
        master::list_locations(&mut auth.tx, q.warehouse.as_deref()).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/locations", tag = "inventory", security(("bearer" = [])), request_body = NewLocation,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 201, body = Location), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_location(
    mut auth: Authorized<req::ManageInventory>,
    ApiJson(body): ApiJson<NewLocation>,
) -> Result<(StatusCode, axum::Json<Location>), ApiError> {
    let l = master::create_location(&mut auth.tx, &body).await?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(l)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SkuQuery {
    /// Page forward: SKUs whose seller SKU sorts after this.
    pub after: Option<String>,
    /// 1–1000, default 200.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/skus", tag = "inventory", security(("bearer" = [])), params(SkuQuery), responses((status = 200, body = Vec<Sku>)))]
pub async fn list_skus(
    mut auth: Authorized<req::Pack, ReadOnly>,
    ApiQuery(q): ApiQuery<SkuQuery>,
) -> Result<axum::Json<Vec<Sku>>, ApiError> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::Validation(
            "limit must be between 1 and 1000".into(),
        ));
    }
    Ok(axum::Json(
        master::list_skus(&mut auth.tx, q.after.as_deref(), limit).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/skus", tag = "inventory", security(("bearer" = [])), request_body = NewSku,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 201, body = Sku), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_sku(
    mut auth: Authorized<req::ManageInventory>,
    ApiJson(body): ApiJson<NewSku>,
) -> Result<(StatusCode, axum::Json<Sku>), ApiError> {
    let s = master::create_sku(&mut auth.tx, &body).await?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(s)))
}

#[utoipa::path(get, path = "/api/v1/stock", tag = "inventory", security(("bearer" = [])), params(StockQuery), responses((status = 200, body = Vec<StockRow>), (status = 403, body = Problem)))]
pub async fn stock(
    mut auth: Authorized<req::ManageInventory, ReadOnly>,
    ApiQuery(q): ApiQuery<StockQuery>,
) -> Result<axum::Json<Vec<StockRow>>, ApiError> {
    let backend = auth.state.db.backend();
    Ok(axum::Json(stock::query(&mut auth.tx, backend, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/movements", tag = "inventory", security(("bearer" = [])), params(MovementQuery), responses((status = 200, body = Vec<MovementRow>)))]
pub async fn movements(
    mut auth: Authorized<req::ManageInventory, ReadOnly>,
    ApiQuery(q): ApiQuery<MovementQuery>,
) -> Result<axum::Json<Vec<MovementRow>>, ApiError> {
    Ok(axum::Json(stock::movements(&mut auth.tx, &q).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiveRequest {
    #[serde(default)]
    pub warehouse: Option<String>,
    /// Where the goods are put down (a receiving dock or directly a bin).
    pub location: String,
    pub sku: String,
    pub quantity: i64,
    /// Lot number: required for lot-tracked SKUs.
    #[serde(default)]
    pub lot: Option<String>,
    /// YYYY-MM-DD, for lot-tracked SKUs.
    #[serde(default)]
    pub expiry: Option<String>,
    /// Supplier delivery note, ASN number…
    #[serde(default)]
    pub reference: Option<String>,
    /// Receive against this expected inbound shipment (ASN); absent: a blind receipt.
    #[serde(default)]
    pub inbound_id: Option<String>,
}

fn reference_ok(r: Option<&str>) -> Result<(), ApiError> {
    if r.is_some_and(|r| r.chars().count() > 128) {
        return Err(ApiError::Validation(
            "reference must be at most 128 characters".into(),
        ));
    }
    Ok(())
}

pub(crate) async fn batch_of(
    tx: &mut crate::db::TenantTx,
    sku: &Sku,
    lot: Option<&str>,
) -> Result<String, ApiError> {
    match (lot, sku.lot_tracked) {
        (Some(l), _) => master::batch_by_lot(tx, &sku.id, l).await,
        (None, true) => Err(rule(
            "lot_required",
            format!("{} is lot-tracked: give the lot", sku.seller_sku),
        )),
        (None, false) => Ok(String::new()),
    }
}

#[utoipa::path(post, path = "/api/v1/stock/receive", tag = "inventory", security(("bearer" = [])), request_body = ReceiveRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 204, description = "Received"), (status = 422, body = Problem)))]
pub async fn receive(
    mut auth: Authorized<req::ManageInventory>,
    ApiJson(b): ApiJson<ReceiveRequest>,
) -> Result<StatusCode, ApiError> {
    reference_ok(b.reference.as_deref())?;
    let tx = &mut auth.tx;
    let sku = master::sku_by_code(tx, &b.sku).await?;
    let wh = match &b.inbound_id {
        Some(inbound) => {
            inbound::record_receipt(
                tx,
                auth.state.db.backend(),
                inbound,
                &sku.id,
                b.quantity.max(0),
            )
            .await?
        }
        None => master::resolve_warehouse(tx, b.warehouse.as_deref()).await?,
    };
    let loc = master::find_location(tx, &wh, &b.location).await?;
    let expiry = b
        .expiry
        .as_deref()
        .map(|e| parse_date("expiry", e))
        .transpose()?;
    let batch_key = match (&b.lot, sku.lot_tracked) {
        (Some(lot), _) => master::batch_for_receipt(tx, &sku, lot, expiry).await?,
        (None, true) => {
            return Err(rule(
                "lot_required",
                format!("{} is lot-tracked: give the lot and expiry", sku.seller_sku),
            ));
        }
        (None, false) => String::new(),
    };
    let user = auth.ctx.actor();
    let post = Post {
        kind: MovementKind::Receive,
        sku_id: &sku.id,
        from: None,
        to: Some(&loc.id),
        batch_key: &batch_key,
        quantity: b.quantity,
        reason: "receipt",
        reference: b.reference.as_deref(),
    };
    stock::post(tx, auth.state.db.backend(), &user, &post).await?;
    auth.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    #[serde(default)]
    pub warehouse: Option<String>,
    pub sku: String,
    pub from: String,
    pub to: String,
    pub quantity: i64,
    #[serde(default)]
    pub lot: Option<String>,
    /// `putaway` (from receiving) or `move` (bin to bin, the default).
    #[serde(default)]
    pub putaway: bool,
}

#[utoipa::path(post, path = "/api/v1/stock/move", tag = "inventory", security(("bearer" = [])), request_body = MoveRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 204, description = "Moved"), (status = 422, body = Problem)))]
pub async fn move_stock(
    mut auth: Authorized<req::ManageInventory>,
    ApiJson(b): ApiJson<MoveRequest>,
) -> Result<StatusCode, ApiError> {
    let tx = &mut auth.tx;
    let wh = master::resolve_warehouse(tx, b.warehouse.as_deref()).await?;
    let from = master::find_location(tx, &wh, &b.from).await?;
    let to = master::find_location(tx, &wh, &b.to).await?;
    let sku = master::sku_by_code(tx, &b.sku).await?;
    let batch_key = batch_of(tx, &sku, b.lot.as_deref()).await?;
    let kind = if b.putaway {
        MovementKind::Putaway
    } else {
        MovementKind::Move
    };
    let user = auth.ctx.actor();
    let post = Post {
        kind,
        sku_id: &sku.id,
        from: Some(&from.id),
        to: Some(&to.id),
        batch_key: &batch_key,
        quantity: b.quantity,
        reason: kind.as_str(),
        reference: None,
    };
    stock::post(tx, auth.state.db.backend(), &user, &post).await?;
    auth.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustRequest {
    #[serde(default)]
    pub warehouse: Option<String>,
    pub sku: String,
    pub location: String,
    #[serde(default)]
    pub lot: Option<String>,
    /// Positive: stock found; negative: stock written off.
    pub delta: i64,
    /// Why (e.g. `damaged`, `found`, `count_correction`).
    pub reason_code: String,
}

#[utoipa::path(post, path = "/api/v1/stock/adjust", tag = "inventory", security(("bearer" = [])), request_body = AdjustRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 200, description = "Applied", body = AdjustOutcome), (status = 202, description = "Above the approval threshold: waits for a second supervisor", body = AdjustOutcome),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn adjust(
    mut auth: Authorized<req::ManageInventory>,
    ApiJson(b): ApiJson<AdjustRequest>,
) -> Result<(StatusCode, axum::Json<AdjustOutcome>), ApiError> {
    let tx = &mut auth.tx;
    let wh = master::resolve_warehouse(tx, b.warehouse.as_deref()).await?;
    let loc = master::find_location(tx, &wh, &b.location).await?;
    let sku = master::sku_by_code(tx, &b.sku).await?;
    let batch_key = batch_of(tx, &sku, b.lot.as_deref()).await?;
    let user = auth.ctx.actor();
    let a = Adjustment {
        sku: &sku,
        location_id: &loc.id,
        batch_key: &batch_key,
        delta: b.delta,
        reason_code: b.reason_code.trim(),
    };
    let outcome = control::adjust(
        tx,
        auth.state.db.backend(),
        &user,
        &a,
        auth.state.settings.adjustment_approval_threshold,
    )
    .await?;
    auth.tx.commit().await?;
    let status = match outcome {
        AdjustOutcome::Applied => StatusCode::OK,
        AdjustOutcome::PendingApproval { .. } => StatusCode::ACCEPTED,
    };
    Ok((status, axum::Json(outcome)))
}

#[utoipa::path(patch, path = "/api/v1/skus/{id}", tag = "inventory", security(("bearer" = [])), request_body = master::SkuEdit, params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = Sku), (status = 404, body = Problem), (status = 409, description = "`version_conflict`", body = Problem), (status = 422, body = Problem)))]
pub async fn edit_sku(
    mut auth: Authorized<req::ManageInventory>,
    axum::extract::Path(id): axum::extract::Path<String>,
    ApiJson(e): ApiJson<master::SkuEdit>,
) -> Result<axum::Json<Sku>, ApiError> {
    if !master::sku_exists(&mut auth.tx, &id).await? {
        return Err(auth.not_found("sku", format!("sku:{id}")).await);
    }
    let sku = master::edit_sku(&mut auth.tx, &id, &e).await?;
    auth.tx.commit().await?;
    Ok(axum::Json(sku))
}

#[utoipa::path(post, path = "/api/v1/inbound", tag = "inventory", security(("bearer" = [])), request_body = NewInbound, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = InboundView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_inbound(
    mut auth: Authorized<req::ManageInventory>,
    ApiJson(n): ApiJson<NewInbound>,
) -> Result<(StatusCode, axum::Json<InboundView>), ApiError> {
    let id = inbound::create(&mut auth.tx, &n).await?;
    let v = inbound::view(&mut auth.tx, &id)
        .await?
        .ok_or(ApiError::NotFound("inbound shipment"))?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(v)))
}

#[utoipa::path(get, path = "/api/v1/inbound/{id}", tag = "inventory", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = InboundView), (status = 404, body = Problem)))]
pub async fn get_inbound(
    mut auth: Authorized<req::ManageInventory, ReadOnly>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<axum::Json<InboundView>, ApiError> {
    match inbound::view(&mut auth.tx, &id).await? {
        Some(v) => Ok(axum::Json(v)),
        None => Err(auth
            .not_found("inbound shipment", format!("inbound:{id}"))
            .await),
    }
}

#[utoipa::path(get, path = "/api/v1/inbound", tag = "inventory", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "Inbound shipments (ASN), newest first; `status`: `open` or `received`", body = Vec<InboundView>),
        (status = 403, body = Problem), (status = 422, description = "`validation_failed`: unknown status, limit out of range", body = Problem)))]
pub async fn list_inbound(
    mut auth: Authorized<req::ManageInventory, ReadOnly>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Vec<InboundView>>, ApiError> {
    let (status, limit) = q.checked(inbound::STATUSES)?;
    Ok(axum::Json(
        inbound::list(&mut auth.tx, status, limit).await?,
    ))
}
