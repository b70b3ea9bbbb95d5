//! The test-control API under `/_sandbox/` (JSON, no authentication: loopback test tool).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::control::{Control, SellerRegistration, SettingsPatch};
use crate::error::SandboxError;
use crate::faults::Fault;
use crate::generate::GenerateOrders;
use crate::models::{Operation, RatePlan};

pub fn router(ctl: Arc<Control>) -> Router {
    Router::new()
        .route("/reset", post(reset))
        .route("/settings", get(settings).put(update_settings))
        .route("/amazon/sellers", get(sellers).post(register_seller))
        .route("/amazon/sellers/{seller}/revoke", post(revoke))
        .route(
            "/amazon/sellers/{seller}/expire-tokens",
            post(expire_tokens),
        )
        .route("/amazon/sellers/{seller}/pii", put(set_pii))
        .route(
            "/amazon/sellers/{seller}/orders",
            get(order_ids).post(seed_orders),
        )
        .route(
            "/amazon/sellers/{seller}/orders/generate",
            post(generate_orders),
        )
        .route("/amazon/sellers/{seller}/orders/{order_id}", get(order))
        .route(
            "/amazon/sellers/{seller}/orders/{order_id}/cancel",
            post(cancel_order),
        )
        .route("/amazon/confirmations", get(confirmations))
        .route("/amazon/rate-plans", get(rate_plans).put(set_rate_plans))
        .route("/faults", get(faults).post(add_fault).delete(clear_faults))
        .route("/printer/jobs", get(printer_jobs))
        .route("/printer/jobs/{id}", get(printer_job_bytes))
        .route(
            "/printer/online",
            get(printer_online).put(set_printer_online),
        )
        .merge(crate::carriers::control_routes())
        .layer(DefaultBodyLimit::max(256 * 1024 * 1024))
        .with_state(ctl)
}

struct ApiError(SandboxError);

impl From<SandboxError> for ApiError {
    fn from(e: SandboxError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            SandboxError::Invalid(_) => StatusCode::BAD_REQUEST,
            SandboxError::UnknownSeller(_)
            | SandboxError::UnknownOrder(_)
            | SandboxError::UnknownJob(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({"error": self.0.to_string()}))).into_response()
    }
}

type Result<T> = std::result::Result<T, ApiError>;

async fn reset(State(c): State<Arc<Control>>) -> Result<StatusCode> {
    c.reset()?;
    Ok(StatusCode::NO_CONTENT)
}

async fn settings(State(c): State<Arc<Control>>) -> Json<Value> {
    Json(json!(c.settings()))
}

async fn update_settings(
    State(c): State<Arc<Control>>,
    Json(p): Json<SettingsPatch>,
) -> Result<Json<Value>> {
    Ok(Json(json!(c.update_settings(p)?)))
}

async fn sellers(State(c): State<Arc<Control>>) -> Json<Value> {
    Json(json!({ "sellers": c.sellers() }))
}

async fn register_seller(
    State(c): State<Arc<Control>>,
    Json(r): Json<SellerRegistration>,
) -> Result<(StatusCode, Json<Value>)> {
    Ok((StatusCode::CREATED, Json(json!(c.register_seller(r)?))))
}

async fn revoke(State(c): State<Arc<Control>>, Path(s): Path<String>) -> Result<StatusCode> {
    c.revoke_seller(&s)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn expire_tokens(
    State(c): State<Arc<Control>>,
    Path(s): Path<String>,
) -> Result<Json<Value>> {
    Ok(Json(json!({ "expired": c.expire_access_tokens(&s)? })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PiiBody {
    pii_granted: bool,
}

async fn set_pii(
    State(c): State<Arc<Control>>,
    Path(s): Path<String>,
    Json(b): Json<PiiBody>,
) -> Result<StatusCode> {
    c.set_pii_granted(&s, b.pii_granted)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct SeedBody {
    orders: Vec<Value>,
}

async fn seed_orders(
    State(c): State<Arc<Control>>,
    Path(s): Path<String>,
    Json(b): Json<SeedBody>,
) -> Result<Json<Value>> {
    Ok(Json(json!({ "orderIds": c.seed_orders(&s, b.orders)? })))
}

async fn order_ids(State(c): State<Arc<Control>>, Path(s): Path<String>) -> Json<Value> {
    Json(json!({ "orderIds": c.order_ids(&s) }))
}

async fn generate_orders(
    State(c): State<Arc<Control>>,
    Path(s): Path<String>,
    Json(g): Json<GenerateOrders>,
) -> Result<Json<Value>> {
    Ok(Json(json!({ "orderIds": c.generate_orders(&s, &g)? })))
}

async fn order(
    State(c): State<Arc<Control>>,
    Path((s, id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    c.order(&s, &id)
        .map(|o| Json(json!({ "order": o })))
        .ok_or_else(|| SandboxError::UnknownOrder(id).into())
}

async fn cancel_order(
    State(c): State<Arc<Control>>,
    Path((s, id)): Path<(String, String)>,
) -> Result<Json<Value>> {
    Ok(Json(json!({ "order": c.cancel_order(&s, &id)? })))
}

async fn confirmations(State(c): State<Arc<Control>>) -> Json<Value> {
    Json(json!({ "confirmations": c.confirmations() }))
}

async fn rate_plans(State(c): State<Arc<Control>>) -> Json<Value> {
    Json(json!(c.rate_plans()))
}

/// `{"confirmShipment": {"rate": 100, "burst": 100}, …}`
async fn set_rate_plans(
    State(c): State<Arc<Control>>,
    Json(plans): Json<BTreeMap<String, RatePlan>>,
) -> Result<Json<Value>> {
    for (name, plan) in plans {
        let op = Operation::from_name(&name)
            .ok_or_else(|| SandboxError::Invalid(format!("unknown operation {name}")))?;
        c.set_rate_plan(op, plan)?;
    }
    Ok(Json(json!(c.rate_plans())))
}

async fn faults(State(c): State<Arc<Control>>) -> Json<Value> {
    Json(json!({ "faults": c.faults() }))
}

async fn add_fault(State(c): State<Arc<Control>>, Json(f): Json<Fault>) -> Result<Json<Value>> {
    c.add_fault(f)?;
    Ok(Json(json!({ "faults": c.faults() })))
}

async fn clear_faults(State(c): State<Arc<Control>>) -> StatusCode {
    c.clear_faults();
    StatusCode::NO_CONTENT
}

async fn printer_jobs(State(c): State<Arc<Control>>) -> Json<Value> {
    Json(json!({ "jobs": c.printer_jobs() }))
}

async fn printer_job_bytes(
    State(c): State<Arc<Control>>,
    Path(id): Path<String>,
) -> Result<Response> {
    let bytes = c.printer_job_bytes(&id)?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

async fn printer_online(State(c): State<Arc<Control>>) -> Json<Value> {
    Json(json!({ "online": c.printer_online() }))
}

#[derive(Deserialize)]
struct OnlineBody {
    online: bool,
}

async fn set_printer_online(
    State(c): State<Arc<Control>>,
    Json(b): Json<OnlineBody>,
) -> Json<Value> {
    c.set_printer_online(b.online);
    Json(json!({ "online": c.printer_online() }))
}
