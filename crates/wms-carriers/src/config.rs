//! How an adapter reaches its carrier: base URL, credentials, TLS trust, retries, and the carrier
//! rules the reference leaves unverified (offered time slots, size and weight limits), which are
//! therefore configuration with defaults rather than constants.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use rustls::pki_types::CertificateDer;
use wms_core::label::TimeSlot;

use crate::error::Error;
use crate::secret::Secret;

/// Which server certificates are trusted.
#[derive(Debug, Clone, Default)]
pub enum TlsTrust {
    /// Mozilla's roots (webpki-roots).
    #[default]
    WebPki,
    /// Mozilla's roots plus these (DER).
    WebPkiPlus(Vec<CertificateDer<'static>>),
    /// Only these certificates (pinning), e.g. the loopback sandbox.
    Only(Vec<CertificateDer<'static>>),
}

/// Bounded retries with exponential backoff and full jitter, for calls that are safe to repeat
/// (every call of these adapters: bookings carry an idempotency key, voids and tracking are
/// idempotent by nature).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Total attempts including the first (at least 1).
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Sleep before retry `retry` (1-based): uniform in `[0, min(max, base·2^(retry-1))]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        use rand::Rng;
        let ceiling = self
            .base_backoff
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)))
            .min(self.max_backoff);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
    }
}

/// The contract's credentials: API key (secret) and customer code (Yamato 請求先顧客コード,
/// Sagawa お客様コード; not secret, it is printed on invoices).
#[derive(Debug)]
pub struct Credentials {
    pub api_key: Secret,
    pub customer_code: String,
}

/// Size and weight limits of one service class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageLimits {
    /// Length + width + height.
    pub max_size_cm: u32,
    pub max_weight_grams: u32,
}

/// Carrier rules the reference does not pin down (`carriers-and-labels.md` marks them unverified):
/// kept here so that a contract's actual terms are configuration, not a code change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarrierRules {
    /// The delivery time slots the carrier offers.
    pub time_slots: Vec<TimeSlot>,
    /// Normal parcels.
    pub limits: PackageLimits,
    /// Cool (chilled/frozen) parcels.
    pub cool_limits: PackageLimits,
    /// Packages per booking.
    pub max_packages: usize,
}

impl CarrierRules {
    /// Yamato 宅急便: every slot of the B2 layout; up to 200 size / 30 kg, クール宅急便 up to 120
    /// size / 15 kg (published tariffs; unverified against a contract).
    pub fn yamato() -> Self {
        Self {
            time_slots: TimeSlot::ALL.to_vec(),
            limits: PackageLimits {
                max_size_cm: 200,
                max_weight_grams: 30_000,
            },
            cool_limits: PackageLimits {
                max_size_cm: 120,
                max_weight_grams: 15_000,
            },
            max_packages: 99,
        }
    }

    /// Sagawa 飛脚宅配便: no 20–21 slot (its evening slots are 18–20 and 19–21, which the shared
    /// code list cannot express); up to 160 size / 30 kg, 飛脚クール便 up to 140 size / 20 kg
    /// (published tariffs; unverified against a contract).
    pub fn sagawa() -> Self {
        Self {
            time_slots: TimeSlot::ALL
                .into_iter()
                .filter(|s| *s != TimeSlot::From20To21)
                .collect(),
            limits: PackageLimits {
                max_size_cm: 160,
                max_weight_grams: 30_000,
            },
            cool_limits: PackageLimits {
                max_size_cm: 140,
                max_weight_grams: 20_000,
            },
            max_packages: 99,
        }
    }
}

/// Everything an adapter needs. Not `Clone`: it holds the API key.
#[derive(Debug)]
pub struct CarrierConfig {
    /// e.g. `https://carrier.example/api` or the sandbox's `urls().yamato`.
    pub base_url: String,
    pub credentials: Credentials,
    pub tls: TlsTrust,
    pub retry: RetryPolicy,
    /// Per attempt (connect + response).
    pub request_timeout: Duration,
    pub rules: CarrierRules,
}

impl CarrierConfig {
    /// Defaults for everything but the endpoint, the credentials and the rules.
    pub fn new(base_url: impl Into<String>, credentials: Credentials, rules: CarrierRules) -> Self {
        Self {
            base_url: base_url.into(),
            credentials,
            tls: TlsTrust::default(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            rules,
        }
    }

    /// The base URL, which must be `https` (TLS 1.2+; the API key travels in a header).
    pub(crate) fn base(&self) -> Result<Url, Error> {
        let url =
            Url::parse(&self.base_url).map_err(|e| Error::Config(format!("base_url: {e}")))?;
        if url.scheme() != "https" {
            return Err(Error::Config(
                "base_url must be https (TLS 1.2+ is required)".into(),
            ));
        }
        if url.cannot_be_a_base() {
            return Err(Error::Config("base_url cannot be a base URL".into()));
        }
        if self.credentials.customer_code.trim().is_empty()
            || self.credentials.api_key.expose_secret().is_empty()
        {
            return Err(Error::Config(
                "API key and customer code are required".into(),
            ));
        }
        Ok(url)
    }

    /// rustls with ring, TLS 1.3 and 1.2 only, the configured roots; no redirects (they would carry
    /// the API key elsewhere).
    pub(crate) fn http_client(&self) -> Result<reqwest::Client, Error> {
        let mut roots = rustls::RootCertStore::empty();
        let (webpki, pinned): (bool, &[CertificateDer<'static>]) = match &self.tls {
            TlsTrust::WebPki => (true, &[]),
            TlsTrust::WebPkiPlus(extra) => (true, extra),
            TlsTrust::Only(pinned) => (false, pinned),
        };
        if webpki {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for cert in pinned {
            roots
                .add(cert.clone())
                .map_err(|e| Error::Config(format!("root certificate: {e}")))?;
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Config(format!("tls: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            .timeout(self.request_timeout)
            .connect_timeout(self.request_timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("http client: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> CarrierConfig {
        CarrierConfig::new(
            url,
            Credentials {
                api_key: Secret::new("k"),
                customer_code: "c".into(),
            },
            CarrierRules::yamato(),
        )
    }

    #[test]
    fn only_https() {
        assert!(config("https://carrier.example/api").base().is_ok());
        for bad in ["http://127.0.0.1:1/", "ftp://x/", "not a url", "mailto:a@b"] {
            assert!(config(bad).base().is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(25),
        };
        for retry in 1..8 {
            assert!(p.backoff(retry) <= Duration::from_millis(25));
        }
    }
}
