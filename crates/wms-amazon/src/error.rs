//! Errors. Messages never carry tokens, request bodies or response bodies (which hold PII).

use crate::lwa::AuthError;
use crate::model::ErrorItem;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Amazon answered with an error status (after retries, for retryable ones).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Connection failure or timeout, after retries.
    #[error("transport error calling {operation} after {attempts} attempt(s): {kind}")]
    Transport {
        operation: &'static str,
        attempts: u32,
        kind: TransportKind,
    },
    /// A 2xx body that does not match the model. Position only: serde's message could quote PII.
    #[error(
        "undecodable {operation} response (request id {request_id:?}) at line {line} column {column}"
    )]
    Decode {
        operation: &'static str,
        request_id: Option<String>,
        line: usize,
        column: usize,
    },
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    pub fn is_authorization_revoked(&self) -> bool {
        matches!(self, Error::Auth(AuthError::AuthorizationRevoked))
    }

    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Timeout,
    Connect,
    Other,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Timeout => "timeout",
            TransportKind::Connect => "connect",
            TransportKind::Other => "other",
        })
    }
}

/// An SP-API error answer: HTTP status, Amazon's `errors[]` and `x-amzn-RequestId`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("SP-API {operation} answered {status} (request id {request_id:?}, codes {codes:?})", codes = self.codes())]
pub struct ApiError {
    pub operation: &'static str,
    pub status: u16,
    pub errors: Vec<ErrorItem>,
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn codes(&self) -> Vec<&str> {
        self.errors.iter().map(|e| e.code.as_str()).collect()
    }

    /// Whether any error carries `code`, compared loosely (see [`code_matches`]).
    pub fn has_code(&self, code: &str) -> bool {
        self.errors.iter().any(|e| code_matches(&e.code, code))
    }

    pub fn is_retryable(&self) -> bool {
        is_retryable_status(self.status)
    }
}

pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Amazon spells the same code several ways (`InvalidInput`, `Invalid Input`): compare
/// ignoring case and every non-alphanumeric character.
pub fn code_matches(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    norm(a) == norm(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_loosely() {
        for v in [
            "InvalidInput",
            "Invalid Input",
            "invalid_input",
            "INVALID-INPUT",
            " invalidinput ",
        ] {
            assert!(code_matches(v, "InvalidInput"), "{v}");
        }
        assert!(!code_matches("InvalidInputs", "InvalidInput"));
        assert!(!code_matches("Unauthorized", "InvalidInput"));
    }

    #[test]
    fn retryable_statuses() {
        assert!(is_retryable_status(429));
        assert!(is_retryable_status(500));
        assert!(is_retryable_status(503));
        for s in [400, 401, 403, 404, 413, 415] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }
}
