//! The one place where permissions are checked.
//!
//! A handler declares what it needs in its signature, e.g. `Authorized<req::ManageUsers>`. The
//! extractor authenticates the bearer token, applies the MFA and password-change gates, checks the
//! role's permissions and the step-up freshness, and only then hands out the tenant-scoped
//! transaction. A handler without an `Authorized<_>` has no way to reach tenant data.
//!
//! A handler that only reads says so with `Authorized<R, ReadOnly>`: its transaction is a read
//! snapshot (SQLite: a deferred transaction under WAL, outside the single writer's turn, so reads
//! run beside the writer and each other; PostgreSQL: `READ ONLY`, enforced by the server). It cannot
//! append audit events; the denial and "id not found" events, which must be written, are written
//! in a transaction of their own.

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
        /// Data-subject requests (export, correct, delete): high-risk.
        DataRequest, ManageData, STEP_UP = true
    );
    requirement!(
        /// Key rotation and release pushes.
        ManageSystem, ManageSystem, STEP_UP = true
    );
    requirement!(
        /// Reading the published releases: an admin's, but not high-risk (no step-up).
        ReadReleases, ManageSystem
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

/// How a handler uses its transaction: [`Writes`] (the default) or [`ReadOnly`].
pub trait TxMode: Send + Sync + 'static {
    const READ_ONLY: bool;
}

/// The handler may write (and audit): SQLite's writer turn is taken up front.
pub struct Writes;
impl TxMode for Writes {
    const READ_ONLY: bool = false;
}

/// The handler only reads: a read snapshot, concurrent with writers.
pub struct ReadOnly;
impl TxMode for ReadOnly {
    const READ_ONLY: bool = true;
}

/// Proof that the caller may do `R`, with the transaction to do it in.
pub struct Authorized<R, M = Writes> {
    pub ctx: AuthContext,
    pub tx: TenantTx,
    pub keys: Arc<TenantKeys>,
    pub state: AppState,
    _r: PhantomData<(R, M)>,
}

impl<R> Authorized<R, Writes> {
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
}

impl<R, M: TxMode> Authorized<R, M> {
    /// An id that does not resolve in the caller's tenant: 404 (no existence leak) and an
    /// `access_denied` event, committed even though the request fails (from a read-only request,
    /// in a write transaction of its own).
    pub async fn not_found(mut self, what: &'static str, target: String) -> ApiError {
        if M::READ_ONLY {
            drop(self.tx);
            self.tx = match self.state.db.tenant_tx(self.ctx.tenant).await {
                Ok(tx) => tx,
                Err(e) => return e.into(),
            };
        }
        let ev = NewEvent::new(self.ctx.actor(), AuditAction::AccessDenied, Outcome::Denied)
            .target(target)
            .detail(format!("{what} not found in tenant"));
        if let Err(e) = audit::append(
            &mut self.tx,
            self.state.db.backend(),
            &self.keys,
            ev.ip(self.ctx.ip.clone()),
        )
        .await
        {
            return ApiError::internal(e);
        }
        match self.tx.commit().await {
            Ok(()) => ApiError::NotFound(what),
            Err(e) => e.into(),
        }
    }

    fn into_mode<N: TxMode>(self) -> Authorized<R, N> {
        Authorized {
            ctx: self.ctx,
            tx: self.tx,
            keys: self.keys,
            state: self.state,
            _r: PhantomData,
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

impl<R: Requirement, M: TxMode> FromRequestParts<AppState> for Authorized<R, M> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // A read-only request is authorised in a read snapshot; when authorising has something to
        // write (a denial's audit event, the once-a-minute session touch, an idempotency claim),
        // it starts over in a write transaction, which the handler then reads in.
        if M::READ_ONLY
            && let Some(auth) = authorize::<R>(parts, state, true).await?
        {
            return Ok(auth.into_mode());
        }
        match authorize::<R>(parts, state, false).await? {
            Some(auth) => Ok(auth.into_mode()),
            None => Err(ApiError::internal(anyhow::anyhow!(
                "authorisation in a write transaction asked for one"
            ))
            .into_response()),
        }
    }
}

/// `Ok(None)`: only when `read_only`, authorising needs to write; start over with a write
/// transaction.
async fn authorize<R: Requirement>(
    parts: &mut Parts,
    state: &AppState,
    read_only: bool,
) -> Result<Option<Authorized<R>>, Response> {
    let ip = client_ip(parts);
    let token = bearer(parts).ok_or_else(|| ApiError::Unauthenticated.into_response())?;
    let tenant =
        tokens::parse(Kind::Access, token).ok_or_else(|| ApiError::InvalidToken.into_response())?;
    let hash = tokens::hash(token);
    let tx = if read_only {
        state.db.tenant_read_tx(tenant).await
    } else {
        state.db.tenant_tx(tenant).await
    };
    let mut tx = tx.map_err(|e| ApiError::from(e).into_response())?;
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
    let now = now_ms();
    // Recorded at most once a minute, so that reads do not all become writes.
    let touch = now - last_used > 60_000;
    let idem = parts.extensions.get::<IdemRequest>().cloned();
    if read_only && (touch || idem.is_some()) {
        return Ok(None);
    }
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
        if read_only {
            return Ok(None);
        }
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

    if touch {
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

    if let Some(idem) = idem {
        let principal = format!("user:{}", auth.ctx.user);
        match idempotency::claim(&mut auth.tx, &auth.keys, &principal, &idem).await {
            Ok(Some(replayed)) => return Err(replayed),
            Ok(None) => {}
            Err(e) => return Err(e.into_response()),
        }
    }
    Ok(Some(auth))
}
