//! The packing slip (納品書) at the packing bench: an A4 PDF the server makes for an order, sent
//! through the spooler without a dialog (`wms_client`'s `Station::print_packing_slip`).
//!
//! The printer is the one the UI names, else this station's document printer as the Printers
//! screen shows it: the device's printer profile on the server (read again first), else the one
//! chosen at this station. Every slip is an audited read of the recipient on the server, so the
//! printer is settled and checked before the slip is asked for, and nothing is retried here.

use serde::Serialize;
use tauri::State;
use wms_client::StationError;
use wms_client::print::PrinterTarget;

use crate::error::{AppError, Result};
use crate::{Desk, effective_profile, is_erasure};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlipView {
    order_id: String,
    /// The target it went to (`cups://QUEUE`).
    printer: String,
    /// Bytes of PDF spooled.
    bytes: usize,
    sha256: String,
}

/// An order id as the station's API paths take it: letters, digits, `-` and `_` (a UUID, or a
/// test's `ord-1`), so it cannot reach another endpoint through the path.
fn order_id_of(order_id: &str) -> Result<&str> {
    let id = order_id.trim();
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(id)
    } else {
        Err(AppError::invalid(
            "orderId: an order id (letters, digits, '-' and '_', at most 64) is required",
        ))
    }
}

/// The printer the UI named (blank: none).
fn named_printer(printer: Option<&str>) -> Result<Option<PrinterTarget>> {
    match printer.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Ok(Some(p.parse::<PrinterTarget>()?)),
        None => Ok(None),
    }
}

fn not_configured() -> AppError {
    AppError::new(
        "printer_not_configured",
        "no document printer is chosen for this station: an admin sets it in the device's printer profile, or choose one under Printers",
    )
}

/// Prints an order's packing slip, once: to `printer` (`cups://QUEUE`) if given, else to this
/// station's document printer.
#[tauri::command]
pub async fn print_packing_slip(
    desk: State<'_, Desk>,
    order_id: String,
    printer: Option<String>,
) -> Result<SlipView> {
    let order_id = order_id_of(&order_id)?;
    let target = match named_printer(printer.as_deref())? {
        Some(t) => t,
        None => {
            // The device's profile as the server holds it now (this also refreshes the copy
            // `effective_profile` reads); offline, the last one read.
            let from_device = with_station!(desk, |s| match s.document_printer().await {
                Ok(t) => Ok(Some(t)),
                Err(StationError::PrinterNotConfigured(_)) => Ok(None),
                Err(e) => Err(e.into()),
            })?;
            match from_device {
                Some(t) => t,
                None => effective_profile(&desk)
                    .await
                    .document_printer
                    .ok_or_else(not_configured)?
                    .parse::<PrinterTarget>()?,
            }
        }
    };
    let out = with_station!(desk, |s| Ok(s
        .print_packing_slip(order_id, Some(&target))
        .await?))?;
    Ok(SlipView {
        order_id: out.order_id,
        printer: out.printer,
        bytes: out.bytes,
        sha256: out.sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_id_cannot_leave_its_path_segment() {
        assert_eq!(
            order_id_of(" 0192f3a4-7b1c-7d2e-8f90-123456789abc ").ok(),
            Some("0192f3a4-7b1c-7d2e-8f90-123456789abc")
        );
        assert_eq!(order_id_of("ord-1").ok(), Some("ord-1"));
        for bad in [
            "",
            "  ",
            "../users",
            "o1/packages",
            "o1?format=zpl",
            "o 1",
            "%2e%2e",
        ] {
            let e = order_id_of(bad).err().map(|e| e.code);
            assert_eq!(e.as_deref(), Some("validation_failed"), "{bad:?}");
        }
        assert!(order_id_of(&"a".repeat(65)).is_err());
    }

    #[test]
    fn a_named_printer_is_a_target_and_blank_is_none() {
        assert!(matches!(named_printer(None), Ok(None)));
        assert!(matches!(named_printer(Some("  ")), Ok(None)));
        let t = named_printer(Some("cups://office-a4")).ok().flatten();
        assert_eq!(
            t.map(|t| t.to_string()).as_deref(),
            Some("cups://office-a4")
        );
        let e = named_printer(Some("lpt1")).err().map(|e| e.code);
        assert_eq!(e.as_deref(), Some("printer_offline"));
        let e = named_printer(Some("winspool://Office"))
            .err()
            .map(|e| e.code);
        assert_eq!(e.as_deref(), Some("printer_platform_unsupported"));
    }

    #[test]
    fn the_view_is_camel_case() {
        let v = serde_json::to_value(SlipView {
            order_id: "o1".into(),
            printer: "cups://office-a4".into(),
            bytes: 2048,
            sha256: "ab".repeat(32),
        })
        .unwrap_or_default();
        assert_eq!(v["orderId"], "o1");
        assert_eq!(v["printer"], "cups://office-a4");
        assert_eq!(v["bytes"], 2048);
        assert_eq!(v["sha256"], "ab".repeat(32));
    }

    #[test]
    fn a_missing_document_printer_is_printer_not_configured() {
        assert_eq!(not_configured().code, "printer_not_configured");
    }
}
