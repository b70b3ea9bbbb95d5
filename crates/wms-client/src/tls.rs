//! TLS for the API client: TLS 1.2/1.3 with the ring provider, and either the webpki roots or the
//! server certificate pinned by its SHA-256 fingerprint (the dev server's self-signed certificate).
//!
//! Pinning never means "accept any": the end-entity certificate's SHA-256 must equal the pin
//! (compared in constant time), and the handshake signature is still verified with that
//! certificate's key, so a peer that merely replays the certificate without its private key fails.

use std::fmt;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A SHA-256 certificate fingerprint.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a SHA-256 fingerprint: expected 64 hex digits, plain or as AB:CD:… pairs ({found} hex digits found)"
)]
pub struct FingerprintError {
    pub found: usize,
}

impl Fingerprint {
    /// Accepts `AB:CD:…` (any case) or plain hex; spaces are ignored.
    pub fn parse(s: &str) -> Result<Self, FingerprintError> {
        let hex_digits: String = s
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        let found = hex_digits.len();
        let bytes = hex::decode(&hex_digits).map_err(|_| FingerprintError { found })?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| FingerprintError { found })?;
        Ok(Self(arr))
    }

    #[must_use]
    pub fn of(cert_der: &[u8]) -> Self {
        Self(Sha256::digest(cert_der).into())
    }

    /// `AB:CD:…`, as `wms-server` logs it.
    #[must_use]
    pub fn to_colon_hex(&self) -> String {
        self.0
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn matches(&self, cert_der: &[u8]) -> bool {
        let seen: [u8; 32] = Sha256::digest(cert_der).into();
        bool::from(seen.ct_eq(&self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({})", self.to_colon_hex())
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_colon_hex())
    }
}

/// The error the pinned verifier raises, findable in a transport error's source chain.
#[derive(Debug, thiserror::Error)]
#[error("the server certificate's SHA-256 fingerprint is {seen}, not the pinned {pinned}")]
pub struct PinMismatch {
    pub pinned: Fingerprint,
    pub seen: Fingerprint,
}

#[derive(Debug)]
struct PinnedVerifier {
    pin: Fingerprint,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The pin names exactly one certificate: name and validity period are what the operator
        // vouched for when pinning it (a self-signed dev certificate has no CA to check them).
        if self.pin.matches(end_entity.as_ref()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch {
                    pinned: self.pin,
                    seen: Fingerprint::of(end_entity.as_ref()),
                })),
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// TLS 1.2+ client configuration: pinned when `pin` is given, webpki roots otherwise.
pub fn client_config(pin: Option<Fingerprint>) -> Result<ClientConfig, rustls::Error> {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    Ok(match pin {
        Some(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedVerifier { pin, algorithms }))
            .with_no_client_auth(),
        None => {
            let mut roots = rustls::RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    })
}

/// For a client that reaches the pinned server and other hosts too (the updater: its manifest
/// comes from the server, an artifact may be hosted elsewhere): the pin for `pinned_host` (on any
/// port), the webpki roots for every other host. Without a pin, the webpki roots everywhere — the
/// same as [`client_config`]. The pin never widens to another host: a name other than the server's
/// must present a certificate a public CA vouches for.
pub fn client_config_pinned_to_host(
    pin: Option<Fingerprint>,
    pinned_host: &str,
) -> Result<ClientConfig, rustls::Error> {
    let Some(pin) = pin else {
        return client_config(None);
    };
    let verifier = HostPinnedVerifier::new(pin, pinned_host)?;
    Ok(ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// The pin for one host name, the webpki roots for the rest.
#[derive(Debug)]
struct HostPinnedVerifier {
    host: ServerName<'static>,
    pinned: PinnedVerifier,
    others: Arc<rustls::client::WebPkiServerVerifier>,
}

impl HostPinnedVerifier {
    fn new(pin: Fingerprint, pinned_host: &str) -> Result<Self, rustls::Error> {
        let bare = pinned_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let host = ServerName::try_from(bare)
            .map_err(|e| rustls::Error::General(format!("`{pinned_host}`: {e}")))?;
        let provider = provider();
        let algorithms = provider.signature_verification_algorithms;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let others = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
        Ok(Self {
            host,
            pinned: PinnedVerifier { pin, algorithms },
            others,
        })
    }
}

impl ServerCertVerifier for HostPinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verifier: &dyn ServerCertVerifier = if *server_name == self.host {
            &self.pinned
        } else {
            self.others.as_ref()
        };
        verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // The same provider's algorithms either way.
        self.pinned.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.pinned.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.pinned.supported_verify_schemes()
    }
}

/// Finds a [`PinMismatch`] anywhere in an error's source chain (through `io::Error` wrappers).
pub fn find_pin_mismatch<'e>(
    err: &'e (dyn std::error::Error + 'static),
) -> Option<&'e PinMismatch> {
    let mut cur: Option<&'e (dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(p) = e.downcast_ref::<PinMismatch>() {
            return Some(p);
        }
        if let Some(rustls::Error::InvalidCertificate(CertificateError::Other(o))) =
            e.downcast_ref::<rustls::Error>()
            && let Some(p) = o.0.downcast_ref::<PinMismatch>()
        {
            return Some(p);
        }
        // io::Error's `source()` skips the wrapped error itself: look at it explicitly.
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(p) = find_pin_mismatch(inner)
        {
            return Some(p);
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_both_forms() {
        let plain = "ab".repeat(32);
        let colon = vec!["AB"; 32].join(":");
        assert_eq!(
            Fingerprint::parse(&plain).unwrap(),
            Fingerprint::parse(&colon).unwrap()
        );
        assert_eq!(Fingerprint::parse(&colon).unwrap().to_colon_hex(), colon);
        assert!(Fingerprint::parse("abcd").is_err());
        assert!(Fingerprint::parse(&"zz".repeat(32)).is_err());
    }

    fn verify(v: &HostPinnedVerifier, cert: &[u8], host: &str) -> Result<(), rustls::Error> {
        let name = ServerName::try_from(host.to_owned()).unwrap();
        v.verify_server_cert(
            &CertificateDer::from(cert.to_vec()),
            &[],
            &name,
            &[],
            UnixTime::now(),
        )
        .map(|_| ())
    }

    #[test]
    fn the_pin_holds_for_its_host_only() {
        let cert = b"not even a certificate".to_vec();
        let pin = Fingerprint::of(&cert);
        client_config_pinned_to_host(Some(pin), "127.0.0.1").unwrap();
        let c = HostPinnedVerifier::new(pin, "127.0.0.1").unwrap();
        // The pinned host: the pinned certificate is the one accepted, on any port.
        verify(&c, &cert, "127.0.0.1").unwrap();
        let e = verify(&c, b"another", "127.0.0.1").unwrap_err();
        assert!(find_pin_mismatch(&e).is_some(), "{e}");
        // Another host: the pinned certificate is worth nothing there (the public CAs decide).
        let e = verify(&c, &cert, "cdn.example.com").unwrap_err();
        assert!(find_pin_mismatch(&e).is_none(), "{e}");
        let c = HostPinnedVerifier::new(pin, "[::1]").unwrap();
        verify(&c, &cert, "::1").unwrap();
        let c = HostPinnedVerifier::new(pin, "WMS.Example.JP").unwrap();
        verify(&c, &cert, "wms.example.jp").unwrap();
    }
}
