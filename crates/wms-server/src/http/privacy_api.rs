//! `/api/v1/data-requests` and `/api/v1/settings/retention`: the privacy policy's data-subject
//! requests and retention settings (admin only; changes need a fresh MFA step-up).

use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use wms_core::audit::{AuditAction, Outcome};
use wms_core::retention::{RequestKind, RetentionPolicy};
use wms_core::wire::Problem;

use super::extract::{ApiJson, ApiQuery};
use super::orders_api::require_order;
use crate::audit::NewEvent;
use crate::auth::extract::{Authorized, ReadOnly, req};
use crate::data_requests::{
    self, DataRequestOutcome, DataRequestQuery, DataRequestView, NewDataRequest,
};
use crate::error::ApiError;
use crate::retention;
use crate::time::now_ms;

#[utoipa::path(post, path = "/api/v1/data-requests", tag = "privacy", security(("bearer" = [])), request_body = NewDataRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 201, description = "Carried out at once and recorded; `export` returns the order with its full recipient (an audited PII read)", body = DataRequestOutcome),
        (status = 403, description = "admin with a fresh MFA step-up only", body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`validation_failed`, `pii_purged` (correcting an erased recipient), `invalid_postal_code`, …", body = Problem)))]
pub async fn create_data_request(
    auth: Authorized<req::DataRequest>,
    ApiJson(body): ApiJson<NewDataRequest>,
) -> Result<(StatusCode, axum::Json<DataRequestOutcome>), ApiError> {
    data_requests::validate(&body)?;
    let mut auth = require_order(auth, &body.order_id).await?;
    let keys = auth.keys.clone();
    let actor = auth.ctx.actor();
    let order_id = body.order_id.clone();
    let out = data_requests::carry_out(
        &mut auth.tx,
        auth.state.db.backend(),
        &keys,
        &actor,
        body,
        now_ms(),
    )
    .await?;
    let action = match out.request.kind {
        RequestKind::Export => AuditAction::DataExported,
        RequestKind::Correct => AuditAction::DataCorrected,
        RequestKind::Delete => AuditAction::DataErased,
    };
    auth.audit(
        NewEvent::new(&actor, action, Outcome::Success)
            .target(format!("order:{order_id}"))
            .detail(format!(
                "data request {}: {}",
                out.request.id,
                out.request.result.as_deref().unwrap_or_default()
            )),
    )
    .await?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(out)))
}

#[utoipa::path(get, path = "/api/v1/data-requests", tag = "privacy", security(("bearer" = [])), params(DataRequestQuery),
    responses((status = 200, description = "Newest first", body = Vec<DataRequestView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_data_requests(
    mut auth: Authorized<req::ReadAudit, ReadOnly>,
    ApiQuery(q): ApiQuery<DataRequestQuery>,
) -> Result<axum::Json<Vec<DataRequestView>>, ApiError> {
    Ok(axum::Json(data_requests::list(&mut auth.tx, &q).await?))
}

/// Retention in days, each 30–3650 (default 90).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Closed orders (lines, packages, labels, recipient) are deleted this many days after their
    /// last change.
    pub business_days: i64,
    /// Audit events are deleted this many days after they were recorded.
    pub audit_days: i64,
}

#[utoipa::path(get, path = "/api/v1/settings/retention", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = RetentionPolicy), (status = 403, body = Problem)))]
pub async fn get_retention(
    mut auth: Authorized<req::ManageUsers, ReadOnly>,
) -> Result<axum::Json<RetentionPolicy>, ApiError> {
    Ok(axum::Json(retention::policy(&mut auth.tx).await?))
}

#[utoipa::path(put, path = "/api/v1/settings/retention", tag = "privacy", security(("bearer" = [])), request_body = RetentionSettings,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 200, body = RetentionPolicy), (status = 403, description = "admin with a fresh MFA step-up only", body = Problem),
        (status = 422, description = "`validation_failed`: days out of range", body = Problem)))]
pub async fn put_retention(
    mut auth: Authorized<req::ManageUsersStepUp>,
    ApiJson(body): ApiJson<RetentionSettings>,
) -> Result<axum::Json<RetentionPolicy>, ApiError> {
    let new = RetentionPolicy::new(body.business_days, body.audit_days)
        .map_err(|e| ApiError::Validation(e.to_string()))?;
    let old = retention::policy(&mut auth.tx).await?;
    let actor = auth.ctx.actor();
    retention::set_policy(&mut auth.tx, &new, &actor, now_ms()).await?;
    auth.audit(
        NewEvent::new(&actor, AuditAction::RetentionChanged, Outcome::Success).detail(format!(
            "business data {} -> {} days, audit log {} -> {} days",
            old.business_days, new.business_days, old.audit_days, new.audit_days
        )),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(axum::Json(new))
}
