//! The stand-ins' HTTP handlers and the `/_sandbox/carriers/…` control endpoints.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::rules::{Check, check_common, parse_sagawa, parse_yamato};
use super::store::{BookOutcome, VoidOutcome};
use super::*;
use crate::control::Control;
use crate::error::SandboxError;
use crate::faults::FaultKind;

pub fn router(ctl: Arc<Control>, kind: CarrierKind) -> Router {
    let r = match kind {
        CarrierKind::Yamato => Router::new()
            .route("/v1/shipments", post(book))
            .route("/v1/shipments/{tracking}/void", post(void))
            .route("/v1/tracking/{tracking}", get(track)),
        CarrierKind::Sagawa => Router::new()
            .route("/v1/consignments", post(book))
            .route("/v1/consignments/{tracking}/cancel", post(void))
            .route("/v1/inquiry/{tracking}", get(track)),
    };
    r.fallback(not_found).with_state((ctl, kind))
}

pub(super) type Ctx = State<(Arc<Control>, CarrierKind)>;

pub(super) fn answer(status: u16, body: &Value) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response()
}

pub(super) fn error_body(code: &str, field: &str, reason: &str) -> Value {
    json!({"errors": [{"code": code, "field": field, "reason": reason}]})
}

async fn not_found() -> Response {
    answer(404, &error_body("not_found", "", "no such resource"))
}

/// An early answer before the operation's logic.
pub(super) struct Early(u16, Value);

/// Faults, then credentials. Returns the customer and the fault to apply after the effect.
async fn admit(
    ctl: &Control,
    kind: CarrierKind,
    op: CarrierOperation,
    headers: &HeaderMap,
) -> Result<(CarrierCustomer, Option<crate::faults::Fault>), Early> {
    let mut drop_after = None;
    if let Some(f) = ctl.take_fault(op) {
        tracing::info!(operation = op.name(), kind = ?f.kind, "fault injected");
        match f.kind {
            FaultKind::Throttle => {
                return Err(Early(429, error_body("throttled", "", "too many requests")));
            }
            FaultKind::ServerError => {
                return Err(Early(500, error_body("internal", "", "internal error")));
            }
            FaultKind::RevokedToken => {
                return Err(Early(
                    401,
                    error_body("unauthorized", "", "API key revoked"),
                ));
            }
            FaultKind::Delay => tokio::time::sleep(f.delay()).await,
            FaultKind::DropAfterEffect => drop_after = Some(f),
        }
    }
    match ctl.carrier_auth(kind, headers) {
        Some(c) => Ok((c, drop_after)),
        None => Err(Early(
            401,
            error_body("unauthorized", "", "unknown API key or customer code"),
        )),
    }
}

pub(super) fn call_record(kind: CarrierKind, operation: &str, status: u16) -> CarrierCall {
    CarrierCall {
        seq: 0,
        received_at: OffsetDateTime::now_utc(),
        carrier: kind,
        operation: operation.to_owned(),
        status,
        idempotency_key: None,
        tracking_number: None,
    }
}

async fn book(State((ctl, kind)): Ctx, headers: HeaderMap, body: Bytes) -> Response {
    let [op, _, _] = kind.operations();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (status, out, drop_after) =
        book_inner(&ctl, kind, op, &headers, &body, key.as_deref()).await;
    tracing::info!(
        carrier = kind.name(),
        operation = "book",
        status,
        "carrier call"
    );
    ctl.record_carrier_call(CarrierCall {
        idempotency_key: key,
        ..call_record(kind, "book", status)
    });
    if let Some(f) = drop_after {
        tracing::info!("dropAfterEffect: holding the response back");
        tokio::time::sleep(f.delay()).await;
    }
    answer(status, &out)
}

async fn book_inner(
    ctl: &Control,
    kind: CarrierKind,
    op: CarrierOperation,
    headers: &HeaderMap,
    body: &[u8],
    key: Option<&str>,
) -> (u16, Value, Option<crate::faults::Fault>) {
    let (customer, drop_after) = match admit(ctl, kind, op, headers).await {
        Ok(x) => x,
        Err(Early(s, b)) => return (s, b, None),
    };
    let Some(key) = key.filter(|k| !k.is_empty() && k.len() <= 64) else {
        return (
            400,
            error_body(
                "invalid_field",
                "Idempotency-Key",
                "header required (1 to 64 characters)",
            ),
            None,
        );
    };
    let Ok(json_body) = serde_json::from_slice::<Value>(body) else {
        return (
            400,
            error_body("invalid_json", "", "the body is not JSON"),
            None,
        );
    };
    let mut check = Check::default();
    let booking = match kind {
        CarrierKind::Yamato => parse_yamato(&json_body, &mut check),
        CarrierKind::Sagawa => parse_sagawa(&json_body, &mut check),
    };
    if let Some(code) = &booking.billing_code
        && *code != customer.customer_code
    {
        return (
            403,
            error_body(
                "forbidden",
                "billingCustomerCode",
                "not the API key's customer",
            ),
            None,
        );
    }
    check_common(kind, &booking, &mut check);
    if !check.errors.is_empty() {
        return (400, json!({ "errors": check.errors }), None);
    }
    match ctl.carrier_book(kind, &customer.customer_code, key, &json_body, &booking) {
        Ok(BookOutcome::Created(p)) => (201, booking_body(kind, &p), drop_after),
        Ok(BookOutcome::Replayed(p)) => (200, booking_body(kind, &p), drop_after),
        Ok(BookOutcome::KeyReused) => (
            422,
            error_body(
                "idempotency_key_reused",
                "Idempotency-Key",
                "already used for a different request",
            ),
            None,
        ),
        Err(e) => {
            tracing::error!(error = %e, "booking failed inside the sandbox");
            (500, error_body("internal", "", "internal error"), None)
        }
    }
}

pub(super) fn booking_body(kind: CarrierKind, packages: &[CarrierBooking]) -> Value {
    let id = packages
        .first()
        .map(|b| b.shipment_id.clone())
        .unwrap_or_default();
    match kind {
        CarrierKind::Yamato => json!({
            "shipmentId": id,
            "packages": packages.iter().map(|b| json!({
                "trackingNumber": b.tracking_number, "sortingCode": b.sorting_code,
            })).collect::<Vec<_>>(),
        }),
        CarrierKind::Sagawa => json!({
            "consignmentId": id,
            "pieces": packages.iter().map(|b| json!({
                "inquiryNumber": b.tracking_number, "branchCode": b.sorting_code,
            })).collect::<Vec<_>>(),
        }),
    }
}

async fn void(
    State((ctl, kind)): Ctx,
    Path(tracking): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let [_, op, _] = kind.operations();
    let (status, out, drop_after) = match admit(&ctl, kind, op, &headers).await {
        Err(Early(s, b)) => (s, b, None),
        Ok((customer, drop_after)) => {
            let reason = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("reason").and_then(Value::as_str).map(str::to_owned))
                .filter(|r| !r.trim().is_empty());
            match reason {
                None => (400, error_body("invalid_field", "reason", "required"), None),
                Some(reason) => {
                    match ctl.carrier_void(kind, &customer.customer_code, &tracking, &reason) {
                        Ok(VoidOutcome::Voided) => (
                            200,
                            json!({"trackingNumber": tracking, "voided": true}),
                            drop_after,
                        ),
                        Ok(VoidOutcome::NotFound) => (
                            404,
                            error_body("not_found", "trackingNumber", "no such booking"),
                            None,
                        ),
                        Ok(VoidOutcome::PickedUp) => (
                            409,
                            error_body(
                                "already_picked_up",
                                "trackingNumber",
                                "the parcel has been picked up: it can no longer be voided",
                            ),
                            None,
                        ),
                        Err(e) => {
                            tracing::error!(error = %e, "void failed inside the sandbox");
                            (500, error_body("internal", "", "internal error"), None)
                        }
                    }
                }
            }
        }
    };
    tracing::info!(
        carrier = kind.name(),
        operation = "void",
        status,
        "carrier call"
    );
    ctl.record_carrier_call(CarrierCall {
        tracking_number: Some(tracking),
        ..call_record(kind, "void", status)
    });
    if let Some(f) = drop_after {
        tokio::time::sleep(f.delay()).await;
    }
    answer(status, &out)
}

async fn track(
    State((ctl, kind)): Ctx,
    Path(tracking): Path<String>,
    headers: HeaderMap,
) -> Response {
    let [_, _, op] = kind.operations();
    let (status, out, drop_after) = match admit(&ctl, kind, op, &headers).await {
        Err(Early(s, b)) => (s, b, None),
        Ok((customer, drop_after)) => {
            match ctl.carrier_track(kind, &customer.customer_code, &tracking) {
                None => (
                    404,
                    error_body("not_found", "trackingNumber", "no such booking"),
                    None,
                ),
                Some(events) => (200, tracking_body(kind, &tracking, &events), drop_after),
            }
        }
    };
    ctl.record_carrier_call(CarrierCall {
        tracking_number: Some(tracking),
        ..call_record(kind, "track", status)
    });
    if let Some(f) = drop_after {
        tokio::time::sleep(f.delay()).await;
    }
    answer(status, &out)
}

pub(super) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub(super) fn tracking_body(
    kind: CarrierKind,
    tracking: &str,
    events: &[(&str, OffsetDateTime)],
) -> Value {
    match kind {
        CarrierKind::Yamato => json!({
            "trackingNumber": tracking,
            "events": events.iter().map(|(code, at)| json!({"code": code, "at": rfc3339(*at)})).collect::<Vec<_>>(),
        }),
        CarrierKind::Sagawa => json!({
            "inquiryNumber": tracking,
            "history": events.iter().map(|(code, at)| {
                let status = match *code {
                    "picked_up" => "集荷",
                    "in_transit" => "輸送中",
                    _ => "配達完了",
                };
                json!({"status": status, "time": rfc3339(*at)})
            }).collect::<Vec<_>>(),
        }),
    }
}

// ----------------------------------------------------------- HTTP: control

/// `/_sandbox/carriers/…`, merged into the control router.
pub fn control_routes() -> Router<Arc<Control>> {
    Router::new()
        .route(
            "/carriers/customers",
            get(customers).post(register_customer),
        )
        .route("/carriers/bookings", get(bookings))
        .route("/carriers/calls", get(calls))
        .route("/carriers/clock", get(clock).post(change_clock))
        .route("/carriers/milestones", get(milestones).put(set_milestones))
        .route("/carriers/{carrier}/next-serial", put(set_next_serial))
}

pub(super) fn control_error(e: &SandboxError) -> Response {
    let status = match e {
        SandboxError::Invalid(_) => 400,
        _ => 500,
    };
    answer(status, &json!({"error": e.to_string()}))
}

async fn customers(State(c): State<Arc<Control>>) -> Response {
    answer(200, &json!({ "customers": c.carrier_customers() }))
}

async fn register_customer(
    State(c): State<Arc<Control>>,
    axum::Json(r): axum::Json<CarrierCustomerRegistration>,
) -> Response {
    match c.register_carrier_customer(r) {
        Ok(v) => answer(201, &json!(v)),
        Err(e) => control_error(&e),
    }
}

async fn bookings(State(c): State<Arc<Control>>) -> Response {
    answer(200, &json!({ "bookings": c.carrier_bookings() }))
}

async fn calls(State(c): State<Arc<Control>>) -> Response {
    answer(200, &json!({ "calls": c.carrier_calls() }))
}

async fn clock(State(c): State<Arc<Control>>) -> Response {
    answer(200, &json!({ "now": rfc3339(c.carrier_clock()) }))
}

async fn change_clock(
    State(c): State<Arc<Control>>,
    axum::Json(change): axum::Json<ClockChange>,
) -> Response {
    match c.change_carrier_clock(change) {
        Ok(now) => answer(200, &json!({ "now": rfc3339(now) })),
        Err(e) => control_error(&e),
    }
}

async fn milestones(State(c): State<Arc<Control>>) -> Response {
    answer(200, &json!(c.carrier_milestones()))
}

async fn set_milestones(
    State(c): State<Arc<Control>>,
    axum::Json(m): axum::Json<MilestoneTimes>,
) -> Response {
    match c.set_carrier_milestones(m) {
        Ok(()) => answer(200, &json!(m)),
        Err(e) => control_error(&e),
    }
}

#[derive(Deserialize)]
pub(super) struct SerialBody {
    serial: u64,
}

async fn set_next_serial(
    State(c): State<Arc<Control>>,
    Path(carrier): Path<String>,
    axum::Json(b): axum::Json<SerialBody>,
) -> Response {
    let Some(kind) = CarrierKind::from_name(&carrier) else {
        return answer(404, &json!({"error": format!("unknown carrier {carrier}")}));
    };
    match c.set_carrier_next_serial(kind, b.serial) {
        Ok(()) => answer(200, &json!({"carrier": kind, "nextSerial": b.serial})),
        Err(e) => control_error(&e),
    }
}
