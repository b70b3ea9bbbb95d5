//! `/api/v1/users` and `/api/v1/audit`: administration (admin only; role changes need step-up).

use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wms_core::audit::{AuditAction, Outcome};
use wms_core::ids::UserId;
use wms_core::role::Role;
use wms_core::wire::{AuditPage, Problem, RoleChangeRequest, UserInfo};

use super::extract::{ApiJson, ApiQuery};
use crate::accounts::{self, AccountError, UserRow};
use crate::audit::{self, NewEvent};
use crate::auth::extract::{Authorized, req};
use crate::error::ApiError;
use crate::time::{now_ms, rfc3339};

fn user_info<R>(auth: &Authorized<R>, u: &UserRow) -> Result<UserInfo, ApiError> {
    Ok(UserInfo {
        id: u.id,
        email: accounts::open_email(&auth.keys, auth.ctx.tenant, u).map_err(ApiError::internal)?,
        role: u.role,
        mfa_enrolled: u.mfa_enrolled(),
        locked_until: u.locked_until.filter(|t| *t > now_ms()).map(rfc3339),
    })
}

#[utoipa::path(get, path = "/api/v1/users", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<UserInfo>), (status = 403, body = Problem)))]
pub async fn list_users(
    mut auth: Authorized<req::ManageUsers>,
) -> Result<axum::Json<Vec<UserInfo>>, ApiError> {
    let users = accounts::list(&mut auth.tx)
        .await
        .map_err(ApiError::internal)?;
    let out = users
        .iter()
        .map(|u| user_info(&auth, u))
        .collect::<Result<Vec<_>, _>>()?;
    // E-mail addresses are PII: reading the list is an audited PII read.
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::PiiRead, Outcome::Success)
            .target("users")
            .detail(format!("{} e-mail addresses", out.len())),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(axum::Json(out))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    pub email: String,
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateUserResponse {
    pub id: UserId,
    /// To hand to the new user; it must be changed at first login. Shown once.
    pub one_time_password: String,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "admin", security(("bearer" = [])), request_body = CreateUserRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 201, body = CreateUserResponse), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    mut auth: Authorized<req::ManageUsers>,
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, axum::Json<CreateUserResponse>), ApiError> {
    let map = |e: AccountError| match e {
        AccountError::DuplicateEmail => ApiError::Conflict(e.to_string()),
        AccountError::BadEmail(_) => ApiError::Validation(e.to_string()),
        other => ApiError::internal(other),
    };
    let new = accounts::prepare_user(&auth.state.hasher, &body.email, body.role, None)
        .await
        .map_err(map)?;
    let (backend, actor, keys) = (auth.state.db.backend(), auth.ctx.actor(), auth.keys.clone());
    let id = accounts::insert_user(&mut auth.tx, backend, &keys, &new, &actor)
        .await
        .map_err(map)?;
    auth.tx.commit().await?;
    let one_time_password = new
        .one_time_password
        .map(|p| p.to_string())
        .unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        axum::Json(CreateUserResponse {
            id,
            one_time_password,
        }),
    ))
}

async fn load_user<R>(auth: Authorized<R>, id: &str) -> Result<(Authorized<R>, UserRow), ApiError> {
    let mut auth = auth;
    let found = match id.parse::<UserId>() {
        Ok(uid) => accounts::find_by_id(&mut auth.tx, uid)
            .await
            .map_err(ApiError::internal)?,
        Err(_) => None,
    };
    match found {
        Some(u) => Ok((auth, u)),
        None => Err(auth.not_found("user", format!("user:{id}")).await),
    }
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "user id")),
    responses((status = 200, body = UserInfo), (status = 404, body = Problem)))]
pub async fn get_user(
    auth: Authorized<req::ManageUsers>,
    Path(id): Path<String>,
) -> Result<axum::Json<UserInfo>, ApiError> {
    let (mut auth, user) = load_user(auth, &id).await?;
    let info = user_info(&auth, &user)?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::PiiRead, Outcome::Success)
            .target(format!("user:{id}"))
            .detail("e-mail"),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(axum::Json(info))
}

#[utoipa::path(put, path = "/api/v1/users/{id}/role", tag = "admin", security(("bearer" = [])), request_body = RoleChangeRequest,
    params(("id" = String, Path, description = "user id"), ("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 204, description = "Changed; the user's sessions are revoked"), (status = 403, description = "`step_up_required`", body = Problem), (status = 404, body = Problem)))]
pub async fn change_role(
    auth: Authorized<req::ManageUsersStepUp>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleChangeRequest>,
) -> Result<StatusCode, ApiError> {
    let (mut auth, user) = load_user(auth, &id).await?;
    if user.id == auth.ctx.user {
        return Err(ApiError::Conflict(
            "admins cannot change their own role".into(),
        ));
    }
    let (tid, conn) = auth.tx.split();
    sqlx::query("UPDATE users SET role = $1, version = version + 1, updated_at = $2 WHERE tenant_id = $3 AND id = $4")
        .bind(body.role.as_str())
        .bind(now_ms())
        .bind(tid)
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    // Sessions carry the old role's reach: end them.
    sqlx::query("UPDATE sessions SET revoked_at = $1, revoked_reason = 'role changed' WHERE tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(tid)
        .bind(&id)
        .execute(conn)
        .await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::RoleChanged, Outcome::Success)
            .target(format!("user:{id}"))
            .detail(format!("{} -> {}", user.role, body.role)),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/users/{id}/mfa/reset", tag = "admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "user id"), ("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 204, description = "MFA removed; the user must enrol again"), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn reset_mfa(
    auth: Authorized<req::ManageUsersStepUp>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (mut auth, _user) = load_user(auth, &id).await?;
    let (tid, conn) = auth.tx.split();
    sqlx::query("UPDATE users SET totp_sealed = NULL, totp_pending_sealed = NULL, totp_last_step = NULL, version = version + 1, updated_at = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(now_ms())
        .bind(tid)
        .bind(&id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE sessions SET revoked_at = $1, revoked_reason = 'mfa reset' WHERE tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(tid)
        .bind(&id)
        .execute(conn)
        .await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::MfaEnrolStarted, Outcome::Success)
            .target(format!("user:{id}"))
            .detail("mfa reset by admin"),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Return events with a sequence number below this (paging backwards).
    pub before: Option<i64>,
    /// 1–500, default 100.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 403, body = Problem)))]
pub async fn audit_log(
    mut auth: Authorized<req::ReadAudit>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<axum::Json<AuditPage>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::Validation(
            "limit must be between 1 and 500".into(),
        ));
    }
    let (events, next_before) = audit::list(&mut auth.tx, q.before, limit)
        .await
        .map_err(ApiError::internal)?;
    Ok(axum::Json(AuditPage {
        events,
        next_before,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditVerifyResponse {
    pub intact: bool,
    pub verified: i64,
    /// The first broken link, if any.
    pub broken_at_seq: Option<i64>,
    pub reason: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = AuditVerifyResponse), (status = 403, body = Problem)))]
pub async fn audit_verify(
    mut auth: Authorized<req::ReadAudit>,
) -> Result<axum::Json<AuditVerifyResponse>, ApiError> {
    let keys = auth.keys.clone();
    let r = audit::verify(&mut auth.tx, &keys)
        .await
        .map_err(ApiError::internal)?;
    Ok(axum::Json(AuditVerifyResponse {
        intact: r.broken.is_none(),
        verified: r.verified,
        broken_at_seq: r.broken.as_ref().map(wms_core::audit::ChainError::seq),
        reason: r.broken.map(|b| b.to_string()),
    }))
}
