//! Settings: safe defaults, then an optional TOML file (`WMS_CONFIG`), then `WMS_*` environment
//! variables. Passed explicitly through application state; there is no global configuration.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid value for {var}: {reason}")]
    Env { var: &'static str, reason: String },
}

/// Argon2id cost. Defaults follow OWASP's second recommended profile (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Argon2Settings {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for Argon2Settings {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Where the embedded database, the generated certificate and the master key live.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Absent: SQLite in `data_dir`. `postgres://…`: PostgreSQL as the application role.
    pub database_url: Option<String>,
    /// PostgreSQL only: the owner role that runs migrations (the application role owns nothing).
    pub database_owner_url: Option<String>,
    /// PEM certificate chain and key. Absent: a self-signed pair is generated into `data_dir/tls/`.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Master key file (lines `VERSION BASE64`); absent: `data_dir/master.key`, generated on first start
    /// unless `production` is set.
    pub master_key_file: Option<PathBuf>,
    /// Production mode: no generated master key, no demo tenants.
    pub production: bool,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_secs: i64,
    pub max_body_bytes: usize,
    pub request_timeout_secs: u64,
    /// Authentication requests allowed per client IP per minute (then 429).
    pub auth_rate_per_minute: u32,
    /// Failed logins before an account is soft-locked; each further failure doubles the delay.
    pub lockout_threshold: i64,
    pub lockout_base_secs: i64,
    pub lockout_max_secs: i64,
    pub argon2: Argon2Settings,
    /// Allocation never picks a batch expiring before ship date + this many days.
    pub min_shelf_life_days: u32,
    /// Adjustments of more units than this wait for a second supervisor's approval.
    pub adjustment_approval_threshold: i64,
    /// `json` or `text`.
    pub log_format: String,
    /// Seconds between retention runs (expired orders and audit events deleted; once at start
    /// too). 0: never in this process (run `wms-server retention run` from a scheduler instead).
    /// Env: `WMS_RETENTION_INTERVAL_SECS`.
    pub retention_interval_secs: u64,
    pub amazon: AmazonSettings,
    pub carriers: CarrierSettings,
}

/// How the server talks to the carriers' systems.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarrierSettings {
    /// Trust only this PEM certificate for carrier endpoints (the loopback sandbox). Absent:
    /// Mozilla's roots.
    pub ca_cert: Option<PathBuf>,
    pub request_timeout_ms: u64,
    /// Seconds between tracking polls of dispatched packages.
    pub poll_secs: u64,
    /// Run the tracking poller in this process.
    pub poller: bool,
}

impl Default for CarrierSettings {
    fn default() -> Self {
        Self {
            ca_cert: None,
            request_timeout_ms: 30_000,
            poll_secs: 900,
            poller: true,
        }
    }
}

/// Where Amazon is, how the workers pace themselves, and how carriers are named to Amazon.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AmazonSettings {
    /// Login with Amazon token endpoint.
    pub lwa_token_url: String,
    /// SP-API base (Far East for Japan).
    pub sp_api_base: String,
    /// The marketplace used when an authorization names none.
    pub marketplace_id: String,
    /// Trust only this PEM certificate for Amazon's endpoints (the loopback sandbox). Absent:
    /// Mozilla's roots, as for the real Amazon.
    pub ca_cert: Option<PathBuf>,
    /// Run the order-sync and shipment-feedback workers in this process.
    pub workers: bool,
    /// Per SP-API / LWA request (connect + answer).
    pub request_timeout_ms: u64,
    /// Attempts per call for throttling, 5xx and transport errors (then the outbox retries later).
    pub retry_attempts: u32,
    /// How often an idle feedback worker looks for work nothing told it about (e.g. queued by
    /// another server process); dispatches here wake it at once.
    pub feedback_poll_ms: u64,
    /// A confirmation claimed by a worker that died is taken over after this long.
    pub feedback_lease_secs: u64,
    /// Transient failures (throttling, 5xx, timeouts) are retried this many times before the
    /// feedback is shown as failed.
    pub feedback_max_attempts: i64,
    /// Seconds between order-sync passes per authorization.
    pub sync_interval_secs: u64,
    /// Each pass re-reads this many seconds before the stored watermark, so nothing updated while
    /// the previous pass ran is missed.
    pub sync_overlap_secs: u64,
    /// How far back the first pass of a new authorization looks.
    pub sync_initial_days: u32,
    /// Per marketplace: our carrier name (`yamato`, `sagawa`, `japan_post`) → Amazon `carrierCode`.
    /// A carrier missing here is sent as `Other` with `carrierName`.
    pub carrier_codes: BTreeMap<String, BTreeMap<String, String>>,
}

impl Default for AmazonSettings {
    fn default() -> Self {
        let jp: BTreeMap<String, String> = [
            ("yamato", "Yamato Transport"),
            ("sagawa", "Sagawa Express"),
            ("japan_post", "Japan Post"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Self {
            lwa_token_url: "https://api.amazon.com/auth/o2/token".into(),
            sp_api_base: "https://sellingpartnerapi-fe.amazon.com".into(),
            marketplace_id: "A1VC38T7YXB528".into(),
            ca_cert: None,
            workers: true,
            request_timeout_ms: 30_000,
            retry_attempts: 6,
            feedback_poll_ms: 30_000,
            feedback_lease_secs: 300,
            feedback_max_attempts: 30,
            sync_interval_secs: 180,
            sync_overlap_secs: 600,
            sync_initial_days: 14,
            carrier_codes: [("A1VC38T7YXB528".to_owned(), jp)].into_iter().collect(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./wms-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            database_url: None,
            database_owner_url: None,
            tls_cert: None,
            tls_key: None,
            master_key_file: None,
            production: false,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            max_body_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            auth_rate_per_minute: 60,
            lockout_threshold: 5,
            lockout_base_secs: 30,
            lockout_max_secs: 15 * 60,
            argon2: Argon2Settings::default(),
            min_shelf_life_days: 30,
            adjustment_approval_threshold: 10,
            retention_interval_secs: 3600,
            log_format: "text".into(),
            amazon: AmazonSettings::default(),
            carriers: CarrierSettings::default(),
        }
    }
}

impl Settings {
    /// Defaults ← `WMS_CONFIG` file ← `WMS_*` variables, from the process environment.
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_from(|k| std::env::var(k).ok())
    }

    /// As [`Settings::load`], with the environment given as a lookup function (testable).
    pub fn load_from(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut s = match env("WMS_CONFIG") {
            Some(path) => Self::from_file(Path::new(&path))?,
            None => Self::default(),
        };
        if let Some(v) = env("WMS_DATA_DIR") {
            s.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("WMS_LISTEN") {
            s.listen = v
                .parse()
                .map_err(|e: std::net::AddrParseError| ConfigError::Env {
                    var: "WMS_LISTEN",
                    reason: e.to_string(),
                })?;
        }
        if let Some(v) = env("WMS_DATABASE_URL").filter(|v| !v.is_empty()) {
            s.database_url = Some(v);
        }
        if let Some(v) = env("WMS_DATABASE_OWNER_URL").filter(|v| !v.is_empty()) {
            s.database_owner_url = Some(v);
        }
        if let Some(v) = env("WMS_TLS_CERT") {
            s.tls_cert = Some(PathBuf::from(v));
        }
        if let Some(v) = env("WMS_TLS_KEY") {
            s.tls_key = Some(PathBuf::from(v));
        }
        if let Some(v) = env("WMS_MASTER_KEY_FILE") {
            s.master_key_file = Some(PathBuf::from(v));
        }
        if let Some(v) = env("WMS_PRODUCTION") {
            s.production = parse_bool("WMS_PRODUCTION", &v)?;
        }
        if let Some(v) = env("WMS_LOG_FORMAT") {
            s.log_format = v;
        }
        if let Some(v) = env("WMS_AMAZON_LWA_URL") {
            s.amazon.lwa_token_url = v;
        }
        if let Some(v) = env("WMS_AMAZON_API_URL") {
            s.amazon.sp_api_base = v;
        }
        if let Some(v) = env("WMS_AMAZON_MARKETPLACE") {
            s.amazon.marketplace_id = v;
        }
        if let Some(v) = env("WMS_AMAZON_CA_CERT").filter(|v| !v.is_empty()) {
            s.amazon.ca_cert = Some(PathBuf::from(v));
        }
        if let Some(v) = env("WMS_CARRIERS_CA_CERT").filter(|v| !v.is_empty()) {
            s.carriers.ca_cert = Some(PathBuf::from(v));
        }
        if let Some(v) = env("WMS_AMAZON_WORKERS") {
            s.amazon.workers = parse_bool("WMS_AMAZON_WORKERS", &v)?;
        }
        if let Some(v) = env("WMS_AMAZON_SYNC_INTERVAL_SECS") {
            s.amazon.sync_interval_secs = v.parse().map_err(|_| ConfigError::Env {
                var: "WMS_AMAZON_SYNC_INTERVAL_SECS",
                reason: format!("expected a number of seconds, got `{v}`"),
            })?;
        }
        if let Some(v) = env("WMS_RETENTION_INTERVAL_SECS") {
            s.retention_interval_secs = v.parse().map_err(|_| ConfigError::Env {
                var: "WMS_RETENTION_INTERVAL_SECS",
                reason: format!("expected a number of seconds (0: off), got `{v}`"),
            })?;
        }
        if s.tls_cert.is_some() != s.tls_key.is_some() {
            return Err(ConfigError::Env {
                var: "WMS_TLS_CERT",
                reason: "set both the certificate and the key, or neither".into(),
            });
        }
        Ok(s)
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    #[must_use]
    pub fn is_postgres(&self) -> bool {
        self.database_url
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    }

    #[must_use]
    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("wms.sqlite3")
    }
}

fn parse_bool(var: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(ConfigError::Env {
            var,
            reason: format!("expected true or false, got `{other}`"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn safe_defaults() {
        let s = Settings::load_from(env(&[])).unwrap_or_default();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8443");
        assert!(s.database_url.is_none());
        assert!(!s.production);
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        let f = dir.path().join("wms.toml");
        std::fs::write(&f, "listen = \"127.0.0.1:9000\"\ndata_dir = \"/var/lib/wms\"\n[argon2]\nmemory_kib = 8192\n").ok();
        let path = f.to_string_lossy().to_string();
        let s = Settings::load_from(env(&[
            ("WMS_CONFIG", &path),
            ("WMS_LISTEN", "127.0.0.1:9443"),
        ]));
        let s = s.unwrap_or_default();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9443");
        assert_eq!(s.data_dir, PathBuf::from("/var/lib/wms"));
        assert_eq!(s.argon2.memory_kib, 8192);
    }

    #[test]
    fn bad_values_are_clear_errors() {
        assert!(matches!(
            Settings::load_from(env(&[("WMS_LISTEN", "nope")])),
            Err(ConfigError::Env {
                var: "WMS_LISTEN",
                ..
            })
        ));
        assert!(Settings::load_from(env(&[("WMS_PRODUCTION", "maybe")])).is_err());
        assert!(Settings::load_from(env(&[("WMS_TLS_CERT", "/x.pem")])).is_err());
        let dir = tempfile::tempdir().ok();
        let Some(dir) = dir else { return };
        let f = dir.path().join("bad.toml");
        std::fs::write(&f, "no_such_setting = 1\n").ok();
        let path = f.to_string_lossy().to_string();
        assert!(matches!(
            Settings::load_from(env(&[("WMS_CONFIG", &path)])),
            Err(ConfigError::Parse { .. })
        ));
    }
}
