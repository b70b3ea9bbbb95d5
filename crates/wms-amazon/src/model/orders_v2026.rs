//! Orders API v2026-01-01: `searchOrders`, `getOrder` (model `orders_2026-01-01.json`).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `includedData` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IncludedData {
    Buyer,
    Recipient,
    Proceeds,
    Expense,
    Promotion,
    Cancellation,
    Fulfillment,
    Packages,
    Tax,
    Payment,
    FulfillmentOrders,
}

impl IncludedData {
    pub fn as_str(self) -> &'static str {
        match self {
            IncludedData::Buyer => "BUYER",
            IncludedData::Recipient => "RECIPIENT",
            IncludedData::Proceeds => "PROCEEDS",
            IncludedData::Expense => "EXPENSE",
            IncludedData::Promotion => "PROMOTION",
            IncludedData::Cancellation => "CANCELLATION",
            IncludedData::Fulfillment => "FULFILLMENT",
            IncludedData::Packages => "PACKAGES",
            IncludedData::Tax => "TAX",
            IncludedData::Payment => "PAYMENT",
            IncludedData::FulfillmentOrders => "FULFILLMENT_ORDERS",
        }
    }
}

/// `fulfilledBy` (query enum; in responses a string whose values are these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FulfilledBy {
    Merchant,
    Amazon,
}

impl FulfilledBy {
    pub fn as_str(self) -> &'static str {
        match self {
            FulfilledBy::Merchant => "MERCHANT",
            FulfilledBy::Amazon => "AMAZON",
        }
    }
}

/// `FulfillmentStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FulfillmentStatus {
    PendingAvailability,
    Pending,
    Unshipped,
    PartiallyShipped,
    Shipped,
    Cancelled,
    Unfulfillable,
    /// A status this client does not know yet (the model may grow): treat as "do not ship".
    #[serde(other)]
    Other,
}

impl FulfillmentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FulfillmentStatus::PendingAvailability => "PENDING_AVAILABILITY",
            FulfillmentStatus::Pending => "PENDING",
            FulfillmentStatus::Unshipped => "UNSHIPPED",
            FulfillmentStatus::PartiallyShipped => "PARTIALLY_SHIPPED",
            FulfillmentStatus::Shipped => "SHIPPED",
            FulfillmentStatus::Cancelled => "CANCELLED",
            FulfillmentStatus::Unfulfillable => "UNFULFILLABLE",
            FulfillmentStatus::Other => "OTHER",
        }
    }
}

/// The model requires exactly one of `createdAfter` and `lastUpdatedAfter`: an enum makes the
/// other combinations unrepresentable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchWindow {
    Created {
        after: OffsetDateTime,
        before: Option<OffsetDateTime>,
    },
    LastUpdated {
        after: OffsetDateTime,
        before: Option<OffsetDateTime>,
    },
}

/// `searchOrders` query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchOrdersQuery {
    pub window: SearchWindow,
    pub fulfillment_statuses: Vec<FulfillmentStatus>,
    /// Empty: the client's configured marketplace.
    pub marketplace_ids: Vec<String>,
    pub fulfilled_by: Vec<FulfilledBy>,
    /// 1..=100 (Amazon's default 100).
    pub max_results_per_page: Option<u32>,
    pub pagination_token: Option<String>,
    pub included_data: Vec<IncludedData>,
}

impl SearchOrdersQuery {
    pub fn created_after(after: OffsetDateTime) -> Self {
        Self::new(SearchWindow::Created {
            after,
            before: None,
        })
    }

    pub fn last_updated_after(after: OffsetDateTime) -> Self {
        Self::new(SearchWindow::LastUpdated {
            after,
            before: None,
        })
    }

    fn new(window: SearchWindow) -> Self {
        Self {
            window,
            fulfillment_statuses: Vec::new(),
            marketplace_ids: Vec::new(),
            fulfilled_by: Vec::new(),
            max_results_per_page: None,
            pagination_token: None,
            included_data: Vec::new(),
        }
    }

    /// The query string pairs, arrays comma-separated (Swagger 2 `csv`, the model's default).
    pub fn to_query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        let (after_name, before_name, after, before) = match self.window {
            SearchWindow::Created { after, before } => {
                ("createdAfter", "createdBefore", after, before)
            }
            SearchWindow::LastUpdated { after, before } => {
                ("lastUpdatedAfter", "lastUpdatedBefore", after, before)
            }
        };
        q.push((after_name, rfc3339(after)));
        if let Some(b) = before {
            q.push((before_name, rfc3339(b)));
        }
        push_csv(
            &mut q,
            "fulfillmentStatuses",
            self.fulfillment_statuses.iter().map(|s| s.as_str()),
        );
        push_csv(
            &mut q,
            "marketplaceIds",
            self.marketplace_ids.iter().map(String::as_str),
        );
        push_csv(
            &mut q,
            "fulfilledBy",
            self.fulfilled_by.iter().map(|f| f.as_str()),
        );
        if let Some(n) = self.max_results_per_page {
            q.push(("maxResultsPerPage", n.to_string()));
        }
        if let Some(t) = &self.pagination_token {
            q.push(("paginationToken", t.clone()));
        }
        push_csv(
            &mut q,
            "includedData",
            self.included_data.iter().map(|d| d.as_str()),
        );
        q
    }
}

/// `includedData` for `getOrder`, as query pairs.
pub fn included_data_pairs(included: &[IncludedData]) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    push_csv(&mut q, "includedData", included.iter().map(|d| d.as_str()));
    q
}

fn push_csv<'a>(
    q: &mut Vec<(&'static str, String)>,
    name: &'static str,
    values: impl Iterator<Item = &'a str>,
) {
    let joined = values.collect::<Vec<_>>().join(",");
    if !joined.is_empty() {
        q.push((name, joined));
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    // Formatting a valid OffsetDateTime as RFC 3339 only fails for years outside 0..=9999.
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `SearchOrdersResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchOrdersResponse {
    pub orders: Vec<Order>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<Pagination>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_updated_before: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_before: Option<OffsetDateTime>,
}

impl SearchOrdersResponse {
    /// The `paginationToken` for the next page; `None` on the last page.
    pub fn next_token(&self) -> Option<&str> {
        self.pagination
            .as_ref()
            .and_then(|p| p.next_token.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// `GetOrderResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetOrderResponse {
    pub order: Order,
}

/// `Order` (the fields the product uses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub order_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_aliases: Option<Vec<Alias>>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_updated_time: OffsetDateTime,
    /// e.g. `PRIME`, `AMAZON_BUSINESS` (open-ended strings in the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programs: Option<Vec<String>>,
    pub sales_channel: SalesChannel,
    /// Present with `includedData=BUYER` and the matching role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Buyer>,
    /// Present with `includedData=RECIPIENT` and the matching role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment: Option<OrderFulfillment>,
    pub order_items: Vec<OrderItem>,
    /// Present with `includedData=PACKAGES`: what Amazon recorded from shipment confirmations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<OrderPackage>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alias {
    pub alias_id: String,
    pub alias_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesChannel {
    pub channel_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_name: Option<String>,
}

/// PII: `Debug` prints no values.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_purchase_order_number: Option<String>,
}

impl std::fmt::Debug for Buyer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Buyer(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_address: Option<CustomerAddress>,
}

/// `CustomerAddress`. PII: `Debug` prints no values. Without the restricted role Amazon may send
/// only city/state/postal code: every field is optional.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district_or_county: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_or_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// `RESIDENTIAL` / `COMMERCIAL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_type: Option<String>,
}

impl std::fmt::Debug for CustomerAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerAddress(<redacted>)")
    }
}

/// `OrderFulfillment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderFulfillment {
    pub fulfillment_status: FulfillmentStatus,
    /// `MERCHANT` / `AMAZON` (a string in the model, so kept open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfilled_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment_service_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ship_by_window: Option<DateTimeRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_by_window: Option<DateTimeRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_printing_window: Option<DateTimeRange>,
}

impl OrderFulfillment {
    pub fn is_merchant_fulfilled(&self) -> bool {
        self.fulfilled_by.as_deref() == Some(FulfilledBy::Merchant.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeRange {
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub earliest_date_time: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub latest_date_time: Option<OffsetDateTime>,
}

/// `OrderItem`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    pub order_item_id: String,
    pub quantity_ordered: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programs: Option<Vec<String>>,
    pub product: ItemProduct,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fulfillment: Option<ItemFulfillment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemProduct {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seller_sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_numbers: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFulfillment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_fulfilled: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantity_unfulfilled: Option<u32>,
}

/// `OrderPackage`: a package Amazon has on record for the order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderPackage {
    pub package_reference_id: String,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_time: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_status: Option<PackageStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub ship_time: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_items: Option<Vec<PackageItem>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageStatus {
    /// `PENDING`, `IN_TRANSIT`, `SHIPPED`, `DELIVERED`, `CANCELLED`, `UNDELIVERABLE` (kept open).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detailed_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageItem {
    pub order_item_id: String,
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transparency_codes: Option<Vec<String>>,
}
