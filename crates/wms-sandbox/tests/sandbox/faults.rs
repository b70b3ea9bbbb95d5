//! Usage plans (429 without the rate header) and injected faults.

use std::time::Duration;

use serde_json::json;
use wms_sandbox::{Fault, FaultKind, Operation};

use crate::common::{confirmation, http_client, order, start};

const ID: &str = "503-7654321-1234567";

#[tokio::test]
async fn throttled_after_the_burst_without_rate_header() {
    let env = start().await;
    let token = env.seller("A1RATE", false).await;
    let (s, plans) = {
        let r = env
            .http
            .put(env.control_url("/amazon/rate-plans"))
            .json(&json!({"getOrder": {"rate": 0.001, "burst": 3}}))
            .send()
            .await
            .expect("plans");
        (
            r.status(),
            r.json::<serde_json::Value>().await.expect("json"),
        )
    };
    assert!(s.is_success());
    assert_eq!(plans["getOrder"]["burst"], 3.0);
    assert_eq!(plans["confirmShipment"]["rate"], 2.0, "model default");
    let path = "/orders/2026-01-01/orders/503-0000000-0000001";
    for _ in 0..3 {
        let r = env.get(&token, path).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.rate_limit.as_deref(), Some("0.001"));
    }
    let r = env.get(&token, path).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.first_error_code(), "QuotaExceeded");
    assert!(r.rate_limit.is_none(), "never on 429");
    assert!(r.request_id.is_some());
    // Another seller has its own bucket.
    let other = env.seller("A1RATE2", false).await;
    assert_eq!(env.get(&other, path).await.status, 404);
}

#[tokio::test]
async fn injected_faults() {
    let env = start().await;
    let token = env.seller("A1FAULT", false).await;
    let ctl = env.sb.control();
    ctl.seed_orders("A1FAULT", vec![order(ID, "2026-01-05T00:00:00Z")])
        .expect("seed");
    let path = format!("/orders/2026-01-01/orders/{ID}");

    // Through the control API: two 500s, then normal again.
    let (s, _) = env
        .ctl_post(
            "/faults",
            json!({"operation": "getOrder", "kind": "serverError", "count": 2}),
        )
        .await;
    assert!(s.is_success());
    for _ in 0..2 {
        let r = env.get(&token, &path).await;
        assert_eq!(r.status, 500);
        assert_eq!(r.first_error_code(), "InternalFailure");
        assert!(r.rate_limit.is_none());
    }
    assert_eq!(env.get(&token, &path).await.status, 200);

    ctl.add_fault(Fault::next(Operation::GetOrder, FaultKind::Throttle, 1))
        .expect("fault");
    assert_eq!(env.get(&token, &path).await.status, 429);
    ctl.add_fault(Fault::next(Operation::GetOrder, FaultKind::RevokedToken, 1))
        .expect("fault");
    assert_eq!(env.get(&token, &path).await.status, 403);
    assert_eq!(env.get(&token, &path).await.status, 200);

    // LWA: revoked-token fault → invalid_grant once.
    ctl.add_fault(Fault::next(Operation::LwaToken, FaultKind::RevokedToken, 1))
        .expect("fault");
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "Atzr|A1FAULT"),
        ("client_id", "app-1"),
        ("client_secret", "app-secret"),
    ];
    assert_eq!(env.lwa(&form).await.1["error"], "invalid_grant");
    assert_eq!(env.lwa(&form).await.0, 200);

    // Delay beyond the client's timeout.
    let impatient = http_client(env.sb.ca_cert_der(), Duration::from_millis(300));
    ctl.add_fault(Fault::next(Operation::GetOrder, FaultKind::Delay, 1).with_delay_ms(2000))
        .expect("fault");
    let err = impatient
        .get(env.amazon(&path))
        .header("x-amz-access-token", &token)
        .send()
        .await
        .expect_err("times out");
    assert!(err.is_timeout(), "{err}");

    // Drop after effect: the confirmation is recorded, the client never hears back; the retry
    // with the same packageReferenceId is an edit, so there is still one package.
    ctl.add_fault(
        Fault::next(Operation::ConfirmShipment, FaultKind::DropAfterEffect, 1)
            .with_delay_ms(30_000),
    )
    .expect("fault");
    let body = confirmation(
        "1",
        "5555-6666-7777",
        json!([{"orderItemId": "11", "quantity": 2}, {"orderItemId": "12", "quantity": 1}]),
    );
    let err = impatient
        .post(env.amazon(&format!("/orders/v0/orders/{ID}/shipmentConfirmation")))
        .header("x-amz-access-token", &token)
        .json(&body)
        .send()
        .await
        .expect_err("times out");
    assert!(err.is_timeout(), "{err}");
    let log = ctl.confirmations();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, 204);
    assert!(log[0].response_dropped);
    let o = ctl.order("A1FAULT", ID).expect("order");
    assert_eq!(o["fulfillment"]["fulfillmentStatus"], "SHIPPED");
    let r = env.confirm(&token, ID, &body).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let o = ctl.order("A1FAULT", ID).expect("order");
    assert_eq!(o["packages"].as_array().map(Vec::len), Some(1));

    let (s, b) = env
        .ctl_post(
            "/faults",
            json!({"operation": "getOrder", "kind": "throttle", "probability": 1.0}),
        )
        .await;
    assert!(s.is_success(), "{b}");
    assert_eq!(env.get(&token, &path).await.status, 429);
    assert_eq!(env.get(&token, &path).await.status, 429);
    let r = env
        .http
        .delete(env.control_url("/faults"))
        .send()
        .await
        .expect("delete");
    assert!(r.status().is_success());
    assert_eq!(env.get(&token, &path).await.status, 200);
}
