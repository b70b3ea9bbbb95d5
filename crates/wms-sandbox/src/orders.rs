//! Order rules with no I/O: what a v2026-01-01 `Order` looks like for a given `includedData` and
//! role, how `searchOrders` filters and pages, and what `confirmShipment` accepts and changes.
//! Orders are kept as the model's JSON (`serde_json::Value`), not as project types, so that the
//! sandbox checks the client independently.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `includedData` values (both operations).
pub const INCLUDED_DATA: [&str; 11] = [
    "BUYER",
    "RECIPIENT",
    "PROCEEDS",
    "EXPENSE",
    "PROMOTION",
    "CANCELLATION",
    "FULFILLMENT",
    "PACKAGES",
    "TAX",
    "PAYMENT",
    "FULFILLMENT_ORDERS",
];
/// `FulfillmentStatus` values.
pub const FULFILLMENT_STATUSES: [&str; 7] = [
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
];
pub const FULFILLED_BY: [&str; 2] = ["MERCHANT", "AMAZON"];

/// searchOrders: `maxResultsPerPage` bounds and default (model: 1..=100, default 100).
pub const MAX_PAGE: u32 = 100;

/// Query parameters: name → values (comma-separated lists and repeated keys both split).
pub type QueryMap = BTreeMap<String, Vec<String>>;

pub fn query_map(pairs: &[(String, String)]) -> QueryMap {
    let mut m = QueryMap::new();
    for (k, v) in pairs {
        let e = m.entry(k.clone()).or_default();
        e.extend(v.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
    }
    m
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Amazon order ids are `3-7-7` digits.
pub fn is_order_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 3
        && [3, 7, 7]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks the allowed values of `includedData`.
pub fn included_data(q: &QueryMap) -> Result<BTreeSet<String>, String> {
    let mut set = BTreeSet::new();
    for v in q.get("includedData").into_iter().flatten() {
        if !INCLUDED_DATA.contains(&v.as_str()) {
            return Err(format!(
                "includedData value {v:?} is not one of {INCLUDED_DATA:?}"
            ));
        }
        set.insert(v.clone());
    }
    Ok(set)
}

pub fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

pub fn fulfillment_status(order: &Value) -> &str {
    str_at(order, "/fulfillment/fulfillmentStatus").unwrap_or("")
}

/// The order as Amazon returns it for `includedData` and the seller's roles.
pub fn render(order: &Value, included: &BTreeSet<String>, pii_granted: bool) -> Value {
    let mut o = order.clone();
    let Some(obj) = o.as_object_mut() else {
        return o;
    };
    for (field, block) in [
        ("buyer", "BUYER"),
        ("recipient", "RECIPIENT"),
        ("proceeds", "PROCEEDS"),
        ("payment", "PAYMENT"),
        ("tax", "TAX"),
        ("fulfillment", "FULFILLMENT"),
        ("packages", "PACKAGES"),
        ("fulfillmentOrders", "FULFILLMENT_ORDERS"),
    ] {
        if !included.contains(block) {
            obj.remove(field);
        }
    }
    if let Some(items) = obj.get_mut("orderItems").and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            for (field, block) in [
                ("proceeds", "PROCEEDS"),
                ("expense", "EXPENSE"),
                ("promotion", "PROMOTION"),
                ("cancellation", "CANCELLATION"),
                ("fulfillment", "FULFILLMENT"),
                ("tax", "TAX"),
            ] {
                if !included.contains(block) {
                    item.remove(field);
                }
            }
        }
    }
    if !pii_granted {
        redact_pii(obj);
    }
    o
}

/// Without the restricted (Direct-to-Consumer Delivery) role: no names, e-mail, phone or address
/// lines; the delivery address keeps only city, state/region and postal code.
fn redact_pii(obj: &mut Map<String, Value>) {
    let mut drop_buyer = false;
    if let Some(buyer) = obj.get_mut("buyer").and_then(Value::as_object_mut) {
        buyer.remove("buyerName");
        buyer.remove("buyerEmail");
        drop_buyer = buyer.is_empty();
    }
    if drop_buyer {
        obj.remove("buyer");
    }
    if let Some(recipient) = obj.get_mut("recipient").and_then(Value::as_object_mut) {
        recipient.remove("deliveryPreference");
        if let Some(addr) = recipient
            .get_mut("deliveryAddress")
            .and_then(Value::as_object_mut)
        {
            addr.retain(|k, _| matches!(k.as_str(), "city" | "stateOrRegion" | "postalCode"));
        }
    }
    if let Some(regs) = obj
        .get_mut("tax")
        .and_then(|t| t.get_mut("taxRegistrations"))
        .and_then(Value::as_array_mut)
    {
        for r in regs.iter_mut().filter_map(Value::as_object_mut) {
            if r.get("entityType").and_then(Value::as_str) == Some("BUYER") {
                r.remove("taxRegistrationAddress");
                r.remove("legalName");
            }
        }
    }
}

/// Checks a seeded order against the model's required fields and fills what the sandbox needs
/// (fulfillment block, per-item fulfilled/unfulfilled quantities). Returns the order id.
pub fn normalise_seeded(order: &mut Value) -> Result<String, String> {
    let id = str_at(order, "/orderId")
        .ok_or("order without orderId")?
        .to_owned();
    if !is_order_id(&id) {
        return Err(format!("orderId {id:?} is not in Amazon's 3-7-7 format"));
    }
    for f in ["/createdTime", "/lastUpdatedTime"] {
        let s = str_at(order, f).ok_or_else(|| format!("{id}: {f} missing"))?;
        parse_time(s).ok_or_else(|| format!("{id}: {f} {s:?} is not ISO 8601"))?;
    }
    str_at(order, "/salesChannel/channelName")
        .ok_or_else(|| format!("{id}: salesChannel.channelName missing"))?;
    let obj = order
        .as_object_mut()
        .ok_or_else(|| format!("{id}: not an object"))?;
    if !obj.contains_key("fulfillment") {
        obj.insert(
            "fulfillment".into(),
            json!({"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT"}),
        );
    }
    let status = str_at(
        &Value::Object(obj.clone()),
        "/fulfillment/fulfillmentStatus",
    )
    .unwrap_or("")
    .to_owned();
    if !FULFILLMENT_STATUSES.contains(&status.as_str()) {
        return Err(format!(
            "{id}: fulfillment.fulfillmentStatus {status:?} unknown"
        ));
    }
    let items = obj
        .get_mut("orderItems")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("{id}: orderItems missing"))?;
    if items.is_empty() {
        return Err(format!("{id}: orderItems is empty"));
    }
    let mut seen = BTreeSet::new();
    for item in items.iter_mut() {
        let item_id = str_at(item, "/orderItemId")
            .ok_or_else(|| format!("{id}: item without orderItemId"))?
            .to_owned();
        if !seen.insert(item_id.clone()) {
            return Err(format!("{id}: duplicate orderItemId {item_id}"));
        }
        let qty = item
            .get("quantityOrdered")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("{id}/{item_id}: quantityOrdered missing"))?;
        if item.get("product").is_none() {
            return Err(format!("{id}/{item_id}: product missing"));
        }
        let io = item
            .as_object_mut()
            .ok_or_else(|| format!("{id}: item not an object"))?;
        if !io.contains_key("fulfillment") {
            let done = if status == "SHIPPED" { qty } else { 0 };
            io.insert(
                "fulfillment".into(),
                json!({"quantityFulfilled": done, "quantityUnfulfilled": qty - done}),
            );
        }
    }
    Ok(id)
}

// ---------------------------------------------------------------- searchOrders

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Window {
    Created,
    LastUpdated,
}

/// What a search selects; carried inside the pagination token so later pages see the same set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchFilter {
    pub window: Window,
    #[serde(with = "time::serde::rfc3339")]
    pub after: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub before: OffsetDateTime,
    pub marketplaces: Vec<String>,
    pub statuses: Vec<String>,
    pub fulfilled_by: Vec<String>,
}

/// The opaque `paginationToken`: the filter plus the sort key of the last order returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub filter: SearchFilter,
    pub last_nanos: i128,
    pub last_id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        use base64::Engine;
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(s: &str) -> Option<Self> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

pub struct SearchRequest {
    pub filter: SearchFilter,
    pub after_key: Option<(i128, String)>,
    pub page_size: usize,
    pub included: BTreeSet<String>,
}

fn one_time(q: &QueryMap, name: &str) -> Result<Option<OffsetDateTime>, String> {
    match q.get(name).map(Vec::as_slice) {
        None | Some([]) => Ok(None),
        Some([v]) => parse_time(v)
            .map(Some)
            .ok_or_else(|| format!("{name} {v:?} is not an ISO 8601 date-time")),
        Some(_) => Err(format!("{name} given more than once")),
    }
}

fn enum_list(q: &QueryMap, name: &str, allowed: &[&str]) -> Result<Vec<String>, String> {
    let vals = q.get(name).cloned().unwrap_or_default();
    for v in &vals {
        if !allowed.contains(&v.as_str()) {
            return Err(format!("{name} value {v:?} is not one of {allowed:?}"));
        }
    }
    Ok(vals)
}

/// Validates searchOrders parameters as the model describes them. `lag` is how long before
/// `now` the newest searchable instant lies (Amazon: two minutes).
pub fn parse_search(
    q: &QueryMap,
    now: OffsetDateTime,
    lag: time::Duration,
    seller_marketplaces: &[String],
) -> Result<SearchRequest, String> {
    let included = included_data(q)?;
    let page_size = match q.get("maxResultsPerPage").map(Vec::as_slice) {
        None | Some([]) => MAX_PAGE,
        Some([v]) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(format!(
                    "maxResultsPerPage must be between 1 and {MAX_PAGE}"
                ));
            }
        },
        Some(_) => return Err("maxResultsPerPage given more than once".into()),
    } as usize;
    let latest = now - lag;
    if let Some(token) = q.get("paginationToken").and_then(|v| v.first()) {
        let cursor = Cursor::decode(token).ok_or("paginationToken is invalid")?;
        return Ok(SearchRequest {
            filter: cursor.filter,
            after_key: Some((cursor.last_nanos, cursor.last_id)),
            page_size,
            included,
        });
    }
    let created_after = one_time(q, "createdAfter")?;
    let created_before = one_time(q, "createdBefore")?;
    let updated_after = one_time(q, "lastUpdatedAfter")?;
    let updated_before = one_time(q, "lastUpdatedBefore")?;
    let (window, after, before) = match (created_after, updated_after) {
        (Some(a), None) => {
            if updated_before.is_some() {
                return Err("lastUpdatedBefore cannot be combined with createdAfter".into());
            }
            (Window::Created, a, created_before)
        }
        (None, Some(a)) => {
            if created_before.is_some() {
                return Err("createdBefore cannot be combined with lastUpdatedAfter".into());
            }
            (Window::LastUpdated, a, updated_before)
        }
        _ => return Err("exactly one of createdAfter and lastUpdatedAfter must be given".into()),
    };
    let before_name = match window {
        Window::Created => "createdBefore",
        Window::LastUpdated => "lastUpdatedBefore",
    };
    if let Some(b) = before {
        if b < after {
            return Err(format!(
                "{before_name} must be equal to or after the After date"
            ));
        }
        if b > latest {
            return Err(format!(
                "{before_name} must be at least {} seconds before the time of the request",
                lag.whole_seconds()
            ));
        }
    }
    if after > latest {
        return Err("the After date must be before the time of the request".into());
    }
    let marketplaces = q.get("marketplaceIds").cloned().unwrap_or_default();
    if marketplaces.len() > 50 {
        return Err("marketplaceIds has more than 50 values".into());
    }
    for m in &marketplaces {
        if !seller_marketplaces.contains(m) {
            return Err(format!(
                "marketplaceId {m} is not a marketplace this seller participates in"
            ));
        }
    }
    Ok(SearchRequest {
        filter: SearchFilter {
            window,
            after,
            before: before.unwrap_or(latest),
            marketplaces,
            statuses: enum_list(q, "fulfillmentStatuses", &FULFILLMENT_STATUSES)?,
            fulfilled_by: enum_list(q, "fulfilledBy", &FULFILLED_BY)?,
        },
        after_key: None,
        page_size,
        included,
    })
}

fn sort_nanos(order: &Value, window: Window) -> Option<i128> {
    let field = match window {
        Window::Created => "/createdTime",
        Window::LastUpdated => "/lastUpdatedTime",
    };
    str_at(order, field)
        .and_then(parse_time)
        .map(OffsetDateTime::unix_timestamp_nanos)
}

pub fn matches(order: &Value, f: &SearchFilter) -> bool {
    let Some(t) = sort_nanos(order, f.window) else {
        return false;
    };
    if t < f.after.unix_timestamp_nanos() || t > f.before.unix_timestamp_nanos() {
        return false;
    }
    let mp = str_at(order, "/salesChannel/marketplaceId").unwrap_or("");
    if !f.marketplaces.is_empty() && !f.marketplaces.iter().any(|m| m == mp) {
        return false;
    }
    if !f.statuses.is_empty() && !f.statuses.iter().any(|s| s == fulfillment_status(order)) {
        return false;
    }
    let by = str_at(order, "/fulfillment/fulfilledBy").unwrap_or("");
    f.fulfilled_by.is_empty() || f.fulfilled_by.iter().any(|s| s == by)
}

/// One page: orders sorted by (window time, orderId), strictly after the cursor key.
/// Returns the page and the next token (none on the last page).
pub fn page<'a>(
    orders: impl Iterator<Item = &'a Value>,
    req: &SearchRequest,
) -> (Vec<&'a Value>, Option<String>) {
    let mut hits: Vec<(i128, &str, &Value)> = orders
        .filter(|o| matches(o, &req.filter))
        .filter_map(|o| {
            let t = sort_nanos(o, req.filter.window)?;
            Some((t, str_at(o, "/orderId")?, o))
        })
        .filter(|(t, id, _)| match &req.after_key {
            Some((lt, lid)) => (*t, *id) > (*lt, lid.as_str()),
            None => true,
        })
        .collect();
    hits.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    let more = hits.len() > req.page_size;
    hits.truncate(req.page_size);
    let next = match hits.last() {
        Some((t, id, _)) if more => Some(
            Cursor {
                filter: req.filter.clone(),
                last_nanos: *t,
                last_id: (*id).to_owned(),
            }
            .encode(),
        ),
        _ => None,
    };
    (hits.into_iter().map(|(_, _, o)| o).collect(), next)
}

// ------------------------------------------------------------- confirmShipment

/// A rejected confirmation: HTTP status and the v0 error entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Option<String>,
}

/// The v0 sandbox spells the validation code `Invalid Input` (with a space): the sandbox answers
/// the same way, so clients must match codes loosely.
pub const V0_INVALID_INPUT: &str = "Invalid Input";

fn invalid(message: impl Into<String>) -> Rejection {
    Rejection {
        status: 400,
        code: V0_INVALID_INPUT,
        message: message.into(),
        details: None,
    }
}

/// A validated package confirmation.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageConfirmation {
    pub package_reference_id: String,
    pub carrier: String,
    pub shipping_service: Option<String>,
    pub tracking_number: String,
    pub ship_time: OffsetDateTime,
    /// (orderItemId, quantity, transparencyCodes)
    pub items: Vec<(String, u64, Option<Value>)>,
    pub edits_existing: bool,
}

fn packages(order: &Value) -> &[Value] {
    order
        .get("packages")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// Units of an item covered by the order's packages, other than `except` (the one being edited).
pub fn shipped_quantity(order: &Value, item_id: &str, except: Option<&str>) -> u64 {
    packages(order)
        .iter()
        .filter(|p| str_at(p, "/packageReferenceId") != except || except.is_none())
        .flat_map(|p| {
            p.get("packageItems")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
        })
        .filter(|i| str_at(i, "/orderItemId") == Some(item_id))
        .filter_map(|i| i.get("quantity").and_then(Value::as_u64))
        .sum()
}

fn required_str<'a>(v: &'a Value, name: &str) -> Result<&'a str, Rejection> {
    match v.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(invalid(format!("packageDetail.{name} is required")))
        }
        Some(_) => Err(invalid(format!("packageDetail.{name} must be a string"))),
    }
}

fn optional_str<'a>(v: &'a Value, name: &str) -> Result<Option<&'a str>, Rejection> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("packageDetail.{name} must be a string"))),
    }
}

/// Amazon's checks of a `ConfirmShipmentRequest` against the order it names.
pub fn validate_confirmation(
    order: &Value,
    body: &Value,
) -> Result<PackageConfirmation, Rejection> {
    let Some(req) = body.as_object() else {
        return Err(invalid(
            "The request body must be a ConfirmShipmentRequest object",
        ));
    };
    let marketplace = match req.get("marketplaceId") {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        _ => return Err(invalid("marketplaceId is required")),
    };
    if Some(marketplace) != str_at(order, "/salesChannel/marketplaceId") {
        return Err(invalid(format!(
            "marketplaceId {marketplace} does not match the order's marketplace"
        )));
    }
    match req.get("codCollectionMethod") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "DirectPayment" => {}
        Some(_) => return Err(invalid("codCollectionMethod must be DirectPayment")),
    }
    let detail = match req.get("packageDetail") {
        Some(d @ Value::Object(_)) => d,
        _ => return Err(invalid("packageDetail is required")),
    };
    let package_reference_id = required_str(detail, "packageReferenceId")?;
    let positive = package_reference_id.bytes().all(|b| b.is_ascii_digit())
        && package_reference_id.bytes().any(|b| b != b'0');
    if !positive {
        return Err(invalid(format!(
            "packageReferenceId {package_reference_id:?} is invalid: only positive numeric values are supported"
        )));
    }
    let carrier_code = required_str(detail, "carrierCode")?;
    let carrier_name = optional_str(detail, "carrierName")?;
    if carrier_code == "Other" && carrier_name.is_none_or(|n| n.trim().is_empty()) {
        return Err(invalid("carrierName is required when carrierCode is Other"));
    }
    let tracking_number = required_str(detail, "trackingNumber")?;
    let ship_date = required_str(detail, "shipDate")?;
    let ship_time = parse_time(ship_date).ok_or_else(|| {
        invalid(format!(
            "shipDate {ship_date:?} is not an ISO 8601 date-time"
        ))
    })?;
    let shipping_service = optional_str(detail, "shippingMethod")?;
    optional_str(detail, "shipFromSupplySourceId")?;
    let raw_items = match detail.get("orderItems") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) => return Err(invalid("orderItems must not be empty")),
        Some(Value::Object(_)) => {
            return Err(invalid(
                "OrderItemId is invalid: orderItems must be an array of {orderItemId, quantity}",
            ));
        }
        _ => return Err(invalid("orderItems is required")),
    };
    let status = fulfillment_status(order);
    let edits_existing = packages(order)
        .iter()
        .any(|p| str_at(p, "/packageReferenceId") == Some(package_reference_id));
    if status == "CANCELLED" {
        return Err(Rejection {
            status: 400,
            code: V0_INVALID_INPUT,
            message: "The order is cancelled and cannot be confirmed".into(),
            details: Some("OrderCancelled".into()),
        });
    }
    if !edits_existing && !matches!(status, "UNSHIPPED" | "PARTIALLY_SHIPPED") {
        return Err(Rejection {
            status: 400,
            code: V0_INVALID_INPUT,
            message: "Failed to create package due to not finding a matching package or order already fulfilled.".into(),
            details: Some(format!("PackageToUpdateNotFound (order status {status})")),
        });
    }
    let except = edits_existing.then_some(package_reference_id);
    let mut items: Vec<(String, u64, Option<Value>)> = Vec::new();
    for raw in raw_items {
        let Some(item_id) = raw.get("orderItemId").and_then(Value::as_str) else {
            return Err(invalid("OrderItemId is invalid"));
        };
        let Some(qty) = raw
            .get("quantity")
            .and_then(Value::as_u64)
            .filter(|q| *q > 0)
        else {
            return Err(invalid(format!(
                "quantity of order item {item_id} must be a positive integer"
            )));
        };
        let codes = raw.get("transparencyCodes").cloned();
        if codes.as_ref().is_some_and(|c| !c.is_array()) {
            return Err(invalid("transparencyCodes must be an array of strings"));
        }
        match items.iter_mut().find(|(id, _, _)| id == item_id) {
            Some(e) => e.1 += qty,
            None => items.push((item_id.to_owned(), qty, codes)),
        }
    }
    let order_items = order
        .get("orderItems")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (item_id, qty, _) in &items {
        let Some(item) = order_items
            .iter()
            .find(|i| str_at(i, "/orderItemId") == Some(item_id))
        else {
            return Err(invalid(format!(
                "OrderItemId {item_id} is invalid for this order"
            )));
        };
        let ordered = item
            .get("quantityOrdered")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let open = ordered.saturating_sub(shipped_quantity(order, item_id, except));
        if *qty > open {
            return Err(invalid(format!(
                "quantity {qty} of order item {item_id} exceeds the {open} unit(s) not yet shipped"
            )));
        }
    }
    let carrier = match carrier_name {
        Some(n) if carrier_code == "Other" => n,
        _ => carrier_code,
    };
    Ok(PackageConfirmation {
        package_reference_id: package_reference_id.to_owned(),
        carrier: carrier.to_owned(),
        shipping_service: shipping_service.map(str::to_owned),
        tracking_number: tracking_number.to_owned(),
        ship_time,
        items,
        edits_existing,
    })
}

/// Records the package (adding it or editing the one with the same reference id), then updates
/// per-item quantities, the order's fulfillment status and `lastUpdatedTime`.
pub fn apply_confirmation(order: &mut Value, c: &PackageConfirmation, now: OffsetDateTime) {
    let Some(obj) = order.as_object_mut() else {
        return;
    };
    let pkgs = obj
        .entry("packages")
        .or_insert_with(|| Value::Array(Vec::new()));
    if !pkgs.is_array() {
        *pkgs = Value::Array(Vec::new());
    }
    let Some(pkgs) = pkgs.as_array_mut() else {
        return;
    };
    let items: Vec<Value> = c
        .items
        .iter()
        .map(|(id, q, codes)| {
            let mut i = json!({"orderItemId": id, "quantity": q});
            if let (Some(codes), Some(o)) = (codes, i.as_object_mut()) {
                o.insert("transparencyCodes".into(), codes.clone());
            }
            i
        })
        .collect();
    let existing = pkgs
        .iter()
        .position(|p| str_at(p, "/packageReferenceId") == Some(c.package_reference_id.as_str()));
    let created = existing
        .and_then(|i| str_at(&pkgs[i], "/createdTime").map(str::to_owned))
        .unwrap_or_else(|| rfc3339(now));
    let mut pkg = json!({
        "packageReferenceId": c.package_reference_id,
        "createdTime": created,
        "packageStatus": {"status": "SHIPPED"},
        "carrier": c.carrier,
        "shipTime": rfc3339(c.ship_time.to_offset(time::UtcOffset::UTC)),
        "trackingNumber": c.tracking_number,
        "packageItems": items,
    });
    if let (Some(s), Some(o)) = (&c.shipping_service, pkg.as_object_mut()) {
        o.insert("shippingService".into(), Value::String(s.clone()));
    }
    match existing {
        Some(i) => pkgs[i] = pkg,
        None => pkgs.push(pkg),
    }
    recompute_fulfillment(order);
    touch(order, now);
}

pub fn touch(order: &mut Value, now: OffsetDateTime) {
    if let Some(o) = order.as_object_mut() {
        o.insert("lastUpdatedTime".into(), Value::String(rfc3339(now)));
    }
}

/// Item quantities and order status from the packages on record.
pub fn recompute_fulfillment(order: &mut Value) {
    if fulfillment_status(order) == "CANCELLED" {
        return;
    }
    let snapshot = order.clone();
    let (mut any, mut all) = (false, true);
    if let Some(items) = order.get_mut("orderItems").and_then(Value::as_array_mut) {
        for item in items.iter_mut() {
            let id = str_at(item, "/orderItemId").unwrap_or("").to_owned();
            let ordered = item
                .get("quantityOrdered")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let shipped = shipped_quantity(&snapshot, &id, None).min(ordered);
            any |= shipped > 0;
            all &= shipped >= ordered;
            if let Some(io) = item.as_object_mut() {
                let f = io
                    .entry("fulfillment")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(fo) = f.as_object_mut() {
                    fo.insert("quantityFulfilled".into(), json!(shipped));
                    fo.insert("quantityUnfulfilled".into(), json!(ordered - shipped));
                }
            }
        }
    }
    let status = if all {
        "SHIPPED"
    } else if any {
        "PARTIALLY_SHIPPED"
    } else {
        "UNSHIPPED"
    };
    if let Some(f) = order.get_mut("fulfillment").and_then(Value::as_object_mut) {
        f.insert("fulfillmentStatus".into(), Value::String(status.into()));
    }
}

/// Amazon cancels the order (buyer request or missed ship-by): only while nothing shipped.
pub fn cancel(order: &mut Value, now: OffsetDateTime) -> Result<(), String> {
    let status = fulfillment_status(order).to_owned();
    if matches!(status.as_str(), "SHIPPED" | "PARTIALLY_SHIPPED") {
        return Err(format!("an order in status {status} cannot be cancelled"));
    }
    match order.get_mut("fulfillment").and_then(Value::as_object_mut) {
        Some(f) => {
            f.insert(
                "fulfillmentStatus".into(),
                Value::String("CANCELLED".into()),
            );
        }
        None => {
            if let Some(o) = order.as_object_mut() {
                o.insert(
                    "fulfillment".into(),
                    json!({"fulfillmentStatus": "CANCELLED"}),
                );
            }
        }
    }
    if let Some(items) = order.get_mut("orderItems").and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            let qty = item.get("quantityOrdered").cloned().unwrap_or(json!(0));
            item.insert(
                "cancellation".into(),
                json!({"cancellationRequest": {"requester": "SELLER_OR_AMAZON", "cancelReason": "Cancelled by Amazon (sandbox)"},
                       "cancellationExecution": {"quantityCancelled": qty}}),
            );
        }
    }
    touch(order, now);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn order() -> Value {
        let mut o = json!({
            "orderId": "503-0000001-0000001",
            "createdTime": "2026-01-10T01:00:00Z",
            "lastUpdatedTime": "2026-01-10T01:00:00Z",
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": "A1VC38T7YXB528"},
            "buyer": {"buyerName": "山田 太郎", "buyerEmail": "x@marketplace.amazon.co.jp"},
            "recipient": {"deliveryAddress": {"name": "山田 太郎", "addressLine1": "神宮前1-2-3", "city": "渋谷区", "stateOrRegion": "東京都", "postalCode": "150-0001", "countryCode": "JP", "phone": "090-0000-0000"}},
            "orderItems": [
                {"orderItemId": "11", "quantityOrdered": 2, "product": {"sellerSku": "A"}},
                {"orderItemId": "12", "quantityOrdered": 1, "product": {"sellerSku": "B"}}
            ]
        });
        normalise_seeded(&mut o).map(|_| ()).unwrap_or_default();
        o
    }

    fn body(pkg: &str, items: Value) -> Value {
        json!({"marketplaceId": "A1VC38T7YXB528", "packageDetail": {
            "packageReferenceId": pkg, "carrierCode": "Yamato Transport", "trackingNumber": "1234",
            "shipDate": "2026-01-11T09:00:00+09:00", "orderItems": items}})
    }

    #[test]
    fn pii_only_with_role() {
        let all: BTreeSet<String> = INCLUDED_DATA.iter().map(|s| (*s).to_owned()).collect();
        let r = render(&order(), &all, false);
        assert!(r.get("buyer").is_none());
        let addr = &r["recipient"]["deliveryAddress"];
        assert_eq!(
            addr,
            &json!({"city": "渋谷区", "stateOrRegion": "東京都", "postalCode": "150-0001"})
        );
        let r = render(&order(), &all, true);
        assert_eq!(r["buyer"]["buyerName"], "山田 太郎");
        let none = render(&order(), &BTreeSet::new(), true);
        assert!(none.get("recipient").is_none() && none.get("fulfillment").is_none());
        assert!(none["orderItems"][0].get("fulfillment").is_none());
    }

    #[test]
    fn partial_then_full_then_edit() {
        let now = datetime!(2026-01-11 01:00 UTC);
        let mut o = order();
        let c = validate_confirmation(
            &o,
            &body("1", json!([{"orderItemId": "11", "quantity": 2}])),
        )
        .map_err(|r| r.message)
        .unwrap_or_else(|m| panic!("{m}"));
        apply_confirmation(&mut o, &c, now);
        assert_eq!(fulfillment_status(&o), "PARTIALLY_SHIPPED");
        // Over-shipping item 11 in a new package is refused.
        let over = validate_confirmation(
            &o,
            &body("2", json!([{"orderItemId": "11", "quantity": 1}])),
        );
        assert_eq!(over.map(|_| ()).map_err(|r| r.status), Err(400));
        let c2 = validate_confirmation(
            &o,
            &body("2", json!([{"orderItemId": "12", "quantity": 1}])),
        )
        .map_err(|r| r.message)
        .unwrap_or_else(|m| panic!("{m}"));
        apply_confirmation(&mut o, &c2, now);
        assert_eq!(fulfillment_status(&o), "SHIPPED");
        // A third package: already fulfilled.
        let third = validate_confirmation(
            &o,
            &body("3", json!([{"orderItemId": "12", "quantity": 1}])),
        );
        assert!(third.is_err_and(|r| {
            r.details
                .as_deref()
                .is_some_and(|d| d.contains("PackageToUpdateNotFound"))
        }));
        // Editing package 1 is allowed and adds nothing.
        let e = validate_confirmation(
            &o,
            &body("1", json!([{"orderItemId": "11", "quantity": 2}])),
        );
        assert!(e.as_ref().is_ok_and(|c| c.edits_existing));
        if let Ok(e) = e {
            apply_confirmation(&mut o, &e, now);
        }
        assert_eq!(o["packages"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn rejections() {
        let o = order();
        let cases = [
            json!({"marketplaceId": "A1VC38T7YXB528", "packageDetail": {"packageReferenceId": "0", "carrierCode": "X", "trackingNumber": "1", "shipDate": "2026-01-11T00:00:00Z", "orderItems": [{"orderItemId": "11", "quantity": 1}]}}),
            json!({"marketplaceId": "A1VC38T7YXB528", "packageDetail": {"packageReferenceId": "1", "carrierCode": "Other", "trackingNumber": "1", "shipDate": "2026-01-11T00:00:00Z", "orderItems": [{"orderItemId": "11", "quantity": 1}]}}),
            json!({"marketplaceId": "A1VC38T7YXB528", "packageDetail": {"packageReferenceId": "1", "trackingNumber": "1", "shipDate": "2026-01-11T00:00:00Z", "orderItems": [{"orderItemId": "11", "quantity": 1}]}}),
            json!({"marketplaceId": "A1VC38T7YXB528", "packageDetail": {"packageReferenceId": "1", "carrierCode": "X", "trackingNumber": "1", "shipDate": "01/11/2026", "orderItems": [{"orderItemId": "11", "quantity": 1}]}}),
            json!({"marketplaceId": "A1VC38T7YXB528", "packageDetail": {"packageReferenceId": "1", "carrierCode": "X", "trackingNumber": "1", "shipDate": "2026-01-11T00:00:00Z", "orderItems": {"orderItemId": "11", "quantity": 1}}}),
            json!({"marketplaceId": "A1VC38T7YXB528", "packageDetail": {"packageReferenceId": "1", "carrierCode": "X", "trackingNumber": "1", "shipDate": "2026-01-11T00:00:00Z", "orderItems": [{"orderItemId": "99", "quantity": 1}]}}),
            json!({"marketplaceId": "ATVPDKIKX0DER", "packageDetail": {"packageReferenceId": "1", "carrierCode": "X", "trackingNumber": "1", "shipDate": "2026-01-11T00:00:00Z", "orderItems": [{"orderItemId": "11", "quantity": 1}]}}),
        ];
        for (i, c) in cases.iter().enumerate() {
            assert!(validate_confirmation(&o, c).is_err(), "case {i}");
        }
    }

    #[test]
    fn search_window_rules() {
        let now = datetime!(2026-01-11 01:00 UTC);
        let lag = time::Duration::minutes(2);
        let mps = vec!["A1VC38T7YXB528".to_owned()];
        let q = |pairs: &[(&str, &str)]| {
            query_map(
                &pairs
                    .iter()
                    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                    .collect::<Vec<_>>(),
            )
        };
        assert!(parse_search(&q(&[]), now, lag, &mps).is_err());
        assert!(
            parse_search(
                &q(&[
                    ("createdAfter", "2026-01-01T00:00:00Z"),
                    ("lastUpdatedAfter", "2026-01-01T00:00:00Z")
                ]),
                now,
                lag,
                &mps
            )
            .is_err()
        );
        assert!(
            parse_search(
                &q(&[
                    ("createdAfter", "2026-01-01T00:00:00Z"),
                    ("lastUpdatedBefore", "2026-01-02T00:00:00Z")
                ]),
                now,
                lag,
                &mps
            )
            .is_err()
        );
        assert!(
            parse_search(
                &q(&[
                    ("createdAfter", "2026-01-01T00:00:00Z"),
                    ("createdBefore", "2026-01-11T00:59:00Z")
                ]),
                now,
                lag,
                &mps
            )
            .is_err()
        );
        assert!(
            parse_search(
                &q(&[
                    ("createdAfter", "2026-01-01T00:00:00Z"),
                    ("maxResultsPerPage", "101")
                ]),
                now,
                lag,
                &mps
            )
            .is_err()
        );
        assert!(
            parse_search(
                &q(&[
                    ("createdAfter", "2026-01-01T00:00:00Z"),
                    ("includedData", "BUYER,NOPE")
                ]),
                now,
                lag,
                &mps
            )
            .is_err()
        );
        let ok = parse_search(
            &q(&[
                ("lastUpdatedAfter", "2026-01-01T00:00:00Z"),
                ("fulfillmentStatuses", "UNSHIPPED,PARTIALLY_SHIPPED"),
            ]),
            now,
            lag,
            &mps,
        );
        assert!(ok.is_ok_and(|r| r.filter.before == now - lag && r.page_size == 100));
    }
}
