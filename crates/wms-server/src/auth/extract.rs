//! The one place where permissions are checked.
//!
//! A handler declares what it needs in its signature, e.g. `Authorized<req::ManageUsers>`. The
//! extractor authenticates the bearer token, applies the MFA and password-change gates, checks the
//! role's permissions and the step-up freshness, and only then hands out the tenant-scoped
//! transaction. A handler without an `Authorized<_>` has no way to reach tenant data.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;
use wms_core::audit::{AuditAction, Outcome};
use wms_core::ids::{SessionId, TenantId, UserId};
use wms_core::role::{Permission, Role};
use wms_core::totp::STEP_UP_MAX_AGE_SECS;

use super::tokens::{self, Kind};
use crate::audit::{self, NewEvent};
use crate::db::TenantTx;
use crate::error::ApiError;
use crate::idempotency::{self, IdemRequest};
use crate::keys::TenantKeys;
use crate::state::AppState;
use crate::time::now_ms;

/// What a handler requires. Implemented by the zero-sized markers in [`req`].
pub trait Requirement: Send + Sync + 'static {
    const PERMISSION: Permission;
    /// Needs an MFA verification younger than five minutes.
    const STEP_UP: bool = false;
    /// Allowed for a session that still has to change its password or enrol MFA.
    const WHILE_RESTRICTED: bool = false;
}

pub mod req {
    use super::{Permission, Requirement};

    macro_rules! requirement {
        ($(#[$d:meta])* $name:ident, $perm:ident $(, $k:ident = $v:expr)*) => {
            $(#[$d])*
            pub struct $name;
            impl Requirement for $name {
                const PERMISSION: Permission = Permission::$perm;
                $(const $k: bool = $v;)*
            }
        };
    }

    requirement!(
        /// `/me`, password change, MFA enrolment, logout: allowed before MFA/password gates are met.
        Account, SelfService, WHILE_RESTRICTED = true
    );
    requirement!(
        /// Own sessions and other self-service once fully signed in.
        SelfService, SelfService
    );
    requirement!(ManageUsers, ManageUsers);
    requirement!(
        /// Changing a role or resetting someone's MFA: high-risk.
        ManageUsersStepUp, ManageUsers, STEP_UP = true
    );
    requirement!(
        /// Connecting, revoking and purging Amazon (and later carrier) accounts: high-risk.
        ManageConnections, ManageUsers, STEP_UP = true
    );
    requirement!(ReadAudit, ReadAudit);
    requirement!(
        /// Packer work: orders released to packing, pack, dispatch.
        Pack, Pack
    );
    requirement!(
        /// Stock, receiving, adjustments, master data, returns, order exceptions.
        ManageInventory, ManageInventory
    );
    requirement!(
        /// Reading a full recipient (always audited).
        ReadPii, ReadPii
    );
    requirement!(
        /// Key rotation and release pushes.
        ManageSystem, ManageSystem, STEP_UP = true
    );
}

/// Who is calling, as established from the session.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub tenant: TenantId,
    pub user: UserId,
    pub role: Role,
    pub session: SessionId,
    pub mfa_at: Option<i64>,
    pub mfa_enrolled: bool,
    pub must_change_password: bool,
    pub ip: Option<String>,
}

impl AuthContext {
    #[must_use]
    pub fn actor(&self) -> String {
        self.user.to_string()
    }

    #[must_use]
    pub fn step_up_fresh(&self, now_ms: i64) -> bool {
        self.mfa_at
            .is_some_and(|at| now_ms - at <= STEP_UP_MAX_AGE_SECS * 1000)
    }
}

/// Proof that the caller may do `R`, with the transaction to do it in.
pub struct Authorized<R> {
    pub ctx: AuthContext,
    pub tx: TenantTx,
    pub keys: Arc<TenantKeys>,
    pub state: AppState,
    _r: PhantomData<R>,
}

impl<R> Authorized<R> {
    /// Record an audit event in this request's transaction.
    pub async fn audit(&mut self, ev: NewEvent) -> Result<(), ApiError> {
        audit::append(
            &mut self.tx,
            self.state.db.backend(),
            &self.keys,
            ev.ip(self.ctx.ip.clone()),
        )
        .await
        .map_err(ApiError::internal)?;
        Ok(())
    }

    /// An id that does not resolve in the caller's tenant: 404 (no existence leak) and an
    /// `access_denied` event, committed even though the request fails.
    pub async fn not_found(mut self, what: &'static str, target: String) -> ApiError {
        let ev = NewEvent::new(self.ctx.actor(), AuditAction::AccessDenied, Outcome::Denied)
            .target(target)
            .detail(format!("{what} not found in tenant"));
        if let Err(e) = self.audit(ev).await {
            return e;
        }
        match self.tx.commit().await {
            Ok(()) => ApiError::NotFound(what),
            Err(e) => e.into(),
        }
    }
}

#[must_use]
pub fn client_ip(parts: &Parts) -> Option<String> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
}

pub fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

type SessionRow = (
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    String,
    i64,
    i64,
);

impl<R: Requirement> FromRequestParts<AppState> for Authorized<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        authorize::<R>(parts, state).await
    }
}

async fn authorize<R: Requirement>(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Authorized<R>, Response> {
    let ip = client_ip(parts);
    let token = bearer(parts).ok_or_else(|| ApiError::Unauthenticated.into_response())?;
    let tenant =
        tokens::parse(Kind::Access, token).ok_or_else(|| ApiError::InvalidToken.into_response())?;
    let hash = tokens::hash(token);
    let mut tx = state
        .db
        .tenant_tx(tenant)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    let (tid, conn) = tx.split();
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.id, s.user_id, s.access_expires_at, s.revoked_at, s.mfa_at, s.last_used_at, u.role, u.must_change_password, \
                CAST(CASE WHEN u.totp_sealed IS NULL THEN 0 ELSE 1 END AS BIGINT) \
         FROM sessions s JOIN users u ON u.tenant_id = s.tenant_id AND u.id = s.user_id \
         WHERE s.tenant_id = $1 AND s.access_hash = $2",
    )
    .bind(tid)
    .bind(&hash)
    .fetch_optional(conn)
    .await
    .map_err(|e| ApiError::from(e).into_response())?;
    let Some((sid, uid, expires, revoked, mfa_at, last_used, role, must_change, enrolled)) = row
    else {
        return Err(ApiError::InvalidToken.into_response());
    };
    let parse_err = || ApiError::internal(anyhow::anyhow!("corrupt session row")).into_response();
    let ctx = AuthContext {
        tenant,
        user: uid.parse().map_err(|_| parse_err())?,
        role: role.parse().map_err(|_| parse_err())?,
        session: sid.parse().map_err(|_| parse_err())?,
        mfa_at,
        mfa_enrolled: enrolled == 1,
        must_change_password: must_change == 1,
        ip,
    };
    let keys = state
        .keys
        .tenant(&mut tx)
        .await
        .map_err(|e| ApiError::internal(e).into_response())?;
    let mut auth = Authorized::<R> {
        ctx,
        tx,
        keys,
        state: state.clone(),
        _r: PhantomData,
    };
    let now = now_ms();
    let path = parts.uri.path().to_owned();

    let denial = if revoked.is_some() {
        Some((ApiError::InvalidToken, "revoked token"))
    } else if expires <= now {
        Some((ApiError::TokenExpired, "expired token"))
    } else if !R::WHILE_RESTRICTED && auth.ctx.must_change_password {
        Some((ApiError::PasswordChangeRequired, "password change required"))
    } else if !R::WHILE_RESTRICTED && auth.ctx.role.requires_mfa() && !auth.ctx.mfa_enrolled {
        Some((
            ApiError::MfaEnrollmentRequired {
                enrollment_token: None,
            },
            "mfa enrollment required",
        ))
    } else if !R::WHILE_RESTRICTED && auth.ctx.mfa_enrolled && auth.ctx.mfa_at.is_none() {
        Some((ApiError::MfaRequired, "mfa not verified in this session"))
    } else if !auth.ctx.role.allows(R::PERMISSION) {
        Some((ApiError::Forbidden, "role lacks permission"))
    } else if R::STEP_UP && !auth.ctx.step_up_fresh(now) {
        Some((ApiError::StepUpRequired, "step-up mfa required"))
    } else {
        None
    };
    if let Some((err, why)) = denial {
        let ev = NewEvent::new(auth.ctx.actor(), AuditAction::AccessDenied, Outcome::Denied)
            .target(path)
            .detail(format!(
                "{why} (role={}, needs {:?})",
                auth.ctx.role,
                R::PERMISSION
            ));
        auth.audit(ev).await.map_err(IntoResponse::into_response)?;
        auth.tx
            .commit()
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        return Err(err.into_response());
    }

    // Recorded at most once a minute, so that reads do not all become writes.
    if now - last_used > 60_000 {
        let (tid, conn) = auth.tx.split();
        sqlx::query("UPDATE sessions SET last_used_at = $1, ip = COALESCE($2, ip) WHERE tenant_id = $3 AND id = $4")
            .bind(now)
            .bind(&auth.ctx.ip)
            .bind(tid)
            .bind(auth.ctx.session.to_string())
            .execute(conn)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
    }

    if let Some(idem) = parts.extensions.get::<IdemRequest>().cloned() {
        let principal = format!("user:{}", auth.ctx.user);
        match idempotency::claim(&mut auth.tx, &auth.keys, &principal, &idem).await {
            Ok(Some(replayed)) => return Err(replayed),
            Ok(None) => {}
            Err(e) => return Err(e.into_response()),
        }
    }
    Ok(auth)
}
