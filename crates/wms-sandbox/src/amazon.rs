//! The SP-API and LWA stand-ins, on the paths Amazon uses (mounted under `/amazon`).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::control::{Control, LwaOutcome, TokenRefusal, rejection_json};
use crate::faults::{Fault, FaultKind};
use crate::models::{Operation, StaticExample};
use crate::orders::{self, QueryMap};
use crate::state::{ConfirmationRecord, Seller};

pub const HEADER_REQUEST_ID: &str = "x-amzn-RequestId";
pub const HEADER_RATE_LIMIT: &str = "x-amzn-RateLimit-Limit";
pub const HEADER_ACCESS_TOKEN: &str = "x-amz-access-token";

pub fn router(ctl: Arc<Control>) -> Router {
    Router::new()
        .route("/orders/2026-01-01/orders", get(search_orders))
        .route("/orders/2026-01-01/orders/{order_id}", get(get_order))
        .route(
            "/orders/v0/orders/{order_id}/shipmentConfirmation",
            post(confirm_shipment),
        )
        .route("/auth/o2/token", post(lwa_token))
        .fallback(unknown_resource)
        .with_state(ctl)
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn error(code: &str, message: &str, details: Option<&str>) -> Value {
    let mut e = json!({"code": code, "message": message});
    if let (Some(d), Some(o)) = (details, e.as_object_mut()) {
        o.insert("details".into(), Value::String(d.to_owned()));
    }
    e
}

fn errors(list: Vec<Value>) -> Value {
    json!({ "errors": list })
}

/// An SP-API answer. The models declare `x-amzn-RateLimit-Limit` on 200/204/400/404 only (never
/// on 403, 429 or 5xx).
fn respond(status: u16, body: Option<&Value>, request_id: &str, rate: Option<f64>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = match body {
        Some(b) if status != 204 => (
            code,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_vec(b).unwrap_or_default(),
        )
            .into_response(),
        _ => (code, Body::empty()).into_response(),
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert(HEADER_REQUEST_ID, v);
    }
    if let Some(rate) = rate.filter(|_| matches!(status, 200 | 204 | 400 | 404))
        && let Ok(v) = HeaderValue::from_str(&format!("{rate}"))
    {
        h.insert(HEADER_RATE_LIMIT, v);
    }
    resp
}

async fn unknown_resource() -> Response {
    let body = errors(vec![error(
        "NotFound",
        "The requested resource was not found.",
        None,
    )]);
    respond(404, Some(&body), &request_id(), None)
}

/// An early answer (fault, auth, throttling) before the operation's own logic.
struct Early {
    status: u16,
    body: Value,
}

struct Call {
    seller: Seller,
    request_id: String,
    rate: Option<f64>,
    drop_after: Option<Fault>,
}

fn refusal_body(r: TokenRefusal) -> Value {
    let details = match r {
        TokenRefusal::Missing => "The request has no x-amz-access-token header.",
        TokenRefusal::Expired => "The access token you provided has expired.",
        TokenRefusal::Invalid | TokenRefusal::Revoked => {
            "The access token you provided is revoked, malformed or invalid."
        }
    };
    errors(vec![error(
        "Unauthorized",
        "Access to requested resource is denied.",
        Some(details),
    )])
}

fn quota_exceeded() -> Value {
    errors(vec![error(
        "QuotaExceeded",
        "You exceeded your quota for the requested resource.",
        None,
    )])
}

fn internal_failure() -> Value {
    errors(vec![error(
        "InternalFailure",
        "We encountered an internal error. Please try again.",
        None,
    )])
}

/// Faults, then the access token, then the usage plan, as Amazon's front door would.
async fn admit(
    ctl: &Control,
    op: Operation,
    headers: &HeaderMap,
    request_id: &str,
) -> Result<Call, (Early, Option<String>)> {
    let mut drop_after = None;
    if let Some(f) = ctl.take_fault(op) {
        tracing::info!(operation = op.name(), kind = ?f.kind, "fault injected");
        match f.kind {
            FaultKind::Throttle => {
                return Err((
                    Early {
                        status: 429,
                        body: quota_exceeded(),
                    },
                    None,
                ));
            }
            FaultKind::ServerError => {
                return Err((
                    Early {
                        status: 500,
                        body: internal_failure(),
                    },
                    None,
                ));
            }
            FaultKind::RevokedToken => {
                return Err((
                    Early {
                        status: 403,
                        body: refusal_body(TokenRefusal::Revoked),
                    },
                    None,
                ));
            }
            FaultKind::Delay => tokio::time::sleep(f.delay()).await,
            FaultKind::DropAfterEffect => drop_after = Some(f),
        }
    }
    let token = headers
        .get(HEADER_ACCESS_TOKEN)
        .and_then(|v| v.to_str().ok());
    let seller = match ctl.authenticate(token) {
        Ok(s) => s,
        Err(r) => {
            tracing::info!(operation = op.name(), refusal = ?r, request_id, "access token refused");
            return Err((
                Early {
                    status: 403,
                    body: refusal_body(r),
                },
                None,
            ));
        }
    };
    if !ctl.take_rate(&seller.selling_partner_id, op) {
        tracing::info!(operation = op.name(), seller = %seller.selling_partner_id, "throttled");
        return Err((
            Early {
                status: 429,
                body: quota_exceeded(),
            },
            Some(seller.selling_partner_id),
        ));
    }
    Ok(Call {
        rate: ctl.rate_plan(op).map(|p| p.rate),
        seller,
        request_id: request_id.to_owned(),
        drop_after,
    })
}

async fn hold_back(call: &Call) {
    if let Some(f) = &call.drop_after {
        tracing::info!("dropAfterEffect: holding the response back");
        tokio::time::sleep(f.delay()).await;
    }
}

fn parse_query(raw: Option<&str>) -> QueryMap {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    orders::query_map(&pairs)
}

fn same_string(example: &str, got: &str) -> bool {
    example == got
        || matches!((orders::parse_time(example), orders::parse_time(got)), (Some(a), Some(b)) if a == b)
}

fn param_matches(example: &Value, got: &[String]) -> bool {
    match example {
        Value::String(s) => matches!(got, [g] if same_string(s, g)),
        Value::Array(a) => {
            let want: BTreeSet<String> = a
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect();
            let have: BTreeSet<String> = got.iter().cloned().collect();
            want == have && !got.is_empty()
        }
        Value::Number(n) => matches!(got, [g] if *g == n.to_string()),
        Value::Bool(b) => matches!(got, [g] if *g == b.to_string()),
        _ => false,
    }
}

/// The static example whose request this is: same parameter names, same values (lists as
/// sets, instants as instants), same body.
fn find_example<'a>(
    ctl: &'a Control,
    op: Operation,
    params: &QueryMap,
    body: Option<&Value>,
) -> Option<&'a StaticExample> {
    ctl.examples().iter().find(|ex| {
        if ex.operation != op {
            return false;
        }
        let names: BTreeSet<&str> = ex
            .parameters
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "body")
            .collect();
        let got: BTreeSet<&str> = params.keys().map(String::as_str).collect();
        if names != got {
            return false;
        }
        let params_ok = names.iter().all(|n| {
            ex.param(n).is_some_and(|v| {
                param_matches(v, params.get(*n).map(Vec::as_slice).unwrap_or_default())
            })
        });
        params_ok && ex.param("body") == body
    })
}

fn invalid_input(message: &str) -> Value {
    errors(vec![error("InvalidInput", message, None)])
}

async fn search_orders(
    State(ctl): State<Arc<Control>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let op = Operation::SearchOrders;
    let rid = request_id();
    let call = match admit(&ctl, op, &headers, &rid).await {
        Ok(c) => c,
        Err((e, _)) => return respond(e.status, Some(&e.body), &rid, None),
    };
    let q = parse_query(raw.as_deref());
    let (status, body) = if let Some(ex) = find_example(&ctl, op, &q, None) {
        (ex.status, ex.response.clone())
    } else {
        search_body(&ctl, &call.seller, &q)
    };
    tracing::info!(operation = op.name(), seller = %call.seller.selling_partner_id, status, request_id = %rid, "SP-API call");
    hold_back(&call).await;
    respond(status, Some(&body), &call.request_id, call.rate)
}

fn search_body(ctl: &Control, seller: &Seller, q: &QueryMap) -> (u16, Value) {
    let now = OffsetDateTime::now_utc();
    let lag = time::Duration::seconds(
        i64::try_from(ctl.settings().search_lag_secs).unwrap_or(i64::MAX / 2),
    );
    let req = match orders::parse_search(q, now, lag, &seller.marketplace_ids) {
        Ok(r) => r,
        Err(m) => return (400, invalid_input(&m)),
    };
    let spid = seller.selling_partner_id.as_str();
    let (orders, next) = ctl.with_orders(|all| {
        let mine = all
            .values()
            .filter(|o| o.selling_partner_id == spid)
            .map(|o| &o.order);
        let (page, next) = orders::page(mine, &req);
        let rendered: Vec<Value> = page
            .into_iter()
            .map(|o| orders::render(o, &req.included, seller.pii_granted))
            .collect();
        (rendered, next)
    });
    let mut body = json!({ "orders": orders });
    if let Some(o) = body.as_object_mut() {
        if let Some(t) = next {
            o.insert("pagination".into(), json!({ "nextToken": t }));
        }
        let before = match req.filter.window {
            orders::Window::Created => "createdBefore",
            orders::Window::LastUpdated => "lastUpdatedBefore",
        };
        o.insert(
            before.into(),
            Value::String(orders::rfc3339(req.filter.before)),
        );
    }
    (200, body)
}

async fn get_order(
    State(ctl): State<Arc<Control>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let op = Operation::GetOrder;
    let rid = request_id();
    let call = match admit(&ctl, op, &headers, &rid).await {
        Ok(c) => c,
        Err((e, _)) => return respond(e.status, Some(&e.body), &rid, None),
    };
    let q = parse_query(raw.as_deref());
    let mut with_id = q.clone();
    with_id.insert("orderId".into(), vec![order_id.clone()]);
    let (status, body) = if let Some(ex) = find_example(&ctl, op, &with_id, None) {
        (ex.status, ex.response.clone())
    } else {
        get_order_body(&ctl, &call.seller, &order_id, &q)
    };
    tracing::info!(operation = op.name(), seller = %call.seller.selling_partner_id, status, request_id = %rid, "SP-API call");
    hold_back(&call).await;
    respond(status, Some(&body), &call.request_id, call.rate)
}

fn get_order_body(ctl: &Control, seller: &Seller, order_id: &str, q: &QueryMap) -> (u16, Value) {
    let included = match orders::included_data(q) {
        Ok(i) => i,
        Err(m) => return (400, invalid_input(&m)),
    };
    if !orders::is_order_id(order_id) {
        return (
            400,
            invalid_input("Invalid orderId: expected the 3-7-7 format"),
        );
    }
    let spid = seller.selling_partner_id.as_str();
    let found = ctl.with_orders(|all| {
        all.get(order_id)
            .filter(|o| o.selling_partner_id == spid)
            .map(|o| orders::render(&o.order, &included, seller.pii_granted))
    });
    match found {
        Some(order) => (200, json!({ "order": order })),
        None => (
            404,
            errors(vec![error(
                "NotFound",
                &format!("Order {order_id} was not found."),
                None,
            )]),
        ),
    }
}

async fn confirm_shipment(
    State(ctl): State<Arc<Control>>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let op = Operation::ConfirmShipment;
    let rid = request_id();
    let parsed: Result<Value, ()> = serde_json::from_slice(&body).map_err(|_| ());
    let logged_body = parsed
        .clone()
        .unwrap_or_else(|()| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let record = |seller: Option<String>, status: u16, body_out: &Value, static_example: bool| {
        let errs = body_out
            .get("errors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let rec = ConfirmationRecord {
            seq: 0,
            received_at: OffsetDateTime::now_utc(),
            selling_partner_id: seller,
            order_id: order_id.clone(),
            body: logged_body.clone(),
            status,
            errors: errs,
            request_id: rid.clone(),
            static_example,
            response_dropped: false,
        };
        if let Err(e) = ctl.record_confirmation(rec) {
            tracing::error!(error = %e, "cannot record a confirmation");
        }
    };
    let call = match admit(&ctl, op, &headers, &rid).await {
        Ok(c) => c,
        Err((e, seller)) => {
            record(seller, e.status, &e.body, false);
            return respond(e.status, Some(&e.body), &rid, None);
        }
    };
    let spid = call.seller.selling_partner_id.clone();
    let with_id: QueryMap = [("orderId".to_owned(), vec![order_id.clone()])].into();
    if let Some(ex) = find_example(&ctl, op, &with_id, parsed.as_ref().ok()) {
        let body_out = ex.response.clone();
        record(Some(spid), ex.status, &body_out, true);
        hold_back(&call).await;
        return respond(ex.status, Some(&body_out), &rid, call.rate);
    }
    let Ok(json_body) = parsed else {
        let body_out = errors(vec![error(
            orders::V0_INVALID_INPUT,
            "The request body is not valid JSON",
            None,
        )]);
        record(Some(spid), 400, &body_out, false);
        return respond(400, Some(&body_out), &rid, call.rate);
    };
    let outcome = ctl.confirm_shipment(
        &spid,
        &order_id,
        &json_body,
        &rid,
        call.drop_after.is_some(),
    );
    let (status, body_out) = match outcome {
        Ok(Ok(())) => (204, Value::Null),
        Ok(Err(rej)) => (rej.status, errors(vec![rejection_json(&rej)])),
        Err(e) => {
            tracing::error!(error = %e, "confirmShipment failed inside the sandbox");
            (500, internal_failure())
        }
    };
    tracing::info!(operation = op.name(), seller = %spid, order_id = %order_id, status, request_id = %rid, "SP-API call");
    hold_back(&call).await;
    respond(status, Some(&body_out), &rid, call.rate)
}

fn lwa_json(status: u16, body: &Value, request_id: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (
        code,
        [
            (header::CONTENT_TYPE, "application/json;charset=UTF-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert(HEADER_REQUEST_ID, v);
    }
    resp
}

fn lwa_error(error: &str, description: &str) -> Value {
    json!({"error_description": description, "error": error})
}

/// Login with Amazon, refresh-token grant (form-encoded). Nothing secret is logged.
async fn lwa_token(State(ctl): State<Arc<Control>>, body: Bytes) -> Response {
    let rid = request_id();
    let mut drop_after = None;
    if let Some(f) = ctl.take_fault(Operation::LwaToken) {
        tracing::info!(kind = ?f.kind, "LWA fault injected");
        match f.kind {
            FaultKind::Throttle => {
                let b = lwa_error("slow_down", "Too many requests");
                return lwa_json(429, &b, &rid);
            }
            FaultKind::ServerError => {
                let b = lwa_error("server_error", "Internal server error");
                return lwa_json(500, &b, &rid);
            }
            FaultKind::RevokedToken => {
                let b = lwa_error(
                    "invalid_grant",
                    "The request has an invalid grant parameter : refresh_token",
                );
                return lwa_json(400, &b, &rid);
            }
            FaultKind::Delay => tokio::time::sleep(f.delay()).await,
            FaultKind::DropAfterEffect => drop_after = Some(f),
        }
    }
    let mut grant_type = None;
    let mut refresh_token = None;
    let mut client_id = None;
    let mut client_secret = None;
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "grant_type" => grant_type = Some(v.into_owned()),
            "refresh_token" => refresh_token = Some(v.into_owned()),
            "client_id" => client_id = Some(v.into_owned()),
            "client_secret" => client_secret = Some(v.into_owned()),
            _ => {}
        }
    }
    let (status, out) = match (
        grant_type.as_deref(),
        refresh_token,
        client_id,
        client_secret,
    ) {
        (Some("refresh_token"), Some(rt), Some(ci), Some(cs)) => {
            match ctl.lwa_refresh(&ci, &cs, &rt) {
                Ok(LwaOutcome::Issued {
                    access_token,
                    expires_in,
                }) => {
                    tracing::info!(client_id = %ci, "LWA access token issued");
                    (
                        200,
                        json!({"access_token": access_token, "refresh_token": rt, "token_type": "bearer", "expires_in": expires_in}),
                    )
                }
                Ok(LwaOutcome::Refused(status, error, description)) => {
                    tracing::info!(client_id = %ci, error, "LWA refused the grant");
                    (status, lwa_error(error, description))
                }
                Err(e) => {
                    tracing::error!(error = %e, "LWA stand-in failed");
                    (500, lwa_error("server_error", "Internal server error"))
                }
            }
        }
        (Some("refresh_token"), ..) => (
            400,
            lwa_error(
                "invalid_request",
                "The request is missing a required parameter : refresh_token, client_id or client_secret",
            ),
        ),
        (Some(_), ..) => (
            400,
            lwa_error(
                "unsupported_grant_type",
                "The authorization grant type is not supported",
            ),
        ),
        (None, ..) => (
            400,
            lwa_error(
                "invalid_request",
                "The request is missing a required parameter : grant_type",
            ),
        ),
    };
    if let Some(f) = drop_after {
        tokio::time::sleep(f.delay()).await;
    }
    lwa_json(status, &out, &rid)
}
