//! Endpoints, TLS trust and retry settings. Everything is passed in explicitly: no globals.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use rustls::pki_types::CertificateDer;

use crate::error::Error;

/// The Japan marketplace (amazon.co.jp).
pub const MARKETPLACE_JP: &str = "A1VC38T7YXB528";

/// Where LWA and the SP-API live. Defaults to the Far East region and amazon.co.jp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub lwa_token_url: String,
    pub sp_api_base: String,
    pub marketplace_id: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self {
            lwa_token_url: "https://api.amazon.com/auth/o2/token".into(),
            sp_api_base: "https://sellingpartnerapi-fe.amazon.com".into(),
            marketplace_id: MARKETPLACE_JP.into(),
        }
    }
}

/// Which server certificates are trusted.
#[derive(Debug, Clone, Default)]
pub enum TlsTrust {
    /// Mozilla's roots (webpki-roots): the real Amazon endpoints.
    #[default]
    WebPki,
    /// Mozilla's roots plus these (DER), e.g. a sandbox's self-signed certificate.
    WebPkiPlus(Vec<CertificateDer<'static>>),
    /// Only these certificates (pinning), e.g. the loopback sandbox and nothing else.
    Only(Vec<CertificateDer<'static>>),
}

/// Bounded retries with exponential backoff and full jitter.
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
            max_attempts: 6,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Sleep before retry number `retry` (1-based): uniform in `[0, min(max, base·2^(retry-1))]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        use rand::Rng;
        let exp = self
            .base_backoff
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
        let cap = exp.min(self.max_backoff);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=millis))
    }
}

#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub endpoints: Endpoints,
    pub tls: TlsTrust,
    pub retry: RetryPolicy,
    /// Per-request timeout (connect + response).
    pub request_timeout: Duration,
    /// Refresh an access token this long before it expires.
    pub token_refresh_margin: Duration,
    /// Tests only: allow plain `http://` to a loopback host (127.0.0.0/8, ::1, localhost).
    /// Non-loopback `http://` endpoints are refused even with this set.
    pub allow_insecure_loopback: bool,
    /// Usage-plan overrides (rate per second, burst) for the token buckets, e.g. for tests.
    pub rate_plans: Option<crate::rate::RatePlans>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            endpoints: Endpoints::default(),
            tls: TlsTrust::default(),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(30),
            token_refresh_margin: Duration::from_secs(60),
            allow_insecure_loopback: false,
            rate_plans: None,
        }
    }
}

impl ClientOptions {
    /// Checks the endpoints (https, or http to loopback with `allow_insecure_loopback`).
    pub(crate) fn validate(&self) -> Result<(Url, Url), Error> {
        let lwa = self.check_url("lwa_token_url", &self.endpoints.lwa_token_url)?;
        let base = self.check_url("sp_api_base", &self.endpoints.sp_api_base)?;
        if self.endpoints.marketplace_id.is_empty() {
            return Err(Error::Config("marketplace_id is empty".into()));
        }
        Ok((lwa, base))
    }

    fn check_url(&self, name: &str, raw: &str) -> Result<Url, Error> {
        let url = Url::parse(raw).map_err(|e| Error::Config(format!("{name}: {e}")))?;
        match url.scheme() {
            "https" => Ok(url),
            "http" if self.allow_insecure_loopback && is_loopback(&url) => Ok(url),
            "http" if self.allow_insecure_loopback => Err(Error::Config(format!(
                "{name}: plain http is only allowed to a loopback host"
            ))),
            "http" => Err(Error::Config(format!(
                "{name}: plain http refused (TLS 1.2+ is required)"
            ))),
            other => Err(Error::Config(format!("{name}: unsupported scheme {other}"))),
        }
    }

    /// The reqwest client: rustls with ring, TLS 1.2 and 1.3 only, the configured roots.
    pub(crate) fn http_client(&self) -> Result<reqwest::Client, Error> {
        let mut roots = rustls::RootCertStore::empty();
        let extra: &[CertificateDer<'static>] = match &self.tls {
            TlsTrust::WebPki => &[],
            TlsTrust::WebPkiPlus(c) | TlsTrust::Only(c) => c,
        };
        if !matches!(self.tls, TlsTrust::Only(_)) {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for c in extra {
            roots
                .add(c.clone())
                .map_err(|e| Error::Config(format!("extra root certificate: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| Error::Config(format!("tls: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(!self.allow_insecure_loopback)
            .timeout(self.request_timeout)
            .connect_timeout(self.request_timeout.min(Duration::from_secs(10)))
            // Redirects would carry the access token elsewhere; the SP-API does not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("http client: {e}")))
    }
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(lwa: &str, base: &str, insecure: bool) -> ClientOptions {
        ClientOptions {
            endpoints: Endpoints {
                lwa_token_url: lwa.into(),
                sp_api_base: base.into(),
                marketplace_id: MARKETPLACE_JP.into(),
            },
            allow_insecure_loopback: insecure,
            ..ClientOptions::default()
        }
    }

    #[test]
    fn defaults_are_far_east_japan() {
        let e = Endpoints::default();
        assert_eq!(e.lwa_token_url, "https://api.amazon.com/auth/o2/token");
        assert_eq!(e.sp_api_base, "https://sellingpartnerapi-fe.amazon.com");
        assert_eq!(e.marketplace_id, "A1VC38T7YXB528");
        assert!(ClientOptions::default().validate().is_ok());
    }

    #[test]
    fn plain_http_only_to_loopback_and_only_when_allowed() {
        let ok = [
            "http://127.0.0.1:1/t",
            "http://localhost:2/t",
            "http://[::1]:3/t",
        ];
        for u in ok {
            assert!(opts(u, u, true).validate().is_ok(), "{u}");
            assert!(opts(u, u, false).validate().is_err(), "{u}");
        }
        for u in [
            "http://10.0.0.1/t",
            "http://example.com/t",
            "http://127.0.0.1.example.com/t",
        ] {
            assert!(
                opts(u, "https://x.example", true).validate().is_err(),
                "{u}"
            );
        }
        assert!(
            opts("ftp://127.0.0.1/", "https://x.example", true)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy {
            max_attempts: 5,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(250),
        };
        for retry in 1..10 {
            let cap = [100u64, 200, 250][usize::try_from(retry.min(3)).unwrap_or(2) - 1];
            assert!(p.backoff(retry) <= Duration::from_millis(cap), "{retry}");
        }
    }
}
