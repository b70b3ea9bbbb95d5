//! Carriers end to end against `wms-sandbox`'s Yamato and Sagawa stand-ins: connecting an account,
//! booking a label (idempotent), printing and reprinting it, voiding it, the booked number reaching
//! Amazon's shipment confirmation, tracking milestones marking the order delivered; self-issue
//! ranges under concurrency; refusals before anything is booked.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wms_sandbox::{CarrierCustomerRegistration, CarrierKind};

use crate::amazon::{
    AmazonSetup, accepted, add_package, authorize, dispatch, generate, local_id, minutes_ago,
    pick_and_pack, setup, sync, wait_feedback,
};
use crate::both_backends;
use crate::harness::{Backend, code_now};

both_backends!(
    booked_labels_print_void_and_reach_amazon_then_tracking_delivers,
    self_issued_numbers_are_distinct_under_concurrency_and_never_skipped,
    carrier_rules_refuse_before_anything_is_booked,
    carrier_accounts_are_edited_disabled_and_removed_by_a_stepped_up_admin,
);

fn sender() -> Value {
    json!({"name": "ジリアン物流 東京第一倉庫", "postal_code": "135-0061", "address_lines": ["東京都江東区豊洲3-3-3"], "phone": "03-1234-5678"})
}

async fn connect_api(x: &AmazonSetup, carrier: &str) {
    let kind = if carrier == "sagawa" {
        CarrierKind::Sagawa
    } else {
        CarrierKind::Yamato
    };
    x.sandbox
        .control()
        .register_carrier_customer(CarrierCustomerRegistration {
            carrier: kind,
            customer_code: "0312345678".into(),
            api_key: format!("{carrier}-api-key-secret"),
        })
        .expect("carrier customer");
    let base = if carrier == "sagawa" {
        x.sandbox.urls().sagawa.clone()
    } else {
        x.sandbox.urls().yamato.clone()
    };
    let r = x
        .s
        .post(
            "/api/v1/carriers/accounts",
            Some(&x.admin.access),
            json!({"carrier": carrier, "mode": "api", "base_url": base, "customer_code": "0312345678", "api_key": format!("{carrier}-api-key-secret"), "sender": sender()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert!(!r.body.to_string().contains("api-key-secret"), "{r:?}");
}

/// An Amazon order picked and packed, with one package and no tracking number yet.
async fn packed_order(x: &AmazonSetup) -> (String, String) {
    let auth = authorize(x, true).await;
    let ids = generate(x, 1, &["TEA-1"], 1);
    sync(x, &auth).await;
    let id = local_id(x, &ids[0]).await;
    pick_and_pack(x, &id).await;
    add_package(
        x,
        &id,
        json!({"box_type": "60", "weight_g": 800, "length_mm": 250, "width_mm": 200, "height_mm": 100}),
    )
    .await;
    (ids[0].clone(), id)
}

async fn booked_labels_print_void_and_reach_amazon_then_tracking_delivers(b: Backend) {
    let x = setup(b).await;
    connect_api(&x, "yamato").await;
    let (amazon_id, id) = packed_order(&x).await;
    let book = format!("/api/v1/orders/{id}/packages/1/book");
    let r =
        x.s.post(
            &book,
            Some(&x.packer.access),
            json!({"carrier": "yamato", "time_slot": "1416"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let first = r.body["tracking_number"]
        .as_str()
        .expect("number")
        .to_owned();
    wms_core::tracking::TrackingNumber::new(wms_core::tracking::Carrier::Yamato, &first)
        .expect("a valid Yamato number");
    assert!(r.body["sorting_code"].is_string(), "{r:?}");
    // Booking again answers with the same booking; nothing new at the carrier.
    let again =
        x.s.post(&book, Some(&x.packer.access), json!({"carrier": "yamato"}))
            .await;
    assert_eq!(again.body["tracking_number"], first.as_str());
    assert_eq!(again.body["existing"], true);
    assert_eq!(x.sandbox.control().carrier_bookings().len(), 1);

    // Print: ZPL carries the number; the second print is an audited reprint. A PNG preview first
    // is not a print.
    let label = format!("/api/v1/orders/{id}/packages/1/label");
    let png =
        x.s.http
            .get(x.s.url(&format!("{label}?format=png")))
            .bearer_auth(&x.packer.access)
            .send()
            .await
            .expect("png");
    assert_eq!(png.headers()["x-label-prints"], "0");
    assert!(png.bytes().await.expect("png").starts_with(b"\x89PNG"));
    let z =
        x.s.http
            .get(x.s.url(&label))
            .bearer_auth(&x.packer.access)
            .send()
            .await
            .expect("label");
    assert_eq!(z.status(), StatusCode::OK);
    assert_eq!(z.headers()["content-type"], "application/zpl");
    let zpl = z.text().await.expect("zpl");
    assert!(
        zpl.starts_with("^XA") && zpl.contains(&first),
        "{}",
        &zpl[..zpl.len().min(200)]
    );
    let pdf =
        x.s.http
            .get(x.s.url(&format!("{label}?format=pdf")))
            .bearer_auth(&x.packer.access)
            .send()
            .await
            .expect("pdf");
    assert_eq!(pdf.headers()["x-label-prints"], "2");
    assert!(pdf.bytes().await.expect("pdf").starts_with(b"%PDF"));
    let actions = x.s.audit_actions(x.tenant).await;
    assert!(
        actions.contains(&"label_reprinted".to_owned()),
        "{actions:?}"
    );
    x.s.get(&format!("{label}?format=gif"), &x.packer.access)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");

    // Void (supervisor, with a reason) and book again: a new number.
    let void = format!("/api/v1/orders/{id}/packages/1/void");
    x.s.post(
        &void,
        Some(&x.packer.access),
        json!({"reason": "label damaged"}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    x.s.post(&void, Some(&x.sup.access), json!({"reason": " "}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let v =
        x.s.post(
            &void,
            Some(&x.sup.access),
            json!({"reason": "label damaged"}),
        )
        .await;
    assert_eq!(v.status, StatusCode::NO_CONTENT, "{v:?}");
    x.s.get(&label, &x.packer.access)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "label_not_booked");
    let r =
        x.s.post(&book, Some(&x.packer.access), json!({"carrier": "yamato"}))
            .await;
    let second = r.body["tracking_number"]
        .as_str()
        .expect("number")
        .to_owned();
    assert_ne!(second, first, "a voided number is never reused");
    assert!(
        x.s.audit_actions(x.tenant)
            .await
            .contains(&"label_voided".to_owned())
    );

    // The packing slip: an A4 PDF with the order's reference, an audited use of the recipient.
    let before =
        x.s.audit_actions(x.tenant)
            .await
            .iter()
            .filter(|a| *a == "pii_read")
            .count();
    let slip =
        x.s.http
            .get(x.s.url(&format!("/api/v1/orders/{id}/packing-slip")))
            .bearer_auth(&x.packer.access)
            .send()
            .await
            .expect("slip");
    assert_eq!(slip.status(), StatusCode::OK);
    assert_eq!(slip.headers()["content-type"], "application/pdf");
    assert!(slip.bytes().await.expect("pdf").starts_with(b"%PDF"));
    let after =
        x.s.audit_actions(x.tenant)
            .await
            .iter()
            .filter(|a| *a == "pii_read")
            .count();
    assert_eq!(after, before + 1);

    // Dispatch: Amazon is told the booked number.
    dispatch(&x, &id, &minutes_ago(1)).await;
    wait_feedback(&x, &id, &["confirmed"], Duration::from_secs(20)).await;
    let sent = accepted(&x, &amazon_id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["packageDetail"]["trackingNumber"], second.as_str());
    assert_eq!(sent[0]["packageDetail"]["carrierCode"], "Yamato Transport");

    // The carrier's clock moves on: picked up, in transit, delivered → the order is delivered.
    assert_eq!(
        wms_server::carriers::poll_tracking(&x.s.state)
            .await
            .expect("poll"),
        0
    );
    x.sandbox
        .control()
        .advance_carrier_clock(30 * 60)
        .expect("clock");
    assert_eq!(
        wms_server::carriers::poll_tracking(&x.s.state)
            .await
            .expect("poll"),
        1
    );
    let o =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.sup.access)
            .await;
    assert_eq!(o.body["status"], "delivered", "{o:?}");
    let t =
        x.s.get(&format!("/api/v1/orders/{id}/tracking"), &x.packer.access)
            .await;
    let kinds: Vec<&str> = t
        .body
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["picked_up", "in_transit", "delivered"], "{t:?}");
}

async fn self_issued_numbers_are_distinct_under_concurrency_and_never_skipped(b: Backend) {
    let x = setup(b).await;
    const TOTAL: u64 = 10_000;
    let r = x
        .s
        .post(
            "/api/v1/carriers/accounts",
            Some(&x.admin.access),
            json!({"carrier": "sagawa", "mode": "self_issue", "range_first": 40_000_000_000u64, "range_last": 40_000_000_000u64 + TOTAL - 1, "sender": sender()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let state = x.s.state.clone();
        let tenant = x.tenant;
        tasks.spawn(async move {
            let mut mine = Vec::new();
            loop {
                match wms_server::carriers::issue_self_number(
                    &state,
                    tenant,
                    wms_core::tracking::Carrier::Sagawa,
                )
                .await
                {
                    Ok(t) => mine.push(t.digits()),
                    Err(e) if e.code() == "range_exhausted" => return mine,
                    Err(e) => panic!("issue failed: {e}"),
                }
            }
        });
    }
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.expect("task"));
    }
    let distinct: BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        all.len() as u64,
        TOTAL,
        "every serial of the range was issued"
    );
    assert_eq!(distinct.len(), all.len(), "no number twice");
    for n in &all {
        wms_core::tracking::TrackingNumber::new(wms_core::tracking::Carrier::Sagawa, n)
            .expect("valid");
    }
    let recorded =
        x.s.sql_in_tenant(
            x.tenant,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM issued_tracking_numbers WHERE tenant_id = $1",
        )
        .await;
    assert_eq!(
        recorded[0][0], TOTAL as i64,
        "every issued number is recorded"
    );
    let list = x.s.get("/api/v1/carriers/accounts", &x.sup.access).await;
    assert_eq!(list.body[0]["range_used"], TOTAL, "{list:?}");
    assert_eq!(list.body[0]["range_warning"], true);
}

async fn carrier_rules_refuse_before_anything_is_booked(b: Backend) {
    let x = setup(b).await;
    connect_api(&x, "sagawa").await;
    let (_, id) = packed_order(&x).await;
    let book = format!("/api/v1/orders/{id}/packages/1/book");
    for (body, code) in [
        (
            json!({"carrier": "sagawa", "time_slot": "2021"}),
            "carrier_refused",
        ),
        (
            json!({"carrier": "sagawa", "time_slot": "9999"}),
            "invalid_time_slot",
        ),
        (
            json!({"carrier": "sagawa", "cod_amount_yen": 3000}),
            "carrier_refused",
        ),
        (
            json!({"carrier": "sagawa", "service": "teleport"}),
            "validation_failed",
        ),
        (json!({"carrier": "yamato"}), "carrier_not_connected"),
        (json!({"carrier": "fedex"}), "unknown_carrier"),
    ] {
        x.s.post(&book, Some(&x.packer.access), body)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    // An item description too long for Sagawa's 16 full-width characters per line.
    x.s.post(
        &book,
        Some(&x.packer.access),
        json!({"carrier": "sagawa", "item_description": "とても長い品名とても長い品名とても長い品名とても長い品名とても長い品名とても長い品名"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "carrier_refused");
    assert!(
        x.sandbox.control().carrier_bookings().is_empty(),
        "nothing was booked"
    );
    let o =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.sup.access)
            .await;
    assert_eq!(o.body["packages"][0]["tracking_number"], Value::Null);
    // A packing slip needs a shipper address, which a connected carrier account provides.
    let none = crate::amazon::setup(b).await;
    let (_, other) = packed_order(&none).await;
    none.s
        .get(
            &format!("/api/v1/orders/{other}/packing-slip"),
            &none.packer.access,
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "sender_missing");
    // Admin-only connections: a supervisor cannot connect a carrier.
    x.s.call(
        Method::POST,
        "/api/v1/carriers/accounts",
        Some(&x.sup.access),
        Some(json!({"carrier": "yamato", "mode": "self_issue", "range_first": 1, "range_last": 10, "sender": sender()})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
}

/// A change and a removal of `path`, both refused with the same problem.
async fn refused_both(
    x: &AmazonSetup,
    path: &str,
    token: &str,
    patch: Value,
    status: StatusCode,
    code: &str,
) {
    x.s.call(Method::PATCH, path, Some(token), Some(patch))
        .await
        .assert_problem(status, code);
    x.s.call(Method::DELETE, path, Some(token), None)
        .await
        .assert_problem(status, code);
}

/// The admin enables or disables an account.
async fn set_enabled(x: &AmazonSetup, path: &str, enabled: bool) -> crate::harness::Resp {
    x.s.call(
        Method::PATCH,
        path,
        Some(&x.admin.access),
        Some(json!({ "enabled": enabled })),
    )
    .await
}

/// What the account's row holds for its sealed key, as hex (to see it change and hold no
/// plaintext).
async fn sealed_key_hex(x: &AmazonSetup, b: Backend, carrier: &str) -> String {
    let hex = match b {
        Backend::Sqlite => "hex(api_key_sealed)",
        Backend::Postgres => "encode(api_key_sealed, 'hex')",
    };
    let rows =
        x.s.sql_in_tenant(
            x.tenant,
            &format!(
                "SELECT {hex} FROM carrier_accounts WHERE tenant_id = $1 AND carrier = '{carrier}'"
            ),
        )
        .await;
    rows[0][0].as_str().expect("sealed key").to_lowercase()
}

async fn carrier_accounts_are_edited_disabled_and_removed_by_a_stepped_up_admin(b: Backend) {
    let x = setup(b).await;
    connect_api(&x, "yamato").await;
    let yamato = "/api/v1/carriers/accounts/yamato";
    let list = || async { x.s.get("/api/v1/carriers/accounts", &x.sup.access).await };
    let before = list().await;
    assert_eq!(before.body[0]["enabled"], true, "{before:?}");
    assert_eq!(before.body[0]["label"], Value::Null);
    let key_before = sealed_key_hex(&x, b, "yamato").await;

    // Packers and supervisors may not change or remove an account.
    for tok in [&x.packer.access, &x.sup.access] {
        refused_both(
            &x,
            yamato,
            tok,
            json!({"label": "本社契約"}),
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    // Bad input: clear 422s and nothing changed.
    let long = "長".repeat(81);
    for body in [
        json!({}),
        json!({"base_url": "http://carrier.example"}),
        json!({"customer_code": "  "}),
        json!({"api_key": " "}),
        json!({"label": long}),
        json!({"label": "a\u{7}b"}),
        json!({"sender": {"name": " ", "postal_code": "135-0061", "address_lines": [], "phone": "03"}}),
        json!({"mode": "self_issue"}),
        json!({"enabled": "no"}),
        // One bad field refuses the good ones with it.
        json!({"label": "本社契約", "base_url": "ftp://x"}),
    ] {
        let r =
            x.s.call(
                Method::PATCH,
                yamato,
                Some(&x.admin.access),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {r:?}");
    }
    for path in [
        "/api/v1/carriers/accounts/sagawa",
        "/api/v1/carriers/accounts/fedex",
    ] {
        refused_both(
            &x,
            path,
            &x.admin.access,
            json!({"label": "x"}),
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert_eq!(list().await.body, before.body, "nothing changed");
    assert_eq!(sealed_key_hex(&x, b, "yamato").await, key_before);

    // The carrier issues a new key (the old one stops working there): booking with the old key
    // fails; rotated here, it books again. The key is never answered, sealed, and not in the audit.
    x.sandbox
        .control()
        .register_carrier_customer(CarrierCustomerRegistration {
            carrier: CarrierKind::Yamato,
            customer_code: "0312345678".into(),
            api_key: "yamato-rotated-key-secret".into(),
        })
        .expect("new key");
    let (_, id) = packed_order(&x).await;
    let book = format!("/api/v1/orders/{id}/packages/1/book");
    let r =
        x.s.post(&book, Some(&x.packer.access), json!({"carrier": "yamato"}))
            .await;
    assert!(r.status.is_client_error(), "the old key is refused: {r:?}");
    let r =
        x.s.call(
            Method::PATCH,
            yamato,
            Some(&x.admin.access),
            Some(json!({"api_key": "yamato-rotated-key-secret", "label": " 本社契約 ", "sender": {"name": "ジリアン物流 東京第二倉庫", "postal_code": "135-0062", "address_lines": ["東京都江東区東雲1-1-1"], "phone": "03-9999-0000"}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert!(!r.body.to_string().contains("rotated-key"), "{r:?}");
    assert_eq!(r.body["label"], "本社契約");
    assert_eq!(r.body["sender"]["name"], "ジリアン物流 東京第二倉庫");
    assert_eq!(r.body["customer_code"], "0312345678", "unchanged");
    let key_after = sealed_key_hex(&x, b, "yamato").await;
    assert_ne!(key_after, key_before, "the key was sealed anew");
    let plain: String = b"yamato-rotated-key-secret"
        .iter()
        .map(|c| format!("{c:02x}"))
        .collect();
    assert!(!key_after.contains(&plain), "sealed at rest");

    // Disabled: no new label is booked with it, and the carrier is not called.
    let bookings = x.sandbox.control().carrier_bookings().len();
    let r = set_enabled(&x, yamato, false).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["enabled"], false);
    assert!(r.body["disabled_at"].is_string(), "{r:?}");
    x.s.post(&book, Some(&x.packer.access), json!({"carrier": "yamato"}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "carrier_disabled");
    assert_eq!(x.sandbox.control().carrier_bookings().len(), bookings);
    // Enabled again, it books with the rotated key.
    let r = set_enabled(&x, yamato, true).await;
    assert_eq!(r.body["enabled"], true, "{r:?}");
    let r =
        x.s.post(&book, Some(&x.packer.access), json!({"carrier": "yamato"}))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let tracking = r.body["tracking_number"]
        .as_str()
        .expect("number")
        .to_owned();
    // Disabled after booking: the booked package keeps its label and booking.
    set_enabled(&x, yamato, false).await;
    let again =
        x.s.post(&book, Some(&x.packer.access), json!({"carrier": "yamato"}))
            .await;
    assert_eq!(
        again.body["tracking_number"],
        tracking.as_str(),
        "{again:?}"
    );
    assert_eq!(again.body["existing"], true);
    let label =
        x.s.http
            .get(x.s.url(&format!("/api/v1/orders/{id}/packages/1/label")))
            .bearer_auth(&x.packer.access)
            .send()
            .await
            .expect("label");
    assert_eq!(label.status(), StatusCode::OK);
    // Removing it would orphan that history: refused, still listed.
    x.s.call(Method::DELETE, yamato, Some(&x.admin.access), None)
        .await
        .assert_problem(StatusCode::CONFLICT, "carrier_account_in_use");
    assert_eq!(list().await.body[0]["carrier"], "yamato");

    // A self-issue account has no API settings; unused, it can be removed.
    let r = x
        .s
        .post(
            "/api/v1/carriers/accounts",
            Some(&x.admin.access),
            json!({"carrier": "sagawa", "mode": "self_issue", "range_first": 40_000_000_000u64, "range_last": 40_000_000_999u64, "sender": sender(), "label": "佐川 自社発番"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["label"], "佐川 自社発番");
    let sagawa = "/api/v1/carriers/accounts/sagawa";
    x.s.call(
        Method::PATCH,
        sagawa,
        Some(&x.admin.access),
        Some(json!({"api_key": "k"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "carrier_not_api");
    // Disabled, a self-issue range gives out no number either.
    let r = set_enabled(&x, sagawa, false).await;
    assert_eq!(r.body["enabled"], false, "{r:?}");
    let refused = wms_server::carriers::issue_self_number(
        &x.s.state,
        x.tenant,
        wms_core::tracking::Carrier::Sagawa,
    )
    .await
    .expect_err("disabled");
    assert_eq!(refused.code(), "carrier_disabled");
    // A stale step-up is refused for both, and changes nothing.
    x.s.age_step_up(x.tenant).await;
    refused_both(
        &x,
        sagawa,
        &x.admin.access,
        json!({"label": "x"}),
        StatusCode::FORBIDDEN,
        "step_up_required",
    )
    .await;
    let v =
        x.s.post(
            "/api/v1/auth/mfa/verify",
            Some(&x.admin.access),
            json!({"code": code_now(&x.admin_totp, 1)}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");
    // Another tenant's admin: 404 for both, and acme's accounts are untouched.
    let other = x.s.tenant("other").await;
    let oa =
        x.s.mfa_user(
            "other",
            other,
            "admin@other.example",
            wms_core::role::Role::Admin,
        )
        .await;
    let ot = x.s.login("other", &oa).await;
    let acme = list().await.body;
    for path in [yamato, sagawa] {
        refused_both(
            &x,
            path,
            &ot.access,
            json!({"enabled": false, "label": "theirs"}),
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert_eq!(list().await.body, acme);
    let r =
        x.s.call(Method::DELETE, sagawa, Some(&x.admin.access), None)
            .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    let left = list().await;
    assert_eq!(left.body.as_array().map(Vec::len), Some(1), "{left:?}");
    x.s.call(Method::DELETE, sagawa, Some(&x.admin.access), None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    let actions = x.s.audit_actions(x.tenant).await;
    for a in [
        "carrier_updated",
        "carrier_disabled",
        "carrier_enabled",
        "carrier_removed",
    ] {
        assert!(actions.contains(&a.to_owned()), "{a} in {actions:?}");
    }
    let details =
        x.s.sql_in_tenant(
            x.tenant,
            "SELECT COALESCE(detail, '') FROM audit_events WHERE tenant_id = $1",
        )
        .await;
    assert!(
        !format!("{details:?}").contains("rotated-key"),
        "no key in the audit"
    );
}
