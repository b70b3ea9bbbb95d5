//! The station: one data directory, one installation, one signed-in user at a time.
//!
//! `DATA/station.json` holds what is not secret (installation id, server URL, pinned fingerprint,
//! tenant, which secret store is in use); `DATA/cache.sqlite` the sealed cache; the secrets are in
//! the secret store (OS keyring, or `DATA/secrets/` as the explicit fallback).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::api::{ApiClient, ApiConfig, ApiError, Call};
use crate::cache::{self, Cache, CacheCounts, CacheError, CacheKey, OutboxRow};
use crate::desk::{NewPackage, PackResult};
use crate::label::{self, LabelBuildError};
use crate::model::{LabelRecipient, Order, Package, RecipientWire, Warehouse};
use crate::outbox::{self, ReplayReport};
use crate::print::PrintError;
use crate::secrets::{self, SecretError, SecretStoreKind, StorePreference};
use crate::session::{Session, SessionError};
use crate::sync::{self, FEED_CURSOR, SyncEvent, SyncReport};
use crate::tls::{Fingerprint, FingerprintError};
use wms_core::fulfilment::{self, OrderEvent, OrderState, PackLine, PackRefusal, PackageInput};

mod login_gates;
mod printing;
pub use login_gates::{Enrolment, Gate, PendingLogin, SignIn};
pub use printing::{LabelSource, PrintOutcome, SlipOutcome};

const CONFIG_FILE: &str = "station.json";
pub(crate) const CACHE_FILE: &str = "cache.sqlite";
pub(crate) const CACHE_KEY: &str = "cache_key";
pub(crate) const DEVICE_ID: &str = "device_id";
/// The working set the stored feed cursor was built for (a different one needs a full load).
const FEED_WORKING_SET: &str = "feed_working_set";

/// Statuses of the orders this station works on (released to packing, not yet gone).
pub const DEFAULT_WORKING_SET: [&str; 3] = ["allocated", "picking", "packed"];
/// Order statuses in which the recipient may be kept (the order is open at the bench).
const OPEN_STATUSES: [&str; 5] = ["received", "allocated", "backordered", "picking", "packed"];

#[derive(Debug, thiserror::Error)]
pub enum StationError {
    #[error("data directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("station configuration {path} is unreadable: {message}")]
    Config { path: PathBuf, message: String },
    #[error("not logged in (run `wms-station login`)")]
    NotLoggedIn,
    #[error("this account needs a TOTP code: pass --totp CODE")]
    MfaRequired,
    #[error("this account has not enrolled MFA yet: enrol it first (sign in with the desktop app)")]
    MfaEnrollmentRequired,
    #[error(
        "this account must change its one-time password first (the desktop app, or `wms-station login --new-password-stdin`)"
    )]
    PasswordChangeRequired,
    /// A login stopped at a gate can no longer go on (its restricted token expired or was
    /// revoked, or the gate was passed already).
    #[error("this sign-in has expired: sign in again")]
    LoginExpired,
    #[error("this sign-in is at the {actual} step, not at {expected}")]
    WrongLoginGate {
        expected: login_gates::Gate,
        actual: login_gates::Gate,
    },
    #[error("enter the current and the new password")]
    PasswordRequired,
    #[error("the new password and its repetition differ")]
    PasswordMismatch,
    #[error(transparent)]
    Fingerprint(#[from] FingerprintError),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(
        "the cache key is missing from the {0} store: the cache cannot be opened (log in again)"
    )]
    CacheKeyMissing(&'static str),
    #[error("order {0} is not in the local cache and the server is unreachable")]
    OrderUnavailable(String),
    #[error("no order `{0}`: scan the order's barcode (its id or the Amazon order id)")]
    OrderNotFound(String),
    #[error("order {id} is {status}: only a packed order can be dispatched")]
    NotPacked { id: String, status: String },
    #[error("order {0} already has a dispatch waiting in the outbox")]
    AlreadyQueued(String),
    #[error("order {0} has no package: record one before dispatch")]
    NoPackage(String),
    /// A scan or package checked against the cached order (the server unreachable) and refused
    /// with the code the server would give.
    #[error(transparent)]
    PackRefused(#[from] PackRefusal),
    #[error(
        "the server is unreachable: whether lot `{0}` was allocated to this order cannot be checked here; scan the item without its lot, or wait for the connection"
    )]
    LotUnverifiableOffline(String),
    #[error(
        "{0} action(s) recorded at this station have not reached the server yet: logging out would lose them (connect, or force)"
    )]
    OutboxNotEmpty(i64),
    #[error(
        "the server's change feed is at {head}, behind this station's cursor {cursor} (another or a restored database): a full load follows"
    )]
    FeedBehind { cursor: i64, head: i64 },
    #[error(
        "the server is unreachable: whether order {order} package {package} has a label booked on the server cannot be checked, and a booked label is only printed from the server (where prints are counted); print when the connection is back"
    )]
    LabelUnavailableOffline { order: String, package: i64 },
    #[error(
        "the server is unreachable: the packing slip of order {0} is made by the server (it holds the recipient's address); print when the connection is back"
    )]
    SlipUnavailableOffline(String),
    #[error(
        "no {0} printer is set for this station: an admin sets it in the device's printer profile, or name one (cups://QUEUE)"
    )]
    PrinterNotConfigured(&'static str),
    #[error(
        "this station's cache and keys were erased at an administrator's request (remote wipe): log in again"
    )]
    DeviceWiped,
    #[error(
        "this device has been revoked by an administrator: its cache and keys were erased and it can no longer sign in"
    )]
    DeviceRevoked,
    #[error(transparent)]
    Label(#[from] LabelBuildError),
    #[error(transparent)]
    Print(#[from] PrintError),
}

impl StationError {
    /// A stable code for the UI.
    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            StationError::Io { .. } => "io",
            StationError::Config { .. } => "config",
            StationError::NotLoggedIn => "not_logged_in",
            StationError::MfaRequired => "mfa_required",
            StationError::MfaEnrollmentRequired => "mfa_enrollment_required",
            StationError::PasswordChangeRequired => "password_change_required",
            StationError::LoginExpired => "login_expired",
            StationError::WrongLoginGate { .. } => "wrong_login_gate",
            StationError::PasswordRequired => "password_required",
            StationError::PasswordMismatch => "password_mismatch",
            StationError::Fingerprint(_) => "bad_fingerprint",
            StationError::Api(e) => e.code(),
            StationError::Session(SessionError::Api(e)) => e.code(),
            StationError::Session(SessionError::NotLoggedIn) => "not_logged_in",
            StationError::Session(SessionError::Expired) => "session_expired",
            StationError::Session(SessionError::Secret(_)) | StationError::Secret(_) => {
                "secret_store"
            }
            StationError::Cache(CacheError::Tampered { .. }) => "cache_tampered",
            StationError::Cache(_) => "cache",
            StationError::CacheKeyMissing(_) => "cache_key_missing",
            StationError::OrderUnavailable(_) => "order_unavailable",
            StationError::OrderNotFound(_) => "order_not_found",
            StationError::NotPacked { .. } => "not_packed",
            StationError::AlreadyQueued(_) => "already_queued",
            StationError::NoPackage(_) => "no_package",
            StationError::PackRefused(r) => r.code(),
            StationError::LotUnverifiableOffline(_) => "lot_unverifiable_offline",
            StationError::OutboxNotEmpty(_) => "outbox_not_empty",
            StationError::FeedBehind { .. } => "feed_behind",
            StationError::LabelUnavailableOffline { .. } => "label_unavailable_offline",
            StationError::SlipUnavailableOffline(_) => "slip_unavailable_offline",
            StationError::PrinterNotConfigured(_) => "printer_not_configured",
            StationError::DeviceWiped => "device_wiped",
            StationError::DeviceRevoked => "device_revoked",
            StationError::Label(_) => "label_invalid",
            StationError::Print(e) => e.code(),
        }
    }

    pub(crate) fn is_offline(&self) -> bool {
        match self {
            StationError::Api(e) => e.is_offline(),
            StationError::Session(s) => s.is_offline(),
            _ => false,
        }
    }

    /// No answer came back: the server could not be reached, or the connection broke (a TLS
    /// error included: a pooled connection to a server that went away ends in a TLS EOF). The
    /// request may or may not have reached the server; the same request under the same
    /// idempotency key, sent later, takes effect once either way.
    pub(crate) fn is_unanswered(&self) -> bool {
        match self {
            StationError::Api(e) | StationError::Session(SessionError::Api(e)) => {
                outbox::is_unanswered(e)
            }
            _ => false,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StationError + '_ {
    move |source| StationError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StationConfig {
    installation_id: String,
    server: String,
    fingerprint: Option<String>,
    tenant: String,
    secret_store: SecretStoreKind,
    #[serde(default)]
    allow_loopback_http: bool,
}

/// Options that are not part of the stored configuration.
#[derive(Debug, Clone)]
pub struct StationOptions {
    /// Which secret store a new installation uses (an existing one keeps its recorded choice).
    pub secret_store: StorePreference,
    /// Accept `http://` to loopback (tests only).
    pub allow_loopback_http: bool,
    /// Order statuses synced into the cache.
    pub working_set: Vec<String>,
    /// The TrueType font labels are rendered with (Japanese glyphs).
    pub label_font: PathBuf,
    /// Change-feed entries per page in a delta sync (1–1000).
    pub feed_page: usize,
    /// The label printer's resolution (203 or 300 dpi) chosen at this station; without it, the
    /// station profile's, else 203.
    pub label_dpi: Option<u32>,
    /// The CUPS scheduler this station prints through (a socket path or `host:port`); `None`:
    /// the one `CUPS_SERVER` names, else the system's.
    pub cups_server: Option<String>,
    /// The cached working set expires this long after the last successful sync: a station that
    /// has not reached the server for longer does not pack against what it last knew (orders
    /// with an action in the outbox are kept).
    pub cache_ttl: Duration,
    /// A cached recipient (label fields) is dropped this long after it was read.
    pub recipient_ttl: Duration,
    /// The rows of the cache may take at most this many bytes; beyond it the least recently
    /// written orders are evicted after a sync (an evicted order is read from the server when
    /// scanned).
    pub cache_cap_bytes: u64,
}

/// Default [`StationOptions::cache_ttl`]: a week.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Default [`StationOptions::recipient_ttl`]: a day.
pub const DEFAULT_RECIPIENT_TTL: Duration = Duration::from_secs(24 * 3600);
/// Default [`StationOptions::cache_cap_bytes`]: 1 GiB.
pub const DEFAULT_CACHE_CAP_BYTES: u64 = 1 << 30;
/// The meta key of the last successful sync, in Unix milliseconds.
const LAST_SYNC_MS: &str = "last_sync_ms";

impl Default for StationOptions {
    fn default() -> Self {
        Self {
            secret_store: StorePreference::Auto,
            allow_loopback_http: false,
            working_set: DEFAULT_WORKING_SET
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            label_font: PathBuf::from(label::DEFAULT_FONT),
            feed_page: sync::FEED_PAGE,
            label_dpi: None,
            cups_server: None,
            cache_ttl: DEFAULT_CACHE_TTL,
            recipient_ttl: DEFAULT_RECIPIENT_TTL,
            cache_cap_bytes: DEFAULT_CACHE_CAP_BYTES,
        }
    }
}

/// What to log in with. The password is zeroized on drop.
pub struct LoginParams {
    pub server: String,
    pub fingerprint: Option<String>,
    pub tenant: String,
    pub email: String,
    pub password: Zeroizing<String>,
    pub totp: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StationStatus {
    pub online: bool,
    pub logged_in: bool,
    pub server: String,
    pub tenant: String,
    pub secret_store: SecretStoreKind,
    pub secret_store_description: &'static str,
    pub outbox_pending: i64,
    pub outbox_conflicts: i64,
    pub cached_orders: i64,
    pub cached_skus: i64,
    pub cached_recipients: i64,
    pub cache_bytes: u64,
    pub last_sync: Option<String>,
    /// This installation's device id (sent at login).
    pub device_id: Option<String>,
    /// Whether the server asks for a wipe, as last read (`None`: never read). A wipe the station
    /// sees is carried out at once, so `status` itself then fails with `device_wiped`.
    pub wipe_pending: Option<bool>,
    /// When the device record was last read from the server.
    pub device_checked_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DispatchOutcome {
    pub order_id: String,
    pub idempotency_key: String,
    pub ship_time: String,
    /// Replay result right after recording (the dispatch may still be waiting offline).
    pub replay: ReplayReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogoutOutcome {
    /// False when the server was unreachable: the session then dies when its refresh token expires
    /// (it is wiped here, so this station can no longer use it); an admin can revoke it sooner.
    pub revoked_on_server: bool,
    pub outbox_discarded: i64,
}

/// How long after finding the server unreachable the bench records scans, packages and
/// dispatches without trying the server first: each try of an unreachable server costs a connect
/// timeout (and retries), and a packer scans every second or two.
const OFFLINE_HOLD_MS: i64 = 10_000;

pub struct Station {
    data_dir: PathBuf,
    config: StationConfig,
    session: Session,
    cache: Cache,
    options: StationOptions,
    /// When a call last found the server unreachable (Unix ms; 0: not since the last success).
    offline_at: AtomicI64,
}

impl std::fmt::Debug for Station {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Station")
            .field("data_dir", &self.data_dir)
            .field("server", &self.config.server)
            .finish_non_exhaustive()
    }
}

fn ensure_dir(dir: &Path) -> Result<(), StationError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    Ok(())
}

fn read_config(data_dir: &Path) -> Result<Option<StationConfig>, StationError> {
    let path = data_dir.join(CONFIG_FILE);
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| StationError::Config {
                path,
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path)(e)),
    }
}

fn write_config(data_dir: &Path, c: &StationConfig) -> Result<(), StationError> {
    let path = data_dir.join(CONFIG_FILE);
    let tmp = data_dir.join(".station.json.tmp");
    let bytes = serde_json::to_vec_pretty(c).map_err(|e| StationError::Config {
        path: path.clone(),
        message: e.to_string(),
    })?;
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(())
}

fn api_for(c: &StationConfig) -> Result<ApiClient, StationError> {
    let pin = c
        .fingerprint
        .as_deref()
        .map(Fingerprint::parse)
        .transpose()?;
    let mut cfg = ApiConfig::new(c.server.clone(), pin);
    cfg.allow_loopback_http = c.allow_loopback_http;
    Ok(ApiClient::new(&cfg)?)
}

fn warn_if_fallback(kind: SecretStoreKind) {
    if kind == SecretStoreKind::File {
        tracing::warn!(
            "secrets are kept in key files under the data directory (mode 0600), not in an OS keyring"
        );
    }
}

impl Station {
    /// Logs in (password, and TOTP when the account has MFA) and prepares the cache. An account
    /// that must first enrol MFA or change its password is refused with that gate's error; to go
    /// through the gate instead, use [`Station::sign_in`].
    pub async fn login(
        data_dir: &Path,
        params: LoginParams,
        options: StationOptions,
    ) -> Result<Self, StationError> {
        match Self::sign_in(data_dir, &params, options).await? {
            SignIn::SignedIn(station) => Ok(*station),
            SignIn::Gate(pending) => Err(pending.refusal()),
        }
    }

    /// Opens an installation that has logged in before (possibly offline).
    pub async fn open(data_dir: &Path, options: StationOptions) -> Result<Self, StationError> {
        let config = read_config(data_dir)?.ok_or(StationError::NotLoggedIn)?;
        let store = secrets::open_kind(config.secret_store, &config.installation_id, data_dir)?;
        warn_if_fallback(store.kind());
        let kind = store.kind();
        let api = api_for(&config)?;
        let session = Session::new(api, store);
        crate::device::refuse_if_erased(data_dir, session.secrets())?;
        let key = session
            .secrets()
            .get(CACHE_KEY)?
            .and_then(|k| CacheKey::from_bytes(&k))
            .ok_or(StationError::CacheKeyMissing(kind.describe()))?;
        let cache = Cache::open(&data_dir.join(CACHE_FILE), &key).await?;
        let station = Self {
            data_dir: data_dir.to_path_buf(),
            config,
            session,
            cache,
            options,
            offline_at: AtomicI64::new(0),
        };
        // Stale data is dropped before anything can be read from it, online or not.
        station.expire_stale_cache().await?;
        Ok(station)
    }

    #[must_use]
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    #[must_use]
    pub fn session(&self) -> &Session {
        &self.session
    }

    #[must_use]
    pub fn secret_store_kind(&self) -> SecretStoreKind {
        self.config.secret_store
    }

    #[must_use]
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The server this station is logged in to.
    #[must_use]
    pub fn server(&self) -> &str {
        &self.config.server
    }

    #[must_use]
    pub fn tenant(&self) -> &str {
        &self.config.tenant
    }

    /// The server certificate this station pins (`None`: the server is verified against the
    /// webpki roots). Other clients of the same server (the updater) pin it too.
    #[must_use]
    pub fn pinned_fingerprint(&self) -> Option<Fingerprint> {
        self.config
            .fingerprint
            .as_deref()
            .and_then(|f| Fingerprint::parse(f).ok())
    }

    /// Whether plain `http://` to a loopback server is accepted (tests only).
    #[must_use]
    pub fn allows_loopback_http(&self) -> bool {
        self.config.allow_loopback_http
    }

    /// Sets the label printer's resolution chosen at this station (see [`StationOptions`]).
    pub fn set_label_dpi(&mut self, dpi: Option<u32>) {
        self.options.label_dpi = dpi;
    }

    #[must_use]
    pub fn options(&self) -> &StationOptions {
        &self.options
    }

    pub async fn status(&self) -> Result<StationStatus, StationError> {
        let online = self.session.api().reachable().await;
        self.note_reachable(online);
        if online {
            self.device_gate().await?;
        }
        let device = self.device_info().await?;
        let CacheCounts {
            orders,
            skus,
            recipients,
            outbox_pending,
            outbox_conflicts,
        } = self.cache.counts().await?;
        Ok(StationStatus {
            online,
            logged_in: self.session.has_refresh_token()?,
            server: self.config.server.clone(),
            tenant: self.config.tenant.clone(),
            secret_store: self.config.secret_store,
            secret_store_description: self.config.secret_store.describe(),
            outbox_pending,
            outbox_conflicts,
            cached_orders: orders,
            cached_skus: skus,
            cached_recipients: recipients,
            cache_bytes: self.cache.size_on_disk(),
            last_sync: self.cache.meta("last_sync").await?,
            device_id: self.device_id()?,
            wipe_pending: device.as_ref().map(|d| d.wipe),
            device_checked_at: device.and_then(|d| d.checked_at),
        })
    }

    /// Replays the outbox, then brings the cache up to date: a full load the first time (or when
    /// the stored cursor cannot be used), else the changes since the stored feed cursor.
    pub async fn sync(
        &self,
        progress: &mut (dyn FnMut(&SyncEvent) + Send),
    ) -> Result<SyncReport, StationError> {
        let replay = self.replay_outbox().await?;
        let expired = self.expire_stale_cache().await?;
        let mut report = match self.feed_cursor().await? {
            Some(cursor) => {
                let source = sync::FeedSource::new(
                    &self.session,
                    &self.options.working_set,
                    cursor,
                    self.options.feed_page,
                );
                match sync::run(&self.cache, source, progress).await {
                    Err(e @ StationError::FeedBehind { .. }) => {
                        tracing::warn!(error = %e, "change feed cursor unusable: full load");
                        self.cache.delete_meta(FEED_CURSOR).await?;
                        self.full_load(progress).await?
                    }
                    other => other?,
                }
            }
            None => self.full_load(progress).await?,
        };
        report.outbox = replay;
        report.expired = expired;
        self.cache.set_meta("last_sync", &now_rfc3339()).await?;
        self.cache
            .set_meta(LAST_SYNC_MS, &cache::now_ms().to_string())
            .await?;
        report.evicted_orders = self
            .cache
            .evict_orders_to(self.options.cache_cap_bytes)
            .await?;
        if report.evicted_orders > 0 {
            tracing::warn!(
                evicted = report.evicted_orders,
                cap_bytes = self.options.cache_cap_bytes,
                "local cache over its size cap: least recently written orders evicted"
            );
        }
        Ok(report)
    }

    /// Applies the cache's time limits: recipients older than their TTL go; the whole working
    /// set goes when the last successful sync is older than the cache TTL (the next sync is then
    /// a full load). Returns whether the working set expired.
    pub async fn expire_stale_cache(&self) -> Result<bool, StationError> {
        let now = cache::now_ms();
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.cache
            .purge_recipients_before(now.saturating_sub(ms(self.options.recipient_ttl)))
            .await?;
        let last: Option<i64> = self
            .cache
            .meta(LAST_SYNC_MS)
            .await?
            .and_then(|v| v.parse().ok());
        match last {
            Some(at) if now.saturating_sub(at) > ms(self.options.cache_ttl) => {
                let (orders, skus) = self.cache.expire_working_set(FEED_CURSOR).await?;
                self.cache.delete_meta(LAST_SYNC_MS).await?;
                tracing::warn!(
                    orders,
                    skus,
                    "local cache expired (no successful sync within its TTL): working set dropped"
                );
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// The whole working set from the list endpoints, ending with the feed head read before it.
    async fn full_load(
        &self,
        progress: &mut (dyn FnMut(&SyncEvent) + Send),
    ) -> Result<SyncReport, StationError> {
        let head = sync::feed_head(&self.session).await?;
        // No cursor until this load's last batch stores one (a load cut short starts over), and
        // the working set that cursor will stand for.
        self.cache.delete_meta(FEED_CURSOR).await?;
        self.cache
            .set_meta(FEED_WORKING_SET, &self.options.working_set.join(","))
            .await?;
        let source =
            sync::ListSnapshot::new(&self.session, &self.options.working_set).ending_at(head);
        sync::run(&self.cache, source, progress).await
    }

    /// The stored change-feed cursor, if a delta sync can continue from it.
    pub async fn feed_cursor(&self) -> Result<Option<i64>, StationError> {
        let Some(cursor) = self.cache.meta(FEED_CURSOR).await? else {
            return Ok(None);
        };
        let ws = self.cache.meta(FEED_WORKING_SET).await?;
        if ws.as_deref() != Some(self.options.working_set.join(",").as_str()) {
            // Another working set: orders it includes were never loaded.
            return Ok(None);
        }
        Ok(cursor.parse().ok())
    }

    /// Sends the recorded actions in order (stops at the first transient failure).
    pub async fn replay_outbox(&self) -> Result<ReplayReport, StationError> {
        self.replay_outbox_with(&mut |_| {}).await
    }

    /// As [`Station::replay_outbox`], telling `sent` of each row the server took.
    pub async fn replay_outbox_with(
        &self,
        sent: &mut (dyn FnMut(&OutboxRow) + Send),
    ) -> Result<ReplayReport, StationError> {
        // A wipe or revocation is carried out before anything is sent.
        self.device_gate().await?;
        outbox::replay(&self.session, &self.cache, sent).await
    }

    /// The order from the server, cached. While actions recorded here for it are still pending,
    /// the local copy (which counts them) is kept and returned instead.
    pub(crate) async fn fetch_order(&self, id: &str) -> Result<Order, StationError> {
        let path = format!("/api/v1/orders/{id}");
        let o: Order = self.noting_offline(
            self.session
                .json(|t| Call::get(path.as_str()).bearer(t))
                .await,
        )?;
        self.cache.put_order(&o).await?;
        if self.cache.outbox_pending_for(id).await?
            && let Ok(Some(local)) = self.cache.order(id).await
        {
            return Ok(local);
        }
        Ok(o)
    }

    /// Remembers whether the server was just reached (see [`OFFLINE_HOLD_MS`]).
    pub(crate) fn note_reachable(&self, reachable: bool) {
        let at = if reachable { 0 } else { cache::now_ms() };
        self.offline_at.store(at, Ordering::Relaxed);
    }

    /// The server was found unreachable moments ago: record without trying it again yet.
    pub(crate) fn recently_offline(&self) -> bool {
        let at = self.offline_at.load(Ordering::Relaxed);
        at != 0 && cache::now_ms().saturating_sub(at) < OFFLINE_HOLD_MS
    }

    /// Replays the outbox unless the server was found unreachable moments ago (then reports
    /// what waits, as offline).
    async fn replay_unless_offline(&self) -> Result<ReplayReport, StationError> {
        if self.recently_offline() {
            return Ok(ReplayReport {
                pending: usize::try_from(self.cache.counts().await?.outbox_pending)
                    .unwrap_or(usize::MAX),
                offline: true,
                ..ReplayReport::default()
            });
        }
        let report = self.replay_outbox().await?;
        self.note_reachable(!report.offline);
        Ok(report)
    }

    /// Whether an action on this order may go straight to the server: the server was not found
    /// unreachable moments ago, and none of the order's recorded actions is still waiting (they
    /// are replayed first: the server must see them in order).
    pub(crate) async fn order_in_step(&self, order_id: &str) -> Result<bool, StationError> {
        if self.recently_offline() {
            return Ok(false);
        }
        if !self.cache.outbox_pending_for(order_id).await? {
            return Ok(true);
        }
        match self.replay_unless_offline().await {
            Ok(_) => {}
            Err(e) if e.is_unanswered() => return Ok(false),
            Err(e) => return Err(e),
        }
        Ok(!self.recently_offline() && !self.cache.outbox_pending_for(order_id).await?)
    }

    /// A POST of an action the outbox can take over, tried once: when the server cannot be
    /// reached the caller records it in the outbox under the same idempotency key (the outbox is
    /// its retry, and a try that did reach the server takes effect once).
    pub(crate) async fn post_or_record<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        key: &str,
    ) -> Result<T, StationError> {
        self.noting_offline(
            self.session
                .json(|t| {
                    Call::post(path, body.clone())
                        .idempotency_key(key)
                        .bearer(t)
                        .once()
                })
                .await,
        )
    }

    /// A call's result, remembering when it found the server unreachable.
    fn noting_offline<T>(&self, r: Result<T, SessionError>) -> Result<T, StationError> {
        r.map_err(|e| {
            let e = StationError::from(e);
            if e.is_unanswered() {
                self.note_reachable(false);
            }
            e
        })
    }

    /// The cached order and its state, for an action recorded offline.
    async fn cached_for_offline(
        &self,
        order_id: &str,
    ) -> Result<(Order, OrderState), StationError> {
        let order = match self.cache.order(order_id).await {
            Ok(Some(o)) => o,
            Ok(None) | Err(CacheError::Tampered { .. }) => {
                return Err(StationError::OrderUnavailable(order_id.to_owned()));
            }
            Err(e) => return Err(e.into()),
        };
        // A state this station does not know (a newer server): nothing is decided on it offline.
        let state = order
            .status
            .parse()
            .map_err(|_| StationError::OrderUnavailable(order_id.to_owned()))?;
        Ok((order, state))
    }

    /// One item scan while the server cannot be reached: checked against the cached order with
    /// the server's rule (`wms_core::fulfilment::check_pack`; a refusal records nothing), then
    /// recorded in the outbox together with the cached order counting it, in one transaction.
    /// `key` and `request` are the idempotency key and body the server's pack endpoint is sent.
    pub(crate) async fn record_scan(
        &self,
        order_id: &str,
        key: &str,
        request: &serde_json::Value,
        barcode: &str,
        lot: Option<&str>,
    ) -> Result<(PackResult, Order), StationError> {
        let (mut order, state) = self.cached_for_offline(order_id).await?;
        let barcode = barcode.trim();
        let sku = match self.cache.sku_by_barcode(barcode).await {
            Ok(s) => s,
            Err(CacheError::Tampered { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let lines: Vec<PackLine<'_>> = order
            .lines
            .iter()
            .map(|l| PackLine {
                line_no: l.line_no,
                sku: &l.sku,
                quantity: l.quantity,
                packed: l.packed,
            })
            .collect();
        let step = fulfilment::check_pack(
            state,
            &lines,
            sku.as_ref().map(|s| s.seller_sku.as_str()),
            1,
        )?;
        if let Some(lot) = lot {
            // The cached order does not carry its allocated lots.
            return Err(StationError::LotUnverifiableOffline(lot.to_owned()));
        }
        let mut line_sku = String::new();
        for l in &mut order.lines {
            if l.line_no == step.line_no {
                l.packed = step.packed;
                line_sku.clone_from(&l.sku);
            }
        }
        if step.order_complete {
            let packed = fulfilment::apply(state, OrderEvent::Pack)
                .map_err(|_| PackRefusal::NotPackable(state))?;
            packed.as_str().clone_into(&mut order.status);
        }
        self.cache
            .outbox_push_with_order(key, outbox::PACK, request, &order)
            .await?;
        tracing::info!(order = %order.id, line = step.line_no, "item scan recorded offline");
        Ok((
            PackResult {
                line_no: step.line_no,
                sku: line_sku,
                packed: step.packed,
                quantity: step.quantity,
                order_complete: step.order_complete,
                recorded_offline: true,
            },
            order,
        ))
    }

    /// A package while the server cannot be reached: checked with the server's rule
    /// (`wms_core::fulfilment::check_package`), recorded in the outbox with the cached order
    /// showing it (numbered as the server numbers packages: one more than the highest).
    /// `key` and `request` as for [`Station::record_scan`].
    pub(crate) async fn record_package(
        &self,
        order_id: &str,
        key: &str,
        request: &serde_json::Value,
        p: &NewPackage,
    ) -> Result<Order, StationError> {
        let (mut order, state) = self.cached_for_offline(order_id).await?;
        let tracking = fulfilment::check_package(
            state,
            &PackageInput {
                box_type: &p.box_type,
                weight_g: p.weight_g,
                carrier: p.carrier.as_deref(),
                tracking_number: p.tracking_number.as_deref(),
            },
        )?;
        order.packages.push(Package {
            seq: order.packages.iter().map(|p| p.seq).max().unwrap_or(0) + 1,
            box_type: p.box_type.trim().to_owned(),
            weight_g: p.weight_g,
            carrier: tracking.map(|t| t.carrier().as_str().to_owned()),
            tracking_number: tracking.map(|t| t.digits()),
            feedback: None,
        });
        self.cache
            .outbox_push_with_order(key, outbox::PACKAGE, request, &order)
            .await?;
        tracing::info!(order = %order.id, "package recorded offline");
        Ok(order)
    }

    /// An order from the cache; a tampered row is dropped and re-fetched, a missing one fetched.
    pub async fn order(&self, id: &str) -> Result<Order, StationError> {
        match self.cache.order(id).await {
            Ok(Some(o)) => return Ok(o),
            Ok(None) => {}
            Err(CacheError::Tampered { .. }) => {
                tracing::warn!(order = id, "re-fetching a cached order that failed to open");
            }
            Err(e) => return Err(e.into()),
        }
        match self.fetch_order(id).await {
            Ok(o) => Ok(o),
            Err(e) if e.is_offline() => Err(StationError::OrderUnavailable(id.to_owned())),
            Err(e) => Err(e),
        }
    }

    /// The label's recipient: cached while the order is open, else read from the server (an
    /// audited PII read, which needs a role allowed to read PII).
    async fn recipient(&self, order: &Order) -> Result<LabelRecipient, StationError> {
        match self.cache.recipient(&order.id).await {
            Ok(Some(r)) => return Ok(r),
            Ok(None) | Err(CacheError::Tampered { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let path = format!("/api/v1/orders/{}/recipient", order.id);
        let wire: RecipientWire = match self
            .session
            .json(|t| Call::get(path.as_str()).bearer(t))
            .await
        {
            Ok(r) => r,
            Err(e) if e.is_offline() => {
                return Err(StationError::OrderUnavailable(order.id.clone()));
            }
            Err(e) => return Err(e.into()),
        };
        let r = LabelRecipient::from(&wire);
        if OPEN_STATUSES.contains(&order.status.as_str()) {
            self.cache.put_recipient(&order.id, &r).await?;
        }
        Ok(r)
    }

    async fn warehouse_name(&self, code: &str) -> String {
        let key = format!("warehouse_name:{code}");
        if let Ok(Some(n)) = self.cache.meta(&key).await {
            return n;
        }
        let fetched: Result<Vec<Warehouse>, _> = self
            .session
            .json(|t| Call::get("/api/v1/warehouses").bearer(t))
            .await;
        if let Ok(list) = fetched {
            for w in &list {
                let _ = self
                    .cache
                    .set_meta(&format!("warehouse_name:{}", w.code), &w.name)
                    .await;
            }
            if let Some(w) = list.iter().find(|w| w.code == code || w.id == code) {
                return w.name.clone();
            }
        }
        code.to_owned()
    }

    /// Records the dispatch now (ship time = now) in the outbox, then tries to send it.
    pub async fn dispatch(&self, order_id: &str) -> Result<DispatchOutcome, StationError> {
        let mut order = self.order(order_id).await?;
        if order.status != "packed" {
            return Err(StationError::NotPacked {
                id: order.id,
                status: order.status,
            });
        }
        if order.packages.is_empty() {
            return Err(StationError::NoPackage(order.id));
        }
        let queued = self.cache.outbox_rows("pending").await?;
        if queued
            .iter()
            .any(|r| r.order_id == order.id && r.kind == outbox::DISPATCH)
        {
            return Err(StationError::AlreadyQueued(order.id));
        }
        let ship_time = now_rfc3339();
        let key = uuid::Uuid::now_v7().to_string();
        // The parcel has left: the order is no longer open here (and its recipient goes).
        "dispatched".clone_into(&mut order.status);
        self.cache
            .outbox_push_with_order(
                &key,
                outbox::DISPATCH,
                &serde_json::json!({ "ship_time": ship_time }),
                &order,
            )
            .await?;
        self.cache.delete_recipient(&order.id).await?;
        tracing::info!(order = %order.id, "dispatch recorded");
        let replay = self.replay_unless_offline().await?;
        Ok(DispatchOutcome {
            order_id: order.id,
            idempotency_key: key,
            ship_time,
            replay,
        })
    }

    /// Revokes the session on the server, wipes the refresh token and the cache key, and deletes
    /// the cache. Refuses while recorded actions have not reached the server, unless `force`.
    pub async fn logout(self, force: bool) -> Result<LogoutOutcome, StationError> {
        let _ = self.replay_outbox().await;
        let pending = self.cache.counts().await?.outbox_pending;
        if pending > 0 && !force {
            return Err(StationError::OutboxNotEmpty(pending));
        }
        let revoked_on_server = match self.session.logout().await {
            Ok(()) => true,
            Err(SessionError::NotLoggedIn | SessionError::Expired) => true,
            Err(e) => {
                tracing::warn!(error = %e, "could not revoke the session on the server; wiping it locally");
                false
            }
        };
        let secrets = self.session.secrets();
        secrets.delete(crate::session::REFRESH_TOKEN)?;
        secrets.delete(CACHE_KEY)?;
        self.cache.destroy().await?;
        tracing::info!(revoked_on_server, "logged out");
        Ok(LogoutOutcome {
            revoked_on_server,
            outbox_discarded: pending,
        })
    }
}

pub(crate) fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    // Milliseconds: what the server stores.
    let now = now
        .replace_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
