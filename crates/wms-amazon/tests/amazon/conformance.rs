//! Every `x-amzn-api-sandbox` static example of searchOrders, getOrder (v2026-01-01) and
//! confirmShipment (v0) goes through the client types.

use std::path::PathBuf;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use wms_amazon::ApiError;
use wms_amazon::model::ErrorList;
use wms_amazon::model::orders_v0::ConfirmShipmentRequest;
use wms_amazon::model::orders_v2026::{
    FulfilledBy, GetOrderResponse, IncludedData, SearchOrdersQuery, SearchOrdersResponse,
    SearchWindow, included_data_pairs,
};

fn models_dir() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/amazon-sp-api/");
    let present =
        dir.join("orders_2026-01-01.json").is_file() && dir.join("ordersV0.json").is_file();
    if present {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "Amazon models missing at {} (required under CI=true)",
            dir.display()
        );
    }
    eprintln!("SKIP: Amazon models not found at {}", dir.display());
    None
}

struct Example {
    code: String,
    index: usize,
    request: Value,
    response: Value,
}

fn examples(model: &Value, operation_id: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let paths = model["paths"].as_object().expect("paths");
    for ops in paths.values() {
        for op in ops.as_object().expect("path item").values() {
            if op.get("operationId").and_then(Value::as_str) != Some(operation_id) {
                continue;
            }
            for (code, resp) in op["responses"].as_object().expect("responses") {
                let Some(statics) = resp
                    .pointer("/x-amzn-api-sandbox/static")
                    .and_then(Value::as_array)
                else {
                    continue;
                };
                for (index, ex) in statics.iter().enumerate() {
                    out.push(Example {
                        code: code.clone(),
                        index,
                        request: ex["request"].clone(),
                        response: ex["response"].clone(),
                    });
                }
            }
        }
    }
    out
}

fn load(dir: &std::path::Path, file: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(file)).expect("read model");
    serde_json::from_str(&text).expect("model json")
}

/// Everything our types emit exists in the example with the same value (instants compared as
/// instants): no field is misnamed, misplaced or altered.
fn assert_subset(ours: &Value, theirs: &Value, path: &str) {
    match (ours, theirs) {
        (Value::Object(o), Value::Object(t)) => {
            for (k, v) in o {
                let tv = t
                    .get(k)
                    .unwrap_or_else(|| panic!("{path}/{k}: emitted but not in the example"));
                assert_subset(v, tv, &format!("{path}/{k}"));
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            assert_eq!(o.len(), t.len(), "{path}: array length");
            for (i, (a, b)) in o.iter().zip(t).enumerate() {
                assert_subset(a, b, &format!("{path}/{i}"));
            }
        }
        (Value::String(a), Value::String(b)) if a != b => {
            let (x, y) = (
                OffsetDateTime::parse(a, &Rfc3339),
                OffsetDateTime::parse(b, &Rfc3339),
            );
            assert!(x.is_ok() && x.ok() == y.ok(), "{path}: {a:?} != {b:?}");
        }
        _ => assert_eq!(ours, theirs, "{path}"),
    }
}

/// Fields the product relies on: when the example has them, the typed value must carry them.
fn assert_covers(ours: &Value, theirs: &Value, pointers: &[&str], what: &str) {
    for p in pointers {
        if let Some(t) = theirs.pointer(p) {
            let o = ours
                .pointer(p)
                .unwrap_or_else(|| panic!("{what}{p}: in the example, lost by our types"));
            assert_subset(o, t, &format!("{what}{p}"));
        }
    }
}

const ORDER_FIELDS: &[&str] = &[
    "/orderId",
    "/createdTime",
    "/lastUpdatedTime",
    "/programs",
    "/salesChannel/marketplaceId",
    "/buyer/buyerName",
    "/buyer/buyerEmail",
    "/recipient/deliveryAddress/name",
    "/recipient/deliveryAddress/addressLine1",
    "/recipient/deliveryAddress/city",
    "/recipient/deliveryAddress/postalCode",
    "/recipient/deliveryAddress/countryCode",
    "/recipient/deliveryAddress/phone",
    "/fulfillment/fulfillmentStatus",
    "/fulfillment/fulfilledBy",
    "/fulfillment/fulfillmentServiceLevel",
    "/fulfillment/shipByWindow/latestDateTime",
];
const ITEM_FIELDS: &[&str] = &[
    "/orderItemId",
    "/quantityOrdered",
    "/product/sellerSku",
    "/product/asin",
    "/fulfillment/quantityFulfilled",
    "/fulfillment/quantityUnfulfilled",
];
const PACKAGE_FIELDS: &[&str] = &[
    "/packageReferenceId",
    "/carrier",
    "/trackingNumber",
    "/shipTime",
    "/packageStatus/status",
    "/packageItems",
];

fn check_order(ours: &Value, theirs: &Value, what: &str) {
    assert_covers(ours, theirs, ORDER_FIELDS, what);
    let items = theirs["orderItems"].as_array().expect("orderItems");
    for (i, item) in items.iter().enumerate() {
        assert_covers(
            &ours["orderItems"][i],
            item,
            ITEM_FIELDS,
            &format!("{what}/orderItems/{i}"),
        );
    }
    if let Some(pkgs) = theirs["packages"].as_array() {
        for (i, p) in pkgs.iter().enumerate() {
            assert_covers(
                &ours["packages"][i],
                p,
                PACKAGE_FIELDS,
                &format!("{what}/packages/{i}"),
            );
        }
    }
}

fn check_error(ex: &Example, what: &str) {
    let list: ErrorList =
        serde_json::from_value(ex.response.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(!list.errors.is_empty(), "{what}: no errors");
    assert_subset(
        &serde_json::to_value(&list).expect("json"),
        &ex.response,
        what,
    );
    let api = ApiError {
        operation: "test",
        status: ex.code.parse().expect("status"),
        errors: list.errors,
        request_id: None,
    };
    // Every error example in these models is an InvalidInput, spelt two ways.
    assert!(api.has_code("InvalidInput"), "{what}: {:?}", api.codes());
    assert!(!api.is_retryable());
}

fn param<'a>(ex: &'a Example, name: &str) -> Option<&'a Value> {
    ex.request.pointer(&format!("/parameters/{name}/value"))
}

pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().expect("string").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn included(v: Option<&Value>) -> Vec<IncludedData> {
    strings(v)
        .into_iter()
        .map(|s| serde_json::from_value(Value::String(s)).expect("includedData value"))
        .collect()
}

/// Our query pairs for the example's request carry exactly its parameters (arrays as csv).
fn assert_query_matches(pairs: &[(&'static str, String)], ex: &Example, skip: &[&str], what: &str) {
    let params = ex.request["parameters"].as_object().expect("parameters");
    let expected: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| {
            let value = match &v["value"] {
                Value::Array(a) => a
                    .iter()
                    .map(|s| s.as_str().expect("str"))
                    .collect::<Vec<_>>()
                    .join(","),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), value)
        })
        .collect();
    let mut ours: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let mut expected = expected;
    ours.sort();
    expected.sort();
    assert_eq!(ours, expected, "{what}");
}

#[test]
fn search_orders_examples() {
    let Some(dir) = models_dir() else { return };
    let model = load(&dir, "orders_2026-01-01.json");
    let exs = examples(&model, "searchOrders");
    let (mut ok, mut err) = (0, 0);
    for ex in &exs {
        let what = format!("searchOrders {} #{}", ex.code, ex.index);
        if ex.code.starts_with('2') {
            let parsed: SearchOrdersResponse = serde_json::from_value(ex.response.clone())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let ours = serde_json::to_value(&parsed).expect("json");
            assert_subset(&ours, &ex.response, &what);
            for (i, o) in ex.response["orders"]
                .as_array()
                .expect("orders")
                .iter()
                .enumerate()
            {
                check_order(&ours["orders"][i], o, &format!("{what}/orders/{i}"));
            }
            assert_eq!(
                parsed.next_token(),
                ex.response
                    .pointer("/pagination/nextToken")
                    .and_then(Value::as_str),
                "{what}"
            );
            // The request side: our query type expresses the example's parameters exactly.
            let after = OffsetDateTime::parse(
                param(ex, "createdAfter")
                    .and_then(Value::as_str)
                    .expect("createdAfter"),
                &Rfc3339,
            )
            .expect("date");
            let mut q = SearchOrdersQuery::created_after(after);
            q.marketplace_ids = strings(param(ex, "marketplaceIds"));
            q.included_data = included(param(ex, "includedData"));
            q.fulfilled_by = strings(param(ex, "fulfilledBy"))
                .into_iter()
                .map(|s| {
                    serde_json::from_value::<FulfilledBy>(Value::String(s)).expect("fulfilledBy")
                })
                .collect();
            q.pagination_token = param(ex, "paginationToken")
                .and_then(Value::as_str)
                .map(str::to_owned);
            assert!(matches!(q.window, SearchWindow::Created { .. }));
            assert_query_matches(&q.to_query_pairs(), ex, &[], &what);
            ok += 1;
        } else {
            check_error(ex, &what);
            err += 1;
        }
    }
    assert!(
        ok >= 3 && err >= 1,
        "searchOrders examples: {ok} ok, {err} errors"
    );
}

#[test]
fn get_order_examples() {
    let Some(dir) = models_dir() else { return };
    let model = load(&dir, "orders_2026-01-01.json");
    let exs = examples(&model, "getOrder");
    let (mut ok, mut err) = (0, 0);
    for ex in &exs {
        let what = format!("getOrder {} #{}", ex.code, ex.index);
        if ex.code.starts_with('2') {
            let parsed: GetOrderResponse = serde_json::from_value(ex.response.clone())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let ours = serde_json::to_value(&parsed).expect("json");
            assert_subset(&ours, &ex.response, &what);
            check_order(
                &ours["order"],
                &ex.response["order"],
                &format!("{what}/order"),
            );
            assert_eq!(
                Some(parsed.order.order_id.as_str()),
                param(ex, "orderId").and_then(Value::as_str)
            );
            let pairs = included_data_pairs(&included(param(ex, "includedData")));
            assert_query_matches(&pairs, ex, &["orderId"], &what);
            ok += 1;
        } else {
            check_error(ex, &what);
            err += 1;
        }
    }
    assert!(
        ok >= 3 && err >= 1,
        "getOrder examples: {ok} ok, {err} errors"
    );
}

#[test]
fn confirm_shipment_examples() {
    let Some(dir) = models_dir() else { return };
    let model = load(&dir, "ordersV0.json");
    let exs = examples(&model, "confirmShipment");
    let (mut ok, mut err) = (0, 0);
    for ex in &exs {
        let what = format!("confirmShipment {} #{}", ex.code, ex.index);
        let body = ex
            .request
            .pointer("/parameters/body/value")
            .expect("body example");
        let req: ConfirmShipmentRequest =
            serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{what} request: {e}"));
        assert_eq!(
            &serde_json::to_value(&req).expect("json"),
            body,
            "{what}: request round-trip"
        );
        if ex.code.starts_with('2') {
            assert_eq!(ex.code, "204", "{what}");
            assert_eq!(
                ex.response,
                serde_json::json!({}),
                "{what}: 204 has no body"
            );
            assert!(
                req.package_detail.validate().is_ok(),
                "{what}: valid example rejected"
            );
            ok += 1;
        } else {
            check_error(ex, &what);
            // The 400 example's fault is its non-ISO shipDate: our validation catches it too.
            assert!(req.package_detail.validate().is_err(), "{what}");
            err += 1;
        }
    }
    assert!(
        ok >= 1 && err >= 1,
        "confirmShipment examples: {ok} ok, {err} errors"
    );
}
