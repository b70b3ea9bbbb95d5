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
/// The spooler's own refusals keep their codes (`queue_missing`, `spooler_missing`, `not_pdf`,
/// `pdf_needs_spooler`, `printer_platform_unsupported`): each asks for a different fix (a queue
/// to create or choose, CUPS to start, a spooler queue instead of a label printer's port), which
/// "the printer did not answer" would hide.
fn contract_code(code: &str) -> &str {
    match code {
        "certificate_pin_mismatch" => "tls_pin_mismatch",
        "order_unavailable" => "offline",
        "printer_status" => "printer_error",
        "bad_printer_target" => "printer_offline",
        "not_packed" => "not_packed",
        other => other,
    }
}

impl From<StationError> for AppError {
    fn from(e: StationError) -> Self {
        let code = contract_code(e.code()).to_owned();
        if matches!(
            code.as_str(),
            "internal"
                | "io"
                | "cache"
                | "config"
                | "secret_store"
                | "cache_key_missing"
                // The server answered something else than the PDF it makes.
                | "not_pdf"
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

    #[test]
    fn print_refusals_keep_their_codes() {
        use wms_client::PrintError;
        let cases = [
            (PrintError::QueueMissing("office".into()), "queue_missing"),
            (
                PrintError::SpoolerMissing("no scheduler".into()),
                "spooler_missing",
            ),
            (PrintError::NotPdf("<html>".into()), "not_pdf"),
            (
                PrintError::PdfNeedsSpooler("tcp://10.0.0.21:9100".into()),
                "pdf_needs_spooler",
            ),
            (
                PrintError::PlatformUnsupported("winspool://Office".into()),
                "printer_platform_unsupported",
            ),
            (
                PrintError::Offline {
                    target: "tcp://10.0.0.21:9100".into(),
                    reason: "connection refused".into(),
                },
                "printer_offline",
            ),
            (PrintError::BadTarget("lpt1".into()), "printer_offline"),
            (PrintError::Status("?".into()), "printer_error"),
        ];
        for (e, code) in cases {
            assert_eq!(AppError::from(e).code, code);
        }
        let e: AppError = StationError::PrinterNotConfigured("document").into();
        assert_eq!(e.code, "printer_not_configured");
        assert!(e.message.contains("document"), "{}", e.message);
        let e: AppError = StationError::SlipUnavailableOffline("o1".into()).into();
        assert_eq!(e.code, "slip_unavailable_offline");
    }
}
