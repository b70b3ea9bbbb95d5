//! Everything a restarted sandbox must remember, kept in `DIR/state.json` and rewritten
//! atomically (temp file, fsync, rename, fsync of the directory) after every mutation.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::SandboxError;
use crate::models::RatePlan;

/// A selling partner the LWA stand-in knows. The secrets are stored because a sandbox has to
/// compare them; they are never logged and never returned by the control API.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seller {
    pub selling_partner_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    #[serde(default)]
    pub marketplace_ids: Vec<String>,
    /// The restricted Direct-to-Consumer Delivery role (recipient/buyer PII).
    #[serde(default)]
    pub pii_granted: bool,
    #[serde(default)]
    pub revoked: bool,
}

impl std::fmt::Debug for Seller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Seller")
            .field("selling_partner_id", &self.selling_partner_id)
            .field("client_id", &self.client_id)
            .field("marketplace_ids", &self.marketplace_ids)
            .field("pii_granted", &self.pii_granted)
            .field("revoked", &self.revoked)
            .finish_non_exhaustive()
    }
}

/// What the control API shows of a seller (no secrets).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SellerView {
    pub selling_partner_id: String,
    pub client_id: String,
    pub marketplace_ids: Vec<String>,
    pub pii_granted: bool,
    pub revoked: bool,
}

impl From<&Seller> for SellerView {
    fn from(s: &Seller) -> Self {
        Self {
            selling_partner_id: s.selling_partner_id.clone(),
            client_id: s.client_id.clone(),
            marketplace_ids: s.marketplace_ids.clone(),
            pii_granted: s.pii_granted,
            revoked: s.revoked,
        }
    }
}

/// An access token issued by the LWA stand-in, keyed by the SHA-256 of the token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    pub selling_partner_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredOrder {
    pub selling_partner_id: String,
    /// The v2026-01-01 `Order`, complete (every includedData block, PII included).
    pub order: Value,
}

/// One `confirmShipment` call as received, with its outcome.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmationRecord {
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The seller the access token belongs to (none when the token was refused).
    pub selling_partner_id: Option<String>,
    pub order_id: String,
    /// The request body as JSON, or as a string when it was not JSON.
    pub body: Value,
    pub status: u16,
    /// The `errors` answered (empty on success).
    pub errors: Vec<Value>,
    pub request_id: String,
    /// Answered from a static example of the model rather than from the seeded orders.
    #[serde(default)]
    pub static_example: bool,
    /// A `dropAfterEffect` fault held the response back: the effect happened, the client never
    /// heard about it.
    #[serde(default)]
    pub response_dropped: bool,
}

/// One raw print job (the bytes of one TCP connection).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PrintJob {
    pub id: String,
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    pub peer: String,
    pub size: u64,
    pub sha256: String,
    /// File name under `DIR/printer/`.
    pub file: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// `expires_in` of issued access tokens (LWA: 3600).
    pub access_token_lifetime_secs: u64,
    /// How far behind "now" searchOrders' newest instant lies (Amazon: 120 s).
    pub search_lag_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_token_lifetime_secs: 3600,
            search_lag_secs: 120,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PersistedState {
    pub sellers: BTreeMap<String, Seller>,
    pub orders: BTreeMap<String, StoredOrder>,
    pub confirmations: Vec<ConfirmationRecord>,
    pub access_tokens: BTreeMap<String, IssuedToken>,
    pub printer_jobs: Vec<PrintJob>,
    pub settings: Settings,
    /// Usage-plan overrides by operation name.
    pub rate_plans: BTreeMap<String, RatePlan>,
    pub next_seq: u64,
    /// The Yamato and Sagawa stand-ins (absent from state files written before they existed).
    #[serde(default)]
    pub carriers: crate::carriers::CarrierState,
}

impl PersistedState {
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join("state.json")
}

pub fn load(data_dir: &Path, defaults: Settings) -> Result<PersistedState, SandboxError> {
    let path = state_path(data_dir);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|source| SandboxError::CorruptState { path, source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PersistedState {
            settings: defaults,
            ..PersistedState::default()
        }),
        Err(e) => Err(SandboxError::Io { path, source: e }),
    }
}

/// Atomic replace: a crash leaves either the old or the new file, never a torn one.
pub fn save(data_dir: &Path, state: &PersistedState) -> Result<(), SandboxError> {
    let path = state_path(data_dir);
    let tmp = data_dir.join("state.json.tmp");
    let bytes = serde_json::to_vec(state).map_err(|source| SandboxError::CorruptState {
        path: path.clone(),
        source,
    })?;
    let mut f = std::fs::File::create(&tmp).map_err(SandboxError::io(&tmp))?;
    f.write_all(&bytes).map_err(SandboxError::io(&tmp))?;
    f.sync_all().map_err(SandboxError::io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(SandboxError::io(&path))?;
    if let Ok(dir) = std::fs::File::open(data_dir) {
        // Makes the rename itself durable; not possible on every platform, hence best effort.
        let _ = dir.sync_all();
    }
    Ok(())
}
