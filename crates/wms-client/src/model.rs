//! The server's wire shapes as the station reads them (unknown fields tolerated, so a newer
//! server does not break an older station). Debug output of anything holding PII is redacted.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub line_no: i64,
    pub sku: String,
    pub name: String,
    pub quantity: i64,
    pub packed: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub seq: i64,
    pub box_type: String,
    pub weight_g: i64,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    /// Amazon shipment feedback (`{"status": "confirmed"}`, `{"status": "failed", "reason": …}`).
    #[serde(default)]
    pub feedback: Option<serde_json::Value>,
}

/// An order with its lines and packages (the server's `OrderView`, without the recipient).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub channel: String,
    pub external_id: String,
    pub warehouse: String,
    pub status: String,
    pub lines: Vec<OrderLine>,
    pub packages: Vec<Package>,
    pub version: i64,
    pub created_at: String,
    #[serde(default)]
    pub ship_time: Option<String>,
    #[serde(default)]
    pub recipient_pii: Option<String>,
    #[serde(default)]
    pub ship_by: Option<String>,
    /// Enough to tell orders apart at the bench (masked name, postal code, prefecture).
    #[serde(default)]
    pub recipient_masked: Option<MaskedRecipient>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskedRecipient {
    pub name: String,
    pub postal_code: String,
    pub prefecture: String,
}

impl std::fmt::Debug for Order {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Order")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("lines", &self.lines.len())
            .field("packages", &self.packages.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Barcode {
    pub code: String,
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sku {
    pub id: String,
    pub seller_sku: String,
    pub name: String,
    #[serde(default)]
    pub barcodes: Vec<Barcode>,
    pub version: i64,
    /// Whether receipts, moves and scans of it need a lot (fixed once the SKU exists). `None`: a
    /// SKU cached by a build that did not keep it (known after the next full sync).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot_tracked: Option<bool>,
}

/// The full recipient as `GET /api/v1/orders/{id}/recipient` returns it (an audited PII read).
#[derive(Clone, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct RecipientWire {
    pub name: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub address1: String,
    #[serde(default)]
    pub address2: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// What the label needs of the recipient, and nothing else (no e-mail): the only PII cached.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct LabelRecipient {
    pub name: String,
    pub postal_code: String,
    pub address: String,
    pub address2: Option<String>,
    pub phone: String,
}

impl From<&RecipientWire> for LabelRecipient {
    fn from(r: &RecipientWire) -> Self {
        Self {
            name: r.name.clone(),
            postal_code: r.postal_code.clone(),
            address: format!("{}{}{}", r.prefecture, r.city, r.address1),
            address2: r.address2.clone(),
            phone: r.phone.clone().unwrap_or_default(),
        }
    }
}

impl std::fmt::Debug for LabelRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LabelRecipient(<redacted>)")
    }
}

impl std::fmt::Debug for RecipientWire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recipient(<redacted>)")
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Warehouse {
    pub id: String,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Me {
    pub user_id: String,
    pub role: String,
    pub tenant: String,
}
