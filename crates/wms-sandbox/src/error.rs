//! The library's error type. Messages never carry secrets (refresh tokens, client secrets,
//! access tokens): those are only ever compared, never formatted.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("state file {path} is not valid JSON: {source}")]
    CorruptState {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("embedded Amazon model unusable: {0}")]
    Model(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("unknown seller {0}")]
    UnknownSeller(String),
    #[error("unknown order {0}")]
    UnknownOrder(String),
    #[error("unknown print job {0}")]
    UnknownJob(String),
}

impl SandboxError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| SandboxError::Io { path, source }
    }
}
