//! confirmShipment: Amazon's validations, package edits, PACKAGES read-back, status moves.

use serde_json::{Value, json};

use crate::common::{JP, confirmation, order, start};

const ID: &str = "503-1234567-7654321";

#[tokio::test]
async fn invalid_confirmations_are_400_and_change_nothing() {
    let env = start().await;
    let token = env.seller("A1CONF", false).await;
    // More calls than the default burst of 10.
    env.sb
        .control()
        .set_rate_plan(
            wms_sandbox::Operation::ConfirmShipment,
            wms_sandbox::RatePlan {
                rate: 100.0,
                burst: 100.0,
            },
        )
        .expect("plan");
    env.sb
        .control()
        .seed_orders("A1CONF", vec![order(ID, "2026-01-05T00:00:00Z")])
        .expect("seed");
    let before = env.sb.control().order("A1CONF", ID).expect("order");
    let good = confirmation(
        "1",
        "4912-3456-7890",
        json!([{"orderItemId": "11", "quantity": 1}]),
    );
    let with = |pointer: &str, v: Value| {
        let mut b = good.clone();
        *b.pointer_mut(pointer).expect(pointer) = v;
        b
    };
    let without = |field: &str| {
        let mut b = good.clone();
        b["packageDetail"]
            .as_object_mut()
            .expect("obj")
            .remove(field);
        b
    };
    let cases: Vec<(&str, Value)> = vec![
        (
            "packageReferenceId 0",
            with("/packageDetail/packageReferenceId", json!("0")),
        ),
        (
            "packageReferenceId negative",
            with("/packageDetail/packageReferenceId", json!("-1")),
        ),
        (
            "packageReferenceId not numeric",
            with("/packageDetail/packageReferenceId", json!("PKG-1")),
        ),
        (
            "orderItems object",
            with(
                "/packageDetail/orderItems",
                json!({"orderItemId": "11", "quantity": 1}),
            ),
        ),
        (
            "orderItems empty",
            with("/packageDetail/orderItems", json!([])),
        ),
        (
            "unknown item",
            with(
                "/packageDetail/orderItems",
                json!([{"orderItemId": "99", "quantity": 1}]),
            ),
        ),
        (
            "quantity zero",
            with(
                "/packageDetail/orderItems",
                json!([{"orderItemId": "11", "quantity": 0}]),
            ),
        ),
        (
            "quantity over ordered",
            with(
                "/packageDetail/orderItems",
                json!([{"orderItemId": "11", "quantity": 3}]),
            ),
        ),
        (
            "shipDate not ISO",
            with("/packageDetail/shipDate", json!("02/21/2022")),
        ),
        ("carrierCode missing", without("carrierCode")),
        ("trackingNumber missing", without("trackingNumber")),
        (
            "Other without carrierName",
            with("/packageDetail/carrierCode", json!("Other")),
        ),
        (
            "marketplace mismatch",
            with("/marketplaceId", json!("ATVPDKIKX0DER")),
        ),
        ("codCollectionMethod", {
            let mut b = good.clone();
            b["codCollectionMethod"] = json!("Cash");
            b
        }),
    ];
    for (what, body) in &cases {
        let r = env.confirm(&token, ID, body).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text);
        let e = &r.json()["errors"][0];
        assert_eq!(e["code"], "Invalid Input", "{what}");
        assert!(
            e["message"].as_str().is_some_and(|m| m.len() > 10),
            "{what}: a clear message"
        );
        assert!(r.rate_limit.is_some() && r.request_id.is_some(), "{what}");
    }
    let r = env.confirm(&token, "503-0000000-0000009", &good).await;
    assert_eq!(r.status, 404);
    assert_eq!(env.sb.control().order("A1CONF", ID).expect("order"), before);
    let log = env.sb.control().confirmations();
    assert_eq!(log.len(), cases.len() + 1);
    assert!(
        log.iter()
            .all(|c| c.status >= 400 && c.selling_partner_id.as_deref() == Some("A1CONF"))
    );
    assert_eq!(
        log[0].body, cases[0].1,
        "the request body is logged as received"
    );
}

#[tokio::test]
async fn packages_edit_read_back_and_status_moves() {
    let env = start().await;
    let token = env.seller("A1PKG", true).await;
    env.sb
        .control()
        .seed_orders("A1PKG", vec![order(ID, "2026-01-05T00:00:00Z")])
        .expect("seed");
    let get = |inc: &'static str| {
        let env = &env;
        let token = token.clone();
        async move {
            let r = env
                .get(
                    &token,
                    &format!("/orders/2026-01-01/orders/{ID}?includedData={inc}"),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.json()["order"].clone()
        }
    };

    let r = env
        .confirm(
            &token,
            ID,
            &confirmation(
                "1",
                "1111-2222-3333",
                json!([{"orderItemId": "11", "quantity": 2}]),
            ),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.text.is_empty());
    let o = get("PACKAGES,FULFILLMENT").await;
    assert_eq!(o["fulfillment"]["fulfillmentStatus"], "PARTIALLY_SHIPPED");
    assert_eq!(o["orderItems"][0]["fulfillment"]["quantityFulfilled"], 2);
    assert_eq!(o["orderItems"][1]["fulfillment"]["quantityUnfulfilled"], 1);
    let p = &o["packages"][0];
    assert_eq!(p["packageReferenceId"], "1");
    assert_eq!(p["carrier"], "Yamato Transport");
    assert_eq!(p["trackingNumber"], "1111-2222-3333");
    assert_eq!(p["shipTime"], "2026-01-11T00:00:00Z");
    assert_eq!(p["packageStatus"]["status"], "SHIPPED");
    assert_eq!(
        p["packageItems"],
        json!([{"orderItemId": "11", "quantity": 2}])
    );
    // Without PACKAGES in includedData, no packages.
    assert!(get("FULFILLMENT").await.get("packages").is_none());

    // Same packageReferenceId: an edit (new tracking number), not a second package.
    let r = env
        .confirm(
            &token,
            ID,
            &confirmation(
                "1",
                "9999-8888-7777",
                json!([{"orderItemId": "11", "quantity": 2}]),
            ),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let o = get("PACKAGES").await;
    assert_eq!(o["packages"].as_array().map(Vec::len), Some(1));
    assert_eq!(o["packages"][0]["trackingNumber"], "9999-8888-7777");

    // Second package, carrier Other with its name: the order is now shipped.
    let mut other = confirmation(
        "2",
        "SEINO-1",
        json!([{"orderItemId": "12", "quantity": 1}]),
    );
    other["packageDetail"]["carrierCode"] = json!("Other");
    other["packageDetail"]["carrierName"] = json!("西濃運輸");
    other["packageDetail"]["shippingMethod"] = json!("カンガルー便");
    let r = env.confirm(&token, ID, &other).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let o = get("PACKAGES,FULFILLMENT").await;
    assert_eq!(o["fulfillment"]["fulfillmentStatus"], "SHIPPED");
    assert_eq!(o["packages"][1]["carrier"], "西濃運輸");
    assert_eq!(o["packages"][1]["shippingService"], "カンガルー便");

    // A new package on a shipped order: already fulfilled. Re-sending package 2: still fine.
    let r = env
        .confirm(
            &token,
            ID,
            &confirmation("3", "X", json!([{"orderItemId": "12", "quantity": 1}])),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.text.contains("already fulfilled") && r.text.contains("PackageToUpdateNotFound"));
    assert_eq!(env.confirm(&token, ID, &other).await.status, 204);
    assert_eq!(
        get("PACKAGES").await["packages"].as_array().map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn cancelled_orders_cannot_be_confirmed() {
    let env = start().await;
    let token = env.seller("A1CXL", false).await;
    env.sb
        .control()
        .seed_orders("A1CXL", vec![order(ID, "2026-01-05T00:00:00Z")])
        .expect("seed");
    let cancelled = env.sb.control().cancel_order("A1CXL", ID).expect("cancel");
    assert_eq!(cancelled["fulfillment"]["fulfillmentStatus"], "CANCELLED");
    assert_ne!(cancelled["lastUpdatedTime"], "2026-01-05T00:00:00Z");
    let r = env
        .confirm(
            &token,
            ID,
            &confirmation("1", "T", json!([{"orderItemId": "11", "quantity": 1}])),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        env.sb
            .control()
            .order("A1CXL", ID)
            .expect("order")
            .get("packages")
            .is_none()
    );
    let _ = JP;
}
