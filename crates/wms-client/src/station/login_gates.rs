//! The two gates between a correct password and a session: first-time MFA enrolment (a supervisor or
//! admin without an authenticator) and a forced password change (a new account, a reset).
//!
//! The server answers the first with the problem `mfa_enrollment_required` and a short-lived,
//! restricted enrolment token; the second with tokens marked `password_change_required` whose
//! session may only change the password. [`Station::sign_in`] hands back a [`PendingLogin`] for
//! either, which holds what it takes to go on: the pinned API client, the restricted token and the
//! login's password, in memory only (zeroized on drop, never logged, never in the secret store)
//! until the gate is passed and the station is set up as by a plain login.
//!
//! ```text
//!  sign_in ─┬─ tokens ─────────────────────────────────────────────────────────┬─▶ Station
//!           ├─ mfa_enrollment_required ─▶ MfaEnrolment ─ start, confirm(code) │
//!           │                              └▶ MfaNextCode ─ next code ─▶ sign_in again
//!           └─ password_change_required ─▶ PasswordChange ─ change(current, new) ┘
//! ```
//!
//! After enrolment the user signs in with the *next* code: the server refuses the code that
//! confirmed the enrolment if it is presented again (`mfa_replayed`). After a password change the
//! session the server already opened goes on (the server keeps the changing session and revokes
//! the others), so an MFA user does not need a second code.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicI64;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{
    CACHE_FILE, CACHE_KEY, DEVICE_ID, FEED_CURSOR, LoginParams, Station, StationConfig,
    StationError, StationOptions, api_for, ensure_dir, read_config, warn_if_fallback, write_config,
};
use crate::api::{ApiClient, ApiError, Call};
use crate::cache::{self, Cache, CacheKey};
use crate::secrets::{self, SecretStore};
use crate::session::{Session, Tokens};
use crate::tls::Fingerprint;

/// The outcome of [`Station::sign_in`].
pub enum SignIn {
    SignedIn(Box<Station>),
    /// The password was right; a gate stands before the session.
    Gate(Box<PendingLogin>),
}

/// Which gate a [`PendingLogin`] stands at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// The account must enrol an authenticator: [`PendingLogin::start_enrolment`], then
    /// [`PendingLogin::confirm_enrolment`].
    MfaEnrolment,
    /// Enrolled: sign in with the authenticator's next code ([`PendingLogin::sign_in_with_code`]).
    MfaNextCode,
    /// The password must be changed first ([`PendingLogin::change_password`]).
    PasswordChange,
}

impl Gate {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Gate::MfaEnrolment => "mfa_enrolment",
            Gate::MfaNextCode => "mfa_next_code",
            Gate::PasswordChange => "password_change",
        }
    }
}

impl std::fmt::Display for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new authenticator seed, to show once: the `otpauth://` URI, the base32 secret for manual entry
/// and the URI as a QR code (the server's SVG). All three carry the seed: zeroized on drop.
pub struct Enrolment {
    pub otpauth_uri: Zeroizing<String>,
    pub secret: Zeroizing<String>,
    pub qr_svg: Zeroizing<String>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(<redacted>)")
    }
}

#[derive(Deserialize)]
struct EnrollBody {
    otpauth_uri: String,
    secret: String,
    qr_svg: String,
}

impl Drop for EnrollBody {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.otpauth_uri.zeroize();
        self.secret.zeroize();
        self.qr_svg.zeroize();
    }
}

/// The part of a `mfa_enrollment_required` problem that is read here.
#[derive(Deserialize)]
struct EnrolmentProblem {
    #[serde(default)]
    enrollment_token: Option<String>,
}

impl Drop for EnrolmentProblem {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.enrollment_token.zeroize();
    }
}

/// Everything a login sets up before the server is asked: reused when a gate is passed.
struct Prepared {
    config: StationConfig,
    previous: Option<StationConfig>,
    store: Box<dyn SecretStore>,
    api: ApiClient,
    device: String,
}

enum Pending {
    Enrol {
        token: Zeroizing<String>,
    },
    NextCode,
    PasswordChange {
        tokens: Tokens,
    },
    /// The password was changed and the station set up (or its setup failed): nothing to go on
    /// with here.
    Spent,
}

/// A login stopped at a gate. Not `Clone`, not `Serialize`; its `Debug` shows the gate only.
pub struct PendingLogin {
    data_dir: PathBuf,
    params: LoginParams,
    options: StationOptions,
    /// `None` once a passed gate has handed it on to the station.
    prepared: Option<Prepared>,
    state: Pending,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("gate", &self.gate())
            .finish_non_exhaustive()
    }
}

fn copy_params(p: &LoginParams, totp: Option<String>) -> LoginParams {
    LoginParams {
        server: p.server.clone(),
        fingerprint: p.fingerprint.clone(),
        tenant: p.tenant.clone(),
        email: p.email.clone(),
        password: p.password.clone(),
        totp,
    }
}

/// A refusal of the restricted token itself (expired, revoked): the login has to start over.
fn expired_or(e: ApiError) -> StationError {
    match e.code() {
        "token_expired" | "invalid_token" | "unauthenticated" => StationError::LoginExpired,
        _ => e.into(),
    }
}

impl Station {
    /// Logs in as [`Station::login`] does, but hands back a gate (MFA enrolment, password change)
    /// as a [`PendingLogin`] to go through instead of an error.
    pub async fn sign_in(
        data_dir: &Path,
        params: &LoginParams,
        options: StationOptions,
    ) -> Result<SignIn, StationError> {
        let prepared = prepare(data_dir, params, &options)?;
        let mut body = serde_json::json!({
            "tenant": params.tenant,
            "email": params.email,
            "password": params.password.as_str(),
            "device": prepared.device,
            "device_name": crate::device::hostname(),
        });
        if let Some(code) = &params.totp {
            body["totp"] = serde_json::Value::String(code.trim().to_owned());
        }
        // Sent once: a login is not idempotent (every failure counts towards the lockout).
        let answer = prepared
            .api
            .exchange(&Call::post("/api/v1/auth/login", body))
            .await?;
        let pending = |prepared, state| {
            Ok(SignIn::Gate(Box::new(PendingLogin {
                data_dir: data_dir.to_path_buf(),
                params: copy_params(params, None),
                options: options.clone(),
                prepared: Some(prepared),
                state,
            })))
        };
        if !(200..300).contains(&answer.status) {
            return match answer.problem() {
                ApiError::Problem { code, .. } if code == "mfa_required" => {
                    Err(StationError::MfaRequired)
                }
                ApiError::Problem { code, .. } if code == "mfa_enrollment_required" => {
                    let problem: EnrolmentProblem = answer.json()?;
                    match problem.enrollment_token.as_deref() {
                        Some(t) if !t.is_empty() => pending(
                            prepared,
                            Pending::Enrol {
                                token: Zeroizing::new(t.to_owned()),
                            },
                        ),
                        // Nothing to go on with (an older server): refused as before.
                        _ => Err(StationError::MfaEnrollmentRequired),
                    }
                }
                ApiError::Problem { code, .. } if code == "device_revoked" => Err(
                    crate::device::refused_at_login(data_dir, prepared.store.as_ref()),
                ),
                e => Err(e.into()),
            };
        }
        let tokens: Tokens = answer.json()?;
        if tokens.mfa_enrollment_required {
            // Full tokens for an account without an authenticator: the server never does this
            // (it answers with the problem above); refused rather than half signed in.
            return Err(StationError::MfaEnrollmentRequired);
        }
        if tokens.password_change_required {
            return pending(prepared, Pending::PasswordChange { tokens });
        }
        finish(data_dir, prepared, &tokens, options)
            .await
            .map(|s| SignIn::SignedIn(Box::new(s)))
    }
}

/// The installation, its secret store, the pinned client and the device id.
fn prepare(
    data_dir: &Path,
    params: &LoginParams,
    options: &StationOptions,
) -> Result<Prepared, StationError> {
    ensure_dir(data_dir)?;
    let pin = params
        .fingerprint
        .as_deref()
        .map(Fingerprint::parse)
        .transpose()?;
    let previous = read_config(data_dir)?;
    let (installation_id, store) = match &previous {
        Some(p) => (
            p.installation_id.clone(),
            secrets::open_kind(p.secret_store, &p.installation_id, data_dir)?,
        ),
        None => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            let store = secrets::choose(options.secret_store, &id, data_dir)?;
            (id, store)
        }
    };
    warn_if_fallback(store.kind());
    let config = StationConfig {
        installation_id,
        server: params.server.trim_end_matches('/').to_owned(),
        fingerprint: pin.map(|p| p.to_hex()),
        tenant: params.tenant.clone(),
        secret_store: store.kind(),
        allow_loopback_http: options.allow_loopback_http,
    };
    let api = api_for(&config)?;
    let device = match store.get(DEVICE_ID)? {
        Some(d) => String::from_utf8_lossy(&d).into_owned(),
        None => {
            let d = format!("station-{}", uuid::Uuid::new_v4());
            store.set(DEVICE_ID, d.as_bytes())?;
            d
        }
    };
    Ok(Prepared {
        config,
        previous,
        store,
        api,
        device,
    })
}

/// Installs the session and opens the cache: the station is signed in.
async fn finish(
    data_dir: &Path,
    prepared: Prepared,
    tokens: &Tokens,
    options: StationOptions,
) -> Result<Station, StationError> {
    let Prepared {
        config,
        previous,
        store,
        api,
        ..
    } = prepared;
    let session = Session::new(api, store);
    session.install(tokens)?;

    let key = match session
        .secrets()
        .get(CACHE_KEY)?
        .and_then(|k| CacheKey::from_bytes(&k))
    {
        Some(k) => k,
        None => {
            // A new key: whatever cache is on disk was sealed under a key we no longer have.
            cache::remove_files(&data_dir.join(CACHE_FILE))?;
            let k = CacheKey::generate();
            session.secrets().set(CACHE_KEY, k.as_bytes())?;
            k
        }
    };
    let cache = Cache::open(&data_dir.join(CACHE_FILE), &key).await?;
    let same_source = previous
        .as_ref()
        .is_some_and(|p| p.server == config.server && p.tenant == config.tenant);
    if !same_source {
        // Another server or tenant: the stored feed cursor means nothing there.
        cache.delete_meta(FEED_CURSOR).await?;
    }
    write_config(data_dir, &config)?;
    crate::device::clear_marker(data_dir)?;
    tracing::info!(server = %config.server, tenant = %config.tenant, "logged in");
    Ok(Station {
        data_dir: data_dir.to_path_buf(),
        config,
        session,
        cache,
        options,
        offline_at: AtomicI64::new(0),
    })
}

impl PendingLogin {
    /// The gate this login stands at.
    #[must_use]
    pub fn gate(&self) -> Gate {
        match self.state {
            Pending::Enrol { .. } => Gate::MfaEnrolment,
            Pending::NextCode => Gate::MfaNextCode,
            Pending::PasswordChange { .. } | Pending::Spent => Gate::PasswordChange,
        }
    }

    /// Whether this login can still go on (it cannot after a password change, whether the station
    /// was then set up or not: sign in with the new password).
    #[must_use]
    pub fn is_live(&self) -> bool {
        !matches!(self.state, Pending::Spent)
    }

    /// The account this login is for.
    #[must_use]
    pub fn email(&self) -> &str {
        &self.params.email
    }

    /// The error [`Station::login`] answers for this gate.
    #[must_use]
    pub fn refusal(&self) -> StationError {
        match self.gate() {
            Gate::MfaEnrolment | Gate::MfaNextCode => StationError::MfaEnrollmentRequired,
            Gate::PasswordChange => StationError::PasswordChangeRequired,
        }
    }

    fn wrong_gate(&self, expected: Gate) -> StationError {
        if !self.is_live() {
            return StationError::LoginExpired;
        }
        StationError::WrongLoginGate {
            expected,
            actual: self.gate(),
        }
    }

    fn api(&self) -> Result<&ApiClient, StationError> {
        self.prepared
            .as_ref()
            .map(|p| &p.api)
            .ok_or(StationError::LoginExpired)
    }

    /// A new authenticator seed for this account (pending on the server until a code from it is
    /// confirmed). Called again, it replaces the seed: only the last one shown can be confirmed.
    pub async fn start_enrolment(&mut self) -> Result<Enrolment, StationError> {
        let Pending::Enrol { token, .. } = &self.state else {
            return Err(self.wrong_gate(Gate::MfaEnrolment));
        };
        let call =
            Call::post("/api/v1/auth/mfa/enroll", serde_json::Value::Null).bearer(token.as_str());
        let body: EnrollBody = self.api()?.json(call).await.map_err(expired_or)?;
        Ok(Enrolment {
            otpauth_uri: Zeroizing::new(body.otpauth_uri.clone()),
            secret: Zeroizing::new(body.secret.clone()),
            qr_svg: Zeroizing::new(body.qr_svg.clone()),
        })
    }

    /// Confirms the enrolment with a code from the new authenticator. On success the account is
    /// enrolled and the gate becomes [`Gate::MfaNextCode`]; on a wrong code nothing is enrolled
    /// (`mfa_invalid`; each counts towards the lockout) and the gate stays. Before
    /// [`PendingLogin::start_enrolment`] the server answers `conflict`.
    pub async fn confirm_enrolment(&mut self, code: &str) -> Result<(), StationError> {
        let Pending::Enrol { token } = &self.state else {
            return Err(self.wrong_gate(Gate::MfaEnrolment));
        };
        let code = code.trim();
        if code.is_empty() {
            return Err(StationError::MfaRequired);
        }
        let call = Call::post(
            "/api/v1/auth/mfa/verify",
            serde_json::json!({ "code": code }),
        )
        .bearer(token.as_str());
        self.api()?.unit(call).await.map_err(expired_or)?;
        // The restricted session has done its work: end it now rather than leave it until it
        // expires (best effort: it dies within minutes anyway).
        let logout = Call::post("/api/v1/auth/logout", serde_json::Value::Null)
            .bearer(token.as_str())
            .once();
        if let Err(e) = self.api()?.unit(logout).await {
            tracing::debug!(
                code = e.code(),
                "the enrolment session was not ended on the server"
            );
        }
        self.state = Pending::NextCode;
        Ok(())
    }

    /// Signs in with the authenticator's next code after an enrolment. A refused code
    /// (`mfa_invalid`, `mfa_replayed`: the code that confirmed the enrolment cannot be used again)
    /// leaves the gate as it is, to try the next one.
    pub async fn sign_in_with_code(&mut self, code: &str) -> Result<SignIn, StationError> {
        if !matches!(self.state, Pending::NextCode) {
            return Err(self.wrong_gate(Gate::MfaNextCode));
        }
        let code = code.trim();
        if code.is_empty() {
            return Err(StationError::MfaRequired);
        }
        let params = copy_params(&self.params, Some(code.to_owned()));
        Station::sign_in(&self.data_dir, &params, self.options.clone()).await
    }

    /// Changes the password (`new` twice, compared here before anything is sent) and signs in
    /// with the session the server opened. The server's refusals keep their codes
    /// (`invalid_credentials` for a wrong current password, `weak_password` with the policy's
    /// reason); after any refusal the gate stays as it is.
    pub async fn change_password(
        &mut self,
        current: &str,
        new: &str,
        repeat: &str,
    ) -> Result<Station, StationError> {
        let Pending::PasswordChange { tokens } = &self.state else {
            return Err(self.wrong_gate(Gate::PasswordChange));
        };
        if current.is_empty() || new.is_empty() {
            return Err(StationError::PasswordRequired);
        }
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            new.as_bytes(),
            repeat.as_bytes(),
        )) {
            return Err(StationError::PasswordMismatch);
        }
        let call = Call::post(
            "/api/v1/auth/password",
            serde_json::json!({ "current_password": current, "new_password": new }),
        )
        .bearer(&tokens.access_token)
        .once();
        self.api()?.unit(call).await.map_err(expired_or)?;
        let Pending::PasswordChange { tokens } = std::mem::replace(&mut self.state, Pending::Spent)
        else {
            return Err(StationError::LoginExpired);
        };
        let prepared = self.prepared.take().ok_or(StationError::LoginExpired)?;
        finish(&self.data_dir, prepared, &tokens, self.options.clone()).await
    }
}
