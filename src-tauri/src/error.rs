//! The one error shape every command rejects with: a stable `code` the UI maps to a message in
//! its catalogs, the core's English `message` as a fallback, and optional `detail`.

use serde::Serialize;
use wms_client::StationError;

#[derive(Debug, Clone, Serialize)]
pub struct AppError {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            detail: None,
        }
    }

    pub fn not_logged_in() -> Self {
        Self::new("not_logged_in", "this station is not logged in")
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("validation_failed", message)
    }
}

/// The core's codes, renamed where the IPC contract (docs/desktop-ipc.md) names them otherwise.
fn contract_code(code: &str) -> &str {
    match code {
        "certificate_pin_mismatch" => "tls_pin_mismatch",
        "order_unavailable" => "offline",
        "printer_status" => "printer_error",
        "queue_missing" | "spooler_missing" | "bad_printer_target" => "printer_offline",
        "not_packed" => "not_packed",
        other => other,
    }
}

impl From<StationError> for AppError {
    fn from(e: StationError) -> Self {
        let code = contract_code(e.code()).to_owned();
        if matches!(
            code.as_str(),
            "internal" | "io" | "cache" | "config" | "secret_store" | "cache_key_missing"
        ) {
            tracing::error!(error = %e, "command failed");
        } else {
            tracing::info!(code = %code, "command refused");
        }
        Self {
            code,
            message: e.to_string(),
            detail: None,
        }
    }
}

impl From<wms_client::PrintError> for AppError {
    fn from(e: wms_client::PrintError) -> Self {
        StationError::from(e).into()
    }
}

pub type Result<T> = std::result::Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_codes_become_contract_codes() {
        let e: AppError = StationError::OrderUnavailable("o1".into()).into();
        assert_eq!(e.code, "offline");
        // Kept: the packer is told a pre-printed label is the way on while offline.
        let e: AppError = StationError::LabelUnavailableOffline {
            order: "o1".into(),
            package: 1,
        }
        .into();
        assert_eq!(e.code, "label_unavailable_offline");
        let e: AppError = StationError::OrderNotFound("x".into()).into();
        assert_eq!(e.code, "order_not_found");
        let e: AppError = StationError::NotLoggedIn.into();
        assert_eq!(e.code, "not_logged_in");
        let json = serde_json::to_value(&e).unwrap_or_default();
        assert_eq!(json["code"], "not_logged_in");
        assert!(json.get("detail").is_none());
    }
}
