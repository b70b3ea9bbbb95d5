//! The workstation core of Jilian WMS: everything the desktop app does that is not a window, so it
//! is tested without a GUI and can drive a headless station (`wms-station`).
//!
//! ```text
//!  Station ─┬─ session   login (+TOTP), refresh rotation, logout; access token in memory only
//!           ├─ secrets   refresh token, device id, cache key: OS keyring (keyutils on Linux) or an
//!           │            explicit 0600 key-file fallback
//!           ├─ api       reqwest + rustls (ring), TLS 1.2+, certificate pinned by SHA-256 or webpki
//!           ├─ cache     SQLite, every payload AES-256-GCM sealed (AAD = table + row id)
//!           ├─ sync      full load from the list endpoints, then deltas from the change feed by
//!           │            a cursor committed with the rows it produced
//!           ├─ outbox    offline actions with idempotency keys and real timestamps, replayed in order
//!           └─ print     raw ZPL over TCP 9100 or a CUPS raw queue (booked labels come from the
//!                        server, which counts prints); Zebra ~HS status
//! ```

pub mod api;
pub mod cache;
pub mod connections;
pub mod desk;
pub mod device;
pub mod label;
pub mod model;
pub mod office;
pub mod outbox;
pub mod print;
pub mod privacy;
pub mod receiving;
pub mod releases;
pub mod secrets;
pub mod session;
pub mod station;
pub mod sync;
pub mod tls;

pub use api::{ApiClient, ApiConfig, ApiError};
pub use cache::{Cache, CacheError, CacheKey};
pub use print::{PrintError, PrinterStatus, PrinterTarget};
pub use secrets::{SecretError, SecretStore, SecretStoreKind};
pub use station::{LabelSource, Station, StationError, StationOptions, StationStatus};
pub use sync::{SyncEvent, SyncMode, SyncReport};
pub use tls::{Fingerprint, FingerprintError};
