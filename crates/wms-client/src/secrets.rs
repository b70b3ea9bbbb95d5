//! Where the station keeps its secrets (the refresh token, the device id, the cache key).
//!
//! The OS keyring first (`keyring`). On Linux that is the Secret Service (GNOME Keyring, KWallet)
//! when the desktop session has one with an unlocked default collection — it keeps secrets across
//! reboots — and otherwise the kernel keyutils store, which needs no D-Bus or desktop session and
//! so works on a headless station, but forgets its keys at a reboot. Keychain / Credential Manager
//! elsewhere. When no keyring works, an explicit fallback: one file per secret under
//! `DATA/secrets/`, mode 0600 in a 0700 directory. Whatever is used is never silent: it is
//! recorded in the station's configuration, reported by `status`, and a fallback is logged as a
//! warning at every start.

use std::io::Write;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretStoreKind {
    /// The OS keyring's native store (Linux: the kernel keyutils store).
    Keyring,
    /// The freedesktop Secret Service (Linux desktops: GNOME Keyring, KWallet).
    SecretService,
    /// A key file readable only by this user (fallback).
    File,
}

impl SecretStoreKind {
    /// What `status` prints.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            SecretStoreKind::Keyring => {
                if cfg!(target_os = "linux") {
                    "os-keyring (linux kernel keyutils; kept until the next reboot)"
                } else if cfg!(target_os = "macos") {
                    "os-keyring (macOS Keychain)"
                } else if cfg!(windows) {
                    "os-keyring (Windows Credential Manager)"
                } else {
                    "os-keyring"
                }
            }
            SecretStoreKind::SecretService => {
                "os-keyring (Secret Service: GNOME Keyring / KWallet)"
            }
            SecretStoreKind::File => "key-file fallback (mode 0600 under --data; no OS keyring)",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("OS keyring: {0}")]
    Keyring(String),
    #[error("key file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {0} is readable by other users: refusing it (chmod 600)")]
    FileMode(PathBuf),
}

pub trait SecretStore: Send + Sync {
    fn kind(&self) -> SecretStoreKind;
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, SecretError>;
    fn set(&self, name: &str, value: &[u8]) -> Result<(), SecretError>;
    /// Deleting a missing secret is not an error.
    fn delete(&self, name: &str) -> Result<(), SecretError>;
}

const SERVICE: &str = "jilian-wms-station";

/// The OS keyring, namespaced by installation (two data directories never share a secret).
pub struct KeyringStore {
    installation: String,
    kind: SecretStoreKind,
}

fn keyring_error(e: impl std::fmt::Display) -> SecretError {
    SecretError::Keyring(e.to_string())
}

impl KeyringStore {
    /// The native store (Linux: keyutils).
    #[must_use]
    pub fn new(installation: &str) -> Self {
        join_session_keyring();
        Self {
            installation: installation.to_owned(),
            kind: SecretStoreKind::Keyring,
        }
    }

    /// The Secret Service, if this session has one whose default collection is unlocked. Never
    /// asks it to unlock (that puts up a desktop prompt): a locked or missing collection is an
    /// error here and the caller falls back.
    pub fn secret_service(installation: &str) -> Result<Self, SecretError> {
        secret_service_ready()?;
        Ok(Self {
            installation: installation.to_owned(),
            kind: SecretStoreKind::SecretService,
        })
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry, SecretError> {
        let user = format!("{}/{name}", self.installation);
        #[cfg(target_os = "linux")]
        {
            // With the Secret Service compiled in, keyring's default store on Linux is the
            // Secret Service: each kind names its own credential type.
            let credential: Box<keyring::Credential> = if self.kind
                == SecretStoreKind::SecretService
            {
                Box::new(
                    keyring::secret_service::SsCredential::new_with_target(None, SERVICE, &user)
                        .map_err(keyring_error)?,
                )
            } else {
                Box::new(
                    keyring::keyutils::KeyutilsCredential::new_with_target(None, SERVICE, &user)
                        .map_err(keyring_error)?,
                )
            };
            Ok(keyring::Entry::new_with_credential(credential))
        }
        #[cfg(not(target_os = "linux"))]
        {
            keyring::Entry::new(SERVICE, &user).map_err(keyring_error)
        }
    }

    /// Writes, reads back and deletes a probe secret: whether this keyring works here.
    pub fn probe(&self) -> Result<(), SecretError> {
        let value = rand::random::<[u8; 16]>();
        self.set("probe", &value)?;
        let back = self.get("probe")?;
        self.delete("probe")?;
        if back.as_deref().map(Vec::as_slice) == Some(&value[..]) {
            Ok(())
        } else {
            Err(SecretError::Keyring(
                "the probe secret did not read back".into(),
            ))
        }
    }
}

impl SecretStore for KeyringStore {
    fn kind(&self) -> SecretStoreKind {
        self.kind
    }

    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, SecretError> {
        match self.entry(name)?.get_secret() {
            Ok(v) => Ok(Some(Zeroizing::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(SecretError::Keyring(e.to_string())),
        }
    }

    fn set(&self, name: &str, value: &[u8]) -> Result<(), SecretError> {
        self.entry(name)?
            .set_secret(value)
            .map_err(|e| SecretError::Keyring(e.to_string()))
    }

    fn delete(&self, name: &str) -> Result<(), SecretError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(SecretError::Keyring(e.to_string())),
        }
    }
}

/// keyutils only finds keys through a session keyring the process possesses. A process started
/// outside a login session (a service, a container, a test runner) has none — only the user's
/// default session keyring, whose keys it cannot search — so join a fresh one. The keyring crate
/// links its keys into the user's persistent keyring as well (kept until the kernel's
/// `persistent_keyring_expiry` after last use, and never across a reboot), which is how the next
/// process finds them.
///
/// A session keyring belongs to a thread's credentials and is inherited by threads started
/// after it: a multi-threaded program (the desktop app) calls this first thing on its main
/// thread, so that every worker thread shares one session keyring.
pub fn join_session_keyring() {
    #[cfg(target_os = "linux")]
    {
        use linux_keyutils::{KeyRing, KeyRingIdentifier};
        if let Err(e) = KeyRing::from_special_id(KeyRingIdentifier::Session, true) {
            tracing::debug!(error = ?e, "no session keyring");
        }
    }
}

/// Whether the session's Secret Service has an unlocked default collection. Only a session that
/// names its bus is asked: without `DBUS_SESSION_BUS_ADDRESS` libdbus would try to launch a bus
/// of its own.
#[cfg(target_os = "linux")]
fn secret_service_ready() -> Result<(), SecretError> {
    use dbus_secret_service::{EncryptionType, SecretService};
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        return Err(SecretError::Keyring(
            "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)".into(),
        ));
    }
    let ss = SecretService::connect(EncryptionType::Dh).map_err(keyring_error)?;
    let collection = ss.get_default_collection().map_err(|e| {
        SecretError::Keyring(format!("Secret Service without a default collection: {e}"))
    })?;
    if collection.is_locked().map_err(keyring_error)? {
        return Err(SecretError::Keyring(
            "the Secret Service's default collection is locked".into(),
        ));
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn secret_service_ready() -> Result<(), SecretError> {
    Err(SecretError::Keyring(
        "the Secret Service is a Linux desktop store".into(),
    ))
}

/// The fallback: `DIR/NAME`, mode 0600, in a directory of mode 0700.
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    pub fn open(dir: &Path) -> Result<Self, SecretError> {
        let err = |source| SecretError::File {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl SecretStore for FileStore {
    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::File
    }

    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, SecretError> {
        let path = self.path(name);
        let err = |source| SecretError::File {
            path: path.clone(),
            source,
        };
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(SecretError::FileMode(path));
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        std::fs::read(&path)
            .map(|v| Some(Zeroizing::new(v)))
            .map_err(err)
    }

    fn set(&self, name: &str, value: &[u8]) -> Result<(), SecretError> {
        let path = self.path(name);
        let tmp = self.path(&format!(".{name}.tmp"));
        let err = |source| SecretError::File {
            path: path.clone(),
            source,
        };
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(err)?;
        f.write_all(value).map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)?;
        Ok(())
    }

    fn delete(&self, name: &str) -> Result<(), SecretError> {
        let path = self.path(name);
        // Overwrite before unlinking (best effort: a journaling filesystem may keep old blocks).
        if let Ok(meta) = std::fs::metadata(&path)
            && let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&path)
        {
            let _ = f.write_all(&vec![0u8; usize::try_from(meta.len()).unwrap_or(0)]);
            let _ = f.sync_all();
        }
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(SecretError::File { path, source }),
        }
    }
}

/// Which store to use when the station has not chosen one yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StorePreference {
    /// The OS keyring when it works (on Linux the Secret Service first, then keyutils), else the
    /// key file (with a warning).
    #[default]
    Auto,
    /// The OS keyring's native store (Linux: keyutils).
    Keyring,
    /// The Secret Service (Linux desktops).
    SecretService,
    File,
}

impl std::str::FromStr for StorePreference {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "keyring" => Ok(Self::Keyring),
            "secret-service" => Ok(Self::SecretService),
            "file" => Ok(Self::File),
            other => Err(format!(
                "unknown secret store `{other}` (auto, keyring, secret-service or file)"
            )),
        }
    }
}

/// Opens the store of `kind` (an installation's recorded choice: no silent downgrade).
pub fn open_kind(
    kind: SecretStoreKind,
    installation: &str,
    data_dir: &Path,
) -> Result<Box<dyn SecretStore>, SecretError> {
    Ok(match kind {
        SecretStoreKind::Keyring => Box::new(KeyringStore::new(installation)),
        // No readiness check: a recorded Secret Service installation uses it as it is (a locked
        // collection makes the desktop ask the person to unlock it, as other applications do).
        SecretStoreKind::SecretService => Box::new(KeyringStore {
            installation: installation.to_owned(),
            kind: SecretStoreKind::SecretService,
        }),
        SecretStoreKind::File => Box::new(FileStore::open(&data_dir.join("secrets"))?),
    })
}

/// Chooses a store for a new installation.
pub fn choose(
    pref: StorePreference,
    installation: &str,
    data_dir: &Path,
) -> Result<Box<dyn SecretStore>, SecretError> {
    match pref {
        StorePreference::File => open_kind(SecretStoreKind::File, installation, data_dir),
        StorePreference::Keyring => {
            let k = KeyringStore::new(installation);
            k.probe()?;
            Ok(Box::new(k))
        }
        StorePreference::SecretService => {
            let k = KeyringStore::secret_service(installation)?;
            k.probe()?;
            Ok(Box::new(k))
        }
        StorePreference::Auto => match working_keyring(installation) {
            Ok(k) => Ok(Box::new(k)),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "no working OS keyring: falling back to key files (mode 0600) under the data directory"
                );
                open_kind(SecretStoreKind::File, installation, data_dir)
            }
        },
    }
}

/// The keyring `Auto` takes: on Linux the Secret Service when it is usable, else keyutils; the
/// native store elsewhere. Each candidate must pass the probe (write, read back, delete).
fn working_keyring(installation: &str) -> Result<KeyringStore, SecretError> {
    match KeyringStore::secret_service(installation).and_then(|k| k.probe().map(|()| k)) {
        Ok(k) => return Ok(k),
        Err(e) if cfg!(target_os = "linux") => {
            tracing::info!(error = %e, "no usable Secret Service: trying the kernel keyring");
        }
        Err(_) => {}
    }
    let k = KeyringStore::new(installation);
    k.probe()?;
    Ok(k)
}

/// The store `Auto` would choose for a new installation, without creating anything (what the
/// login screen shows before a login).
#[must_use]
pub fn auto_kind(installation: &str) -> SecretStoreKind {
    working_keyring(installation).map_or(SecretStoreKind::File, |k| k.kind)
}
