//! Settings: safe defaults, then an optional TOML file (`WMS_CONFIG`), then `WMS_*` environment
//! variables. Passed explicitly through application state; there is no global configuration.

use serde::Deserialize;
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
            log_format: "text".into(),
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
