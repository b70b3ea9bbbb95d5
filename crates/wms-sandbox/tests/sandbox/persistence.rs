//! A restarted sandbox keeps sellers, tokens, orders, confirmations, print jobs and its cert.

use serde_json::json;

use crate::common::{confirmation, order, start, start_in};

const ID: &str = "503-1000000-2000000";

#[tokio::test]
async fn state_survives_a_restart() {
    let env = start().await;
    let token = env.seller("A1PERSIST", false).await;
    env.sb
        .control()
        .seed_orders("A1PERSIST", vec![order(ID, "2026-01-05T00:00:00Z")])
        .expect("seed");
    let r = env
        .confirm(
            &token,
            ID,
            &confirmation("1", "T-1", json!([{"orderItemId": "12", "quantity": 1}])),
        )
        .await;
    assert_eq!(r.status, 204);
    let sha = env.sb.urls().cert_sha256.clone();
    let before = env.sb.control().order("A1PERSIST", ID).expect("order");
    let crate::common::Env { sb, dir, .. } = env;
    sb.shutdown().await;
    assert!(dir.path().join("state.json").is_file());

    let env = start_in(dir).await;
    assert_eq!(env.sb.urls().cert_sha256, sha, "certificate reused");
    assert_eq!(env.sb.control().order("A1PERSIST", ID), Some(before));
    assert_eq!(env.sb.control().confirmations().len(), 1);
    // The access token issued before the restart still works.
    let r = env
        .get(
            &token,
            &format!("/orders/2026-01-01/orders/{ID}?includedData=PACKAGES"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["order"]["packages"][0]["trackingNumber"], "T-1");

    // Reset forgets everything.
    let (s, _) = env.ctl_post("/reset", json!({})).await;
    assert!(s.is_success());
    assert!(env.sb.control().confirmations().is_empty());
    assert_eq!(
        env.get(&token, "/orders/2026-01-01/orders/503-0000000-0000000")
            .await
            .status,
        403
    );
}
