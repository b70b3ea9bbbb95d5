//! Argon2id password hashing, off the async runtime and bounded in concurrency (each hash takes
//! ~19 MiB and tens of milliseconds of one core).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::config::Argon2Settings;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("invalid Argon2 parameters: {0}")]
    Params(String),
    #[error("hashing failed: {0}")]
    Hash(String),
    #[error("hashing task failed")]
    Join,
}

#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password with the same parameters: verifying against it when the user
    /// does not exist makes unknown and known users cost the same time.
    dummy: Arc<String>,
    permits: Arc<Semaphore>,
}

impl PasswordHasher {
    pub fn new(s: Argon2Settings) -> Result<Self, HashError> {
        let params = Params::new(s.memory_kib, s.iterations, s.parallelism, None)
            .map_err(|e| HashError::Params(e.to_string()))?;
        let dummy = hash_blocking(&params, "dummy password that no user has")?;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Ok(Self {
            params,
            dummy: Arc::new(dummy),
            permits: Arc::new(Semaphore::new(cores * 2)),
        })
    }

    pub async fn hash(&self, password: &str) -> Result<String, HashError> {
        let _permit = self.permits.acquire().await.map_err(|_| HashError::Join)?;
        let params = self.params.clone();
        let pw = Zeroizing::new(password.to_owned());
        tokio::task::spawn_blocking(move || hash_blocking(&params, &pw))
            .await
            .map_err(|_| HashError::Join)?
    }

    /// True if `password` matches `stored`; with `stored = None` it spends the same time and says no.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, HashError> {
        let _permit = self.permits.acquire().await.map_err(|_| HashError::Join)?;
        let (hash, real) = match stored {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy.as_ref().clone(), false),
        };
        let pw = Zeroizing::new(password.to_owned());
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(pw.as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .map_err(|_| HashError::Join)?;
        Ok(ok && real)
    }
}

fn hash_blocking(params: &Params, password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Hash(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(Argon2Settings {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .expect("hasher")
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = cheap();
        let stored = h.hash("correct horse battery staple").await.expect("hash");
        assert!(stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(
            h.verify("correct horse battery staple", Some(&stored))
                .await
                .expect("verify")
        );
        assert!(
            !h.verify("wrong horse battery staple", Some(&stored))
                .await
                .expect("verify")
        );
        assert!(!h.verify("anything", None).await.expect("verify"));
        assert!(
            !h.verify("anything", Some("not a hash"))
                .await
                .expect("verify")
        );
    }
}
