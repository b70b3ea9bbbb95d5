//! Amazon end to end, against `wms-sandbox` over real TLS: seller authorizations, order sync,
//! dispatch → shipment feedback at the sandbox, faults, crashes, withdrawal and PII purge.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wms_core::role::Role;
use wms_sandbox::{
    Fault, FaultKind, GenerateOrders, Operation, RunningSandbox, Sandbox, SandboxConfig,
    SellerRegistration, SkuSpec,
};

use crate::both_backends;
use crate::harness::{Backend, TestServer, Tokens, code_now};

both_backends!(
    amazon_orders_flow_from_sync_to_confirmed_feedback,
    multi_package_orders_confirm_each_package_with_its_items,
    feedback_survives_throttling_server_errors_and_lost_responses,
    a_crash_after_sending_resends_without_a_second_package,
    authorizations_are_admin_only_step_up_and_never_show_secrets,
    without_the_pii_role_no_recipient_is_stored,
    cancellations_at_amazon_cancel_or_flag,
    refused_feedback_is_surfaced_and_can_be_retried_or_marked_handled,
    withdrawal_stops_sync_and_feedback_and_purges_pii,
    bad_tracking_numbers_and_missing_package_contents_are_refused,
);

const SELLER: &str = "A1SELLER0JP";
const CLIENT_ID: &str = "amzn1.application-oa2-client.test";
const CLIENT_SECRET: &str = "amzn1.oa2-cs.v1.super-secret-value";
const REFRESH_TOKEN: &str = "Atzr|IwEBI-refresh-token-do-not-log";

pub(crate) struct AmazonSetup {
    pub s: TestServer,
    pub sandbox: RunningSandbox,
    _sandbox_dir: tempfile::TempDir,
    pub tenant: wms_core::ids::TenantId,
    pub admin: Tokens,
    pub admin_totp: Vec<u8>,
    pub sup: Tokens,
    pub packer: Tokens,
}

pub(crate) async fn start_sandbox() -> (RunningSandbox, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("sandbox dir");
    let mut config = SandboxConfig::new(dir.path());
    // Orders are visible to searchOrders at once (Amazon lags two minutes).
    config.settings.search_lag_secs = 0;
    let sandbox = Sandbox::start(config).await.expect("sandbox");
    (sandbox, dir)
}

pub(crate) fn point_at_sandbox(s: &mut wms_server::Settings, sandbox: &RunningSandbox) {
    s.amazon.lwa_token_url = sandbox.urls().lwa_token_url.clone();
    s.amazon.sp_api_base = sandbox.urls().amazon.clone();
    s.amazon.ca_cert = Some(sandbox.urls().ca_cert.clone());
    s.amazon.request_timeout_ms = 2_000;
    s.amazon.retry_attempts = 4;
    s.amazon.feedback_lease_secs = 3;
    // The order-sync worker is driven by `POST …/sync` in these tests.
    s.amazon.sync_interval_secs = 3600;
    s.carriers.ca_cert = Some(sandbox.urls().ca_cert.clone());
    s.carriers.request_timeout_ms = 2_000;
    // The tracking poller is driven by `carriers::poll_tracking` in these tests.
    s.carriers.poller = false;
}

pub(crate) async fn setup(b: Backend) -> AmazonSetup {
    setup_with(b, |_| {}, true).await
}

async fn setup_with(
    b: Backend,
    tweak: impl FnOnce(&mut wms_server::Settings),
    pii_granted: bool,
) -> AmazonSetup {
    let (sandbox, sandbox_dir) = start_sandbox().await;
    sandbox
        .control()
        .register_seller(SellerRegistration {
            selling_partner_id: SELLER.into(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            refresh_token: REFRESH_TOKEN.into(),
            marketplace_ids: vec![],
            pii_granted,
        })
        .expect("seller");
    let s = TestServer::start_with(b, |s| {
        point_at_sandbox(s, &sandbox);
        tweak(s);
    })
    .await;
    let tenant = s.tenant("acme").await;
    let ad = s
        .mfa_user("acme", tenant, "admin@acme.example", Role::Admin)
        .await;
    let sv = s
        .mfa_user("acme", tenant, "sv@acme.example", Role::Supervisor)
        .await;
    let pk = s.user(tenant, "pk@acme.example", Role::Packer).await;
    let admin = s.login("acme", &ad).await;
    let sup = s.login("acme", &sv).await;
    let packer = s.login("acme", &pk).await;
    let ok = |r: crate::harness::Resp| assert!(r.status.is_success(), "{r:?}");
    ok(s.post(
        "/api/v1/warehouses",
        Some(&sup.access),
        json!({"code": "TOKYO1", "name": "東京第一倉庫"}),
    )
    .await);
    for (code, parent, level, kind) in [
        ("PACK", None, "zone", "packing"),
        ("PACK-01", Some("PACK"), "aisle", "packing"),
        ("PACK-01-01", Some("PACK-01"), "bin", "packing"),
        ("A", None, "zone", "storage"),
        ("A-01", Some("A"), "aisle", "storage"),
        ("A-01-01-01", Some("A-01"), "bin", "storage"),
    ] {
        ok(s.post(
            "/api/v1/locations",
            Some(&sup.access),
            json!({"code": code, "parent": parent, "level": level, "kind": kind}),
        )
        .await);
    }
    for (sku, name) in [
        ("TEA-1", "緑茶"),
        ("TOWEL-1", "今治タオル"),
        ("SOAP-1", "石鹸"),
    ] {
        ok(s.post(
            "/api/v1/skus",
            Some(&sup.access),
            json!({"seller_sku": sku, "name": name}),
        )
        .await);
        ok(s.post(
            "/api/v1/stock/receive",
            Some(&sup.access),
            json!({"sku": sku, "location": "A-01-01-01", "quantity": 500}),
        )
        .await);
    }
    AmazonSetup {
        s,
        sandbox,
        _sandbox_dir: sandbox_dir,
        tenant,
        admin,
        admin_totp: ad.totp.expect("totp"),
        sup,
        packer,
    }
}

fn authorization_body(pii: bool) -> Value {
    json!({
        "selling_partner_id": SELLER,
        "lwa_client_id": CLIENT_ID,
        "lwa_client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "pii_recipient": pii,
        "pii_buyer_email": false,
    })
}

pub(crate) async fn authorize(x: &AmazonSetup, pii: bool) -> String {
    let r =
        x.s.post(
            "/api/v1/amazon/authorizations",
            Some(&x.admin.access),
            authorization_body(pii),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    r.body["id"].as_str().expect("id").to_owned()
}

pub(crate) fn generate(x: &AmazonSetup, count: u32, skus: &[&str], max_lines: u32) -> Vec<String> {
    x.sandbox
        .control()
        .generate_orders(
            SELLER,
            &GenerateOrders {
                count,
                skus: skus.iter().map(|s| SkuSpec::Sku((*s).to_owned())).collect(),
                seed: Some(7),
                marketplace_id: None,
                max_lines: Some(max_lines),
                max_quantity: Some(2),
                created_before: None,
                spread_minutes: Some(10),
                prime_share: None,
            },
        )
        .expect("generate")
}

pub(crate) async fn sync(x: &AmazonSetup, auth_id: &str) -> Value {
    let r =
        x.s.post(
            &format!("/api/v1/amazon/authorizations/{auth_id}/sync"),
            Some(&x.sup.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    r.body
}

/// The local order id of an Amazon order.
pub(crate) async fn local_id(x: &AmazonSetup, amazon_order_id: &str) -> String {
    let rows = x
        .s
        .sql_in_tenant(
            x.tenant,
            &format!("SELECT order_id FROM amazon_orders WHERE tenant_id = $1 AND amazon_order_id = '{amazon_order_id}'"),
        )
        .await;
    rows.first()
        .and_then(|r| r[0].as_str())
        .unwrap_or_else(|| panic!("{amazon_order_id} was not imported"))
        .to_owned()
}

/// The first imported order with at least two lines: (Amazon order id, local id).
async fn multi_line_order(x: &AmazonSetup, ids: &[String]) -> (String, String) {
    for a in ids {
        let id = local_id(x, a).await;
        let o =
            x.s.get(&format!("/api/v1/orders/{id}"), &x.sup.access)
                .await;
        if o.body["lines"].as_array().map_or(0, Vec::len) >= 2 {
            return (a.clone(), id);
        }
    }
    panic!("no multi-line order among {ids:?}");
}

/// Allocate, pick and pack every unit of an order (scanning each line's seller SKU).
pub(crate) async fn pick_and_pack(x: &AmazonSetup, id: &str) -> Value {
    let a =
        x.s.post(
            &format!("/api/v1/orders/{id}/allocate"),
            Some(&x.sup.access),
            json!({}),
        )
        .await;
    assert_eq!(a.body["status"], "allocated", "{a:?}");
    let p =
        x.s.post(
            &format!("/api/v1/orders/{id}/pick"),
            Some(&x.packer.access),
            json!({}),
        )
        .await;
    assert_eq!(p.body["status"], "picking", "{p:?}");
    let o =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.packer.access)
            .await;
    for line in o.body["lines"].as_array().expect("lines") {
        let r =
            x.s.post(
                &format!("/api/v1/orders/{id}/pack"),
                Some(&x.packer.access),
                json!({"barcode": line["sku"], "quantity": line["quantity"]}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    }
    o.body
}

/// Tracking number `serial` with its mod-7 check digit.
pub(crate) fn tracking(serial: u64) -> String {
    format!("{serial:011}{}", serial % 7)
}

pub(crate) async fn add_package(x: &AmazonSetup, id: &str, body: Value) {
    let r =
        x.s.post(
            &format!("/api/v1/orders/{id}/packages"),
            Some(&x.packer.access),
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
}

pub(crate) async fn dispatch(x: &AmazonSetup, id: &str, ship_time: &str) {
    let d =
        x.s.post(
            &format!("/api/v1/orders/{id}/dispatch"),
            Some(&x.packer.access),
            json!({"ship_time": ship_time}),
        )
        .await;
    assert_eq!(d.body["status"], "dispatched", "{d:?}");
}

pub(crate) fn minutes_ago(m: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::minutes(m))
        .replace_nanosecond(0)
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time")
}

/// Wait until every package of the order shows one of `statuses`; returns the order.
pub(crate) async fn wait_feedback(
    x: &AmazonSetup,
    id: &str,
    statuses: &[&str],
    within: Duration,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let o =
            x.s.get(&format!("/api/v1/orders/{id}"), &x.sup.access)
                .await;
        let all = o.body["packages"].as_array().is_some_and(|ps| {
            !ps.is_empty()
                && ps
                    .iter()
                    .all(|p| statuses.contains(&p["feedback"]["status"].as_str().unwrap_or("")))
        });
        if all {
            return o.body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "feedback not {statuses:?} in time: {:?}",
            o.body["packages"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Confirmations the sandbox accepted (204) for one Amazon order.
pub(crate) fn accepted(x: &AmazonSetup, amazon_order_id: &str) -> Vec<Value> {
    x.sandbox
        .control()
        .confirmations()
        .into_iter()
        .filter(|c| c.order_id == amazon_order_id && c.status == 204)
        .map(|c| c.body)
        .collect()
}

/// Packages Amazon holds for an order (what getOrder PACKAGES would show).
fn packages_at_amazon(x: &AmazonSetup, amazon_order_id: &str) -> Vec<Value> {
    x.sandbox
        .control()
        .order(SELLER, amazon_order_id)
        .and_then(|o| o["packages"].as_array().cloned())
        .unwrap_or_default()
}

async fn amazon_orders_flow_from_sync_to_confirmed_feedback(b: Backend) {
    let x = setup(b).await;
    let auth = authorize(&x, true).await;
    let ids = generate(&x, 3, &["TEA-1", "TOWEL-1"], 2);
    let report = sync(&x, &auth).await;
    assert_eq!(report["created"], 3, "{report}");
    assert!(report["synced_until"].is_string());
    // A second pass sees the same orders (overlap window) and creates nothing.
    let again = sync(&x, &auth).await;
    assert_eq!(again["created"], 0, "{again}");
    let n =
        x.s.sql_in_tenant(x.tenant, "SELECT COUNT(*) FROM orders WHERE tenant_id = $1")
            .await;
    assert_eq!(n[0][0], 3);

    let amazon_id = &ids[0];
    let id = local_id(&x, amazon_id).await;
    let o =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.sup.access)
            .await;
    assert_eq!(o.body["channel"], "amazon");
    assert_eq!(o.body["external_id"], amazon_id.as_str());
    assert_eq!(o.body["recipient_pii"], "granted");
    assert_eq!(o.body["amazon"]["amazon_status"], "UNSHIPPED");
    // Every line carries Amazon's order item id.
    assert!(
        o.body["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .all(|l| l["marketplace_item_id"].is_string()),
        "{o:?}"
    );
    let order = pick_and_pack(&x, &id).await;
    let number = tracking(44_441_375_870);
    add_package(
        &x,
        &id,
        json!({"box_type": "60", "weight_g": 900, "carrier": "yamato", "tracking_number": number}),
    )
    .await;
    let ship_time = minutes_ago(15);
    let started = std::time::Instant::now();
    dispatch(&x, &id, &ship_time).await;
    let done = wait_feedback(&x, &id, &["confirmed"], Duration::from_secs(20)).await;
    let latency = started.elapsed();
    assert!(
        latency < Duration::from_secs(5),
        "feedback took {latency:?}"
    );
    assert_eq!(done["packages"][0]["tracking_number"], number.as_str());

    // What Amazon received: one call, the documented shape.
    let sent = accepted(&x, amazon_id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let detail = &sent[0]["packageDetail"];
    assert_eq!(detail["packageReferenceId"], "1");
    assert_eq!(detail["carrierCode"], "Yamato Transport");
    assert_eq!(detail["trackingNumber"], number.as_str());
    assert_eq!(detail["shipDate"], ship_time.as_str());
    assert_eq!(sent[0]["marketplaceId"], "A1VC38T7YXB528");
    let items = detail["orderItems"]
        .as_array()
        .expect("orderItems is an array");
    let lines = order["lines"].as_array().expect("lines");
    assert_eq!(items.len(), lines.len());
    for l in lines {
        assert!(
            items
                .iter()
                .any(|i| i["orderItemId"] == l["marketplace_item_id"]
                    && i["quantity"] == l["quantity"]),
            "{items:?} vs {l}"
        );
    }
    // Amazon now shows the package and the order as shipped.
    let at_amazon = packages_at_amazon(&x, amazon_id);
    assert_eq!(at_amazon.len(), 1, "{at_amazon:?}");
    let q =
        x.s.get("/api/v1/amazon/feedback?status=confirmed", &x.packer.access)
            .await;
    assert_eq!(q.body.as_array().map(Vec::len), Some(1), "{q:?}");
    let a =
        x.s.get("/api/v1/amazon/authorizations", &x.admin.access)
            .await;
    assert_eq!(a.body[0]["feedback"]["confirmed"], 1, "{a:?}");
}

async fn multi_package_orders_confirm_each_package_with_its_items(b: Backend) {
    let x = setup(b).await;
    let auth = authorize(&x, true).await;
    // Orders with two or three lines; take one with at least two.
    let ids = generate(&x, 6, &["TEA-1", "TOWEL-1", "SOAP-1"], 3);
    sync(&x, &auth).await;
    let (amazon_id, id) = multi_line_order(&x, &ids).await;
    let order = pick_and_pack(&x, &id).await;
    let lines = order["lines"].as_array().expect("lines").clone();
    // Package 1: the first line; package 2: the rest.
    add_package(&x, &id, json!({"box_type": "60", "weight_g": 500, "carrier": "sagawa", "tracking_number": tracking(36_000_000_001), "items": [{"line_no": lines[0]["line_no"], "quantity": lines[0]["quantity"]}]})).await;
    let rest: Vec<Value> = lines[1..]
        .iter()
        .map(|l| json!({"line_no": l["line_no"], "quantity": l["quantity"]}))
        .collect();
    add_package(&x, &id, json!({"box_type": "80", "weight_g": 700, "carrier": "yamato", "tracking_number": tracking(44_000_000_002), "items": rest})).await;
    dispatch(&x, &id, &minutes_ago(5)).await;
    wait_feedback(&x, &id, &["confirmed"], Duration::from_secs(20)).await;
    let sent = accepted(&x, &amazon_id);
    assert_eq!(sent.len(), 2, "{sent:?}");
    let by_ref = |r: &str| {
        sent.iter()
            .find(|c| c["packageDetail"]["packageReferenceId"] == r)
            .cloned()
            .unwrap_or_else(|| panic!("no package {r}: {sent:?}"))
    };
    let p1 = by_ref("1");
    assert_eq!(p1["packageDetail"]["carrierCode"], "Sagawa Express");
    assert_eq!(
        p1["packageDetail"]["orderItems"][0]["orderItemId"],
        lines[0]["marketplace_item_id"]
    );
    assert_eq!(
        p1["packageDetail"]["orderItems"].as_array().map(Vec::len),
        Some(1)
    );
    let p2 = by_ref("2");
    assert_eq!(
        p2["packageDetail"]["orderItems"].as_array().map(Vec::len),
        Some(lines.len() - 1)
    );
    assert_eq!(packages_at_amazon(&x, &amazon_id).len(), 2);
}

async fn feedback_survives_throttling_server_errors_and_lost_responses(b: Backend) {
    let x = setup(b).await;
    let auth = authorize(&x, true).await;
    let ids = generate(&x, 3, &["TEA-1"], 1);
    sync(&x, &auth).await;
    let ctl = x.sandbox.control();
    // 429s, then 500s, then a confirmation recorded whose answer never arrives (the client times
    // out and sends it again: the same packageReferenceId edits the same package).
    ctl.add_fault(Fault::next(
        Operation::ConfirmShipment,
        FaultKind::Throttle,
        3,
    ))
    .expect("fault");
    ctl.add_fault(Fault::next(
        Operation::ConfirmShipment,
        FaultKind::ServerError,
        2,
    ))
    .expect("fault");
    let mut drop = Fault::next(Operation::ConfirmShipment, FaultKind::DropAfterEffect, 1);
    drop.delay_ms = Some(30_000);
    ctl.add_fault(drop).expect("fault");
    let mut local = Vec::new();
    for (i, a) in ids.iter().enumerate() {
        let id = local_id(&x, a).await;
        pick_and_pack(&x, &id).await;
        add_package(&x, &id, json!({"box_type": "60", "weight_g": 400, "carrier": "yamato", "tracking_number": tracking(44_100_000_000 + i as u64)})).await;
        dispatch(&x, &id, &minutes_ago(3)).await;
        local.push(id);
    }
    for id in &local {
        wait_feedback(&x, id, &["confirmed"], Duration::from_secs(60)).await;
    }
    for a in &ids {
        assert_eq!(
            packages_at_amazon(&x, a).len(),
            1,
            "{a}: exactly one package"
        );
    }
    let all = ctl.confirmations();
    assert!(all.iter().any(|c| c.status == 429), "the storm happened");
    assert!(
        all.iter().any(|c| c.response_dropped),
        "a response was lost"
    );
}

async fn a_crash_after_sending_resends_without_a_second_package(b: Backend) {
    let mut x = setup(b).await;
    let auth = authorize(&x, true).await;
    let ids = generate(&x, 4, &["TEA-1"], 1);
    sync(&x, &auth).await;
    let mut local = Vec::new();
    for (i, a) in ids.iter().enumerate() {
        let id = local_id(&x, a).await;
        pick_and_pack(&x, &id).await;
        add_package(&x, &id, json!({"box_type": "60", "weight_g": 400, "carrier": "yamato", "tracking_number": tracking(44_200_000_000 + i as u64)})).await;
        local.push(id);
    }
    // Amazon records the first confirmation but its answer is held back; the others queue behind
    // it; the server dies in the middle of the batch.
    let mut drop = Fault::next(Operation::ConfirmShipment, FaultKind::DropAfterEffect, 1);
    drop.delay_ms = Some(60_000);
    x.sandbox.control().add_fault(drop).expect("fault");
    for id in &local {
        dispatch(&x, id, &minutes_ago(2)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !x
        .sandbox
        .control()
        .confirmations()
        .iter()
        .any(|c| c.response_dropped)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "confirmation never sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rows =
        x.s.sql_in_tenant(
            x.tenant,
            "SELECT status FROM amazon_feedback WHERE tenant_id = $1 AND status = 'sent'",
        )
        .await;
    assert!(!rows.is_empty(), "claimed (sent) before the call");
    x.s.crash_and_restart().await;
    // The lease (3 s) expires; the new process sends what was in flight and what was queued.
    for id in &local {
        wait_feedback(&x, id, &["confirmed"], Duration::from_secs(30)).await;
    }
    for a in &ids {
        assert_eq!(
            packages_at_amazon(&x, a).len(),
            1,
            "{a}: exactly one package"
        );
    }
    let held = x
        .sandbox
        .control()
        .confirmations()
        .into_iter()
        .find(|c| c.response_dropped)
        .expect("held");
    assert!(
        accepted(&x, &held.order_id).len() >= 2,
        "the held confirmation was sent again"
    );
}

async fn authorizations_are_admin_only_step_up_and_never_show_secrets(b: Backend) {
    let x = setup(b).await;
    // Packers and supervisors may not connect a seller.
    for tok in [&x.packer.access, &x.sup.access] {
        x.s.post(
            "/api/v1/amazon/authorizations",
            Some(tok),
            authorization_body(true),
        )
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    // Bad input: clear 422s, nothing stored.
    let mut bad = authorization_body(true);
    bad["selling_partner_id"] = json!("no spaces allowed");
    x.s.post("/api/v1/amazon/authorizations", Some(&x.admin.access), bad)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut missing = authorization_body(true);
    missing["refresh_token"] = json!("  ");
    x.s.post(
        "/api/v1/amazon/authorizations",
        Some(&x.admin.access),
        missing,
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let r =
        x.s.call(
            Method::POST,
            "/api/v1/amazon/authorizations",
            Some(&x.admin.access),
            None,
        )
        .await;
    assert!(r.status.is_client_error(), "{r:?}");
    let id = authorize(&x, true).await;
    // The same seller twice: 409.
    x.s.post(
        "/api/v1/amazon/authorizations",
        Some(&x.admin.access),
        authorization_body(true),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "conflict");
    let list =
        x.s.get("/api/v1/amazon/authorizations", &x.admin.access)
            .await;
    let text = list.body.to_string();
    assert!(text.contains(SELLER) && text.contains(&id), "{text}");
    for secret in [CLIENT_SECRET, REFRESH_TOKEN, "Atzr|"] {
        assert!(!text.contains(secret), "a secret was returned: {text}");
    }
    assert_eq!(list.body[0]["pii"]["recipient"], "granted");
    // At rest: sealed, no plaintext in the row.
    let rows =
        x.s.sql_in_tenant(
            x.tenant,
            "SELECT lwa_client_id, status FROM amazon_authorizations WHERE tenant_id = $1",
        )
        .await;
    assert_eq!(rows[0][0], CLIENT_ID);
    let raw =
        x.s.sql_in_tenant(
            x.tenant,
            "SELECT secrets_sealed FROM amazon_authorizations WHERE tenant_id = $1",
        )
        .await;
    let raw_text = format!("{raw:?}");
    assert!(!raw_text.contains("super-secret") && !raw_text.contains("refresh-token"));
    // The MFA verification goes stale: revoking needs a fresh step-up.
    let old = wms_server::time::now_ms() - 6 * 60 * 1000;
    x.s.exec_as_owner(
        x.tenant,
        &format!(
            "UPDATE sessions SET mfa_at = {old} WHERE tenant_id = '{}'",
            x.tenant
        ),
    )
    .await;
    let revoke = format!("/api/v1/amazon/authorizations/{id}/revoke");
    x.s.post(&revoke, Some(&x.admin.access), json!({}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "step_up_required");
    let v =
        x.s.post(
            "/api/v1/auth/mfa/verify",
            Some(&x.admin.access),
            json!({"code": code_now(&x.admin_totp, 1)}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");
    // Another tenant's admin cannot see or touch it.
    let other = x.s.tenant("other").await;
    let oa =
        x.s.mfa_user("other", other, "admin@other.example", Role::Admin)
            .await;
    let ot = x.s.login("other", &oa).await;
    x.s.post(&revoke, Some(&ot.access), json!({}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let theirs = x.s.get("/api/v1/amazon/authorizations", &ot.access).await;
    assert_eq!(theirs.body, json!([]));
    let r =
        x.s.post(
            &revoke,
            Some(&x.admin.access),
            json!({"reason": "contract ended"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["status"], "revoked");
    x.s.post(&revoke, Some(&x.admin.access), json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "already_revoked");
    let actions = x.s.audit_actions(x.tenant).await;
    assert!(
        actions.contains(&"amazon_authorized".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"amazon_revoked".to_owned()),
        "{actions:?}"
    );
}

async fn without_the_pii_role_no_recipient_is_stored(b: Backend) {
    let x = setup_with(b, |_| {}, false).await;
    let auth = authorize(&x, false).await;
    let ids = generate(&x, 2, &["TEA-1"], 1);
    let report = sync(&x, &auth).await;
    assert_eq!(report["created"], 2, "{report}");
    let id = local_id(&x, &ids[0]).await;
    let o =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.sup.access)
            .await;
    assert_eq!(o.body["recipient_pii"], "not_granted", "{o:?}");
    assert_eq!(o.body["recipient_masked"]["name"], "(PII not granted)");
    let sealed =
        x.s.sql_in_tenant(
            x.tenant,
            "SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND recipient_sealed IS NOT NULL",
        )
        .await;
    assert_eq!(sealed[0][0], 0);
    // Asking for the full recipient says so plainly instead of failing.
    let r =
        x.s.get(&format!("/api/v1/orders/{id}/recipient"), &x.sup.access)
            .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "pii_not_granted");
}

async fn cancellations_at_amazon_cancel_or_flag(b: Backend) {
    let x = setup(b).await;
    let auth = authorize(&x, true).await;
    let ids = generate(&x, 2, &["TEA-1"], 1);
    sync(&x, &auth).await;
    let (early, late) = (local_id(&x, &ids[0]).await, local_id(&x, &ids[1]).await);
    // `early` is allocated (stock reserved), `late` is dispatched.
    let a =
        x.s.post(
            &format!("/api/v1/orders/{early}/allocate"),
            Some(&x.sup.access),
            json!({}),
        )
        .await;
    assert_eq!(a.body["status"], "allocated", "{a:?}");
    pick_and_pack(&x, &late).await;
    add_package(&x, &late, json!({"box_type": "60", "weight_g": 400, "carrier": "yamato", "tracking_number": tracking(44_300_000_000)})).await;
    // Both buyers cancel at Amazon; the warehouse has not synced yet and ships `late` anyway.
    let ctl = x.sandbox.control();
    ctl.cancel_order(SELLER, &ids[0]).expect("cancel");
    ctl.cancel_order(SELLER, &ids[1]).expect("cancel");
    dispatch(&x, &late, &minutes_ago(1)).await;
    let report = sync(&x, &auth).await;
    assert_eq!(report["cancelled"], 1, "{report}");
    assert_eq!(report["flagged"], 1, "{report}");
    let e =
        x.s.get(&format!("/api/v1/orders/{early}"), &x.sup.access)
            .await;
    assert_eq!(e.body["status"], "cancelled");
    let stock = x.s.get("/api/v1/stock?sku=TEA-1", &x.sup.access).await;
    let reserved: i64 = stock
        .body
        .as_array()
        .expect("stock")
        .iter()
        .map(|r| r["reserved"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(reserved, 0, "reservations released");
    let l =
        x.s.get(&format!("/api/v1/orders/{late}"), &x.sup.access)
            .await;
    assert_eq!(l.body["status"], "dispatched");
    assert_eq!(
        l.body["amazon"]["flag"],
        "cancelled_at_amazon_after_dispatch"
    );
}

async fn refused_feedback_is_surfaced_and_can_be_retried_or_marked_handled(b: Backend) {
    let x = setup(b).await;
    let auth = authorize(&x, true).await;
    let ids = generate(&x, 1, &["TEA-1"], 1);
    sync(&x, &auth).await;
    let id = local_id(&x, &ids[0]).await;
    pick_and_pack(&x, &id).await;
    add_package(&x, &id, json!({"box_type": "60", "weight_g": 400, "carrier": "yamato", "tracking_number": tracking(44_400_000_000)})).await;
    // The buyer cancelled at Amazon while the parcel was being packed: Amazon refuses the
    // confirmation, and nothing says Amazon has this tracking number.
    x.sandbox
        .control()
        .cancel_order(SELLER, &ids[0])
        .expect("cancel");
    dispatch(&x, &id, &minutes_ago(1)).await;
    let o = wait_feedback(&x, &id, &["failed"], Duration::from_secs(20)).await;
    let reason = o["packages"][0]["feedback"]["reason"]
        .as_str()
        .unwrap_or("");
    assert!(reason.contains("Amazon answered 400"), "{reason}");
    let failed =
        x.s.get("/api/v1/amazon/feedback?status=failed", &x.sup.access)
            .await;
    assert_eq!(failed.body.as_array().map(Vec::len), Some(1), "{failed:?}");
    x.s.get("/api/v1/amazon/feedback?status=lost", &x.sup.access)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Packers see the queue but cannot act on it.
    let retry = format!("/api/v1/orders/{id}/packages/1/feedback/retry");
    x.s.post(&retry, Some(&x.packer.access), json!({}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let r = x.s.post(&retry, Some(&x.sup.access), json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    wait_feedback(&x, &id, &["failed"], Duration::from_secs(20)).await;
    let handled = format!("/api/v1/orders/{id}/packages/1/feedback/handled");
    let h = x.s.post(&handled, Some(&x.sup.access), json!({})).await;
    assert_eq!(h.body["status"], "handled", "{h:?}");
    // Handled is final.
    x.s.post(&retry, Some(&x.sup.access), json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "feedback_illegal_transition");
    x.s.post(
        &format!("/api/v1/orders/{id}/packages/9/feedback/retry"),
        Some(&x.sup.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

async fn withdrawal_stops_sync_and_feedback_and_purges_pii(b: Backend) {
    let x = setup(b).await;
    let auth = authorize(&x, true).await;
    let ids = generate(&x, 2, &["TEA-1"], 1);
    sync(&x, &auth).await;
    let id = local_id(&x, &ids[0]).await;
    let o =
        x.s.get(&format!("/api/v1/orders/{id}/recipient"), &x.sup.access)
            .await;
    assert_eq!(o.status, StatusCode::OK, "{o:?}");
    let purge = format!("/api/v1/amazon/authorizations/{auth}/purge-pii");
    x.s.post(&purge, Some(&x.admin.access), json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "authorization_active");
    // Amazon refuses the refresh token (the seller removed the app in Seller Central).
    x.sandbox.control().revoke_seller(SELLER).expect("revoke");
    let r =
        x.s.post(
            &format!("/api/v1/amazon/authorizations/{auth}/sync"),
            Some(&x.sup.access),
            json!({}),
        )
        .await;
    r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "amazon_sync_failed");
    let a =
        x.s.get("/api/v1/amazon/authorizations", &x.admin.access)
            .await;
    assert_eq!(a.body[0]["status"], "revoked", "{a:?}");
    x.s.post(
        &format!("/api/v1/amazon/authorizations/{auth}/sync"),
        Some(&x.sup.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "authorization_revoked");
    // A dispatch still works (the parcel left); its feedback is shown as not sent.
    pick_and_pack(&x, &id).await;
    add_package(&x, &id, json!({"box_type": "60", "weight_g": 400, "carrier": "yamato", "tracking_number": tracking(44_500_000_000)})).await;
    dispatch(&x, &id, &minutes_ago(1)).await;
    let o = wait_feedback(&x, &id, &["failed"], Duration::from_secs(20)).await;
    assert!(
        o["packages"][0]["feedback"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("withdrawn")),
        "{o}"
    );
    assert!(accepted(&x, &ids[0]).is_empty());
    let p = x.s.post(&purge, Some(&x.admin.access), json!({})).await;
    assert_eq!(p.status, StatusCode::OK, "{p:?}");
    assert_eq!(p.body["orders_purged"], 2);
    let o =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.sup.access)
            .await;
    assert_eq!(o.body["recipient_pii"], "purged");
    assert_eq!(o.body["status"], "dispatched", "business records stay");
    let sealed =
        x.s.sql_in_tenant(
            x.tenant,
            "SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND recipient_sealed IS NOT NULL",
        )
        .await;
    assert_eq!(sealed[0][0], 0);
    let actions = x.s.audit_actions(x.tenant).await;
    assert!(
        actions.contains(&"amazon_pii_purged".to_owned()),
        "{actions:?}"
    );
}

async fn bad_tracking_numbers_and_missing_package_contents_are_refused(b: Backend) {
    let x = setup(b).await;
    let auth = authorize(&x, true).await;
    let ids = generate(&x, 6, &["TEA-1", "TOWEL-1", "SOAP-1"], 3);
    sync(&x, &auth).await;
    let (_, id) = multi_line_order(&x, &ids).await;
    pick_and_pack(&x, &id).await;
    let pk = format!("/api/v1/orders/{id}/packages");
    let good = tracking(44_600_000_000);
    let mut wrong_digit = good.clone();
    wrong_digit.pop();
    wrong_digit.push(if good.ends_with('0') { '1' } else { '0' });
    for (body, code) in [
        (
            json!({"box_type": "60", "weight_g": 400, "carrier": "yamato", "tracking_number": wrong_digit}),
            "tracking_check_digit_mismatch",
        ),
        (
            json!({"box_type": "60", "weight_g": 400, "carrier": "fedex", "tracking_number": good}),
            "unknown_carrier",
        ),
        (
            json!({"box_type": "60", "weight_g": 400, "carrier": "yamato"}),
            "validation_failed",
        ),
        (
            json!({"box_type": "60", "weight_g": 400, "items": [{"line_no": 99, "quantity": 1}]}),
            "unknown_line",
        ),
        (
            json!({"box_type": "60", "weight_g": 400, "items": [{"line_no": 1, "quantity": 1000}]}),
            "package_quantity_exceeds_line",
        ),
    ] {
        x.s.post(&pk, Some(&x.packer.access), body)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    // No package was created by any of them.
    let o =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.sup.access)
            .await;
    assert_eq!(o.body["packages"], json!([]));
    // Two packages without contents: the dispatch is refused (Amazon could not be told), nothing
    // changes, and the fix is to say what each holds.
    add_package(&x, &id, json!({"box_type": "60", "weight_g": 400})).await;
    add_package(&x, &id, json!({"box_type": "60", "weight_g": 400})).await;
    let d = format!("/api/v1/orders/{id}/dispatch");
    x.s.post(&d, Some(&x.packer.access), json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "package_without_tracking");
    for seq in [1, 2] {
        let r =
            x.s.call(
                Method::PUT,
                &format!("/api/v1/orders/{id}/packages/{seq}/tracking"),
                Some(&x.packer.access),
                Some(
                    json!({"carrier": "yamato", "tracking_number": tracking(44_700_000_000 + seq)}),
                ),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
    }
    x.s.post(&d, Some(&x.packer.access), json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "package_contents_missing");
    let o =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.sup.access)
            .await;
    assert_eq!(o.body["status"], "packed");
    let q =
        x.s.sql_in_tenant(
            x.tenant,
            "SELECT COUNT(*) FROM amazon_feedback WHERE tenant_id = $1",
        )
        .await;
    assert_eq!(q[0][0], 0, "nothing queued for a refused dispatch");
}

/// Everything the process logs, at every level, while a full Amazon flow runs: no refresh token,
/// client secret, access token or recipient PII may appear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_pii_never_reach_the_logs() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("this test owns the process's log subscriber (run under cargo-nextest)");

    let x = setup(Backend::Sqlite).await;
    let auth = authorize(&x, true).await;
    let ids = generate(&x, 2, &["TEA-1"], 1);
    sync(&x, &auth).await;
    let id = local_id(&x, &ids[0]).await;
    let r =
        x.s.get(&format!("/api/v1/orders/{id}/recipient"), &x.sup.access)
            .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    pick_and_pack(&x, &id).await;
    add_package(&x, &id, json!({"box_type": "60", "weight_g": 400, "carrier": "yamato", "tracking_number": tracking(44_800_000_000)})).await;
    dispatch(&x, &id, &minutes_ago(1)).await;
    wait_feedback(&x, &id, &["confirmed"], Duration::from_secs(20)).await;
    // The refusal path logs too.
    x.sandbox.control().revoke_seller(SELLER).expect("revoke");
    let _ =
        x.s.post(
            &format!("/api/v1/amazon/authorizations/{auth}/sync"),
            Some(&x.sup.access),
            json!({}),
        )
        .await;

    let mut forbidden: Vec<String> =
        vec![CLIENT_SECRET.into(), REFRESH_TOKEN.into(), "Atza|".into()];
    for a in &ids {
        let order = x.sandbox.control().order(SELLER, a).expect("order");
        let addr = &order["recipient"]["deliveryAddress"];
        for field in ["name", "addressLine1", "addressLine2", "phone"] {
            if let Some(v) = addr[field].as_str().filter(|v| v.len() > 3) {
                forbidden.push(v.to_owned());
            }
        }
        if let Some(v) = order["buyer"]["buyerEmail"].as_str() {
            forbidden.push(v.to_owned());
        }
    }
    assert!(
        forbidden.len() > 5,
        "the orders have PII to look for: {}",
        forbidden.len()
    );
    let logs = String::from_utf8_lossy(&capture.0.lock().expect("log buffer")).into_owned();
    assert!(
        logs.contains("SP-API call"),
        "the capture works: {} bytes",
        logs.len()
    );
    for f in &forbidden {
        assert!(!logs.contains(f.as_str()), "`{f}` appears in the logs");
    }
}
