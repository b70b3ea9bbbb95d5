//! The HTTP API: routes (and the OpenAPI document, generated from the same handler annotations),
//! and the layers every request goes through.

pub mod admin_api;
pub mod amazon_api;
pub mod auth_api;
pub mod carriers_api;
pub mod changes_api;
pub mod control_api;
pub mod extract;
pub mod ops;
pub mod orders_api;
pub mod privacy_api;
pub mod releases_api;
pub mod warehouse_api;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::time::{Duration, Instant};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, problem_response};
use crate::metrics::{RequestLabels, RouteLabels};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Jilian WMS API", description = "Central server of Jilian WMS. Errors are RFC 9457 problem documents with a stable `code`. \
        Every mutating endpoint honours `Idempotency-Key`: a replay returns the first response and changes nothing."),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "admin"), (name = "inventory"), (name = "orders"), (name = "amazon"), (name = "carriers"), (name = "devices"), (name = "privacy"), (name = "releases"), (name = "ops"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Routes and their OpenAPI document, from one list so the two cannot drift apart.
fn routes() -> OpenApiRouter<AppState> {
    let auth_routes = OpenApiRouter::new()
        .routes(routes!(auth_api::login))
        .routes(routes!(auth_api::refresh))
        .routes(routes!(auth_api::mfa_verify));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(auth_routes)
        .routes(routes!(auth_api::logout))
        .routes(routes!(auth_api::mfa_enroll))
        .routes(routes!(auth_api::change_password))
        .routes(routes!(auth_api::me))
        .routes(routes!(auth_api::sessions))
        .routes(routes!(auth_api::revoke_session))
        .routes(routes!(auth_api::revoke_all))
        .routes(routes!(admin_api::list_users, admin_api::create_user))
        .routes(routes!(admin_api::get_user))
        .routes(routes!(admin_api::change_role))
        .routes(routes!(admin_api::reset_mfa))
        .routes(routes!(admin_api::audit_log))
        .routes(routes!(admin_api::audit_verify))
        .routes(routes!(
            warehouse_api::list_warehouses,
            warehouse_api::create_warehouse
        ))
        .routes(routes!(
            warehouse_api::list_locations,
            warehouse_api::create_location
        ))
        .routes(routes!(warehouse_api::list_skus, warehouse_api::create_sku))
        .routes(routes!(warehouse_api::edit_sku))
        .routes(routes!(
            warehouse_api::list_inbound,
            warehouse_api::create_inbound
        ))
        .routes(routes!(warehouse_api::get_inbound))
        .routes(routes!(warehouse_api::stock))
        .routes(routes!(warehouse_api::movements))
        .routes(routes!(warehouse_api::receive))
        .routes(routes!(warehouse_api::move_stock))
        .routes(routes!(warehouse_api::adjust))
        .routes(routes!(control_api::import_skus))
        .routes(routes!(control_api::list_adjustments))
        .routes(routes!(control_api::approve_adjustment))
        .routes(routes!(control_api::reject_adjustment))
        .routes(routes!(control_api::list_counts, control_api::create_count))
        .routes(routes!(control_api::get_count))
        .routes(routes!(control_api::enter_count))
        .routes(routes!(control_api::approve_count))
        .routes(routes!(control_api::reject_count))
        .routes(routes!(orders_api::list, orders_api::create))
        .routes(routes!(orders_api::views))
        .routes(routes!(orders_api::get, orders_api::edit))
        .routes(routes!(orders_api::batch_pick_list))
        .routes(routes!(orders_api::recipient))
        .routes(routes!(orders_api::allocate))
        .routes(routes!(orders_api::pick))
        .routes(routes!(orders_api::pick_list))
        .routes(routes!(orders_api::pack))
        .routes(routes!(orders_api::add_package))
        .routes(routes!(orders_api::dispatch))
        .routes(routes!(orders_api::cancel))
        .routes(routes!(orders_api::set_tracking))
        .routes(routes!(
            amazon_api::list_authorizations,
            amazon_api::create_authorization
        ))
        .routes(routes!(amazon_api::revoke_authorization))
        .routes(routes!(amazon_api::purge_pii))
        .routes(routes!(amazon_api::sync_now))
        .routes(routes!(amazon_api::list_feedback))
        .routes(routes!(amazon_api::at_risk))
        .routes(routes!(
            carriers_api::list_accounts,
            carriers_api::create_account
        ))
        .routes(routes!(carriers_api::book))
        .routes(routes!(carriers_api::label))
        .routes(routes!(carriers_api::void))
        .routes(routes!(carriers_api::tracking))
        .routes(routes!(carriers_api::packing_slip))
        .routes(routes!(
            carriers_api::update_account,
            carriers_api::remove_account
        ))
        .routes(routes!(changes_api::changes))
        .routes(routes!(crate::devices::list_devices))
        .routes(routes!(crate::devices::own))
        .routes(routes!(crate::devices::acknowledge_wipe))
        .routes(routes!(crate::devices::revoke_device))
        .routes(routes!(crate::devices::wipe_device))
        .routes(routes!(crate::devices::set_printer_profile))
        .routes(routes!(crate::devices::set_update_channel))
        .routes(routes!(amazon_api::retry_feedback))
        .routes(routes!(amazon_api::mark_feedback_handled))
        .routes(routes!(orders_api::list_returns, orders_api::create_return))
        .routes(routes!(orders_api::get_return))
        .routes(routes!(orders_api::receive_return))
        .routes(routes!(
            privacy_api::list_data_requests,
            privacy_api::create_data_request
        ))
        .routes(routes!(
            privacy_api::get_retention,
            privacy_api::put_retention
        ))
        .routes(routes!(releases_api::list, releases_api::publish))
        .routes(routes!(releases_api::change))
        .routes(routes!(releases_api::manifest))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The OpenAPI document as served at `/api/v1/openapi.json`.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

pub fn router(state: AppState) -> Router {
    let (api, doc) = routes().split_for_parts();
    let doc_json = doc.to_pretty_json().unwrap_or_default();
    let request_id = HeaderName::from_static("x-request-id");
    api.route("/api/v1/openapi.json", axum::routing::get(move || async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], doc_json) }))
        .fallback(|| async { ApiError::NotFound("route").into_response() })
        .method_not_allowed_fallback(|| async { problem_response(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method Not Allowed", None) })
        .layer(middleware::from_fn_with_state(state.clone(), crate::idempotency::layer))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit_auth))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), record_metrics))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(state.settings.request_timeout_secs)))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // The path only: query strings may carry identifiers, and bodies are never logged.
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

/// Per-IP limit on the unauthenticated authentication endpoints.
async fn rate_limit_auth(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/api/v1/auth/login"
        || path == "/api/v1/auth/refresh"
        || path == "/api/v1/auth/mfa/verify"
    {
        let ip = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        if let Some(ip) = ip
            && let Err(retry_after) = state.auth_limiter.check(ip)
        {
            tracing::warn!(%ip, "authentication rate limit exceeded");
            return ApiError::RateLimited { retry_after }.into_response();
        }
    }
    next.run(req).await
}

async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    state
        .metrics
        .requests
        .get_or_create(&RequestLabels {
            method,
            route: route.clone(),
            status: resp.status().as_u16(),
        })
        .inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(start.elapsed().as_secs_f64());
    resp
}
