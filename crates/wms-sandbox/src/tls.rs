//! The self-signed certificate of the HTTPS listener: generated once into `DIR/tls/` for
//! 127.0.0.1, localhost and ::1, then reused across restarts (clients can keep pinning it).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::error::SandboxError;

pub struct TlsMaterial {
    pub cert_pem: String,
    pub cert_der: CertificateDer<'static>,
    pub key: PrivateKeyDer<'static>,
    pub cert_path: PathBuf,
    /// Lower-case hex SHA-256 of the certificate (DER).
    pub sha256: String,
}

pub fn load_or_generate(data_dir: &Path) -> Result<TlsMaterial, SandboxError> {
    let dir = data_dir.join("tls");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    if !(cert.is_file() && key.is_file()) {
        let names = vec![
            "127.0.0.1".to_owned(),
            "localhost".to_owned(),
            "::1".to_owned(),
        ];
        let ck = rcgen::generate_simple_self_signed(names)
            .map_err(|e| SandboxError::Tls(e.to_string()))?;
        std::fs::create_dir_all(&dir).map_err(SandboxError::io(&dir))?;
        write_private(&key, ck.key_pair.serialize_pem().as_bytes())?;
        std::fs::write(&cert, ck.cert.pem()).map_err(SandboxError::io(&cert))?;
    }
    load(&cert, &key)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SandboxError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(SandboxError::io(path))?;
    f.write_all(bytes).map_err(SandboxError::io(path))
}

fn load(cert_path: &Path, key_path: &Path) -> Result<TlsMaterial, SandboxError> {
    let cert_pem = std::fs::read_to_string(cert_path).map_err(SandboxError::io(cert_path))?;
    let cert_der = rustls_pemfile::certs(&mut cert_pem.as_bytes())
        .find_map(Result::ok)
        .ok_or_else(|| {
            SandboxError::Tls(format!("{} holds no certificate", cert_path.display()))
        })?;
    let key_pem = std::fs::read(key_path).map_err(SandboxError::io(key_path))?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .ok()
        .flatten()
        .ok_or_else(|| SandboxError::Tls(format!("{} holds no private key", key_path.display())))?;
    let sha256 = hex::encode(Sha256::digest(cert_der.as_ref()));
    Ok(TlsMaterial {
        cert_pem,
        cert_der,
        key,
        cert_path: cert_path.to_owned(),
        sha256,
    })
}

/// TLS 1.3 and 1.2 only, ring provider, HTTP/2 and HTTP/1.1 by ALPN.
pub fn server_config(m: &TlsMaterial) -> Result<Arc<ServerConfig>, SandboxError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| SandboxError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![m.cert_der.clone()], m.key.clone_key())
        .map_err(|e| SandboxError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
