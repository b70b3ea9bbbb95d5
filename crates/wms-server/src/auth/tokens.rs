//! Opaque bearer tokens: 256 random bits, prefixed with their kind and tenant (so the server knows
//! which tenant's transaction to open before it looks the token up). Only SHA-256 of a token is
//! stored; a database leak yields no usable token. Lookups are by hash equality in an index, so the
//! comparison never handles the secret itself.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use wms_core::ids::TenantId;
use zeroize::Zeroizing;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Access,
    Refresh,
}

impl Kind {
    const fn prefix(self) -> &'static str {
        match self {
            Kind::Access => "wat",
            Kind::Refresh => "wrt",
        }
    }
}

/// A freshly minted token: the text goes to the client once, the hash to the database.
pub struct Minted {
    pub token: Zeroizing<String>,
    pub hash: Vec<u8>,
}

#[must_use]
pub fn mint(kind: Kind, tenant: TenantId) -> Minted {
    let mut secret = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(secret.as_mut());
    let token = Zeroizing::new(format!(
        "{}_{}_{}",
        kind.prefix(),
        tenant.as_uuid().simple(),
        URL_SAFE_NO_PAD.encode(secret.as_ref())
    ));
    let hash = hash(&token);
    Minted { token, hash }
}

#[must_use]
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The tenant a token claims to belong to (not proof of anything until the hash is found there).
#[must_use]
pub fn parse(kind: Kind, token: &str) -> Option<TenantId> {
    let mut parts = token.splitn(3, '_');
    if parts.next()? != kind.prefix() {
        return None;
    }
    let tenant = parts.next()?;
    let secret = parts.next()?;
    if secret.len() != 43 || tenant.len() != 32 {
        return None;
    }
    uuid::Uuid::try_parse(tenant).ok().map(TenantId::from_uuid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_back_to_their_tenant_and_kind() {
        let t = TenantId::new();
        let m = mint(Kind::Access, t);
        assert_eq!(parse(Kind::Access, &m.token), Some(t));
        assert_eq!(parse(Kind::Refresh, &m.token), None);
        assert_eq!(m.hash, hash(&m.token));
        assert_ne!(mint(Kind::Access, t).hash, m.hash);
        for bad in [
            "",
            "wat_",
            "wat_nothex_abc",
            "Bearer x",
            &format!("wat_{}_short", t.as_uuid().simple()),
        ] {
            assert_eq!(parse(Kind::Access, bad), None, "{bad}");
        }
    }
}
