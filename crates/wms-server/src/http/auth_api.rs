//! `/api/v1/auth/*`, `/api/v1/me`, `/api/v1/sessions`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use wms_core::audit::{AuditAction, Outcome};
use wms_core::wire::{
    LoginRequest, MeResponse, MfaEnrollResponse, MfaVerifyRequest, MfaVerifyResponse,
    PasswordChangeRequest, Problem, RefreshRequest, SessionInfo, TokenResponse,
};

use super::extract::{ApiJson, ClientInfo, Idem};
use crate::accounts;
use crate::audit::NewEvent;
use crate::auth::extract::{Authorized, req};
use crate::auth::service;
use crate::error::ApiError;
use crate::state::AppState;
use crate::time::rfc3339;

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`, `mfa_required`, `mfa_invalid`, `mfa_replayed`", body = Problem),
        (status = 403, description = "`mfa_enrollment_required` (with `enrollment_token`), `device_revoked`", body = Problem),
        (status = 423, description = "`account_locked`", body = Problem),
        (status = 429, description = "`rate_limited`", body = Problem),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientInfo(mut client): ClientInfo,
    Idem(idem): Idem,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    if body.device.is_some() {
        client.device.clone_from(&body.device);
    }
    service::login(&state, &body, &client, idem.as_ref()).await
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 200, body = TokenResponse), (status = 401, description = "`invalid_token` (a reused token revokes its family), `token_expired`", body = Problem), (status = 403, description = "`device_revoked`", body = Problem)))]
pub async fn refresh(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    Idem(idem): Idem,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    service::refresh(&state, &body.refresh_token, &client, idem.as_ref()).await
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "The session is revoked"), (status = 401, body = Problem)))]
pub async fn logout(mut auth: Authorized<req::Account>) -> Result<StatusCode, ApiError> {
    service::revoke_session(&mut auth.tx, &auth.ctx.session.to_string(), "logout").await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::Logout, Outcome::Success)
            .target(format!("session:{}", auth.ctx.session)),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = Problem)))]
pub async fn me(mut auth: Authorized<req::Account>) -> Result<axum::Json<MeResponse>, ApiError> {
    let user = accounts::find_by_id(&mut auth.tx, auth.ctx.user)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::InvalidToken)?;
    let email = service::own_email(&auth, &user)?;
    // Read inside this request's transaction: taking a second pool connection while holding one
    // can deadlock the pool under load (every holder waiting for a free connection).
    let tenant = auth.tx.tenant_name().await?;
    Ok(axum::Json(MeResponse {
        user_id: user.id,
        email,
        role: user.role,
        tenant_id: auth.ctx.tenant,
        tenant,
        mfa_enrolled: user.mfa_enrolled(),
    }))
}

#[utoipa::path(post, path = "/api/v1/auth/mfa/enroll", tag = "auth", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 200, body = MfaEnrollResponse), (status = 403, description = "`step_up_required` when replacing an enrolled authenticator", body = Problem)))]
pub async fn mfa_enroll(
    mut auth: Authorized<req::Account>,
) -> Result<axum::Json<MfaEnrollResponse>, ApiError> {
    let user = accounts::find_by_id(&mut auth.tx, auth.ctx.user)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::InvalidToken)?;
    let email = service::own_email(&auth, &user)?;
    let out = service::mfa_enroll(&mut auth, &email).await?;
    auth.tx.commit().await?;
    Ok(axum::Json(out))
}

#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", tag = "auth", security(("bearer" = [])), request_body = MfaVerifyRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 200, body = MfaVerifyResponse), (status = 401, description = "`mfa_invalid`, `mfa_replayed`", body = Problem)))]
pub async fn mfa_verify(
    mut auth: Authorized<req::Account>,
    ApiJson(body): ApiJson<MfaVerifyRequest>,
) -> Result<axum::Json<MfaVerifyResponse>, ApiError> {
    let result = service::mfa_verify(&mut auth, &body.code).await;
    // Failures are recorded (counter, audit) too: commit either way.
    auth.tx.commit().await?;
    result.map(axum::Json)
}

#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", security(("bearer" = [])), request_body = PasswordChangeRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 204, description = "Changed; other sessions revoked"), (status = 401, body = Problem), (status = 422, description = "`weak_password`", body = Problem)))]
pub async fn change_password(
    mut auth: Authorized<req::Account>,
    ApiJson(body): ApiJson<PasswordChangeRequest>,
) -> Result<StatusCode, ApiError> {
    let user = accounts::find_by_id(&mut auth.tx, auth.ctx.user)
        .await
        .map_err(ApiError::internal)?
        .ok_or(ApiError::InvalidToken)?;
    let email = service::own_email(&auth, &user)?;
    let result = service::change_password(
        &mut auth,
        &body.current_password,
        &body.new_password,
        &email,
    )
    .await;
    if matches!(result, Ok(()) | Err(ApiError::InvalidCredentials)) {
        auth.tx.commit().await?;
    }
    result.map(|()| StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/sessions", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Vec<SessionInfo>)))]
pub async fn sessions(
    mut auth: Authorized<req::SelfService>,
) -> Result<axum::Json<Vec<SessionInfo>>, ApiError> {
    let (tid, conn) = auth.tx.split();
    let rows: Vec<(String, Option<String>, i64, i64, Option<String>)> = sqlx::query_as(
        "SELECT id, device, created_at, last_used_at, ip FROM sessions \
         WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL AND refresh_expires_at > $3 ORDER BY created_at DESC",
    )
    .bind(tid)
    .bind(auth.ctx.user.to_string())
    .bind(crate::time::now_ms())
    .fetch_all(conn)
    .await?;
    let current = auth.ctx.session.to_string();
    let out = rows
        .into_iter()
        .filter_map(|(id, device, created, last, ip)| {
            Some(SessionInfo {
                current: id == current,
                id: id.parse().ok()?,
                device,
                created_at: rfc3339(created),
                last_used_at: rfc3339(last),
                ip,
            })
        })
        .collect();
    Ok(axum::Json(out))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "auth", security(("bearer" = [])),
    params(("id" = String, Path, description = "session id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = Problem)))]
pub async fn revoke_session(
    mut auth: Authorized<req::SelfService>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // Only the caller's own sessions: anything else is "not found", whoever's it is.
    let (tid, conn) = auth.tx.split();
    let owned: Option<(String,)> =
        sqlx::query_as("SELECT id FROM sessions WHERE tenant_id = $1 AND id = $2 AND user_id = $3")
            .bind(tid)
            .bind(&id)
            .bind(auth.ctx.user.to_string())
            .fetch_optional(conn)
            .await?;
    if owned.is_none() {
        return Err(auth.not_found("session", format!("session:{id}")).await);
    }
    service::revoke_session(&mut auth.tx, &id, "revoked by user").await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::SessionRevoked, Outcome::Success)
            .target(format!("session:{id}")),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/sessions/revoke-all", tag = "auth", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 200, description = "Number of other sessions revoked", body = u64)))]
pub async fn revoke_all(
    mut auth: Authorized<req::SelfService>,
) -> Result<axum::Json<u64>, ApiError> {
    let (tid, conn) = auth.tx.split();
    let n = sqlx::query("UPDATE sessions SET revoked_at = $1, revoked_reason = 'revoke all' WHERE tenant_id = $2 AND user_id = $3 AND id <> $4 AND revoked_at IS NULL")
        .bind(crate::time::now_ms())
        .bind(tid)
        .bind(auth.ctx.user.to_string())
        .bind(auth.ctx.session.to_string())
        .execute(conn)
        .await?
        .rows_affected();
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::SessionRevoked, Outcome::Success)
            .target(format!("user:{actor}"))
            .detail(format!("{n} other sessions")),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(axum::Json(n))
}
