//! Client behaviour against a tiny local HTTP server (plain HTTP on loopback, via the explicit
//! `allow_insecure_loopback` option): retries, backoff, no-retry statuses, LWA caching.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use time::macros::datetime;
use wms_amazon::model::orders_v0::{
    ConfirmShipmentOrderItem, ConfirmShipmentRequest, PackageDetail, ShipDate,
};
use wms_amazon::model::orders_v2026::{IncludedData, SearchOrdersQuery};
use wms_amazon::{
    AuthError, ClientOptions, Credentials, Endpoints, Error, Operation, RatePlan, RatePlans,
    RetryPolicy, Secret, SpApi, TransportKind,
};

#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
    headers: Vec<(&'static str, String)>,
    delay: Duration,
}

fn reply(status: u16, body: &str) -> Reply {
    Reply {
        status,
        body: body.into(),
        headers: vec![("x-amzn-RequestId", format!("req-{status}"))],
        delay: Duration::ZERO,
    }
}

#[derive(Default)]
struct Mock {
    script: Mutex<VecDeque<Reply>>,
    calls: Mutex<Vec<(String, String, Option<String>, String)>>, // path, query, token, body
    token_calls: AtomicUsize,
    token_forms: Mutex<Vec<String>>,
    token_reply: Mutex<Option<(u16, String)>>,
    token_delay: Mutex<Duration>,
}

async fn token(State(m): State<Arc<Mock>>, body: String) -> Response {
    m.token_calls.fetch_add(1, Ordering::SeqCst);
    m.token_forms.lock().expect("lock").push(body);
    let delay = *m.token_delay.lock().expect("lock");
    tokio::time::sleep(delay).await;
    let (status, body) = m.token_reply.lock().expect("lock").clone().unwrap_or((
        200,
        r#"{"access_token":"Atza|test-access","token_type":"bearer","expires_in":3600,"refresh_token":"Atzr|x"}"#.into(),
    ));
    (
        StatusCode::from_u16(status).expect("status"),
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

async fn sp(State(m): State<Arc<Mock>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let token = headers
        .get("x-amz-access-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    m.calls.lock().expect("lock").push((
        uri.path().to_owned(),
        uri.query().unwrap_or_default().to_owned(),
        token,
        String::from_utf8_lossy(&body).into_owned(),
    ));
    let r = m
        .script
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or_else(|| reply(500, r#"{"errors":[]}"#));
    tokio::time::sleep(r.delay).await;
    let mut resp = (StatusCode::from_u16(r.status).expect("status"), r.body).into_response();
    for (k, v) in r.headers {
        resp.headers_mut().insert(k, v.parse().expect("header"));
    }
    resp
}

struct Harness {
    mock: Arc<Mock>,
    api: SpApi,
    client: wms_amazon::Client,
}

async fn harness(script: Vec<Reply>, tweak: impl FnOnce(&mut ClientOptions)) -> Harness {
    let mock = Arc::new(Mock::default());
    *mock.script.lock().expect("lock") = script.into();
    let app = Router::new()
        .route("/auth/o2/token", post(token))
        .fallback(sp)
        .with_state(mock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let fast = RatePlan {
        rate: 1000.0,
        burst: 1000.0,
    };
    let mut options = ClientOptions {
        endpoints: Endpoints {
            lwa_token_url: format!("http://{addr}/auth/o2/token"),
            sp_api_base: format!("http://{addr}"),
            ..Endpoints::default()
        },
        retry: RetryPolicy {
            max_attempts: 4,
            base_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        },
        request_timeout: Duration::from_secs(5),
        allow_insecure_loopback: true,
        rate_plans: Some(RatePlans {
            search_orders: fast,
            get_order: fast,
            confirm_shipment: fast,
        }),
        ..ClientOptions::default()
    };
    tweak(&mut options);
    let api = SpApi::new(options).expect("api");
    let client = api.client("A2SELLER", credentials());
    Harness { mock, api, client }
}

fn credentials() -> Credentials {
    Credentials {
        client_id: "amzn1.application-oa2-client.test".into(),
        client_secret: Secret::new("client-secret-value"),
        refresh_token: Secret::new("Atzr|refresh-token-value"),
    }
}

fn confirm_body() -> ConfirmShipmentRequest {
    ConfirmShipmentRequest {
        marketplace_id: "A1VC38T7YXB528".into(),
        cod_collection_method: None,
        package_detail: PackageDetail {
            package_reference_id: "1".into(),
            carrier_code: "Yamato Transport".into(),
            carrier_name: None,
            shipping_method: None,
            tracking_number: "123456789012".into(),
            ship_date: ShipDate::from_datetime(datetime!(2026-02-01 09:30 UTC)),
            ship_from_supply_source_id: None,
            order_items: vec![ConfirmShipmentOrderItem {
                order_item_id: "111".into(),
                quantity: 2,
                transparency_codes: None,
            }],
        },
    }
}

const SEARCH_OK: &str = r#"{"orders":[{"orderId":"250-1234567-8901234","createdTime":"2026-01-02T00:00:00Z","lastUpdatedTime":"2026-01-02T01:00:00Z","salesChannel":{"channelName":"AMAZON","marketplaceId":"A1VC38T7YXB528"},"fulfillment":{"fulfillmentStatus":"UNSHIPPED","fulfilledBy":"MERCHANT"},"orderItems":[{"orderItemId":"111","quantityOrdered":2,"product":{"sellerSku":"SKU-1"},"someNewField":true}],"futureField":{"x":1}}],"pagination":{"nextToken":"NEXT"}}"#;
const ORDER_OK: &str = r#"{"order":{"orderId":"250-1234567-8901234","createdTime":"2026-01-02T00:00:00Z","lastUpdatedTime":"2026-01-02T01:00:00Z","salesChannel":{"channelName":"AMAZON"},"orderItems":[]}}"#;

fn calls(h: &Harness) -> Vec<(String, String, Option<String>, String)> {
    h.mock.calls.lock().expect("lock").clone()
}

#[tokio::test]
async fn search_orders_retries_429_then_succeeds() {
    let h = harness(
        vec![
            reply(
                429,
                r#"{"errors":[{"code":"QuotaExceeded","message":"x"}]}"#,
            ),
            reply(429, ""),
            reply(200, SEARCH_OK),
        ],
        |_| {},
    )
    .await;
    let q = SearchOrdersQuery::last_updated_after(datetime!(2026-01-01 00:00 UTC));
    let r = h.client.search_orders(&q).await.expect("search");
    assert_eq!(r.orders.len(), 1);
    assert_eq!(r.next_token(), Some("NEXT"));
    assert!(
        r.orders[0]
            .fulfillment
            .as_ref()
            .expect("f")
            .is_merchant_fulfilled()
    );
    let c = calls(&h);
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].0, "/orders/2026-01-01/orders");
    assert!(
        c[0].1.contains("lastUpdatedAfter=2026-01-01T00%3A00%3A00Z"),
        "{}",
        c[0].1
    );
    assert!(
        c[0].1.contains("marketplaceIds=A1VC38T7YXB528"),
        "{}",
        c[0].1
    );
    assert!(c.iter().all(|x| x.2.as_deref() == Some("Atza|test-access")));
    assert_eq!(h.mock.token_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn confirm_shipment_retries_5xx_and_sends_the_model_body() {
    let h = harness(
        vec![reply(500, ""), reply(503, "{}"), reply(204, "")],
        |_| {},
    )
    .await;
    let body = confirm_body();
    h.client
        .confirm_shipment("250-1234567-8901234", &body)
        .await
        .expect("confirm");
    let c = calls(&h);
    assert_eq!(c.len(), 3);
    assert_eq!(
        c[2].0,
        "/orders/v0/orders/250-1234567-8901234/shipmentConfirmation"
    );
    let sent: serde_json::Value = serde_json::from_str(&c[2].3).expect("json");
    assert_eq!(sent, serde_json::to_value(&body).expect("json"));
    assert!(sent["packageDetail"]["orderItems"].is_array());
}

#[tokio::test]
async fn client_errors_are_not_retried_and_carry_amazons_errors() {
    for status in [400u16, 403, 404] {
        let refusal = reply(
            status,
            r#"{"errors":[{"code":"Invalid Input","message":"Invalid Input","details":"d"}]}"#,
        );
        // A 403 is repeated once with a fresh access token (it may be the token that was refused).
        let script = if status == 403 {
            vec![refusal.clone(), refusal, reply(204, "")]
        } else {
            vec![refusal, reply(204, "")]
        };
        let h = harness(script, |_| {}).await;
        let err = h
            .client
            .confirm_shipment("250-1234567-8901234", &confirm_body())
            .await
            .expect_err("error");
        let api = err.api().unwrap_or_else(|| panic!("{status}: {err:?}"));
        assert_eq!(api.status, status);
        assert_eq!(
            api.request_id.as_deref(),
            Some(format!("req-{status}").as_str())
        );
        assert!(api.has_code("InvalidInput") && api.has_code("invalid_input"));
        assert_eq!(api.errors[0].details.as_deref(), Some("d"));
        if status == 403 {
            assert_eq!(
                calls(&h).len(),
                2,
                "403: once more with a fresh token, then given up"
            );
            assert_eq!(
                h.mock.token_calls.load(Ordering::SeqCst),
                2,
                "the token was refreshed"
            );
        } else {
            assert_eq!(calls(&h).len(), 1, "{status} must not be retried");
        }
    }
}

#[tokio::test]
async fn retries_are_bounded() {
    let h = harness(vec![reply(429, ""); 10], |o| o.retry.max_attempts = 3).await;
    let err = h
        .client
        .get_order("250-1234567-8901234", &[])
        .await
        .expect_err("429s");
    assert_eq!(err.api().map(|a| a.status), Some(429));
    assert_eq!(calls(&h).len(), 3);
}

#[tokio::test]
async fn timeouts_are_retried() {
    let mut slow = reply(200, ORDER_OK);
    slow.delay = Duration::from_secs(2);
    let h = harness(vec![slow, reply(200, ORDER_OK)], |o| {
        o.request_timeout = Duration::from_millis(300)
    })
    .await;
    let order = h
        .client
        .get_order(
            "250-1234567-8901234",
            &[IncludedData::Packages, IncludedData::Recipient],
        )
        .await
        .expect("order");
    assert_eq!(order.order_id, "250-1234567-8901234");
    let c = calls(&h);
    assert_eq!(c.len(), 2);
    assert_eq!(c[1].1, "includedData=PACKAGES%2CRECIPIENT");

    let mut slow = reply(200, ORDER_OK);
    slow.delay = Duration::from_secs(2);
    let h = harness(vec![slow.clone(), slow], |o| {
        o.request_timeout = Duration::from_millis(200);
        o.retry.max_attempts = 2;
    })
    .await;
    let err = h.client.get_order("1", &[]).await.expect_err("timeout");
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Timeout,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn rate_limit_header_updates_the_bucket() {
    let mut r = reply(200, ORDER_OK);
    r.headers.push(("x-amzn-RateLimit-Limit", "7.5".into()));
    let h = harness(vec![r], |_| {}).await;
    h.client.get_order("1", &[]).await.expect("order");
    assert_eq!(
        h.api.rate_limiter().rate("A2SELLER", Operation::GetOrder),
        Some(7.5)
    );
    assert_eq!(
        h.api
            .rate_limiter()
            .rate("A2SELLER", Operation::ConfirmShipment),
        None
    );
}

#[tokio::test]
async fn concurrent_callers_share_one_refresh() {
    let h = harness(vec![reply(200, ORDER_OK); 20], |_| {}).await;
    *h.mock.token_delay.lock().expect("lock") = Duration::from_millis(200);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let c = h.client.clone();
        tasks.push(tokio::spawn(async move { c.get_order("1", &[]).await }));
    }
    for t in tasks {
        t.await.expect("join").expect("order");
    }
    assert_eq!(h.mock.token_calls.load(Ordering::SeqCst), 1);
    let form = h.mock.token_forms.lock().expect("lock")[0].clone();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect();
    for (k, v) in [
        ("grant_type", "refresh_token"),
        ("refresh_token", "Atzr|refresh-token-value"),
        ("client_id", "amzn1.application-oa2-client.test"),
        ("client_secret", "client-secret-value"),
    ] {
        assert!(
            pairs.contains(&(k.into(), v.into())),
            "{k} missing from {pairs:?}"
        );
    }
}

#[tokio::test]
async fn token_refreshed_before_expiry() {
    // expires_in 30 s is inside the 60 s margin: every call refreshes.
    let h = harness(vec![reply(200, ORDER_OK); 2], |_| {}).await;
    *h.mock.token_reply.lock().expect("lock") = Some((
        200,
        r#"{"access_token":"Atza|short","token_type":"bearer","expires_in":30}"#.into(),
    ));
    h.client.get_order("1", &[]).await.expect("1");
    h.client.get_order("1", &[]).await.expect("2");
    assert_eq!(h.mock.token_calls.load(Ordering::SeqCst), 2);
    // expires_in 3600: cached.
    let h = harness(vec![reply(200, ORDER_OK); 2], |_| {}).await;
    h.client.get_order("1", &[]).await.expect("1");
    h.client.get_order("1", &[]).await.expect("2");
    assert_eq!(h.mock.token_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn revoked_refresh_token_is_typed_and_sticky() {
    let h = harness(vec![reply(200, ORDER_OK)], |_| {}).await;
    *h.mock.token_reply.lock().expect("lock") =
        Some((400, r#"{"error_description":"The request has an invalid grant parameter : refresh_token","error":"invalid_grant"}"#.into()));
    let err = h.client.get_order("1", &[]).await.expect_err("revoked");
    assert!(err.is_authorization_revoked(), "{err:?}");
    assert!(matches!(
        h.client.tokens().access_token().await,
        Err(AuthError::AuthorizationRevoked)
    ));
    assert_eq!(
        h.mock.token_calls.load(Ordering::SeqCst),
        1,
        "no hammering LWA after a revocation"
    );
    assert!(calls(&h).is_empty(), "no SP-API call without a token");
}

#[tokio::test]
async fn other_lwa_errors_are_not_revocation() {
    let h = harness(vec![], |_| {}).await;
    *h.mock.token_reply.lock().expect("lock") = Some((401, r#"{"error":"invalid_client"}"#.into()));
    let err = h.client.get_order("1", &[]).await.expect_err("refused");
    assert!(
        matches!(&err, Error::Auth(AuthError::Refused { status: 401, error: Some(e) }) if e == "invalid_client"),
        "{err:?}"
    );
}

#[tokio::test]
async fn secrets_do_not_leak_through_debug_or_errors() {
    let h = harness(
        vec![reply(
            400,
            r#"{"errors":[{"code":"InvalidInput","message":"m"}]}"#,
        )],
        |_| {},
    )
    .await;
    let err = h.client.get_order("1", &[]).await.expect_err("400");
    let text = format!("{err} {err:?} {:?} {:?}", h.client, credentials());
    for secret in [
        "client-secret-value",
        "Atzr|refresh-token-value",
        "Atza|test-access",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[test]
fn insecure_option_refuses_non_loopback() {
    let options = ClientOptions {
        endpoints: Endpoints {
            sp_api_base: "http://sellingpartnerapi-fe.amazon.com".into(),
            ..Endpoints::default()
        },
        allow_insecure_loopback: true,
        ..ClientOptions::default()
    };
    assert!(matches!(SpApi::new(options), Err(Error::Config(_))));
    assert!(SpApi::new(ClientOptions::default()).is_ok());
}
