//! Every static `x-amzn-api-sandbox` example of searchOrders, getOrder and confirmShipment is
//! answered with exactly its status and body.

use serde_json::Value;
use wms_sandbox::Operation;
use wms_sandbox::models::static_examples;

use crate::common::start;

fn query(ex: &wms_sandbox::models::StaticExample, skip: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (name, p) in &ex.parameters {
        if name == skip {
            continue;
        }
        let v = match &p["value"] {
            Value::Array(a) => a
                .iter()
                .map(|s| s.as_str().expect("string"))
                .collect::<Vec<_>>()
                .join(","),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        q.append_pair(name, &v);
    }
    q.finish()
}

#[tokio::test]
async fn every_static_example_is_answered_exactly() {
    let env = start().await;
    let token = env.seller("A1EXAMPLES", true).await;
    env.sb
        .control()
        .set_rate_plan(
            Operation::SearchOrders,
            wms_sandbox::RatePlan {
                rate: 100.0,
                burst: 100.0,
            },
        )
        .expect("plan");
    let exs = static_examples().expect("examples");
    assert!(exs.len() >= 10, "{}", exs.len());
    for ex in &exs {
        let what = format!(
            "{} {} {:?}",
            ex.operation.name(),
            ex.status,
            ex.param("orderId")
        );
        let resp = match ex.operation {
            Operation::SearchOrders => {
                env.get(
                    &token,
                    &format!("/orders/2026-01-01/orders?{}", query(ex, "")),
                )
                .await
            }
            Operation::GetOrder => {
                let id = ex
                    .param("orderId")
                    .and_then(Value::as_str)
                    .expect("orderId");
                let q = query(ex, "orderId");
                let sep = if q.is_empty() { "" } else { "?" };
                env.get(&token, &format!("/orders/2026-01-01/orders/{id}{sep}{q}"))
                    .await
            }
            Operation::ConfirmShipment => {
                let id = ex
                    .param("orderId")
                    .and_then(Value::as_str)
                    .expect("orderId");
                env.confirm(&token, id, ex.param("body").expect("body"))
                    .await
            }
            Operation::LwaToken => unreachable!(),
        };
        assert_eq!(resp.status, ex.status, "{what}: {}", resp.text);
        assert!(resp.request_id.is_some(), "{what}: x-amzn-RequestId");
        assert!(resp.rate_limit.is_some(), "{what}: x-amzn-RateLimit-Limit");
        if ex.status == 204 {
            assert!(resp.text.is_empty(), "{what}: 204 with a body");
            assert_eq!(ex.response, serde_json::json!({}));
        } else {
            assert_eq!(resp.json(), ex.response, "{what}");
        }
    }
    // The static confirmations are logged as such and change no seeded order.
    let log = env.sb.control().confirmations();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|c| c.static_example));
    let v0_400 = log.iter().find(|c| c.status == 400).expect("400");
    assert_eq!(v0_400.errors[0]["code"], "Invalid Input");
}

#[tokio::test]
async fn examples_need_a_valid_token() {
    let env = start().await;
    let r = env
        .get(
            "Atza|not-issued",
            "/orders/2026-01-01/orders/171-9876543-2109876?includedData=RECIPIENT,PROCEEDS,FULFILLMENT",
        )
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.first_error_code(), "Unauthorized");
    assert!(r.rate_limit.is_none());
}
