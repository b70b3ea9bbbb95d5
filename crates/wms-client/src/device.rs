//! This workstation as a device of the server's registry: remote wipe, revocation, printer profile.
//!
//! At every contact that matters (sync, the outbox replay, `status` when online) the station asks
//! `GET /api/v1/devices/self`:
//!
//! - `wipe: true` — an admin asked for this station's data to be erased. The station writes a
//!   marker, destroys the cache and deletes the cache key, acknowledges with
//!   `POST /api/v1/devices/self/wiped` while its token is still valid (the server then records
//!   `wiped_at` and ends the device's sessions), and only then deletes its refresh token.
//! - `device_revoked` (from that call, or a refused refresh or login) — the same erasure, without
//!   an acknowledgment (the server no longer answers this device).
//!
//! The marker (`DATA/device-wiped.json`) is written first, so an erasure cut short by a crash is
//! finished by the next [`crate::Station::open`], which then refuses with the same code as the
//! operation that found out (`device_wiped` / `device_revoked`). A new login clears it (the server
//! refuses a revoked device's login). The device id itself stays in the secret store: it is this
//! machine's identity, and a revoked machine must stay recognisable.
//!
//! The printer profile the server holds for this device is kept in the cache's meta table
//! ([`crate::Station::device_info`]) for the desktop app.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::api::{ApiError, Call};
use crate::cache;
use crate::secrets::SecretStore;
use crate::session::{REFRESH_TOKEN, SessionError};
use crate::station::{CACHE_FILE, CACHE_KEY, DEVICE_ID, Station, StationError, now_rfc3339};

const MARKER_FILE: &str = "device-wiped.json";
const DEVICE_INFO_META: &str = "device_info";

/// Where this station prints, as an admin set it on the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterProfile {
    /// `tcp://HOST:PORT` or `cups://QUEUE`.
    #[serde(default)]
    pub label_printer: Option<String>,
    /// `zpl203` or `zpl300`; `pdf` prints labels as A6 PDFs through the spooler
    /// ([`crate::label::LabelFormat`]), once the server's profiles offer it.
    pub label_format: String,
    /// `cups://QUEUE` for A4 documents (packing slips).
    #[serde(default)]
    pub document_printer: Option<String>,
}

impl PrinterProfile {
    /// The label resolution the format stands for.
    #[must_use]
    pub fn dpi(&self) -> Option<u32> {
        match self.label_format.as_str() {
            "zpl203" => Some(203),
            "zpl300" => Some(300),
            _ => None,
        }
    }
}

/// This device as the server last described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub id: String,
    /// A wipe was requested (carried out as soon as the station sees it).
    pub wipe: bool,
    pub revoked: bool,
    pub printer_profile: Option<PrinterProfile>,
    /// When the station read this from the server (RFC 3339; set locally).
    #[serde(default)]
    pub checked_at: Option<String>,
}

/// Why the station's local data was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Erasure {
    /// A remote wipe requested by an admin.
    Wiped,
    /// The device was revoked by an admin.
    Revoked,
}

impl Erasure {
    fn error(self) -> StationError {
        match self {
            Erasure::Wiped => StationError::DeviceWiped,
            Erasure::Revoked => StationError::DeviceRevoked,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Marker {
    erasure: Erasure,
    at: String,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StationError + '_ {
    move |source| StationError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_marker(data_dir: &Path) -> Result<Option<Erasure>, StationError> {
    let path = data_dir.join(MARKER_FILE);
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(
            // An unreadable marker still means the data must go: the stricter reading.
            serde_json::from_slice::<Marker>(&b).map_or(Erasure::Revoked, |m| m.erasure),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path)(e)),
    }
}

fn write_marker(data_dir: &Path, erasure: Erasure) -> Result<(), StationError> {
    let path = data_dir.join(MARKER_FILE);
    let body = serde_json::to_vec(&Marker {
        erasure,
        at: now_rfc3339(),
    })
    .unwrap_or_default();
    std::fs::write(&path, body).map_err(io(&path))
}

/// After a successful login: this installation may be used again.
pub(crate) fn clear_marker(data_dir: &Path) -> Result<(), StationError> {
    let path = data_dir.join(MARKER_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(&path)(e)),
    }
}

/// Cache files and cache key, and (unless an acknowledgment is still to be sent) the refresh token.
fn erase_files_and_keys(
    data_dir: &Path,
    secrets: &dyn SecretStore,
    refresh_token_too: bool,
) -> Result<(), StationError> {
    cache::remove_files(&data_dir.join(CACHE_FILE))?;
    secrets.delete(CACHE_KEY)?;
    if refresh_token_too {
        secrets.delete(REFRESH_TOKEN)?;
    }
    Ok(())
}

/// `Station::open`: an installation that was wiped or revoked finishes its erasure (it may have
/// been cut short) and refuses to open until a new login.
pub(crate) fn refuse_if_erased(
    data_dir: &Path,
    secrets: &dyn SecretStore,
) -> Result<(), StationError> {
    match read_marker(data_dir)? {
        None => Ok(()),
        Some(erasure) => {
            erase_files_and_keys(data_dir, secrets, true)?;
            Err(erasure.error())
        }
    }
}

/// `Station::login` refused with `device_revoked`: erase what an earlier session left here.
pub(crate) fn refused_at_login(data_dir: &Path, secrets: &dyn SecretStore) -> StationError {
    tracing::warn!("this device has been revoked: erasing the local cache and keys");
    let done = write_marker(data_dir, Erasure::Revoked)
        .and_then(|()| erase_files_and_keys(data_dir, secrets, true));
    match done {
        Ok(()) => StationError::DeviceRevoked,
        Err(e) => e,
    }
}

/// The name this station gives itself at login (its hostname).
pub(crate) fn hostname() -> Option<String> {
    let from_file = |p: &str| std::fs::read_to_string(p).ok();
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

fn is_device_revoked(e: &SessionError) -> bool {
    matches!(e, SessionError::Api(ApiError::Problem { code, .. }) if code == "device_revoked")
}

impl Station {
    /// This installation's device id, as sent at login (`None` before the first login).
    pub fn device_id(&self) -> Result<Option<String>, StationError> {
        Ok(self
            .session()
            .secrets()
            .get(DEVICE_ID)?
            .map(|d| String::from_utf8_lossy(&d).into_owned()))
    }

    /// The device record the server last gave (printer profile included), from the cache;
    /// `None` until a check has reached the server.
    pub async fn device_info(&self) -> Result<Option<DeviceInfo>, StationError> {
        self.refuse_if_erased()?;
        Ok(self
            .cache()
            .meta(DEVICE_INFO_META)
            .await?
            .and_then(|v| serde_json::from_str(&v).ok()))
    }

    fn refuse_if_erased(&self) -> Result<(), StationError> {
        match read_marker(self.data_dir())? {
            None => Ok(()),
            Some(erasure) => Err(erasure.error()),
        }
    }

    /// Asks the server about this device and acts on the answer: a requested wipe is carried out
    /// and acknowledged (`Err(DeviceWiped)`), a revocation erases the same
    /// (`Err(DeviceRevoked)`); otherwise the record (printer profile) is stored in the cache.
    /// `Ok(None)` when the server has no record for this session (a server without the registry).
    pub async fn check_device(&self) -> Result<Option<DeviceInfo>, StationError> {
        self.refuse_if_erased()?;
        let r: Result<DeviceInfo, SessionError> = self
            .session()
            // Once: a check is not worth the retries' backoff when the station is offline.
            .json(|t| Call::get("/api/v1/devices/self").bearer(t).once())
            .await;
        let mut info = match r {
            Ok(info) => info,
            Err(e) if is_device_revoked(&e) => return Err(self.erase(Erasure::Revoked).await),
            Err(SessionError::Api(ApiError::Problem { status: 404, .. })) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if info.revoked {
            return Err(self.erase(Erasure::Revoked).await);
        }
        if info.wipe {
            return Err(self.erase(Erasure::Wiped).await);
        }
        info.checked_at = Some(now_rfc3339());
        let json = serde_json::to_string(&info).unwrap_or_default();
        self.cache().set_meta(DEVICE_INFO_META, &json).await?;
        Ok(Some(info))
    }

    /// The check before a contact that matters: only a wipe or a revocation stops the caller;
    /// anything else (offline, session ended) is left for the caller's own calls to report.
    pub(crate) async fn device_gate(&self) -> Result<(), StationError> {
        match self.check_device().await {
            Ok(_) => Ok(()),
            Err(e @ (StationError::DeviceWiped | StationError::DeviceRevoked)) => Err(e),
            Err(e) => {
                tracing::debug!(code = e.code(), "device check skipped");
                Ok(())
            }
        }
    }

    /// Erases the cache and its key; for a wipe, acknowledges it with the still-valid session
    /// before the refresh token goes. Returns the error the caller reports.
    async fn erase(&self, erasure: Erasure) -> StationError {
        let pending = self
            .cache()
            .counts()
            .await
            .map(|c| c.outbox_pending)
            .unwrap_or(0);
        tracing::warn!(
            ?erasure,
            outbox_discarded = pending,
            "erasing the local cache and keys at the server's request"
        );
        let data_dir = self.data_dir();
        let secrets = self.session().secrets();
        let erased = async {
            write_marker(data_dir, erasure)?;
            self.cache().close().await;
            erase_files_and_keys(data_dir, secrets, false)
        }
        .await;
        if let Err(e) = erased {
            // The marker (if written) makes the next open finish the job.
            let _ = secrets.delete(REFRESH_TOKEN);
            return e;
        }
        if erasure == Erasure::Wiped {
            let ack = self
                .session()
                .raw(|t| {
                    Call::post("/api/v1/devices/self/wiped", serde_json::Value::Null).bearer(t)
                })
                .await;
            if let Err(e) = ack {
                // The server keeps the request pending; a later login from here will see it,
                // find nothing left and acknowledge then.
                tracing::warn!(error = %e, "could not acknowledge the wipe to the server");
            }
        }
        if let Err(e) = secrets.delete(REFRESH_TOKEN) {
            return e.into();
        }
        erasure.error()
    }
}
