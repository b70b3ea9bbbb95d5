//! Key management: master keys (outside the database) and each tenant's wrapped keys.
//!
//! The master key file holds one line per version, `VERSION BASE64`; the highest version wraps new
//! tenant keys, older versions stay until nothing is wrapped under them (`wms-server keys rotate`
//! re-wraps every tenant key under a new version and reports when the old one can be dropped).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use wms_core::ids::TenantId;
use wms_core::seal::{self, KeyPurpose, KeyRing, SecretKey};
use zeroize::Zeroizing;

use crate::config::Settings;
use crate::db::{DbError, TenantTx};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "no master key: set WMS_MASTER_KEY or create {0} (production mode never generates one)"
    )]
    Missing(PathBuf),
    #[error("master key file {path}: {reason}")]
    BadFile { path: PathBuf, reason: String },
    #[error("WMS_MASTER_KEY: {0}")]
    BadEnv(String),
    #[error("cannot write master key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tenant {0} has no keys")]
    NoTenantKeys(TenantId),
    #[error("a tenant key does not unwrap with master key version {0}: wrong master key?")]
    Unwrap(u32),
    #[error("master key version {0} is not loaded")]
    UnknownMaster(u32),
    #[error("key rotation needs a master key file, not WMS_MASTER_KEY")]
    RotateFromEnv,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for KeyError {
    fn from(e: sqlx::Error) -> Self {
        KeyError::Db(e.into())
    }
}

/// The loaded master keys. Never logged, never serialised.
pub struct MasterKeys {
    ring: KeyRing,
    /// Where they came from (None: the environment).
    file: Option<PathBuf>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKeys")
            .field("current_version", &self.ring.current_version())
            .field("file", &self.file)
            .finish()
    }
}

impl MasterKeys {
    /// `WMS_MASTER_KEY` (base64 of 32 bytes, or the file's `VERSION BASE64` lines), else the key file,
    /// else — outside production — a new key file.
    pub fn load(settings: &Settings) -> Result<Self, KeyError> {
        if let Ok(v) = std::env::var("WMS_MASTER_KEY") {
            let ring = parse_key_lines(&v).or_else(|_| {
                let raw = Zeroizing::new(
                    B64.decode(v.trim())
                        .map_err(|_| KeyError::BadEnv("not base64".into()))?,
                );
                let mut ring = KeyRing::new();
                ring.insert(
                    1,
                    SecretKey::from_slice(&raw)
                        .map_err(|_| KeyError::BadEnv("must be 32 bytes".into()))?,
                );
                Ok::<_, KeyError>(ring)
            })?;
            return Ok(Self { ring, file: None });
        }
        let path = Self::file_path(settings);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                let ring = parse_key_lines(&text).map_err(|reason| KeyError::BadFile {
                    path: path.clone(),
                    reason,
                })?;
                Ok(Self {
                    ring,
                    file: Some(path),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if settings.production {
                    return Err(KeyError::Missing(path));
                }
                let mut ring = KeyRing::new();
                ring.insert(1, SecretKey::generate());
                write_key_file(&path, &ring)?;
                tracing::warn!(path = %path.display(), "generated a new master key: back it up, without it sealed data cannot be read");
                Ok(Self {
                    ring,
                    file: Some(path),
                })
            }
            Err(e) => Err(KeyError::BadFile {
                path,
                reason: e.to_string(),
            }),
        }
    }

    #[must_use]
    pub fn file_path(settings: &Settings) -> PathBuf {
        settings
            .master_key_file
            .clone()
            .unwrap_or_else(|| settings.data_dir.join("master.key"))
    }

    /// For tests: master keys held in memory only.
    #[must_use]
    pub fn ephemeral() -> Self {
        let mut ring = KeyRing::new();
        ring.insert(1, SecretKey::generate());
        Self { ring, file: None }
    }

    fn current(&self) -> Result<(u32, &SecretKey), KeyError> {
        self.ring.current().ok_or(KeyError::UnknownMaster(0))
    }

    #[must_use]
    pub fn current_version(&self) -> u32 {
        self.ring.current_version().unwrap_or(0)
    }
}

fn parse_key_lines(text: &str) -> Result<KeyRing, String> {
    let mut ring = KeyRing::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (v, k) = line
            .split_once(' ')
            .ok_or_else(|| format!("line {}: expected `VERSION BASE64`", n + 1))?;
        let v: u32 = v
            .parse()
            .map_err(|_| format!("line {}: version is not a number", n + 1))?;
        let raw = Zeroizing::new(
            B64.decode(k.trim())
                .map_err(|_| format!("line {}: key is not base64", n + 1))?,
        );
        ring.insert(
            v,
            SecretKey::from_slice(&raw)
                .map_err(|_| format!("line {}: key must be 32 bytes", n + 1))?,
        );
    }
    if ring.current_version().is_none() {
        return Err("no keys".into());
    }
    Ok(ring)
}

fn write_key_file(path: &Path, ring: &KeyRing) -> Result<(), KeyError> {
    let werr = |source| KeyError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(werr)?;
    }
    let mut text = Zeroizing::new(String::from(
        "# Jilian WMS master keys: VERSION BASE64. Keep secret; back up.\n",
    ));
    for (v, k) in ring.iter() {
        text.push_str(&format!("{v} {}\n", B64.encode(k.expose())));
    }
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(werr)?;
        f.write_all(text.as_bytes()).map_err(werr)?;
        f.sync_all().map_err(werr)?;
    }
    std::fs::rename(&tmp, path).map_err(werr)?;
    Ok(())
}

/// A tenant's unwrapped keys.
#[derive(Debug)]
pub struct TenantKeys {
    pub data: KeyRing,
    pub index: KeyRing,
    pub audit: KeyRing,
}

impl TenantKeys {
    /// The audit HMAC key (always version 1: the chain is verified with one key end to end).
    pub fn audit_key(&self) -> Result<&SecretKey, KeyError> {
        self.audit.get(1).ok_or(KeyError::UnknownMaster(0))
    }

    pub fn index_key(&self) -> Result<&SecretKey, KeyError> {
        self.index
            .current()
            .map(|(_, k)| k)
            .ok_or(KeyError::UnknownMaster(0))
    }
}

/// Unwrapped tenant keys, cached briefly (a key rotated by the CLI is picked up within the TTL).
pub struct KeyStore {
    master: MasterKeys,
    cache: RwLock<HashMap<TenantId, (Instant, Arc<TenantKeys>)>>,
    ttl: Duration,
}

impl KeyStore {
    #[must_use]
    pub fn new(master: MasterKeys) -> Self {
        Self {
            master,
            cache: RwLock::new(HashMap::new()),
            ttl: Duration::from_secs(60),
        }
    }

    #[must_use]
    pub fn master(&self) -> &MasterKeys {
        &self.master
    }

    /// Create version 1 of every key purpose for a new tenant (inside its creation transaction).
    pub async fn provision(&self, tx: &mut TenantTx, now_ms: i64) -> Result<(), KeyError> {
        let (mv, master) = self.master.current()?;
        for purpose in KeyPurpose::ALL {
            let key = SecretKey::generate();
            let wrapped = seal::wrap_key(master, mv, tx.tenant(), purpose, 1, &key);
            insert_key(tx, purpose, 1, &wrapped, mv, now_ms).await?;
        }
        Ok(())
    }

    /// The tenant's keys, from cache or unwrapped from `tenant_keys`.
    pub async fn tenant(&self, tx: &mut TenantTx) -> Result<Arc<TenantKeys>, KeyError> {
        let t = tx.tenant();
        if let Ok(cache) = self.cache.read()
            && let Some((at, keys)) = cache.get(&t)
            && at.elapsed() < self.ttl
        {
            return Ok(keys.clone());
        }
        let keys = Arc::new(self.load(tx).await?);
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(t, (Instant::now(), keys.clone()));
        }
        Ok(keys)
    }

    async fn load(&self, tx: &mut TenantTx) -> Result<TenantKeys, KeyError> {
        let (tid, conn) = tx.split();
        let rows: Vec<(String, i64, Vec<u8>, i64)> =
            sqlx::query_as("SELECT purpose, version, wrapped, master_version FROM tenant_keys WHERE tenant_id = $1 ORDER BY version")
                .bind(tid)
                .fetch_all(conn)
                .await?;
        if rows.is_empty() {
            return Err(KeyError::NoTenantKeys(tx.tenant()));
        }
        let mut keys = TenantKeys {
            data: KeyRing::new(),
            index: KeyRing::new(),
            audit: KeyRing::new(),
        };
        for (purpose, version, wrapped, mv) in rows {
            let Some(purpose) = KeyPurpose::parse(&purpose) else {
                continue;
            };
            let mv = u32::try_from(mv).map_err(|_| KeyError::UnknownMaster(0))?;
            let version = u32::try_from(version).map_err(|_| KeyError::UnknownMaster(0))?;
            let master = self
                .master
                .ring
                .get(mv)
                .ok_or(KeyError::UnknownMaster(mv))?;
            let key = seal::unwrap_key(master, tx.tenant(), purpose, version, &wrapped)
                .map_err(|_| KeyError::Unwrap(mv))?;
            match purpose {
                KeyPurpose::Data => keys.data.insert(version, key),
                KeyPurpose::Index => keys.index.insert(version, key),
                KeyPurpose::Audit => keys.audit.insert(version, key),
            }
        }
        Ok(keys)
    }

    /// A new data-key version for one tenant: new data is sealed with it, old data still opens.
    pub async fn rotate_data_key(&self, tx: &mut TenantTx, now_ms: i64) -> Result<u32, KeyError> {
        let (tid, conn) = tx.split();
        let (max,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(version), 0) FROM tenant_keys WHERE tenant_id = $1 AND purpose = 'data'")
            .bind(tid)
            .fetch_one(conn)
            .await?;
        let next = u32::try_from(max + 1).map_err(|_| KeyError::UnknownMaster(0))?;
        let (mv, master) = self.master.current()?;
        let wrapped = seal::wrap_key(
            master,
            mv,
            tx.tenant(),
            KeyPurpose::Data,
            next,
            &SecretKey::generate(),
        );
        insert_key(tx, KeyPurpose::Data, next, &wrapped, mv, now_ms).await?;
        self.forget(tx.tenant());
        Ok(next)
    }

    /// Re-wrap every key of one tenant under the current master key version.
    pub async fn rewrap_tenant(&self, tx: &mut TenantTx) -> Result<usize, KeyError> {
        let keys = self.load(tx).await?;
        let (mv, master) = self.master.current()?;
        let mut n = 0;
        for (purpose, ring) in [
            (KeyPurpose::Data, &keys.data),
            (KeyPurpose::Index, &keys.index),
            (KeyPurpose::Audit, &keys.audit),
        ] {
            for (version, k) in ring.iter() {
                let wrapped = seal::wrap_key(master, mv, tx.tenant(), purpose, version, k);
                let (tid, conn) = tx.split();
                sqlx::query("UPDATE tenant_keys SET wrapped = $1, master_version = $2 WHERE tenant_id = $3 AND purpose = $4 AND version = $5")
                    .bind(wrapped)
                    .bind(i64::from(mv))
                    .bind(tid)
                    .bind(purpose.as_str())
                    .bind(i64::from(version))
                    .execute(conn)
                    .await?;
                n += 1;
            }
        }
        self.forget(tx.tenant());
        Ok(n)
    }

    /// Add a new master key version to the key file (old versions are kept until re-wrapping is done).
    pub fn add_master_version(&mut self) -> Result<u32, KeyError> {
        let Some(path) = self.master.file.clone() else {
            return Err(KeyError::RotateFromEnv);
        };
        let next = self.master.current_version() + 1;
        self.master.ring.insert(next, SecretKey::generate());
        write_key_file(&path, &self.master.ring)?;
        Ok(next)
    }

    pub fn forget(&self, tenant: TenantId) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(&tenant);
        }
    }
}

async fn insert_key(
    tx: &mut TenantTx,
    purpose: KeyPurpose,
    version: u32,
    wrapped: &[u8],
    mv: u32,
    now_ms: i64,
) -> Result<(), KeyError> {
    let (tid, conn) = tx.split();
    sqlx::query("INSERT INTO tenant_keys (tenant_id, purpose, version, wrapped, master_version, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(tid)
        .bind(purpose.as_str())
        .bind(i64::from(version))
        .bind(wrapped)
        .bind(i64::from(mv))
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trips_all_versions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let mut ring = KeyRing::new();
        ring.insert(1, SecretKey::generate());
        ring.insert(3, SecretKey::generate());
        write_key_file(&path, &ring).expect("write");
        let text = std::fs::read_to_string(&path).expect("read");
        let back = parse_key_lines(&text).expect("parse");
        assert_eq!(back.current_version(), Some(3));
        assert_eq!(
            back.get(1).map(|k| *k.expose()),
            ring.get(1).map(|k| *k.expose())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn bad_key_files_are_clear_errors() {
        assert!(parse_key_lines("").is_err());
        assert!(parse_key_lines("1 notbase64!!").is_err());
        assert!(parse_key_lines("x AAAA").is_err());
        assert!(parse_key_lines(&format!("1 {}", B64.encode([0u8; 16]))).is_err());
    }
}
