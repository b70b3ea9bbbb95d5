//! The supervisor's goods in and returns: inbound shipments (announce, list, receive against a
//! line or blind, with lot and expiry for lot-tracked SKUs), putaway from the receiving bin,
//! customer returns (expect, list, receive → restock, quarantine or dispose), the list of cycle
//! counts, and what the forms need (the locations, a scanned code's SKU). Thin commands over
//! `wms_client::receiving`; the server checks the rules and its codes (`over_receipt`,
//! `lot_required`, `not_a_quarantine_location`, …) reach the UI unchanged.

use serde::{Deserialize, Serialize};
use tauri::State;
use wms_client::receiving::{
    self, Disposition, NewInbound, NewLine, NewReturn, Receipt, ReturnReceipt, StockMove,
};

use crate::error::{AppError, Result};
use crate::office::{CountView, given};
use crate::{Desk, is_erasure};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundLineView {
    line_no: i64,
    sku: String,
    expected: i64,
    received: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboundView {
    id: String,
    reference: String,
    warehouse: String,
    expected_on: Option<String>,
    status: String,
    lines: Vec<InboundLineView>,
    created_at: Option<String>,
}

impl From<receiving::Inbound> for InboundView {
    fn from(i: receiving::Inbound) -> Self {
        Self {
            id: i.id,
            reference: i.reference,
            warehouse: i.warehouse,
            expected_on: i.expected_on,
            status: i.status,
            lines: i
                .lines
                .into_iter()
                .map(|l| InboundLineView {
                    line_no: l.line_no,
                    sku: l.sku,
                    expected: l.expected,
                    received: l.received,
                })
                .collect(),
            created_at: i.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnLineView {
    line_no: Option<i64>,
    sku: String,
    quantity: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnView {
    id: String,
    order_id: Option<String>,
    status: String,
    /// The customer's reason code.
    reason: String,
    lines: Vec<ReturnLineView>,
    created_at: Option<String>,
}

impl From<receiving::Return> for ReturnView {
    fn from(r: receiving::Return) -> Self {
        Self {
            id: r.id,
            order_id: r.order_id,
            status: r.status,
            reason: r.reason_code,
            lines: r
                .lines
                .into_iter()
                .map(|l| ReturnLineView {
                    line_no: l.line_no,
                    sku: l.sku,
                    quantity: l.quantity,
                })
                .collect(),
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocationView {
    code: String,
    kind: String,
    level: String,
    parent: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuView {
    seller_sku: String,
    name: String,
    /// `None`: not known at this station (a SKU cached by an older build).
    lot_tracked: Option<bool>,
    barcodes: Vec<String>,
}

/// A line as the form sends it: a SKU and a quantity.
#[derive(Debug, Deserialize)]
pub struct LineInput {
    sku: String,
    quantity: i64,
}

/// The lines of a new shipment or return: SKUs trimmed, at least one.
fn lines(input: Vec<LineInput>) -> Result<Vec<NewLine>> {
    if input.is_empty() {
        return Err(AppError::invalid("lines: at least one line is needed"));
    }
    input
        .into_iter()
        .map(|l| {
            let sku = l.sku.trim();
            if sku.is_empty() {
                return Err(AppError::invalid("lines: every line needs a SKU"));
            }
            Ok(NewLine {
                sku: sku.to_owned(),
                quantity: l.quantity,
            })
        })
        .collect()
}

/// A required text field, trimmed.
fn required(field: &str, value: &str) -> Result<String> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::invalid(format!("{field} is required")));
    }
    Ok(v.to_owned())
}

fn disposition(s: &str) -> Result<Disposition> {
    Disposition::parse(s).ok_or_else(|| {
        AppError::invalid(format!(
            "disposition: {s:?} is not restock, quarantine or dispose"
        ))
    })
}

/// The warehouse's locations, in walking order (supervisor).
#[tauri::command]
pub async fn locations(desk: State<'_, Desk>) -> Result<Vec<LocationView>> {
    with_station!(desk, |s| {
        Ok(s.locations(None)
            .await?
            .into_iter()
            .map(|l| LocationView {
                code: l.code,
                kind: l.kind,
                level: l.level,
                parent: l.parent,
            })
            .collect())
    })
}

/// The SKU a scanned barcode or typed seller SKU names in this station's catalogue, or null.
#[tauri::command]
pub async fn sku_lookup(desk: State<'_, Desk>, code: String) -> Result<Option<SkuView>> {
    with_station!(desk, |s| {
        Ok(s.catalogue_sku(&code).await?.map(|k| SkuView {
            seller_sku: k.seller_sku,
            name: k.name,
            lot_tracked: k.lot_tracked,
            barcodes: k.barcodes.into_iter().map(|b| b.code).collect(),
        }))
    })
}

/// Inbound shipments in one status (all when null), newest first.
#[tauri::command]
pub async fn inbound_shipments(
    desk: State<'_, Desk>,
    status: Option<String>,
    limit: Option<u32>,
) -> Result<Vec<InboundView>> {
    let status = given(status);
    with_station!(desk, |s| {
        Ok(s.inbound_shipments(status.as_deref(), limit)
            .await?
            .into_iter()
            .map(InboundView::from)
            .collect())
    })
}

/// One inbound shipment with its lines.
#[tauri::command]
pub async fn inbound_get(desk: State<'_, Desk>, id: String) -> Result<InboundView> {
    with_station!(desk, |s| Ok(s.inbound(id.trim()).await?.into()))
}

/// Announces an inbound shipment.
#[tauri::command]
pub async fn inbound_create(
    desk: State<'_, Desk>,
    reference: String,
    expected_on: Option<String>,
    lines: Vec<LineInput>,
) -> Result<InboundView> {
    let n = NewInbound {
        warehouse: None,
        reference: required("reference", &reference)?,
        expected_on: given(expected_on),
        lines: self::lines(lines)?,
    };
    with_station!(desk, |s| Ok(s.create_inbound(&n).await?.into()))
}

/// Receives goods into a location: against an inbound shipment (`inboundId`) or blind (null).
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn receive(
    desk: State<'_, Desk>,
    inbound_id: Option<String>,
    sku: String,
    quantity: i64,
    location: String,
    lot: Option<String>,
    expiry: Option<String>,
    reference: Option<String>,
) -> Result<()> {
    let r = Receipt {
        warehouse: None,
        location: required("location", &location)?,
        sku: required("sku", &sku)?,
        quantity,
        lot: given(lot),
        expiry: given(expiry),
        reference: given(reference),
        inbound_id: given(inbound_id),
    };
    with_station!(desk, |s| Ok(s.receive(&r).await?))
}

/// Puts received stock away: from the receiving bin into a storage bin.
#[tauri::command]
pub async fn putaway(
    desk: State<'_, Desk>,
    sku: String,
    from: String,
    to: String,
    quantity: i64,
    lot: Option<String>,
) -> Result<()> {
    let m = StockMove {
        warehouse: None,
        sku: required("sku", &sku)?,
        from: required("from", &from)?,
        to: required("to", &to)?,
        quantity,
        lot: given(lot),
        putaway: true,
    };
    with_station!(desk, |s| Ok(s.move_stock(&m).await?))
}

/// Customer returns in one status (all when null), newest first.
#[tauri::command]
pub async fn returns(
    desk: State<'_, Desk>,
    status: Option<String>,
    limit: Option<u32>,
) -> Result<Vec<ReturnView>> {
    let status = given(status);
    with_station!(desk, |s| {
        Ok(s.customer_returns(status.as_deref(), limit)
            .await?
            .into_iter()
            .map(ReturnView::from)
            .collect())
    })
}

/// One customer return.
#[tauri::command]
pub async fn return_get(desk: State<'_, Desk>, id: String) -> Result<ReturnView> {
    with_station!(desk, |s| Ok(s.customer_return(id.trim()).await?.into()))
}

/// Records a return to expect, for an order (or none).
#[tauri::command]
pub async fn return_create(
    desk: State<'_, Desk>,
    order_id: Option<String>,
    reason: String,
    lines: Vec<LineInput>,
) -> Result<ReturnView> {
    let n = NewReturn {
        order_id: given(order_id),
        reason_code: required("reason", &reason)?,
        lines: self::lines(lines)?,
    };
    with_station!(desk, |s| Ok(s.create_return(&n).await?.into()))
}

/// Receives an expected return after inspection: restocked to a location (and lot), quarantined
/// or disposed of, with the inspection's reason code.
#[tauri::command]
pub async fn return_receive(
    desk: State<'_, Desk>,
    id: String,
    disposition: String,
    location: Option<String>,
    lot: Option<String>,
    reason: String,
) -> Result<ReturnView> {
    let r = ReturnReceipt {
        disposition: self::disposition(&disposition)?,
        location: given(location),
        warehouse: None,
        lot: given(lot),
        reason_code: required("reason", &reason)?,
    };
    let id = required("id", &id)?;
    with_station!(desk, |s| Ok(s.receive_return(&id, &r).await?.into()))
}

/// Cycle counts in one status (all when null), newest first.
#[tauri::command]
pub async fn counts(
    desk: State<'_, Desk>,
    status: Option<String>,
    limit: Option<u32>,
) -> Result<Vec<CountView>> {
    let status = given(status);
    with_station!(desk, |s| {
        Ok(s.counts(status.as_deref(), limit)
            .await?
            .into_iter()
            .map(CountView::from)
            .collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wms_client::StationError;

    fn input(sku: &str, quantity: i64) -> LineInput {
        LineInput {
            sku: sku.into(),
            quantity,
        }
    }

    #[test]
    fn lines_are_trimmed_and_none_is_refused() {
        let l = lines(vec![input(" JP-00002 ", 3)]).unwrap();
        assert_eq!(
            l,
            [NewLine {
                sku: "JP-00002".into(),
                quantity: 3
            }]
        );
        for bad in [vec![], vec![input("  ", 1)]] {
            assert_eq!(lines(bad).unwrap_err().code, "validation_failed");
        }
        // Quantities are the server's to judge (invalid_quantity), not refused here.
        assert_eq!(lines(vec![input("X", 0)]).unwrap()[0].quantity, 0);
    }

    #[test]
    fn a_disposition_is_one_of_three() {
        assert_eq!(disposition("restock").unwrap(), Disposition::Restock);
        assert_eq!(disposition("dispose").unwrap(), Disposition::Dispose);
        assert_eq!(disposition("burn").unwrap_err().code, "validation_failed");
        assert_eq!(
            required("location", " ").unwrap_err().code,
            "validation_failed"
        );
        assert_eq!(required("location", " RCV-01-01 ").unwrap(), "RCV-01-01");
    }

    #[test]
    fn the_servers_refusals_keep_their_codes() {
        for code in [
            "over_receipt",
            "not_on_inbound",
            "unknown_inbound",
            "inbound_closed",
            "lot_required",
            "batch_expiry_mismatch",
            "unknown_location",
            "not_a_quarantine_location",
            "return_already_received",
        ] {
            let e: AppError = StationError::Api(wms_client::ApiError::Problem {
                status: 422,
                code: code.into(),
                detail: Some("refused".into()),
            })
            .into();
            assert_eq!(e.code, code);
        }
    }

    #[test]
    fn views_are_camel_case() {
        let v = serde_json::to_value(InboundView::from(receiving::Inbound {
            id: "in-1".into(),
            reference: "ASN-1".into(),
            warehouse: "TOKYO1".into(),
            expected_on: Some("2026-12-01".into()),
            status: "open".into(),
            lines: vec![receiving::InboundLine {
                line_no: 1,
                sku: "JP-00002".into(),
                expected: 10,
                received: 4,
            }],
            created_at: None,
        }))
        .unwrap();
        assert_eq!(v["expectedOn"], "2026-12-01");
        assert_eq!(v["lines"][0]["lineNo"], 1);
        assert!(v["createdAt"].is_null());
        let r = serde_json::to_value(ReturnView::from(receiving::Return {
            id: "r-1".into(),
            order_id: Some("ord-1".into()),
            status: "expected".into(),
            reason_code: "damaged".into(),
            lines: vec![],
            created_at: Some("2026-11-29T08:00:00.000Z".into()),
        }))
        .unwrap();
        assert_eq!(
            (&r["orderId"], &r["reason"], &r["createdAt"]),
            (
                &serde_json::json!("ord-1"),
                &serde_json::json!("damaged"),
                &serde_json::json!("2026-11-29T08:00:00.000Z")
            )
        );
    }
}
