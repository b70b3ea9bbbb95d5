//! The tamper-evident audit chain.
//!
//! Each event carries `hash = HMAC-SHA256(audit_key, prev_hash ‖ canonical(event))`. The HMAC key is a
//! per-tenant key wrapped by the master key, which never enters the database: someone who can write to
//! the database can change a row, but cannot recompute the chain after it, so `verify` finds the first
//! broken link. Sequence numbers are dense per tenant, so a deleted row is a broken link too.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ids::TenantId;
use crate::seal::hmac_sha256;

/// What happened. Stored as text; the list is closed so that reports can rely on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    TenantCreated,
    UserCreated,
    LoginOk,
    LoginFailed,
    Lockout,
    Logout,
    TokenRefreshed,
    RefreshReuseDetected,
    SessionRevoked,
    PasswordChanged,
    MfaEnrolStarted,
    MfaEnrolled,
    MfaOk,
    MfaFailed,
    MfaReplayed,
    RoleChanged,
    AccessDenied,
    PiiRead,
    KeyRotated,
    AmazonAuthorized,
    AmazonRevoked,
    AmazonPiiPurged,
    LabelReprinted,
    LabelVoided,
    CarrierConnected,
    DeviceRegistered,
    DeviceRevoked,
    DeviceWipeRequested,
    DeviceWiped,
    DeviceProfileChanged,
    RetentionChanged,
    RetentionRun,
    DataExported,
    DataCorrected,
    DataErased,
    ReleasePublished,
    ReleaseRolloutChanged,
    ReleasePaused,
    ReleaseResumed,
    CarrierUpdated,
    CarrierDisabled,
    CarrierEnabled,
    CarrierRemoved,
}

impl AuditAction {
    pub const ALL: [AuditAction; 43] = [
        Self::TenantCreated,
        Self::UserCreated,
        Self::LoginOk,
        Self::LoginFailed,
        Self::Lockout,
        Self::Logout,
        Self::TokenRefreshed,
        Self::RefreshReuseDetected,
        Self::SessionRevoked,
        Self::PasswordChanged,
        Self::MfaEnrolStarted,
        Self::MfaEnrolled,
        Self::MfaOk,
        Self::MfaFailed,
        Self::MfaReplayed,
        Self::RoleChanged,
        Self::AccessDenied,
        Self::PiiRead,
        Self::KeyRotated,
        Self::AmazonAuthorized,
        Self::AmazonRevoked,
        Self::AmazonPiiPurged,
        Self::LabelReprinted,
        Self::LabelVoided,
        Self::CarrierConnected,
        Self::DeviceRegistered,
        Self::DeviceRevoked,
        Self::DeviceWipeRequested,
        Self::DeviceWiped,
        Self::DeviceProfileChanged,
        Self::RetentionChanged,
        Self::RetentionRun,
        Self::DataExported,
        Self::DataCorrected,
        Self::DataErased,
        Self::ReleasePublished,
        Self::ReleaseRolloutChanged,
        Self::ReleasePaused,
        Self::ReleaseResumed,
        Self::CarrierUpdated,
        Self::CarrierDisabled,
        Self::CarrierEnabled,
        Self::CarrierRemoved,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TenantCreated => "tenant_created",
            Self::UserCreated => "user_created",
            Self::LoginOk => "login_ok",
            Self::LoginFailed => "login_failed",
            Self::Lockout => "lockout",
            Self::Logout => "logout",
            Self::TokenRefreshed => "token_refreshed",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordChanged => "password_changed",
            Self::MfaEnrolStarted => "mfa_enrol_started",
            Self::MfaEnrolled => "mfa_enrolled",
            Self::MfaOk => "mfa_ok",
            Self::MfaFailed => "mfa_failed",
            Self::MfaReplayed => "mfa_replayed",
            Self::RoleChanged => "role_changed",
            Self::AccessDenied => "access_denied",
            Self::PiiRead => "pii_read",
            Self::KeyRotated => "key_rotated",
            Self::AmazonAuthorized => "amazon_authorized",
            Self::AmazonRevoked => "amazon_revoked",
            Self::AmazonPiiPurged => "amazon_pii_purged",
            Self::LabelReprinted => "label_reprinted",
            Self::LabelVoided => "label_voided",
            Self::CarrierConnected => "carrier_connected",
            Self::DeviceRegistered => "device_registered",
            Self::DeviceRevoked => "device_revoked",
            Self::DeviceWipeRequested => "device_wipe_requested",
            Self::DeviceWiped => "device_wiped",
            Self::DeviceProfileChanged => "device_profile_changed",
            Self::RetentionChanged => "retention_changed",
            Self::RetentionRun => "retention_run",
            Self::DataExported => "data_exported",
            Self::DataCorrected => "data_corrected",
            Self::DataErased => "data_erased",
            Self::ReleasePublished => "release_published",
            Self::ReleaseRolloutChanged => "release_rollout_changed",
            Self::ReleasePaused => "release_paused",
            Self::ReleaseResumed => "release_resumed",
            Self::CarrierUpdated => "carrier_updated",
            Self::CarrierDisabled => "carrier_disabled",
            Self::CarrierEnabled => "carrier_enabled",
            Self::CarrierRemoved => "carrier_removed",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Outcome::Success, Outcome::Failure, Outcome::Denied]
            .into_iter()
            .find(|o| o.as_str() == s)
    }
}

/// One audit event as stored. `actor` is a user id or a label such as `cli` or `anonymous`;
/// `detail` never holds PII or secrets (it is free text written by the server, not by users).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub seq: i64,
    /// Milliseconds since the Unix epoch, UTC.
    pub at_ms: i64,
    pub actor: String,
    pub action: AuditAction,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub outcome: Outcome,
    pub detail: Option<String>,
}

/// The hash that precedes the first event of every tenant.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// The link hash of `event`, given the previous link.
#[must_use]
pub fn link_hash(audit_key: &[u8], tenant: TenantId, prev: &[u8], event: &AuditEvent) -> [u8; 32] {
    let tenant = tenant.to_string();
    let seq = event.seq.to_be_bytes();
    let at = event.at_ms.to_be_bytes();
    fn opt(o: &Option<String>) -> &[u8] {
        // 0xFF never occurs in UTF-8, so "absent" cannot collide with any present value.
        o.as_deref().map_or(b"\xff", str::as_bytes)
    }
    hmac_sha256(
        audit_key,
        &[
            b"wms-audit-v1",
            tenant.as_bytes(),
            prev,
            &seq,
            &at,
            event.actor.as_bytes(),
            event.action.as_str().as_bytes(),
            opt(&event.target),
            opt(&event.ip),
            event.outcome.as_str().as_bytes(),
            opt(&event.detail),
        ],
    )
}

/// Where a chain stops holding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error(
        "audit event {seq}: hash does not match its content and predecessor (altered or reordered)"
    )]
    HashMismatch { seq: i64 },
    #[error(
        "audit event {seq}: expected sequence number {expected} (an event is missing or inserted)"
    )]
    Gap { seq: i64, expected: i64 },
    #[error("audit event {seq}: stored previous hash does not match event {prev_seq}")]
    PrevMismatch { seq: i64, prev_seq: i64 },
}

impl ChainError {
    #[must_use]
    pub const fn seq(&self) -> i64 {
        match self {
            ChainError::HashMismatch { seq }
            | ChainError::Gap { seq, .. }
            | ChainError::PrevMismatch { seq, .. } => *seq,
        }
    }
}

/// A stored link: the event plus the hashes written with it.
#[derive(Clone, Debug)]
pub struct StoredLink {
    pub event: AuditEvent,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// Incremental verifier: feed stored links in sequence order; the first error is the first broken link.
pub struct ChainVerifier<'k> {
    key: &'k [u8],
    tenant: TenantId,
    prev: Vec<u8>,
    next_seq: i64,
    /// The sequence number the walk started after (0, or a retention anchor's).
    start_seq: i64,
}

/// Where a chain resumes after retention removed its oldest events: the sequence number and hash
/// of the last event removed. The first kept event must link to it, so removing more than
/// retention did (or anything after it) is still a broken link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: Vec<u8>,
}

impl<'k> ChainVerifier<'k> {
    #[must_use]
    pub fn new(key: &'k [u8], tenant: TenantId) -> Self {
        Self {
            key,
            tenant,
            prev: GENESIS.to_vec(),
            next_seq: 1,
            start_seq: 0,
        }
    }

    /// A verifier that starts after `anchor` (the last event retention removed) instead of at
    /// the genesis.
    #[must_use]
    pub fn resume(key: &'k [u8], tenant: TenantId, anchor: &Anchor) -> Self {
        Self {
            key,
            tenant,
            prev: anchor.hash.clone(),
            next_seq: anchor.seq + 1,
            start_seq: anchor.seq,
        }
    }

    pub fn push(&mut self, link: &StoredLink) -> Result<(), ChainError> {
        let seq = link.event.seq;
        if seq != self.next_seq {
            return Err(ChainError::Gap {
                seq,
                expected: self.next_seq,
            });
        }
        if link.prev_hash != self.prev {
            return Err(ChainError::PrevMismatch {
                seq,
                prev_seq: seq - 1,
            });
        }
        let expected = link_hash(self.key, self.tenant, &self.prev, &link.event);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &link.hash[..])) {
            return Err(ChainError::HashMismatch { seq });
        }
        self.prev = link.hash.clone();
        self.next_seq += 1;
        Ok(())
    }

    /// Number of links verified so far.
    #[must_use]
    pub fn verified(&self) -> i64 {
        self.next_seq - 1 - self.start_seq
    }

    /// The sequence number of the last link verified (or of the anchor, before any).
    #[must_use]
    pub fn last_seq(&self) -> i64 {
        self.next_seq - 1
    }

    /// The hash the next link must carry as its predecessor.
    #[must_use]
    pub fn last_hash(&self) -> &[u8] {
        &self.prev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64, action: AuditAction) -> AuditEvent {
        AuditEvent {
            seq,
            at_ms: 1_700_000_000_000 + seq,
            actor: "u1".into(),
            action,
            target: Some("user:2".into()),
            ip: Some("127.0.0.1".into()),
            outcome: Outcome::Success,
            detail: None,
        }
    }

    fn chain(key: &[u8], t: TenantId, n: i64) -> Vec<StoredLink> {
        let mut prev = GENESIS.to_vec();
        (1..=n)
            .map(|i| {
                let e = ev(i, AuditAction::LoginOk);
                let h = link_hash(key, t, &prev, &e).to_vec();
                let l = StoredLink {
                    event: e,
                    prev_hash: prev.clone(),
                    hash: h.clone(),
                };
                prev = h;
                l
            })
            .collect()
    }

    fn verify(key: &[u8], t: TenantId, links: &[StoredLink]) -> Result<i64, ChainError> {
        let mut v = ChainVerifier::new(key, t);
        for l in links {
            v.push(l)?;
        }
        Ok(v.verified())
    }

    #[test]
    fn intact_chain_verifies() {
        let t = TenantId::new();
        assert_eq!(verify(b"k", t, &chain(b"k", t, 5)), Ok(5));
    }

    #[test]
    fn altered_field_is_the_first_broken_link() {
        let t = TenantId::new();
        let mut links = chain(b"k", t, 5);
        links[2].event.outcome = Outcome::Failure;
        assert_eq!(
            verify(b"k", t, &links),
            Err(ChainError::HashMismatch { seq: 3 })
        );
    }

    #[test]
    fn deleted_and_reordered_events_are_detected() {
        let t = TenantId::new();
        let mut links = chain(b"k", t, 5);
        links.remove(1);
        assert_eq!(
            verify(b"k", t, &links),
            Err(ChainError::Gap {
                seq: 3,
                expected: 2
            })
        );
        let mut links = chain(b"k", t, 5);
        links.swap(1, 2);
        assert!(verify(b"k", t, &links).is_err());
    }

    #[test]
    fn recomputing_without_the_key_does_not_help() {
        // An attacker rewrites event 2 and recomputes every hash with a key they chose.
        let t = TenantId::new();
        let forged = chain(b"attacker", t, 3);
        assert_eq!(
            verify(b"k", t, &forged),
            Err(ChainError::HashMismatch { seq: 1 })
        );
        // And a chain of another tenant does not verify as ours.
        assert!(verify(b"k", TenantId::new(), &chain(b"k", t, 2)).is_err());
    }

    #[test]
    fn a_chain_resumes_after_its_pruned_prefix() {
        let t = TenantId::new();
        let links = chain(b"k", t, 6);
        let anchor = Anchor {
            seq: 3,
            hash: links[2].hash.clone(),
        };
        let mut v = ChainVerifier::resume(b"k", t, &anchor);
        for l in &links[3..] {
            assert_eq!(v.push(l), Ok(()));
        }
        assert_eq!((v.verified(), v.last_seq()), (3, 6));
        assert_eq!(v.last_hash(), &links[5].hash[..]);
        // Pruning one more event than the anchor says is a gap.
        let mut v = ChainVerifier::resume(b"k", t, &anchor);
        assert_eq!(
            v.push(&links[4]),
            Err(ChainError::Gap {
                seq: 5,
                expected: 4
            })
        );
        // An anchor whose hash was not the removed event's does not link.
        let forged = Anchor {
            seq: 3,
            hash: vec![7; 32],
        };
        let mut v = ChainVerifier::resume(b"k", t, &forged);
        assert!(v.push(&links[3]).is_err());
    }

    #[test]
    fn actions_round_trip() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
            assert_eq!(
                serde_json::to_value(a).ok(),
                Some(serde_json::Value::String(a.as_str().into()))
            );
        }
    }
}
