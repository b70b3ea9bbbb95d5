//! Orders and fulfilment: `/api/v1/orders…`, `/api/v1/returns…`.

use axum::extract::Path;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use wms_core::audit::{AuditAction, Outcome};
use wms_core::fulfilment::OrderState;
use wms_core::wire::Problem;

use super::extract::{ApiJson, ApiQuery};
use crate::audit::NewEvent;
use crate::auth::extract::{Authorized, ReadOnly, TxMode, req};
use crate::error::ApiError;
use crate::warehouse::ListQuery;
use crate::warehouse::orders::OrderEdit;
use crate::warehouse::orders::{
    self, DispatchRequest, NewOrder, NewPackage, OrderQuery, OrderSummary, OrderView, PackResult,
    PackScan, PackageView, PickLine, Recipient,
};
use crate::warehouse::returns::{self, NewReturn, ReceiveReturn, ReturnView};

/// The order must exist in the caller's tenant; otherwise 404 and an `access_denied` event.
pub(crate) async fn require_order<R, M: TxMode>(
    auth: Authorized<R, M>,
    id: &str,
) -> Result<Authorized<R, M>, ApiError> {
    let mut auth = auth;
    if orders::exists(&mut auth.tx, id).await? {
        Ok(auth)
    } else {
        Err(auth.not_found("order", format!("order:{id}")).await)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    pub id: String,
    pub status: OrderState,
}

#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), request_body = NewOrder,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 201, body = OrderView), (status = 409, body = Problem), (status = 422, description = "`unknown_sku`, `invalid_postal_code`, …", body = Problem)))]
pub async fn create(
    mut auth: Authorized<req::ManageInventory>,
    ApiJson(body): ApiJson<NewOrder>,
) -> Result<(StatusCode, axum::Json<OrderView>), ApiError> {
    let keys = auth.keys.clone();
    let id = orders::create_manual(&mut auth.tx, &keys, body).await?;
    let view = orders::view(&mut auth.tx, auth.state.db.backend(), &keys, &id, false)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(OrderQuery), responses((status = 200, body = Vec<OrderSummary>)))]
pub async fn list(
    mut auth: Authorized<req::Pack, ReadOnly>,
    ApiQuery(q): ApiQuery<OrderQuery>,
) -> Result<axum::Json<Vec<OrderSummary>>, ApiError> {
    Ok(axum::Json(orders::list(&mut auth.tx, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/orders/views", tag = "orders", security(("bearer" = [])), params(OrderQuery),
    responses((status = 200, description = "A page of the list, each order as `GET /api/v1/orders/{id}` shows it (recipient masked): a station's full load reads pages instead of one order at a time", body = Vec<OrderView>),
        (status = 422, body = Problem)))]
pub async fn views(
    mut auth: Authorized<req::Pack, ReadOnly>,
    ApiQuery(q): ApiQuery<OrderQuery>,
) -> Result<axum::Json<Vec<OrderView>>, ApiError> {
    let page = orders::list(&mut auth.tx, &q).await?;
    let (backend, keys) = (auth.state.db.backend(), auth.keys.clone());
    let mut views = Vec::with_capacity(page.len());
    for o in page {
        // Listed in this same snapshot, so it is there.
        if let Some(v) = orders::view(&mut auth.tx, backend, &keys, &o.id, false).await? {
            views.push(v);
        }
    }
    Ok(axum::Json(views))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The order; the recipient masked", body = OrderView), (status = 404, body = Problem)))]
pub async fn get(
    auth: Authorized<req::Pack, ReadOnly>,
    Path(id): Path<String>,
) -> Result<axum::Json<OrderView>, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let keys = auth.keys.clone();
    let view = orders::view(&mut auth.tx, auth.state.db.backend(), &keys, &id, false)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    Ok(axum::Json(view))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/recipient", tag = "orders", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "The full recipient: an audited PII read", body = Recipient), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn recipient(
    auth: Authorized<req::ReadPii>,
    Path(id): Path<String>,
) -> Result<axum::Json<Recipient>, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let keys = auth.keys.clone();
    let view = orders::view(&mut auth.tx, auth.state.db.backend(), &keys, &id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let r = view.recipient.ok_or_else(|| match view.recipient_pii.as_str() {
        "not_granted" => ApiError::Rule {
            code: "pii_not_granted",
            message: "no recipient PII is stored for this order: the Amazon authorization was not granted the restricted role for recipient data".into(),
        },
        "purged" => ApiError::Rule {
            code: "pii_purged",
            message: "this order's recipient PII was erased (Amazon authorization withdrawn, or a deletion request)".into(),
        },
        _ => ApiError::Rule {
            code: "recipient_not_available",
            message: "this order has no recipient on record".into(),
        },
    })?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::PiiRead, Outcome::Success)
            .target(format!("order:{id}"))
            .detail("recipient"),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(axum::Json(r))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/allocate", tag = "orders", security(("bearer" = [])), params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = StatusResponse), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn allocate(
    auth: Authorized<req::ManageInventory>,
    Path(id): Path<String>,
) -> Result<axum::Json<StatusResponse>, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let (backend, user, min) = (
        auth.state.db.backend(),
        auth.ctx.actor(),
        auth.state.settings.min_shelf_life_days,
    );
    let status = orders::allocate(&mut auth.tx, backend, &user, &id, min).await?;
    auth.tx.commit().await?;
    Ok(axum::Json(StatusResponse { id, status }))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/pick", tag = "orders", security(("bearer" = [])), params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, description = "Picked to the packing bench", body = StatusResponse), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn pick(
    auth: Authorized<req::Pack>,
    Path(id): Path<String>,
) -> Result<axum::Json<StatusResponse>, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let (backend, user) = (auth.state.db.backend(), auth.ctx.actor());
    let status = orders::start_picking(&mut auth.tx, backend, &user, &id).await?;
    auth.tx.commit().await?;
    Ok(axum::Json(StatusResponse { id, status }))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/pick-list", tag = "orders", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "In walking order", body = Vec<PickLine>), (status = 404, body = Problem)))]
pub async fn pick_list(
    auth: Authorized<req::Pack, ReadOnly>,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<PickLine>>, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    Ok(axum::Json(
        orders::pick_list(&mut auth.tx, std::slice::from_ref(&id)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/pack", tag = "orders", security(("bearer" = [])), request_body = PackScan, params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = PackResult), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, description = "`wrong_item`, `over_quantity`, `batch_not_allocated`, `unknown_barcode`", body = Problem)))]
pub async fn pack(
    auth: Authorized<req::Pack>,
    Path(id): Path<String>,
    ApiJson(scan): ApiJson<PackScan>,
) -> Result<axum::Json<PackResult>, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let r = orders::pack_scan(&mut auth.tx, auth.state.db.backend(), &id, &scan).await?;
    auth.tx.commit().await?;
    Ok(axum::Json(r))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/packages", tag = "orders", security(("bearer" = [])), request_body = NewPackage, params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = PackageView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_package(
    auth: Authorized<req::Pack>,
    Path(id): Path<String>,
    ApiJson(p): ApiJson<NewPackage>,
) -> Result<(StatusCode, axum::Json<PackageView>), ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let v = orders::add_package(&mut auth.tx, auth.state.db.backend(), &id, &p).await?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(v)))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/dispatch", tag = "orders", security(("bearer" = [])), request_body = DispatchRequest, params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = StatusResponse), (status = 404, body = Problem), (status = 409, description = "`order_illegal_transition` (not packed), `already_dispatched`", body = Problem), (status = 422, body = Problem)))]
pub async fn dispatch(
    auth: Authorized<req::Pack>,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<DispatchRequest>,
) -> Result<axum::Json<StatusResponse>, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let (backend, user) = (auth.state.db.backend(), auth.ctx.actor());
    let status =
        orders::dispatch(&mut auth.tx, backend, &auth.state.amazon, &user, &id, &r).await?;
    auth.tx.commit().await?;
    // Any Amazon confirmations queued with the dispatch leave now, not at the next poll.
    auth.state.amazon.feedback_bell.notify_one();
    Ok(axum::Json(StatusResponse { id, status }))
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackingRequest {
    /// `yamato`, `sagawa` or `japan_post`.
    pub carrier: String,
    /// 12 digits with the carrier's mod-7 check digit.
    pub tracking_number: String,
}

#[utoipa::path(put, path = "/api/v1/orders/{id}/packages/{seq}/tracking", tag = "orders", security(("bearer" = [])), request_body = TrackingRequest,
    params(("id" = String, Path), ("seq" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = OrderView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, description = "`tracking_check_digit_mismatch`, `unknown_carrier`, …", body = Problem)))]
pub async fn set_tracking(
    auth: Authorized<req::Pack>,
    Path((id, seq)): Path<(String, i64)>,
    ApiJson(r): ApiJson<TrackingRequest>,
) -> Result<axum::Json<OrderView>, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let backend = auth.state.db.backend();
    orders::set_package_tracking(
        &mut auth.tx,
        backend,
        &id,
        seq,
        &r.carrier,
        &r.tracking_number,
    )
    .await?;
    let keys = auth.keys.clone();
    let view = orders::view(&mut auth.tx, backend, &keys, &id, false)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    auth.tx.commit().await?;
    Ok(axum::Json(view))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])), params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = StatusResponse), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel(
    auth: Authorized<req::ManageInventory>,
    Path(id): Path<String>,
) -> Result<axum::Json<StatusResponse>, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let (backend, user) = (auth.state.db.backend(), auth.ctx.actor());
    let status = orders::cancel(&mut auth.tx, backend, &user, &id).await?;
    auth.tx.commit().await?;
    Ok(axum::Json(StatusResponse { id, status }))
}

#[utoipa::path(post, path = "/api/v1/returns", tag = "orders", security(("bearer" = [])), request_body = NewReturn, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = ReturnView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_return(
    mut auth: Authorized<req::ManageInventory>,
    ApiJson(n): ApiJson<NewReturn>,
) -> Result<(StatusCode, axum::Json<ReturnView>), ApiError> {
    if let Some(order) = &n.order_id
        && !orders::exists(&mut auth.tx, order).await?
    {
        return Err(auth.not_found("order", format!("order:{order}")).await);
    }
    let v = returns::create(&mut auth.tx, &n).await?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(v)))
}

#[utoipa::path(post, path = "/api/v1/returns/{id}/receive", tag = "orders", security(("bearer" = [])), request_body = ReceiveReturn, params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = ReturnView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn receive_return(
    mut auth: Authorized<req::ManageInventory>,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<ReceiveReturn>,
) -> Result<axum::Json<ReturnView>, ApiError> {
    if !returns::exists(&mut auth.tx, &id).await? {
        return Err(auth.not_found("return", format!("return:{id}")).await);
    }
    let (backend, user) = (auth.state.db.backend(), auth.ctx.actor());
    let v = returns::receive(&mut auth.tx, backend, &user, &id, &r).await?;
    auth.tx.commit().await?;
    Ok(axum::Json(v))
}

#[utoipa::path(get, path = "/api/v1/returns", tag = "orders", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, description = "Returns (RMA), newest first; `status`: `expected`, `received`, `restocked`, `quarantined` or `disposed`", body = Vec<ReturnView>),
        (status = 403, body = Problem), (status = 422, description = "`validation_failed`: unknown status, limit out of range", body = Problem)))]
pub async fn list_returns(
    mut auth: Authorized<req::ManageInventory, ReadOnly>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::Json<Vec<ReturnView>>, ApiError> {
    let (status, limit) = q.checked(returns::STATUSES)?;
    Ok(axum::Json(
        returns::list(&mut auth.tx, status, limit).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/returns/{id}", tag = "orders", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ReturnView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_return(
    mut auth: Authorized<req::ManageInventory, ReadOnly>,
    Path(id): Path<String>,
) -> Result<axum::Json<ReturnView>, ApiError> {
    match returns::view(&mut auth.tx, &id).await? {
        Some(v) => Ok(axum::Json(v)),
        None => Err(auth.not_found("return", format!("return:{id}")).await),
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BatchPickQuery {
    /// Order ids, comma-separated (1–200).
    pub orders: String,
}

#[utoipa::path(get, path = "/api/v1/pick-lists", tag = "orders", security(("bearer" = [])), params(BatchPickQuery),
    responses((status = 200, description = "One walk through the warehouse for several orders", body = Vec<PickLine>), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn batch_pick_list(
    mut auth: Authorized<req::Pack, ReadOnly>,
    ApiQuery(q): ApiQuery<BatchPickQuery>,
) -> Result<axum::Json<Vec<PickLine>>, ApiError> {
    let ids: Vec<String> = q
        .orders
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.is_empty() || ids.len() > 200 {
        return Err(ApiError::Validation(
            "orders must list 1–200 order ids".into(),
        ));
    }
    for id in &ids {
        if !orders::exists(&mut auth.tx, id).await? {
            return Err(auth.not_found("order", format!("order:{id}")).await);
        }
    }
    Ok(axum::Json(orders::pick_list(&mut auth.tx, &ids).await?))
}

#[utoipa::path(patch, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])), request_body = OrderEdit, params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = OrderView), (status = 404, body = Problem), (status = 409, description = "`order_locked` once picking started, `version_conflict`", body = Problem), (status = 422, body = Problem)))]
pub async fn edit(
    auth: Authorized<req::ManageInventory>,
    Path(id): Path<String>,
    ApiJson(e): ApiJson<OrderEdit>,
) -> Result<axum::Json<OrderView>, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let keys = auth.keys.clone();
    let backend = auth.state.db.backend();
    orders::edit(&mut auth.tx, backend, &keys, &id, e).await?;
    let view = orders::view(&mut auth.tx, backend, &keys, &id, false)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    auth.tx.commit().await?;
    Ok(axum::Json(view))
}
