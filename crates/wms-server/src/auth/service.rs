//! Login, token refresh with rotation and reuse detection, logout, TOTP enrolment and verification,
//! password change. Each failure that is a security event is audited in the same transaction that
//! records its effect (failed-login counters, revoked families).

use wms_core::audit::{AuditAction, Outcome};
use wms_core::ids::{SessionId, TenantId, UserId};
use wms_core::totp::{self, TotpError};
use wms_core::wire::{LoginRequest, MfaEnrollResponse, MfaVerifyResponse, TokenResponse};
use zeroize::Zeroizing;

use super::extract::{Authorized, Requirement};
use super::tokens::{self, Kind, Minted};
use crate::accounts::{self, UserRow};
use crate::audit::{self, NewEvent};
use crate::db::TenantTx;
use crate::error::ApiError;
use crate::idempotency::{self, IdemRequest};
use crate::keys::TenantKeys;
use crate::state::AppState;
use crate::time::{now_ms, now_secs};

/// Lifetime of the access token handed out with `mfa_enrollment_required`.
const ENROLLMENT_TOKEN_TTL_MS: i64 = 10 * 60 * 1000;
const ISSUER: &str = "Jilian WMS";

/// Where a request came from (for sessions and audit).
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<String>,
    pub device: Option<String>,
}

fn internal(e: impl Into<anyhow::Error>) -> ApiError {
    ApiError::internal(e)
}

async fn record(
    state: &AppState,
    tx: &mut TenantTx,
    keys: &TenantKeys,
    ev: NewEvent,
) -> Result<(), ApiError> {
    audit::append(tx, state.db.backend(), keys, ev)
        .await
        .map_err(internal)?;
    Ok(())
}

/// Count a failure towards the soft lock; return the lock deadline if this failure locks.
async fn register_failure(
    state: &AppState,
    tx: &mut TenantTx,
    user: &UserRow,
) -> Result<Option<i64>, ApiError> {
    let s = &state.settings;
    let failures = user.failed_logins + 1;
    let over = failures - s.lockout_threshold;
    let locked_until = (over >= 0).then(|| {
        // Doubling delay from the threshold on, capped: slows guessing without a permanent lockout
        // that an attacker could inflict on purpose.
        let secs = s
            .lockout_base_secs
            .saturating_mul(1i64 << over.min(20))
            .min(s.lockout_max_secs);
        now_ms() + secs * 1000
    });
    let (tid, conn) = tx.split();
    sqlx::query("UPDATE users SET failed_logins = $1, locked_until = COALESCE($2, locked_until) WHERE tenant_id = $3 AND id = $4")
        .bind(failures)
        .bind(locked_until)
        .bind(tid)
        .bind(user.id.to_string())
        .execute(conn)
        .await?;
    Ok(locked_until)
}

struct NewSession {
    id: SessionId,
    access: Minted,
    refresh: Option<Minted>,
    access_expires_ms: i64,
}

async fn create_session(
    state: &AppState,
    tx: &mut TenantTx,
    user: UserId,
    client: &Client,
    mfa_at: Option<i64>,
    enrollment_only: bool,
) -> Result<NewSession, ApiError> {
    let now = now_ms();
    let id = SessionId::new();
    let access = tokens::mint(Kind::Access, tx.tenant());
    let (access_expires_ms, refresh_expires, refresh) = if enrollment_only {
        (now + ENROLLMENT_TOKEN_TTL_MS, now, None)
    } else {
        let r = tokens::mint(Kind::Refresh, tx.tenant());
        (
            now + state.settings.access_token_ttl_secs * 1000,
            now + state.settings.refresh_token_ttl_secs * 1000,
            Some(r),
        )
    };
    let device = client
        .device
        .as_deref()
        .map(|d| d.chars().take(128).collect::<String>());
    let (tid, conn) = tx.split();
    sqlx::query(
        "INSERT INTO sessions (tenant_id, id, user_id, device, ip, access_hash, access_expires_at, refresh_expires_at, mfa_at, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(tid)
    .bind(id.to_string())
    .bind(user.to_string())
    .bind(device)
    .bind(&client.ip)
    .bind(&access.hash)
    .bind(access_expires_ms)
    .bind(refresh_expires)
    .bind(mfa_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if let Some(r) = &refresh {
        sqlx::query("INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, issued_at) VALUES ($1, $2, $3, $4)")
            .bind(tid)
            .bind(&r.hash)
            .bind(id.to_string())
            .bind(now)
            .execute(conn)
            .await?;
    }
    Ok(NewSession {
        id,
        access,
        refresh,
        access_expires_ms,
    })
}

fn token_response(s: &NewSession, user: &UserRow, role_requires_mfa: bool) -> TokenResponse {
    TokenResponse {
        access_token: s.access.token.to_string(),
        refresh_token: s
            .refresh
            .as_ref()
            .map(|r| r.token.to_string())
            .unwrap_or_default(),
        expires_in: (s.access_expires_ms - now_ms()) / 1000,
        token_type: "Bearer".into(),
        password_change_required: user.must_change_password,
        mfa_enrollment_required: role_requires_mfa && !user.mfa_enrolled(),
    }
}

fn open_totp(
    keys: &TenantKeys,
    tenant: TenantId,
    user: &UserRow,
    pending: bool,
) -> Result<Option<Zeroizing<Vec<u8>>>, ApiError> {
    let sealed = if pending {
        &user.totp_pending_sealed
    } else {
        &user.totp_sealed
    };
    let ids = user.id.to_string();
    sealed
        .as_ref()
        .map(|s| {
            keys.data
                .open(&accounts::totp_aad(tenant, &ids, pending), s)
                .map_err(internal)
        })
        .transpose()
}

/// `POST /api/v1/auth/login`.
pub async fn login(
    state: &AppState,
    req: &LoginRequest,
    client: &Client,
    idem: Option<&IdemRequest>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let fail = || ApiError::InvalidCredentials;
    let tenant = match state.db.find_tenant(&req.tenant).await? {
        Some(t) => t,
        None => {
            // Same cost as a real verification: no tenant or user enumeration by timing.
            let _ = state.hasher.verify(&req.password, None).await;
            state.metrics.login("invalid");
            return Err(fail());
        }
    };
    // Read the user in a short transaction; hash outside any transaction (it takes a while and
    // SQLite has a single writer); then record the outcome in a second transaction.
    let mut tx = state.db.tenant_tx(tenant.id).await?;
    let keys = state.keys.tenant(&mut tx).await.map_err(internal)?;
    let user = accounts::find_by_email(&mut tx, &keys, &req.email)
        .await
        .map_err(internal)?;
    drop(tx);
    let ok = state
        .hasher
        .verify(
            &req.password,
            user.as_ref().map(|u| u.password_hash.as_str()),
        )
        .await
        .map_err(internal)?;

    let mut tx = state.db.tenant_tx(tenant.id).await?;
    let Some(user) = user else {
        record(
            state,
            &mut tx,
            &keys,
            NewEvent::new("anonymous", AuditAction::LoginFailed, Outcome::Failure)
                .ip(client.ip.clone())
                .detail("unknown account"),
        )
        .await?;
        tx.commit().await?;
        state.metrics.login("invalid");
        return Err(fail());
    };
    // Re-read inside the recording transaction so that counters are current.
    let user = accounts::find_by_id(&mut tx, user.id)
        .await
        .map_err(internal)?
        .ok_or_else(fail)?;
    let actor = user.id.to_string();
    let target = format!("user:{actor}");
    let now = now_ms();
    if let Some(until) = user.locked_until.filter(|u| *u > now) {
        record(
            state,
            &mut tx,
            &keys,
            NewEvent::new(&actor, AuditAction::LoginFailed, Outcome::Denied)
                .target(&target)
                .ip(client.ip.clone())
                .detail("account locked"),
        )
        .await?;
        tx.commit().await?;
        state.metrics.login("locked");
        return Err(ApiError::AccountLocked {
            retry_after: (until - now + 999) / 1000,
        });
    }
    if !ok {
        let locked = register_failure(state, &mut tx, &user).await?;
        record(
            state,
            &mut tx,
            &keys,
            NewEvent::new(&actor, AuditAction::LoginFailed, Outcome::Failure)
                .target(&target)
                .ip(client.ip.clone())
                .detail("wrong password"),
        )
        .await?;
        if locked.is_some() {
            record(
                state,
                &mut tx,
                &keys,
                NewEvent::new(&actor, AuditAction::Lockout, Outcome::Success)
                    .target(&target)
                    .ip(client.ip.clone()),
            )
            .await?;
        }
        tx.commit().await?;
        state.metrics.login("invalid");
        return Err(fail());
    }

    let mut mfa_at = None;
    if let Some(secret) = open_totp(&keys, tenant.id, &user, false)? {
        let Some(code) = req.totp.as_deref() else {
            state.metrics.login("mfa_required");
            return Err(ApiError::MfaRequired);
        };
        match totp::verify(
            &secret,
            code,
            now_secs().unsigned_abs(),
            user.totp_last_step,
        ) {
            Ok(step) => {
                let (tid, conn) = tx.split();
                sqlx::query(
                    "UPDATE users SET totp_last_step = $1 WHERE tenant_id = $2 AND id = $3",
                )
                .bind(step)
                .bind(tid)
                .bind(&actor)
                .execute(conn)
                .await?;
                mfa_at = Some(now);
            }
            Err(e) => {
                let (action, err) = match e {
                    TotpError::Replayed => (AuditAction::MfaReplayed, ApiError::MfaReplayed),
                    _ => (AuditAction::MfaFailed, ApiError::MfaInvalid),
                };
                let locked = register_failure(state, &mut tx, &user).await?;
                record(
                    state,
                    &mut tx,
                    &keys,
                    NewEvent::new(&actor, action, Outcome::Failure)
                        .target(&target)
                        .ip(client.ip.clone())
                        .detail("at login"),
                )
                .await?;
                if locked.is_some() {
                    record(
                        state,
                        &mut tx,
                        &keys,
                        NewEvent::new(&actor, AuditAction::Lockout, Outcome::Success)
                            .target(&target)
                            .ip(client.ip.clone()),
                    )
                    .await?;
                }
                tx.commit().await?;
                state.metrics.login("mfa_failed");
                return Err(err);
            }
        }
    }

    // A revoked workstation may not sign in, whoever uses it; any other is registered or noted.
    if let Some(d) = crate::devices::on_login(
        &mut tx,
        client.device.as_deref(),
        req.device_name.as_deref(),
        &actor,
    )
    .await?
    {
        if d.revoked {
            record(
                state,
                &mut tx,
                &keys,
                NewEvent::new(&actor, AuditAction::LoginFailed, Outcome::Denied)
                    .target(format!("device:{}", d.id))
                    .ip(client.ip.clone())
                    .detail("device revoked"),
            )
            .await?;
            tx.commit().await?;
            state.metrics.login("device_revoked");
            return Err(ApiError::DeviceRevoked);
        }
        if d.registered {
            record(
                state,
                &mut tx,
                &keys,
                NewEvent::new(&actor, AuditAction::DeviceRegistered, Outcome::Success)
                    .target(format!("device:{}", d.id))
                    .ip(client.ip.clone()),
            )
            .await?;
        }
    }
    if let Some(idem) = idem {
        let principal = format!("login:{actor}");
        if let Some(replayed) = idempotency::claim(&mut tx, &keys, &principal, idem).await? {
            return Ok(replayed);
        }
    }
    let (tid, conn) = tx.split();
    sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tid)
    .bind(&actor)
    .execute(conn)
    .await?;

    if user.role.requires_mfa() && !user.mfa_enrolled() {
        let s = create_session(state, &mut tx, user.id, client, None, true).await?;
        record(
            state,
            &mut tx,
            &keys,
            NewEvent::new(&actor, AuditAction::LoginOk, Outcome::Success)
                .target(&target)
                .ip(client.ip.clone())
                .detail("mfa enrollment pending"),
        )
        .await?;
        tx.commit().await?;
        state.metrics.login("mfa_enrollment_required");
        return Err(ApiError::MfaEnrollmentRequired {
            enrollment_token: Some(s.access.token.to_string()),
        });
    }
    let s = create_session(state, &mut tx, user.id, client, mfa_at, false).await?;
    record(
        state,
        &mut tx,
        &keys,
        NewEvent::new(&actor, AuditAction::LoginOk, Outcome::Success)
            .target(format!("session:{}", s.id))
            .ip(client.ip.clone()),
    )
    .await?;
    tx.commit().await?;
    state.metrics.login("ok");
    Ok(axum::Json(token_response(&s, &user, user.role.requires_mfa())).into_response())
}

/// `POST /api/v1/auth/refresh`: rotate. A refresh token presented twice means it was stolen (or a
/// response lost without an Idempotency-Key): the whole family is revoked.
pub async fn refresh(
    state: &AppState,
    token: &str,
    client: &Client,
    idem: Option<&IdemRequest>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let tenant = tokens::parse(Kind::Refresh, token).ok_or(ApiError::InvalidToken)?;
    let hash = tokens::hash(token);
    let mut tx = state.db.tenant_tx(tenant).await?;
    let keys = state.keys.tenant(&mut tx).await.map_err(internal)?;
    let (tid, conn) = tx.split();
    let row: Option<(String, Option<i64>, String, Option<i64>, i64)> = sqlx::query_as(
        "SELECT r.session_id, r.used_at, s.user_id, s.revoked_at, s.refresh_expires_at \
         FROM refresh_tokens r JOIN sessions s ON s.tenant_id = r.tenant_id AND s.id = r.session_id \
         WHERE r.tenant_id = $1 AND r.token_hash = $2",
    )
    .bind(tid)
    .bind(&hash)
    .fetch_optional(conn)
    .await?;
    let Some((sid, used_at, uid, revoked, refresh_expires)) = row else {
        return Err(ApiError::InvalidToken);
    };
    if let Some(device) = crate::devices::on_refresh(&mut tx, &sid).await? {
        record(
            state,
            &mut tx,
            &keys,
            NewEvent::new(&uid, AuditAction::AccessDenied, Outcome::Denied)
                .target(format!("device:{device}"))
                .ip(client.ip.clone())
                .detail("token refresh from a revoked device"),
        )
        .await?;
        tx.commit().await?;
        return Err(ApiError::DeviceRevoked);
    }
    if let Some(idem) = idem
        && let Some(replayed) =
            idempotency::claim(&mut tx, &keys, &format!("session:{sid}"), idem).await?
    {
        return Ok(replayed);
    }
    let now = now_ms();
    if used_at.is_some() {
        revoke_session(&mut tx, &sid, "refresh token reuse").await?;
        record(
            state,
            &mut tx,
            &keys,
            NewEvent::new(&uid, AuditAction::RefreshReuseDetected, Outcome::Denied)
                .target(format!("session:{sid}"))
                .ip(client.ip.clone())
                .detail("session family revoked"),
        )
        .await?;
        tx.commit().await?;
        return Err(ApiError::InvalidToken);
    }
    if revoked.is_some() {
        return Err(ApiError::InvalidToken);
    }
    if refresh_expires <= now {
        return Err(ApiError::TokenExpired);
    }
    let user_id: UserId = uid
        .parse()
        .map_err(|_| internal(anyhow::anyhow!("corrupt session")))?;
    let user = accounts::find_by_id(&mut tx, user_id)
        .await
        .map_err(internal)?
        .ok_or(ApiError::InvalidToken)?;
    let access = tokens::mint(Kind::Access, tenant);
    let next = tokens::mint(Kind::Refresh, tenant);
    let access_expires = now + state.settings.access_token_ttl_secs * 1000;
    let (tid, conn) = tx.split();
    sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE tenant_id = $2 AND token_hash = $3")
        .bind(now)
        .bind(tid)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO refresh_tokens (tenant_id, token_hash, session_id, issued_at) VALUES ($1, $2, $3, $4)")
        .bind(tid)
        .bind(&next.hash)
        .bind(&sid)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE sessions SET access_hash = $1, access_expires_at = $2, last_used_at = $3, ip = COALESCE($4, ip) WHERE tenant_id = $5 AND id = $6")
        .bind(&access.hash)
        .bind(access_expires)
        .bind(now)
        .bind(&client.ip)
        .bind(tid)
        .bind(&sid)
        .execute(&mut *conn)
        .await?;
    record(
        state,
        &mut tx,
        &keys,
        NewEvent::new(&uid, AuditAction::TokenRefreshed, Outcome::Success)
            .target(format!("session:{sid}"))
            .ip(client.ip.clone()),
    )
    .await?;
    tx.commit().await?;
    let session = NewSession {
        id: sid
            .parse()
            .map_err(|_| internal(anyhow::anyhow!("corrupt session")))?,
        access,
        refresh: Some(next),
        access_expires_ms: access_expires,
    };
    Ok(axum::Json(token_response(&session, &user, user.role.requires_mfa())).into_response())
}

pub async fn revoke_session(tx: &mut TenantTx, sid: &str, reason: &str) -> Result<bool, ApiError> {
    let (tid, conn) = tx.split();
    let r = sqlx::query("UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE tenant_id = $3 AND id = $4 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(reason)
        .bind(tid)
        .bind(sid)
        .execute(conn)
        .await?;
    Ok(r.rows_affected() > 0)
}

/// `POST /api/v1/auth/mfa/enroll`: a new seed, pending until a code from it is verified. Replacing an
/// enrolled authenticator needs a fresh MFA verification first.
pub async fn mfa_enroll<R: Requirement>(
    auth: &mut Authorized<R>,
    email: &str,
) -> Result<MfaEnrollResponse, ApiError> {
    let now = now_ms();
    if auth.ctx.mfa_enrolled && !auth.ctx.step_up_fresh(now) {
        return Err(ApiError::StepUpRequired);
    }
    let secret = totp::generate_secret();
    let uri = totp::otpauth_uri(&secret, ISSUER, email)
        .map_err(|e| ApiError::Validation(e.to_string()))?;
    let uid = auth.ctx.user.to_string();
    let sealed = auth
        .keys
        .data
        .seal(&accounts::totp_aad(auth.ctx.tenant, &uid, true), &secret)
        .map_err(internal)?;
    let (tid, conn) = auth.tx.split();
    sqlx::query("UPDATE users SET totp_pending_sealed = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4").bind(sealed).bind(now).bind(tid).bind(&uid).execute(conn).await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::MfaEnrolStarted, Outcome::Success)
            .target(format!("user:{uid}")),
    )
    .await?;
    let qr = qrcode::QrCode::new(uri.as_bytes()).map_err(internal)?;
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(MfaEnrollResponse {
        otpauth_uri: uri.to_string(),
        secret: totp::secret_base32(&secret).to_string(),
        qr_svg: svg,
    })
}

/// `POST /api/v1/auth/mfa/verify`: completes a pending enrolment, or refreshes step-up freshness.
pub async fn mfa_verify<R: Requirement>(
    auth: &mut Authorized<R>,
    code: &str,
) -> Result<MfaVerifyResponse, ApiError> {
    let uid = auth.ctx.user.to_string();
    let user = accounts::find_by_id(&mut auth.tx, auth.ctx.user)
        .await
        .map_err(internal)?
        .ok_or(ApiError::InvalidToken)?;
    let now = now_ms();
    let actor = auth.ctx.actor();
    let target = format!("user:{uid}");
    let pending = open_totp(&auth.keys, auth.ctx.tenant, &user, true)?;
    let (secret, last, is_pending) = match pending {
        Some(p) => (p, None, true),
        None => match open_totp(&auth.keys, auth.ctx.tenant, &user, false)? {
            Some(s) => (s, user.totp_last_step, false),
            None => {
                return Err(ApiError::Conflict(
                    "no MFA enrolment in progress: call /api/v1/auth/mfa/enroll first".into(),
                ));
            }
        },
    };
    match totp::verify(&secret, code, now_secs().unsigned_abs(), last) {
        Ok(step) => {
            let (tid, conn) = auth.tx.split();
            if is_pending {
                sqlx::query("UPDATE users SET totp_sealed = $1, totp_pending_sealed = NULL, totp_last_step = $2, updated_at = $3 WHERE tenant_id = $4 AND id = $5")
                    .bind(auth.keys.data.seal(&accounts::totp_aad(auth.ctx.tenant, &uid, false), &secret).map_err(internal)?)
                    .bind(step)
                    .bind(now)
                    .bind(tid)
                    .bind(&uid)
                    .execute(&mut *conn)
                    .await?;
            } else {
                sqlx::query(
                    "UPDATE users SET totp_last_step = $1 WHERE tenant_id = $2 AND id = $3",
                )
                .bind(step)
                .bind(tid)
                .bind(&uid)
                .execute(&mut *conn)
                .await?;
            }
            sqlx::query("UPDATE sessions SET mfa_at = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(now)
                .bind(tid)
                .bind(auth.ctx.session.to_string())
                .execute(conn)
                .await?;
            let action = if is_pending {
                AuditAction::MfaEnrolled
            } else {
                AuditAction::MfaOk
            };
            auth.audit(NewEvent::new(&actor, action, Outcome::Success).target(&target))
                .await?;
            Ok(MfaVerifyResponse {
                mfa_enrolled: true,
                step_up_valid_until: now / 1000 + totp::STEP_UP_MAX_AGE_SECS,
            })
        }
        Err(e) => {
            let (action, err) = match e {
                TotpError::Replayed => (AuditAction::MfaReplayed, ApiError::MfaReplayed),
                _ => (AuditAction::MfaFailed, ApiError::MfaInvalid),
            };
            let state = auth.state.clone();
            register_failure(&state, &mut auth.tx, &user).await?;
            auth.audit(NewEvent::new(&actor, action, Outcome::Failure).target(&target))
                .await?;
            Err(err)
        }
    }
}

/// `POST /api/v1/auth/password`: verify the current password, apply the policy, revoke the other sessions.
pub async fn change_password<R: Requirement>(
    auth: &mut Authorized<R>,
    current: &str,
    new: &str,
    email: &str,
) -> Result<(), ApiError> {
    let user = accounts::find_by_id(&mut auth.tx, auth.ctx.user)
        .await
        .map_err(internal)?
        .ok_or(ApiError::InvalidToken)?;
    let state = auth.state.clone();
    if !state
        .hasher
        .verify(current, Some(&user.password_hash))
        .await
        .map_err(internal)?
    {
        register_failure(&state, &mut auth.tx, &user).await?;
        let actor = auth.ctx.actor();
        auth.audit(
            NewEvent::new(&actor, AuditAction::LoginFailed, Outcome::Failure)
                .target(format!("user:{actor}"))
                .detail("wrong current password"),
        )
        .await?;
        return Err(ApiError::InvalidCredentials);
    }
    if current == new {
        return Err(ApiError::WeakPassword(
            "the new password must differ from the current one".into(),
        ));
    }
    wms_core::password::check(new, email).map_err(|e| ApiError::WeakPassword(e.to_string()))?;
    let hash = state.hasher.hash(new).await.map_err(internal)?;
    let uid = auth.ctx.user.to_string();
    let (tid, conn) = auth.tx.split();
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0, updated_at = $2, version = version + 1 WHERE tenant_id = $3 AND id = $4")
        .bind(hash)
        .bind(now_ms())
        .bind(tid)
        .bind(&uid)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE sessions SET revoked_at = $1, revoked_reason = 'password changed' WHERE tenant_id = $2 AND user_id = $3 AND id <> $4 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(tid)
        .bind(&uid)
        .bind(auth.ctx.session.to_string())
        .execute(conn)
        .await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::PasswordChanged, Outcome::Success)
            .target(format!("user:{uid}")),
    )
    .await?;
    Ok(())
}

/// The caller's own e-mail (their own data: not an audited PII read).
pub fn own_email<R>(auth: &Authorized<R>, user: &UserRow) -> Result<String, ApiError> {
    accounts::open_email(&auth.keys, auth.ctx.tenant, user).map_err(internal)
}
