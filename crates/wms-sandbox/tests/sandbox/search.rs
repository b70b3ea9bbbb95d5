//! searchOrders: pagination, windows, validation, includedData, PII by role.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use wms_sandbox::{GenerateOrders, Operation, RatePlan};

use crate::common::{JP, order, start};

fn fast(env: &crate::common::Env) {
    for op in [Operation::SearchOrders, Operation::GetOrder] {
        env.sb
            .control()
            .set_rate_plan(
                op,
                RatePlan {
                    rate: 1000.0,
                    burst: 1000.0,
                },
            )
            .expect("plan");
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn pagination_returns_each_order_once_and_last_updated_after_works() {
    let env = start().await;
    fast(&env);
    let token = env.seller("A1PAGE", false).await;
    let mut g = GenerateOrders::new(250, &["SKU-A", "SKU-B", "SKU-C", "SKU-D"]);
    g.seed = Some(42);
    let (s, b) = env
        .ctl_post(
            "/amazon/sellers/A1PAGE/orders/generate",
            serde_json::to_value(&g).expect("json"),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let seeded: BTreeSet<String> = b["orderIds"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id").to_owned())
        .collect();
    assert_eq!(seeded.len(), 250);

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut token_param: Option<String> = None;
    let mut last_created = String::new();
    loop {
        let mut q = format!(
            "createdAfter={}&marketplaceIds={JP}&maxResultsPerPage=37",
            enc("2000-01-01T00:00:00Z")
        );
        if let Some(t) = &token_param {
            q.push_str(&format!("&paginationToken={}", enc(t)));
        }
        let r = env
            .get(&token, &format!("/orders/2026-01-01/orders?{q}"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let body = r.json();
        assert!(body["createdBefore"].is_string());
        for o in body["orders"].as_array().expect("orders") {
            let created = o["createdTime"].as_str().expect("created").to_owned();
            assert!(created >= last_created, "sorted by createdTime");
            last_created = created;
            seen.push(o["orderId"].as_str().expect("id").to_owned());
            // Without includedData: no optional blocks.
            assert!(o.get("recipient").is_none() && o.get("fulfillment").is_none());
        }
        pages += 1;
        match body
            .pointer("/pagination/nextToken")
            .and_then(Value::as_str)
        {
            Some(t) => token_param = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 7); // 6 × 37 + 28
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 250, "every order exactly once");
    assert_eq!(unique, seeded);

    // Amazon cancels three orders: a lastUpdatedAfter search from just before sees exactly them.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mark = OffsetDateTime::now_utc().format(&Rfc3339).expect("fmt");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let cancelled: BTreeSet<String> = seen.iter().take(3).cloned().collect();
    for id in &cancelled {
        let (s, _) = env
            .ctl_post(
                &format!("/amazon/sellers/A1PAGE/orders/{id}/cancel"),
                json!({}),
            )
            .await;
        assert!(s.is_success());
    }
    let r = env
        .get(
            &token,
            &format!(
                "/orders/2026-01-01/orders?lastUpdatedAfter={}&includedData=FULFILLMENT",
                enc(&mark)
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let body = r.json();
    let got: BTreeSet<String> = body["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| {
            assert_eq!(o["fulfillment"]["fulfillmentStatus"], "CANCELLED");
            o["orderId"].as_str().expect("id").to_owned()
        })
        .collect();
    assert_eq!(got, cancelled);
    assert!(body["lastUpdatedBefore"].is_string());

    // fulfillmentStatuses filter.
    let r = env
        .get(
            &token,
            &format!(
                "/orders/2026-01-01/orders?createdAfter={}&fulfillmentStatuses=CANCELLED",
                enc("2000-01-01T00:00:00Z")
            ),
        )
        .await;
    assert_eq!(r.json()["orders"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn parameters_are_validated_as_the_model_says() {
    let env = start().await;
    fast(&env);
    let token = env.seller("A1VAL", false).await;
    let t = enc("2026-01-01T00:00:00Z");
    for q in [
        String::new(),
        format!("createdAfter={t}&lastUpdatedAfter={t}"),
        format!("createdAfter={t}&lastUpdatedBefore={t}"),
        format!("lastUpdatedAfter={t}&createdBefore={t}"),
        "createdAfter=yesterday".to_owned(),
        format!("createdAfter={t}&maxResultsPerPage=0"),
        format!("createdAfter={t}&maxResultsPerPage=101"),
        format!("createdAfter={t}&includedData=BUYER,SECRETS"),
        format!("createdAfter={t}&fulfillmentStatuses=LOST"),
        format!("createdAfter={t}&fulfilledBy=NOBODY"),
        format!("createdAfter={t}&paginationToken=garbage"),
        format!(
            "createdAfter={t}&createdBefore={}",
            enc("2025-01-01T00:00:00Z")
        ),
        format!("createdAfter={t}&marketplaceIds=ATVPDKIKX0DER"),
    ] {
        let r = env
            .get(&token, &format!("/orders/2026-01-01/orders?{q}"))
            .await;
        assert_eq!(r.status, 400, "{q}: {}", r.text);
        assert_eq!(r.first_error_code(), "InvalidInput", "{q}");
        assert!(r.rate_limit.is_some(), "{q}: 400 carries the rate header");
    }
}

#[tokio::test]
async fn included_data_and_pii_by_role() {
    let env = start().await;
    fast(&env);
    let granted = env.seller("A1PII", true).await;
    let denied = env.seller("A1NOPII", false).await;
    for s in ["A1PII", "A1NOPII"] {
        env.sb
            .control()
            .seed_orders(
                s,
                vec![order(
                    &format!(
                        "503-{}-0000001",
                        if s == "A1PII" { "1111111" } else { "2222222" }
                    ),
                    "2026-01-05T00:00:00Z",
                )],
            )
            .expect("seed");
    }
    let q = |extra: &str| {
        format!(
            "/orders/2026-01-01/orders?createdAfter={}&includedData={extra}",
            enc("2026-01-01T00:00:00Z")
        )
    };
    let r = env.get(&granted, &q("RECIPIENT,BUYER")).await;
    let o = &r.json()["orders"][0];
    assert_eq!(o["recipient"]["deliveryAddress"]["name"], "山田 太郎");
    assert_eq!(o["buyer"]["buyerName"], "山田 太郎");
    assert!(o.get("fulfillment").is_none());

    let r = env.get(&denied, &q("RECIPIENT,BUYER,FULFILLMENT")).await;
    let o = &r.json()["orders"][0];
    assert_eq!(
        o["recipient"]["deliveryAddress"],
        json!({"city": "渋谷区", "stateOrRegion": "東京都", "postalCode": "150-0001"})
    );
    assert!(o.get("buyer").is_none());
    assert_eq!(o["fulfillment"]["fulfillmentStatus"], "UNSHIPPED");
    assert_eq!(o["orderItems"][0]["fulfillment"]["quantityUnfulfilled"], 2);

    // getOrder follows the same rules; each seller sees only its own orders.
    let r = env
        .get(
            &denied,
            "/orders/2026-01-01/orders/503-2222222-0000001?includedData=RECIPIENT",
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.json()["order"]["recipient"]["deliveryAddress"]
            .get("addressLine1")
            .is_none()
    );
    let r = env
        .get(&denied, "/orders/2026-01-01/orders/503-1111111-0000001")
        .await;
    assert_eq!(r.status, 404);
    assert!(r.rate_limit.is_some());
}
