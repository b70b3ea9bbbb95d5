//! Sealing: AES-256-GCM envelope encryption of fields at rest.
//!
//! Why an envelope: each tenant has its own random data key, and only that key touches data. The data
//! key is stored *wrapped* by a master key that never enters the database. Rotating the master key
//! re-wraps a handful of data keys instead of re-encrypting every row, and destroying a tenant's data
//! key makes every copy of its ciphertext (backups included) unreadable at once.
//!
//! Every ciphertext is bound by AAD to `(tenant, table, column, row)`: a value copied into another row,
//! column or tenant fails to open instead of silently showing someone else's data.
//!
//! Ciphertext format (versioned so that it can evolve):
//! `[format = 1][key version: u32 BE][nonce: 12 bytes][AES-GCM ciphertext || 16-byte tag]`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::ids::TenantId;

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 4 + NONCE_LEN;
/// Length of every key handled here (AES-256, HMAC-SHA256).
pub const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("ciphertext is too short or malformed")]
    Malformed,
    #[error("ciphertext format {0} is not supported")]
    UnsupportedFormat(u8),
    #[error("no key with version {0} is available")]
    UnknownKeyVersion(u32),
    /// Wrong key, wrong AAD (moved to another row/tenant) or a flipped byte: indistinguishable on purpose.
    #[error("ciphertext failed authentication")]
    Authentication,
    #[error("key material must be {KEY_LEN} bytes")]
    BadKeyLength,
}

/// 32 bytes of secret key material. Not `Clone`, not `Serialize`; zeroed on drop; `Debug` is redacted.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    #[must_use]
    pub fn generate() -> Self {
        let mut k = [0u8; KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut k);
        Self(k)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self, SealError> {
        let arr: [u8; KEY_LEN] = bytes.try_into().map_err(|_| SealError::BadKeyLength)?;
        Ok(Self(arr))
    }

    /// The raw bytes, for wrapping or writing to a key file. Callers must not log them.
    #[must_use]
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A short, non-secret identifier of this key (first 8 bytes of SHA-256 of a domain-separated hash).
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"wms-key-fingerprint\0");
        h.update(self.0);
        hex::encode(&h.finalize()[..8])
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.0).into())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// What a sealed value is bound to. Changing any part makes the ciphertext fail to open.
#[derive(Debug, Clone, Copy)]
pub struct Aad<'a> {
    pub tenant: TenantId,
    pub table: &'a str,
    pub column: &'a str,
    pub row: &'a str,
}

impl Aad<'_> {
    fn encode(&self) -> Vec<u8> {
        // Length-prefixed parts: no separator ambiguity ("a\0b" vs "a" + "\0b").
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(b"wms-seal-v1");
        let tenant = self.tenant.to_string();
        for part in [tenant.as_str(), self.table, self.column, self.row] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// Why a wrapped key exists: each purpose has its own key so that, e.g., destroying the data key does
/// not also destroy the audit chain's verifiability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyPurpose {
    /// Encrypts PII and secrets (AES-256-GCM).
    Data,
    /// Blind indexes: HMAC of normalised values that must be found by equality (e-mail at login).
    Index,
    /// Keys the audit chain's HMAC, so a database-only attacker cannot recompute the chain.
    Audit,
}

impl KeyPurpose {
    pub const ALL: [KeyPurpose; 3] = [KeyPurpose::Data, KeyPurpose::Index, KeyPurpose::Audit];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Data => "data",
            KeyPurpose::Index => "index",
            KeyPurpose::Audit => "audit",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// Seal `plaintext` under `key` (identified by `version`) bound to `aad`. A fresh random nonce each time.
#[must_use]
pub fn seal(key: &SecretKey, version: u32, aad: &Aad<'_>, plaintext: &[u8]) -> Vec<u8> {
    seal_raw(key, version, &aad.encode(), plaintext)
}

fn seal_raw(key: &SecretKey, version: u32, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.push(FORMAT_V1);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&nonce);
    // Encryption with a 32-byte key and a 12-byte nonce cannot fail for in-memory buffers; an error
    // here would only mean a plaintext over 64 GiB, which we never seal.
    let full_aad = header_aad(&out[..5], aad);
    let ct = key
        .cipher()
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &full_aad,
            },
        )
        .unwrap_or_default();
    out.extend_from_slice(&ct);
    out
}

/// The format byte and key version are authenticated too: a ciphertext whose header was edited
/// (say, to point at another key version) fails to open.
fn header_aad(header: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(header.len() + aad.len());
    v.extend_from_slice(header);
    v.extend_from_slice(aad);
    v
}

/// The key version a ciphertext was sealed with (to pick the key before opening).
pub fn key_version(ciphertext: &[u8]) -> Result<u32, SealError> {
    if ciphertext.len() < HEADER_LEN + TAG_LEN {
        return Err(SealError::Malformed);
    }
    if ciphertext[0] != FORMAT_V1 {
        return Err(SealError::UnsupportedFormat(ciphertext[0]));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&ciphertext[1..5]);
    Ok(u32::from_be_bytes(v))
}

/// Open a ciphertext made by [`seal`] with the same key and AAD.
pub fn open(
    key: &SecretKey,
    aad: &Aad<'_>,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    open_raw(key, &aad.encode(), ciphertext)
}

fn open_raw(
    key: &SecretKey,
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    key_version(ciphertext)?;
    let nonce = Nonce::from_slice(&ciphertext[5..HEADER_LEN]);
    let full_aad = header_aad(&ciphertext[..5], aad);
    key.cipher()
        .decrypt(
            nonce,
            Payload {
                msg: &ciphertext[HEADER_LEN..],
                aad: &full_aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| SealError::Authentication)
}

fn wrap_aad(tenant: TenantId, purpose: KeyPurpose, version: u32) -> Vec<u8> {
    format!("wms-wrap-v1\0{tenant}\0{}\0{version}", purpose.as_str()).into_bytes()
}

/// Wrap a tenant key under the master key. The wrapped form is bound to tenant, purpose and version,
/// so a wrapped key copied to another tenant's row does not unwrap.
#[must_use]
pub fn wrap_key(
    master: &SecretKey,
    master_version: u32,
    tenant: TenantId,
    purpose: KeyPurpose,
    version: u32,
    key: &SecretKey,
) -> Vec<u8> {
    seal_raw(
        master,
        master_version,
        &wrap_aad(tenant, purpose, version),
        key.expose(),
    )
}

/// Unwrap a tenant key made by [`wrap_key`].
pub fn unwrap_key(
    master: &SecretKey,
    tenant: TenantId,
    purpose: KeyPurpose,
    version: u32,
    wrapped: &[u8],
) -> Result<SecretKey, SealError> {
    let raw = open_raw(master, &wrap_aad(tenant, purpose, version), wrapped)?;
    SecretKey::from_slice(&raw)
}

/// A set of versioned keys of one purpose: seal with the newest, open with whichever sealed.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: BTreeMap<u32, SecretKey>,
}

impl KeyRing {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, version: u32, key: SecretKey) {
        self.keys.insert(version, key);
    }

    #[must_use]
    pub fn current_version(&self) -> Option<u32> {
        self.keys.keys().next_back().copied()
    }

    #[must_use]
    pub fn current(&self) -> Option<(u32, &SecretKey)> {
        self.keys.iter().next_back().map(|(v, k)| (*v, k))
    }

    /// All keys, oldest version first.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &SecretKey)> {
        self.keys.iter().map(|(v, k)| (*v, k))
    }

    #[must_use]
    pub fn get(&self, version: u32) -> Option<&SecretKey> {
        self.keys.get(&version)
    }

    pub fn seal(&self, aad: &Aad<'_>, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let (v, k) = self.current().ok_or(SealError::UnknownKeyVersion(0))?;
        Ok(seal(k, v, aad, plaintext))
    }

    pub fn open(&self, aad: &Aad<'_>, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let v = key_version(ciphertext)?;
        let k = self.get(v).ok_or(SealError::UnknownKeyVersion(v))?;
        open(k, aad, ciphertext)
    }

    /// Open and decode as UTF-8.
    pub fn open_string(&self, aad: &Aad<'_>, ciphertext: &[u8]) -> Result<String, SealError> {
        let bytes = self.open(aad, ciphertext)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| SealError::Malformed)
    }
}

/// HMAC-SHA256 blind index of an already-normalised value, under a tenant's index key.
/// Deterministic (that is the point: equality search), so it is only ever used on normalised input
/// and never reveals anything without the key.
#[must_use]
pub fn blind_index(index_key: &SecretKey, domain: &str, normalised: &str) -> Vec<u8> {
    hmac_sha256(
        index_key.expose(),
        &[domain.as_bytes(), normalised.as_bytes()],
    )
    .to_vec()
}

/// HMAC-SHA256 over length-prefixed parts (unambiguous concatenation).
#[must_use]
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length, so `InvalidLength` cannot happen.
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// E-mail addresses are found by value at login: trim and lowercase before indexing.
#[must_use]
pub fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn aad(t: TenantId, row: &str) -> Aad<'_> {
        Aad {
            tenant: t,
            table: "users",
            column: "email",
            row,
        }
    }

    #[test]
    fn round_trip_and_key_version() {
        let k = SecretKey::generate();
        let t = TenantId::new();
        let ct = seal(&k, 7, &aad(t, "r1"), b"yamada@example.jp");
        assert_eq!(key_version(&ct), Ok(7));
        assert_eq!(
            open(&k, &aad(t, "r1"), &ct).map(|p| p.to_vec()),
            Ok(b"yamada@example.jp".to_vec())
        );
        // Not the plaintext, and not deterministic.
        assert!(!ct.windows(6).any(|w| w == b"yamada"));
        assert_ne!(ct, seal(&k, 7, &aad(t, "r1"), b"yamada@example.jp"));
    }

    #[test]
    fn moved_ciphertext_fails_to_open() {
        let k = SecretKey::generate();
        let t = TenantId::new();
        let ct = seal(&k, 1, &aad(t, "row-a"), b"secret");
        assert_eq!(
            open(&k, &aad(t, "row-b"), &ct).err(),
            Some(SealError::Authentication)
        );
        assert_eq!(
            open(&k, &aad(TenantId::new(), "row-a"), &ct).err(),
            Some(SealError::Authentication)
        );
        let other_col = Aad {
            column: "name",
            ..aad(t, "row-a")
        };
        assert_eq!(
            open(&k, &other_col, &ct).err(),
            Some(SealError::Authentication)
        );
        let other_table = Aad {
            table: "orders",
            ..aad(t, "row-a")
        };
        assert_eq!(
            open(&k, &other_table, &ct).err(),
            Some(SealError::Authentication)
        );
    }

    #[test]
    fn wrong_key_and_malformed_input_fail_cleanly() {
        let t = TenantId::new();
        let ct = seal(&SecretKey::generate(), 1, &aad(t, "r"), b"x");
        assert_eq!(
            open(&SecretKey::generate(), &aad(t, "r"), &ct).err(),
            Some(SealError::Authentication)
        );
        assert_eq!(key_version(&[1, 2, 3]), Err(SealError::Malformed));
        let mut bad = ct.clone();
        bad[0] = 9;
        assert_eq!(key_version(&bad), Err(SealError::UnsupportedFormat(9)));
    }

    #[test]
    fn wrapped_keys_are_bound_to_tenant_purpose_and_version() {
        let master = SecretKey::generate();
        let t = TenantId::new();
        let dk = SecretKey::generate();
        let w = wrap_key(&master, 1, t, KeyPurpose::Data, 3, &dk);
        let back = unwrap_key(&master, t, KeyPurpose::Data, 3, &w).map(|k| *k.expose());
        assert_eq!(back, Ok(*dk.expose()));
        assert!(unwrap_key(&master, TenantId::new(), KeyPurpose::Data, 3, &w).is_err());
        assert!(unwrap_key(&master, t, KeyPurpose::Index, 3, &w).is_err());
        assert!(unwrap_key(&master, t, KeyPurpose::Data, 4, &w).is_err());
        assert!(unwrap_key(&SecretKey::generate(), t, KeyPurpose::Data, 3, &w).is_err());
    }

    #[test]
    fn keyring_opens_old_versions_and_seals_with_newest() {
        let t = TenantId::new();
        let mut ring = KeyRing::new();
        ring.insert(1, SecretKey::generate());
        let old = ring.seal(&aad(t, "r"), b"old").unwrap_or_default();
        ring.insert(2, SecretKey::generate());
        let new = ring.seal(&aad(t, "r"), b"new").unwrap_or_default();
        assert_eq!(key_version(&old), Ok(1));
        assert_eq!(key_version(&new), Ok(2));
        assert_eq!(
            ring.open_string(&aad(t, "r"), &old).ok().as_deref(),
            Some("old")
        );
        assert_eq!(
            ring.open_string(&aad(t, "r"), &new).ok().as_deref(),
            Some("new")
        );
        assert!(KeyRing::new().seal(&aad(t, "r"), b"x").is_err());
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let k = SecretKey::from_slice(&[0xAB; 32]).unwrap_or_else(|_| SecretKey::generate());
        let s = format!("{k:?}");
        assert!(!s.to_lowercase().contains("ab, ") && !s.contains("171"));
        assert!(s.contains("redacted"));
    }

    #[test]
    fn blind_index_is_keyed_and_normalised() {
        let k1 = SecretKey::generate();
        let k2 = SecretKey::generate();
        let a = blind_index(&k1, "email", &normalise_email("  Yamada@Example.JP "));
        let b = blind_index(&k1, "email", &normalise_email("yamada@example.jp"));
        assert_eq!(a, b);
        assert_ne!(a, blind_index(&k2, "email", "yamada@example.jp"));
        assert_ne!(a, blind_index(&k1, "phone", "yamada@example.jp"));
    }

    proptest! {
        #[test]
        fn any_plaintext_round_trips_and_any_flipped_byte_is_detected(
            pt in proptest::collection::vec(any::<u8>(), 0..512),
            flip in any::<proptest::sample::Index>(),
            bit in 0u8..8,
        ) {
            let k = SecretKey::generate();
            let t = TenantId::new();
            let ct = seal(&k, 1, &aad(t, "r"), &pt);
            prop_assert_eq!(open(&k, &aad(t, "r"), &ct).map(|p| p.to_vec()), Ok(pt));
            let mut bad = ct.clone();
            let i = flip.index(bad.len());
            bad[i] ^= 1 << bit;
            prop_assert!(open(&k, &aad(t, "r"), &bad).is_err());
        }
    }
}
