//! What the screens are given: the station's records reshaped for display (camelCase, the
//! fields the contract in docs/desktop-ipc.md names), never more than a screen needs.

use serde::Serialize;
use wms_client::model::{Order, Sku};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineView {
    pub line_no: i64,
    pub sku: String,
    pub seller_sku: String,
    pub name: String,
    pub quantity: i64,
    pub packed: i64,
    pub barcodes: Vec<String>,
    pub image_url: Option<String>,
    pub lot_tracked: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageView {
    pub seq: i64,
    pub box_type: String,
    pub weight_g: i64,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub feedback: String,
    pub feedback_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MaskedRecipientView {
    pub name: String,
    pub prefecture: String,
    pub city: String,
    pub postal_code: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub id: String,
    pub external_id: String,
    pub channel: String,
    pub warehouse: String,
    pub status: String,
    pub lines: Vec<OrderLineView>,
    pub packages: Vec<PackageView>,
    pub ship_by: Option<String>,
    pub recipient_masked: Option<MaskedRecipientView>,
    pub complete: bool,
}

/// An order after a scan or a package at the bench: `OrderView`'s fields, and whether the action
/// was recorded offline (checked against the cached order, waiting in the outbox).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackView {
    #[serde(flatten)]
    pub order: OrderView,
    pub recorded_offline: bool,
}

/// `(status, reason)` of a package's feedback JSON (`{"status": "failed", "reason": …}`).
pub fn feedback_of(v: Option<&serde_json::Value>) -> (String, Option<String>) {
    let status = v
        .and_then(|v| v.get("status"))
        .and_then(|s| s.as_str())
        .unwrap_or("not_required")
        .to_owned();
    let reason = v
        .and_then(|v| v.get("reason"))
        .and_then(|s| s.as_str())
        .map(str::to_owned);
    (status, reason)
}

impl OrderView {
    pub fn new(o: &Order, skus: &[Option<Sku>]) -> Self {
        let lines: Vec<OrderLineView> = o
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let sku = skus.get(i).and_then(Option::as_ref);
                OrderLineView {
                    line_no: l.line_no,
                    sku: sku.map_or_else(|| l.sku.clone(), |s| s.id.clone()),
                    seller_sku: sku.map_or_else(|| l.sku.clone(), |s| s.seller_sku.clone()),
                    name: l.name.clone(),
                    quantity: l.quantity,
                    packed: l.packed,
                    barcodes: sku
                        .map(|s| s.barcodes.iter().map(|b| b.code.clone()).collect())
                        .unwrap_or_default(),
                    image_url: None,
                    lot_tracked: false,
                }
            })
            .collect();
        let complete = !lines.is_empty() && lines.iter().all(|l| l.packed >= l.quantity);
        Self {
            id: o.id.clone(),
            external_id: o.external_id.clone(),
            channel: o.channel.clone(),
            warehouse: o.warehouse.clone(),
            status: o.status.clone(),
            lines,
            packages: o
                .packages
                .iter()
                .map(|p| {
                    let (feedback, feedback_reason) = feedback_of(p.feedback.as_ref());
                    PackageView {
                        seq: p.seq,
                        box_type: p.box_type.clone(),
                        weight_g: p.weight_g,
                        carrier: p.carrier.clone(),
                        tracking_number: p.tracking_number.clone(),
                        feedback,
                        feedback_reason,
                    }
                })
                .collect(),
            ship_by: o.ship_by.clone(),
            recipient_masked: o.recipient_masked.as_ref().map(|r| MaskedRecipientView {
                name: r.name.clone(),
                prefecture: r.prefecture.clone(),
                city: String::new(),
                postal_code: r.postal_code.clone(),
            }),
            complete,
        }
    }
}

/// The package (its seq) whose label was scanned, if it is one of this order's: the scan is one
/// of its packages' tracking numbers (scanners may add a carrier prefix or hyphens; digits are
/// compared).
pub fn label_package(o: &Order, scan: &str) -> Option<i64> {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let scanned = digits(scan);
    if scanned.is_empty() {
        return None;
    }
    o.packages
        .iter()
        .find(|p| {
            p.tracking_number
                .as_deref()
                .is_some_and(|t| digits(t) == scanned)
        })
        .map(|p| p.seq)
}

/// Why the labels scanned back at the bench do not allow the dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelsRefusal {
    /// A scan is not one of this order's labels (another order's parcel, or no label at all).
    Mismatch,
    /// These packages' labels were not scanned back (or they have no label).
    Unverified(Vec<i64>),
}

/// Every parcel leaves with its own label checked: each scan is one of this order's labels and
/// each of its packages was scanned. A one-package order needs its one label, as before.
pub fn labels_verified<'a>(
    o: &Order,
    scans: impl IntoIterator<Item = &'a str>,
) -> Result<(), LabelsRefusal> {
    let mut seen = std::collections::BTreeSet::new();
    for scan in scans {
        seen.insert(label_package(o, scan).ok_or(LabelsRefusal::Mismatch)?);
    }
    let missing: Vec<i64> = o
        .packages
        .iter()
        .map(|p| p.seq)
        .filter(|s| !seen.contains(s))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(LabelsRefusal::Unverified(missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wms_client::model::{OrderLine, Package};

    fn order() -> Order {
        Order {
            id: "o1".into(),
            channel: "amazon".into(),
            external_id: "503-1234567-1234567".into(),
            warehouse: "TYO1".into(),
            status: "packed".into(),
            lines: vec![OrderLine {
                line_no: 1,
                sku: "SKU-1".into(),
                name: "Tea".into(),
                quantity: 2,
                packed: 2,
            }],
            packages: vec![Package {
                seq: 1,
                box_type: "60".into(),
                weight_g: 800,
                carrier: Some("yamato".into()),
                tracking_number: Some("1234-5678-9012".into()),
                feedback: Some(serde_json::json!({"status": "failed", "reason": "InvalidInput"})),
            }],
            version: 3,
            created_at: "2026-11-29T00:00:00Z".into(),
            ship_time: None,
            recipient_pii: None,
            ship_by: None,
            recipient_masked: None,
        }
    }

    #[test]
    fn complete_when_every_line_is_packed() {
        let v = OrderView::new(&order(), &[]);
        assert!(v.complete);
        assert_eq!(v.packages[0].feedback, "failed");
        assert_eq!(
            v.packages[0].feedback_reason.as_deref(),
            Some("InvalidInput")
        );
        let mut o = order();
        o.lines[0].packed = 1;
        assert!(!OrderView::new(&o, &[]).complete);
    }

    #[test]
    fn a_pack_view_is_the_order_view_and_whether_it_was_recorded_offline() {
        let v = PackView {
            order: OrderView::new(&order(), &[]),
            recorded_offline: true,
        };
        let json = serde_json::to_value(&v).unwrap_or_default();
        assert_eq!(json["recordedOffline"], true);
        assert_eq!(json["externalId"], "503-1234567-1234567");
        assert_eq!(json["packages"][0]["trackingNumber"], "1234-5678-9012");
        assert!(
            json.get("order").is_none(),
            "flattened: the OrderView fields at the top"
        );
    }

    #[test]
    fn a_label_scan_must_be_one_of_the_orders_numbers() {
        let o = order();
        assert_eq!(label_package(&o, "123456789012"), Some(1));
        assert_eq!(label_package(&o, "1234-5678-9012"), Some(1));
        assert_eq!(label_package(&o, "123456789013"), None);
        assert_eq!(label_package(&o, ""), None);
        assert_eq!(label_package(&o, "ORDER-o1"), None);
    }

    #[test]
    fn dispatch_needs_every_packages_label_and_only_this_orders() {
        let mut o = order();
        assert_eq!(labels_verified(&o, ["123456789012"]), Ok(()));
        assert_eq!(
            labels_verified(&o, []),
            Err(LabelsRefusal::Unverified(vec![1]))
        );
        let mut second = o.packages[0].clone();
        second.seq = 2;
        second.tracking_number = Some("234567890120".into());
        o.packages.push(second);
        assert_eq!(label_package(&o, "2345-6789-0120"), Some(2));
        assert_eq!(
            labels_verified(&o, ["123456789012"]),
            Err(LabelsRefusal::Unverified(vec![2])),
            "one of two labels is not enough"
        );
        assert_eq!(
            labels_verified(&o, ["123456789012", "123456789012"]),
            Err(LabelsRefusal::Unverified(vec![2])),
            "the same label twice counts once"
        );
        assert_eq!(
            labels_verified(&o, ["123456789012", "234567890120"]),
            Ok(())
        );
        assert_eq!(
            labels_verified(&o, ["123456789012", "234567890120", "999999999999"]),
            Err(LabelsRefusal::Mismatch),
            "another parcel's label refuses the dispatch"
        );
        assert_eq!(
            labels_verified(&o, ["", "234567890120"]),
            Err(LabelsRefusal::Mismatch)
        );
        // A package whose label was voided has no number: it cannot be verified.
        o.packages[1].tracking_number = None;
        assert_eq!(
            labels_verified(&o, ["123456789012", "234567890120"]),
            Err(LabelsRefusal::Mismatch)
        );
        assert_eq!(
            labels_verified(&o, ["123456789012"]),
            Err(LabelsRefusal::Unverified(vec![2]))
        );
    }
}
