//! `/api/v1/carriers/…` and the label endpoints of packages: connect, change, disable and remove
//! a carrier account (admin, step-up, audited), book a package's label, print it (ZPL / PDF / PNG; reprints counted and audited), void it.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use wms_core::audit::{AuditAction, Outcome};
use wms_core::wire::Problem;

use super::extract::{ApiJson, ApiQuery};
use super::orders_api::require_order;
use crate::audit::NewEvent;
use crate::auth::extract::{Authorized, req};
use crate::carriers::{
    self, BookRequest, BookResult, CarrierAccountPatch, CarrierAccountView, NewCarrierAccount,
    TrackingEvent,
};
use crate::error::ApiError;

#[utoipa::path(post, path = "/api/v1/carriers/accounts", tag = "carriers", security(("bearer" = [])), request_body = NewCarrierAccount,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = CarrierAccountView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_account(
    mut auth: Authorized<req::ManageConnections>,
    ApiJson(body): ApiJson<NewCarrierAccount>,
) -> Result<(StatusCode, axum::Json<CarrierAccountView>), ApiError> {
    let keys = auth.keys.clone();
    let view = carriers::create_account(&mut auth.tx, &keys, body).await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::CarrierConnected, Outcome::Success)
            .target(format!("carrier:{}", view.carrier))
            .detail(format!("mode {}", view.mode)),
    )
    .await?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(patch, path = "/api/v1/carriers/accounts/{carrier}", tag = "carriers", security(("bearer" = [])), request_body = CarrierAccountPatch,
    params(("carrier" = String, Path, description = "the account: its carrier (`yamato` or `sagawa`), one account per carrier and tenant"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, description = "the account as changed (never its API key)", body = CarrierAccountView),
        (status = 403, description = "admin with a fresh MFA step-up only (`forbidden`, `step_up_required`)", body = Problem),
        (status = 404, description = "no such account in this tenant", body = Problem),
        (status = 409, description = "`carrier_not_api`: a self-issue account has no endpoint, customer code or key", body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_account(
    mut auth: Authorized<req::ManageConnections>,
    Path(carrier): Path<String>,
    ApiJson(body): ApiJson<CarrierAccountPatch>,
) -> Result<axum::Json<CarrierAccountView>, ApiError> {
    let keys = auth.keys.clone();
    let backend = auth.state.db.backend();
    let (view, changes) =
        carriers::update_account(&mut auth.tx, backend, &keys, &carrier, body).await?;
    let actor = auth.ctx.actor();
    let target = format!("carrier:{}", view.carrier);
    if !changes.fields.is_empty() {
        auth.audit(
            NewEvent::new(&actor, AuditAction::CarrierUpdated, Outcome::Success)
                .target(target.clone())
                .detail(format!("changed: {}", changes.fields.join(", "))),
        )
        .await?;
    }
    if let Some(enabled) = changes.enabled {
        let action = if enabled {
            AuditAction::CarrierEnabled
        } else {
            AuditAction::CarrierDisabled
        };
        auth.audit(NewEvent::new(&actor, action, Outcome::Success).target(target))
            .await?;
    }
    auth.tx.commit().await?;
    Ok(axum::Json(view))
}

#[utoipa::path(delete, path = "/api/v1/carriers/accounts/{carrier}", tag = "carriers", security(("bearer" = [])),
    params(("carrier" = String, Path, description = "the account: its carrier (`yamato` or `sagawa`)")),
    responses((status = 204, description = "removed"),
        (status = 403, description = "admin with a fresh MFA step-up only (`forbidden`, `step_up_required`)", body = Problem),
        (status = 404, description = "no such account in this tenant", body = Problem),
        (status = 409, description = "`carrier_account_in_use`: labels were booked with it (they keep their labels and tracking); disable it instead", body = Problem)))]
pub async fn remove_account(
    mut auth: Authorized<req::ManageConnections>,
    Path(carrier): Path<String>,
) -> Result<StatusCode, ApiError> {
    let backend = auth.state.db.backend();
    let view = carriers::remove_account(&mut auth.tx, backend, &carrier).await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::CarrierRemoved, Outcome::Success)
            .target(format!("carrier:{}", view.carrier))
            .detail(format!("mode {}", view.mode)),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/carriers/accounts", tag = "carriers", security(("bearer" = [])),
    responses((status = 200, body = Vec<CarrierAccountView>)))]
pub async fn list_accounts(
    mut auth: Authorized<req::ManageInventory>,
) -> Result<axum::Json<Vec<CarrierAccountView>>, ApiError> {
    Ok(axum::Json(carriers::list_accounts(&mut auth.tx).await?))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/packages/{seq}/book", tag = "carriers", security(("bearer" = [])), request_body = BookRequest,
    params(("id" = String, Path), ("seq" = i64, Path)),
    responses((status = 200, description = "booked (or the existing booking)", body = BookResult), (status = 404, body = Problem), (status = 409, description = "`carrier_unavailable`, `order_not_packable`", body = Problem), (status = 422, description = "`carrier_refused`, `carrier_not_connected`, `carrier_disabled`, `recipient_pii_missing`, `range_exhausted`, `invalid_time_slot`", body = Problem)))]
pub async fn book(
    auth: Authorized<req::Pack>,
    Path((id, seq)): Path<(String, i64)>,
    ApiJson(body): ApiJson<BookRequest>,
) -> Result<axum::Json<BookResult>, ApiError> {
    let auth = require_order(auth, &id).await?;
    let (state, tenant, actor) = (auth.state.clone(), auth.ctx.tenant, auth.ctx.actor());
    // The booking opens its own short transactions around the carrier call.
    auth.tx.commit().await?;
    Ok(axum::Json(
        carriers::book(&state, tenant, &actor, &id, seq, &body).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LabelQuery {
    /// `zpl` (default), `pdf` or `png`.
    pub format: Option<String>,
    /// ZPL only: 203 (default) or 300.
    pub dpi: Option<u32>,
    /// Why a reprint is needed (jammed, smudged…): recorded in the reprint's audit event.
    pub reason: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/packages/{seq}/label", tag = "carriers", security(("bearer" = [])),
    params(("id" = String, Path), ("seq" = i64, Path), LabelQuery),
    responses((status = 200, description = "the label (application/zpl, application/pdf or image/png preview); every ZPL/PDF print after the first is an audited reprint, counted in `x-label-prints`"), (status = 404, body = Problem), (status = 422, description = "`label_not_booked`", body = Problem)))]
pub async fn label(
    auth: Authorized<req::Pack>,
    Path((id, seq)): Path<(String, i64)>,
    ApiQuery(q): ApiQuery<LabelQuery>,
) -> Result<Response, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let format = q.format.as_deref().unwrap_or("zpl");
    let dpi = match q.dpi.unwrap_or(203) {
        203 => wms_core::label::Dpi::D203,
        300 => wms_core::label::Dpi::D300,
        other => {
            return Err(ApiError::Validation(format!(
                "dpi must be 203 or 300, not {other}"
            )));
        }
    };
    if !["zpl", "pdf", "png"].contains(&format) {
        return Err(ApiError::Validation(format!(
            "format must be zpl, pdf or png, not `{format}`"
        )));
    }
    let reason = q.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    if reason.is_some_and(|r| r.chars().count() > 200) {
        return Err(ApiError::Validation(
            "a reprint reason has at most 200 characters".into(),
        ));
    }
    let keys = auth.keys.clone();
    // A PNG is the on-screen preview: not a print.
    let (model, prints) = carriers::label(&mut auth.tx, &keys, &id, seq, format != "png").await?;
    let font = auth.state.label_font().map_err(ApiError::internal)?;
    let (bytes, mime) = match format {
        "pdf" => (
            wms_core::label::render_pdf(&model, &font),
            "application/pdf",
        ),
        "png" => (wms_core::label::render_png(&model, &font), "image/png"),
        _ => (
            wms_core::label::render_zpl(&model, dpi, &font),
            "application/zpl",
        ),
    };
    let bytes = bytes.map_err(|e| ApiError::Rule {
        code: "label_invalid",
        message: e.to_string(),
    })?;
    if prints > 1 && format != "png" {
        let actor = auth.ctx.actor();
        let why = reason.map(|r| format!(": {r}")).unwrap_or_default();
        auth.audit(
            NewEvent::new(&actor, AuditAction::LabelReprinted, Outcome::Success)
                .target(format!("order:{id}"))
                .detail(format!("package {seq}, print {prints} ({format}){why}")),
        )
        .await?;
    }
    auth.tx.commit().await?;
    Ok((
        [(header::CONTENT_TYPE, mime)],
        [("x-label-prints", prints.to_string())],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidRequest {
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/packages/{seq}/void", tag = "carriers", security(("bearer" = [])), request_body = VoidRequest,
    params(("id" = String, Path), ("seq" = i64, Path)),
    responses((status = 204, description = "voided; the package can be booked again"), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn void(
    auth: Authorized<req::ManageInventory>,
    Path((id, seq)): Path<(String, i64)>,
    ApiJson(body): ApiJson<VoidRequest>,
) -> Result<StatusCode, ApiError> {
    let auth = require_order(auth, &id).await?;
    let (state, tenant, actor) = (auth.state.clone(), auth.ctx.tenant, auth.ctx.actor());
    auth.tx.commit().await?;
    carriers::void(&state, tenant, &actor, &id, seq, &body.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/tracking", tag = "carriers", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<TrackingEvent>), (status = 404, body = Problem)))]
pub async fn tracking(
    auth: Authorized<req::Pack>,
    Path(id): Path<String>,
) -> Result<axum::Json<Vec<TrackingEvent>>, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    Ok(axum::Json(carriers::events(&mut auth.tx, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/orders/{id}/packing-slip", tag = "carriers", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "the packing slip (納品書) as an A4 PDF, without prices; an audited use of the recipient's PII"), (status = 404, body = Problem), (status = 422, description = "`recipient_pii_missing`, `sender_missing`, `slip_invalid`", body = Problem)))]
pub async fn packing_slip(
    auth: Authorized<req::Pack>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let mut auth = require_order(auth, &id).await?;
    let keys = auth.keys.clone();
    let slip = carriers::packing_slip(&mut auth.tx, auth.state.db.backend(), &keys, &id).await?;
    let font = auth.state.label_font().map_err(ApiError::internal)?;
    let pdf = wms_core::label::render_packing_slip(&slip, &font).map_err(|e| ApiError::Rule {
        code: "slip_invalid",
        message: e.to_string(),
    })?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::PiiRead, Outcome::Success)
            .target(format!("order:{id}"))
            .detail("recipient printed on a packing slip"),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
