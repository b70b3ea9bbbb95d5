//! `/api/v1/amazon/…`: seller authorizations (admin, MFA step-up for changes), sync, the
//! shipment-feedback queue and the supervisor's actions on it.

use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wms_core::audit::{AuditAction, Outcome};
use wms_core::fulfilment::{FeedbackEvent, FeedbackStatus};
use wms_core::wire::Problem;

use super::extract::{ApiJson, ApiQuery};
use crate::amazon::authz::{self, AuthorizationView, NewAuthorization};
use crate::amazon::feedback::{self, FeedbackRow};
use crate::amazon::sync::{self, SyncReport};
use crate::audit::NewEvent;
use crate::auth::extract::{Authorized, req};
use crate::error::ApiError;

async fn require_authorization<R>(
    auth: Authorized<R>,
    id: &str,
) -> Result<(Authorized<R>, authz::AuthRow), ApiError> {
    let mut auth = auth;
    match authz::get(&mut auth.tx, id).await? {
        Some(row) => Ok((auth, row)),
        None => Err(auth
            .not_found("amazon authorization", format!("amazon_authorization:{id}"))
            .await),
    }
}

#[utoipa::path(post, path = "/api/v1/amazon/authorizations", tag = "amazon", security(("bearer" = [])), request_body = NewAuthorization,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 201, body = AuthorizationView), (status = 403, description = "admin with a fresh MFA step-up only", body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_authorization(
    mut auth: Authorized<req::ManageConnections>,
    ApiJson(body): ApiJson<NewAuthorization>,
) -> Result<(StatusCode, axum::Json<AuthorizationView>), ApiError> {
    let keys = auth.keys.clone();
    let marketplace = auth.state.settings.amazon.marketplace_id.clone();
    let id = authz::create(&mut auth.tx, &keys, &marketplace, body).await?;
    let row = authz::get(&mut auth.tx, &id)
        .await?
        .ok_or(ApiError::NotFound("amazon authorization"))?;
    let view = authz::view(&mut auth.tx, &row).await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::AmazonAuthorized, Outcome::Success)
            .target(format!("amazon_authorization:{id}"))
            .detail(format!(
                "selling partner {}, marketplaces {}, recipient PII {}, buyer e-mail {}",
                view.selling_partner_id,
                view.marketplaces.join(","),
                view.pii.recipient,
                view.pii.buyer_email
            )),
    )
    .await?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(get, path = "/api/v1/amazon/authorizations", tag = "amazon", security(("bearer" = [])),
    responses((status = 200, body = Vec<AuthorizationView>), (status = 403, body = Problem)))]
pub async fn list_authorizations(
    mut auth: Authorized<req::ManageUsers>,
) -> Result<axum::Json<Vec<AuthorizationView>>, ApiError> {
    let rows = authz::all(&mut auth.tx).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(authz::view(&mut auth.tx, r).await?);
    }
    Ok(axum::Json(out))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    /// Why (kept in the audit log and shown on the authorization).
    #[serde(default)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/amazon/authorizations/{id}/revoke", tag = "amazon", security(("bearer" = [])), request_body = RevokeRequest,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = AuthorizationView), (status = 404, body = Problem), (status = 409, description = "`already_revoked`", body = Problem)))]
pub async fn revoke_authorization(
    auth: Authorized<req::ManageConnections>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RevokeRequest>,
) -> Result<axum::Json<AuthorizationView>, ApiError> {
    let (mut auth, _) = require_authorization(auth, &id).await?;
    let reason = body
        .reason
        .map(|r| r.trim().chars().take(200).collect::<String>())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "revoked by an admin".into());
    if !authz::revoke(&mut auth.tx, &id, &reason).await? {
        return Err(ApiError::State {
            code: "already_revoked",
            message: "this authorization is already revoked".into(),
        });
    }
    let row = authz::get(&mut auth.tx, &id)
        .await?
        .ok_or(ApiError::NotFound("amazon authorization"))?;
    let view = authz::view(&mut auth.tx, &row).await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::AmazonRevoked, Outcome::Success)
            .target(format!("amazon_authorization:{id}"))
            .detail(reason),
    )
    .await?;
    auth.tx.commit().await?;
    auth.state.amazon.forget(auth.ctx.tenant, &id);
    Ok(axum::Json(view))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PurgeReport {
    /// Orders whose recipient PII was erased.
    pub orders_purged: u64,
}

#[utoipa::path(post, path = "/api/v1/amazon/authorizations/{id}/purge-pii", tag = "amazon", security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = PurgeReport), (status = 404, body = Problem), (status = 409, description = "`authorization_active`: revoke first", body = Problem)))]
pub async fn purge_pii(
    auth: Authorized<req::ManageConnections>,
    Path(id): Path<String>,
) -> Result<axum::Json<PurgeReport>, ApiError> {
    let (mut auth, row) = require_authorization(auth, &id).await?;
    let n = authz::purge_pii(&mut auth.tx, &row).await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::AmazonPiiPurged, Outcome::Success)
            .target(format!("amazon_authorization:{id}"))
            .detail(format!("recipient PII erased from {n} orders")),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(axum::Json(PurgeReport { orders_purged: n }))
}

#[utoipa::path(post, path = "/api/v1/amazon/authorizations/{id}/sync", tag = "amazon", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, description = "one sync pass, run now", body = SyncReport), (status = 404, body = Problem), (status = 422, description = "`authorization_revoked`, `amazon_sync_failed`", body = Problem)))]
pub async fn sync_now(
    auth: Authorized<req::ManageInventory>,
    Path(id): Path<String>,
) -> Result<axum::Json<SyncReport>, ApiError> {
    let (auth, _) = require_authorization(auth, &id).await?;
    let (state, tenant) = (auth.state.clone(), auth.ctx.tenant);
    // The pass opens its own short transactions (one per order): release this one first.
    auth.tx.commit().await?;
    Ok(axum::Json(sync::run_once(&state, tenant, &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedbackQuery {
    /// `pending`, `sent`, `confirmed`, `failed` or `handled`.
    pub status: Option<String>,
    /// 1–500, default 100.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/amazon/feedback", tag = "amazon", security(("bearer" = [])), params(FeedbackQuery),
    responses((status = 200, body = Vec<FeedbackRow>), (status = 422, body = Problem)))]
pub async fn list_feedback(
    mut auth: Authorized<req::Pack>,
    ApiQuery(q): ApiQuery<FeedbackQuery>,
) -> Result<axum::Json<Vec<FeedbackRow>>, ApiError> {
    if let Some(s) = &q.status
        && !["pending", "sent", "confirmed", "failed", "handled"].contains(&s.as_str())
    {
        return Err(ApiError::Validation(format!(
            "status must be pending, sent, confirmed, failed or handled, not `{s}`"
        )));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Validation("limit must be 1–500".into()));
    }
    Ok(axum::Json(
        feedback::list(&mut auth.tx, q.status.as_deref(), limit).await?,
    ))
}

async fn feedback_action(
    auth: Authorized<req::ManageInventory>,
    id: &str,
    seq: i64,
    event: FeedbackEvent,
) -> Result<axum::Json<FeedbackStatus>, ApiError> {
    let mut auth = super::orders_api::require_order(auth, id).await?;
    let next = feedback::act(&mut auth.tx, id, seq, event).await?;
    auth.tx.commit().await?;
    auth.state.amazon.feedback_bell.notify_one();
    Ok(axum::Json(next))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/packages/{seq}/feedback/retry", tag = "amazon", security(("bearer" = [])),
    params(("id" = String, Path), ("seq" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, description = "the new feedback status", body = Object), (status = 404, body = Problem), (status = 409, description = "`feedback_illegal_transition`", body = Problem)))]
pub async fn retry_feedback(
    auth: Authorized<req::ManageInventory>,
    Path((id, seq)): Path<(String, i64)>,
) -> Result<axum::Json<FeedbackStatus>, ApiError> {
    feedback_action(auth, &id, seq, FeedbackEvent::Retry).await
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/packages/{seq}/feedback/handled", tag = "amazon", security(("bearer" = [])),
    params(("id" = String, Path), ("seq" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, description = "the new feedback status", body = Object), (status = 404, body = Problem), (status = 409, description = "`feedback_illegal_transition`", body = Problem)))]
pub async fn mark_feedback_handled(
    auth: Authorized<req::ManageInventory>,
    Path((id, seq)): Path<(String, i64)>,
) -> Result<axum::Json<FeedbackStatus>, ApiError> {
    feedback_action(auth, &id, seq, FeedbackEvent::MarkHandled).await
}

#[utoipa::path(get, path = "/api/v1/amazon/at-risk", tag = "amazon", security(("bearer" = [])),
    responses((status = 200, description = "Amazon orders due by tomorrow (JST) and not shipped, or shipped without a confirmed feedback", body = Vec<crate::amazon::orders::AtRiskOrder>)))]
pub async fn at_risk(
    mut auth: Authorized<req::ManageInventory>,
) -> Result<axum::Json<Vec<crate::amazon::orders::AtRiskOrder>>, ApiError> {
    Ok(axum::Json(
        crate::amazon::orders::at_risk(&mut auth.tx).await?,
    ))
}
