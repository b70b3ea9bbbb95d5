//! The warehouse domain end to end: master data, receiving, allocation (FEFO), picking, pack
//! verification, dispatch, cancellation, returns — with the refusals next to each happy path.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wms_core::role::Role;

use crate::both_backends;
use crate::harness::{Backend, TestServer, Tokens};

both_backends!(
    order_flow_from_receipt_to_dispatch,
    pack_refuses_wrong_items_and_nothing_changes,
    concurrent_allocations_never_oversell,
    cancel_releases_and_returns_restock,
    recipient_is_sealed_masked_and_audited,
    adjustments_over_threshold_need_a_second_supervisor,
    cycle_count_posts_the_variance_on_approval,
    sku_csv_import_reports_every_bad_row,
    edits_are_versioned_and_locked_once_picking_starts,
    receiving_against_an_inbound_shipment,
    stock_verify_reports_a_balance_that_differs_from_its_ledger,
    concurrent_picks_onto_one_bench_all_succeed,
    dispatch_emptying_the_bench_while_another_pick_arrives_loses_nothing,
    stock_queries_filter_by_location_lot_expiry_and_low_stock,
    the_change_feed_lists_every_change_once_in_commit_order,
    reads_answer_while_a_writer_holds_the_database,
    order_views_page_whole_orders_as_the_single_read_shows_them,
    inbound_returns_and_counts_are_listed_newest_first_per_tenant,
    concurrent_receipts_of_one_return_restock_once,
);

struct Setup {
    s: TestServer,
    tenant: wms_core::ids::TenantId,
    sup: Tokens,
    packer: Tokens,
}

async fn setup(b: Backend) -> Setup {
    setup_with(b, |_| {}).await
}

async fn setup_with(b: Backend, tweak: impl FnOnce(&mut wms_server::Settings)) -> Setup {
    let s = TestServer::start_with(b, tweak).await;
    let tenant = s.tenant("acme").await;
    let sv = s
        .mfa_user("acme", tenant, "sv@acme.example", Role::Supervisor)
        .await;
    let pk = s.user(tenant, "pk@acme.example", Role::Packer).await;
    let sup = s.login("acme", &sv).await;
    let packer = s.login("acme", &pk).await;
    let ok = |r: crate::harness::Resp| assert!(r.status.is_success(), "{r:?}");
    ok(s.post(
        "/api/v1/warehouses",
        Some(&sup.access),
        json!({"code": "TOKYO1", "name": "東京第一倉庫"}),
    )
    .await);
    for (code, parent, level, kind, walk) in [
        ("RCV", None, "zone", "receiving", 0),
        ("RCV-01", Some("RCV"), "aisle", "receiving", 0),
        ("RCV-01-01", Some("RCV-01"), "bin", "receiving", 0),
        ("PACK", None, "zone", "packing", 0),
        ("PACK-01", Some("PACK"), "aisle", "packing", 0),
        ("PACK-01-01", Some("PACK-01"), "bin", "packing", 0),
        ("A", None, "zone", "storage", 0),
        ("A-01", Some("A"), "aisle", "storage", 0),
        ("A-01-01-01", Some("A-01"), "bin", "storage", 20),
        ("A-01-01-02", Some("A-01"), "bin", "storage", 10),
        ("QC", None, "zone", "quarantine", 0),
        ("QC-01", Some("QC"), "aisle", "quarantine", 0),
        ("QC-01-01", Some("QC-01"), "bin", "quarantine", 0),
    ] {
        ok(s.post("/api/v1/locations", Some(&sup.access), json!({"code": code, "parent": parent, "level": level, "kind": kind, "walk_order": walk})).await);
    }
    ok(s.post("/api/v1/skus", Some(&sup.access), json!({"seller_sku": "TEA-1", "name": "緑茶", "barcodes": [{"code": "4901234567894", "kind": "jan"}]})).await);
    ok(s.post("/api/v1/skus", Some(&sup.access), json!({"seller_sku": "CHOC-1", "name": "抹茶チョコ", "lot_tracked": true, "shelf_life_days": 365, "barcodes": [{"code": "4901234000018", "kind": "jan"}]})).await);
    ok(s.post("/api/v1/skus", Some(&sup.access), json!({"seller_sku": "TOWEL-1", "name": "今治タオル", "barcodes": [{"code": "X000ABC123", "kind": "fnsku"}]})).await);
    Setup {
        s,
        tenant,
        sup,
        packer,
    }
}

fn date_in(days: i64) -> String {
    let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

async fn receive(x: &Setup, sku: &str, location: &str, qty: i64, lot: Option<(&str, i64)>) {
    let mut body = json!({"sku": sku, "location": location, "quantity": qty});
    if let Some((l, days)) = lot {
        body["lot"] = json!(l);
        body["expiry"] = json!(date_in(days));
    }
    let r =
        x.s.post("/api/v1/stock/receive", Some(&x.sup.access), body)
            .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
}

fn order_body(ext: &str, lines: Value) -> Value {
    json!({
        "external_id": ext,
        "lines": lines,
        "recipient": {"name": "山田 太郎", "postal_code": "1000005", "prefecture": "東京都", "city": "千代田区", "address1": "丸の内1-9-1", "address2": "サンプルビル3階", "phone": "090-1234-5678"}
    })
}

async fn create_order(x: &Setup, ext: &str, lines: Value) -> String {
    let r =
        x.s.post(
            "/api/v1/orders",
            Some(&x.sup.access),
            order_body(ext, lines),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    r.body["id"].as_str().expect("id").to_owned()
}

async fn stock_of(x: &Setup, sku: &str) -> Vec<Value> {
    let r =
        x.s.get(&format!("/api/v1/stock?sku={sku}"), &x.sup.access)
            .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    r.body.as_array().cloned().unwrap_or_default()
}

fn total(rows: &[Value], field: &str) -> i64 {
    rows.iter().map(|r| r[field].as_i64().unwrap_or(0)).sum()
}

async fn order_flow_from_receipt_to_dispatch(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 10, None).await;
    // Three lots: one expiring too soon for the minimum shelf life (30 days), two fine.
    receive(&x, "CHOC-1", "A-01-01-02", 5, Some(("LOT-SOON", 10))).await;
    receive(&x, "CHOC-1", "A-01-01-02", 5, Some(("LOT-MID", 60))).await;
    receive(&x, "CHOC-1", "A-01-01-01", 5, Some(("LOT-LATE", 200))).await;
    let id = create_order(
        &x,
        "M-1001",
        json!([{"sku": "TEA-1", "quantity": 2}, {"sku": "CHOC-1", "quantity": 6}]),
    )
    .await;

    let a =
        x.s.post(
            &format!("/api/v1/orders/{id}/allocate"),
            Some(&x.sup.access),
            json!({}),
        )
        .await;
    assert_eq!(a.body["status"], "allocated", "{a:?}");
    // FEFO: LOT-MID first (earliest eligible), then one from LOT-LATE; LOT-SOON untouched.
    let pl =
        x.s.get(&format!("/api/v1/orders/{id}/pick-list"), &x.packer.access)
            .await;
    let lots: Vec<(String, i64)> = pl
        .body
        .as_array()
        .expect("pick list")
        .iter()
        .filter(|l| l["sku"] == "CHOC-1")
        .map(|l| {
            (
                l["lot"].as_str().unwrap_or("").to_owned(),
                l["quantity"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert!(
        lots.contains(&("LOT-MID".into(), 5)) && lots.contains(&("LOT-LATE".into(), 1)),
        "{lots:?}"
    );
    assert!(!lots.iter().any(|(l, _)| l == "LOT-SOON"));
    // Walk order: A-01-01-02 (walk 10) before A-01-01-01 (walk 20).
    assert_eq!(pl.body[0]["location"], "A-01-01-02");

    // Dispatch before packing is refused.
    x.s.post(
        &format!("/api/v1/orders/{id}/dispatch"),
        Some(&x.packer.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "order_illegal_transition");
    let p =
        x.s.post(
            &format!("/api/v1/orders/{id}/pick"),
            Some(&x.packer.access),
            json!({}),
        )
        .await;
    assert_eq!(p.body["status"], "picking", "{p:?}");
    let r =
        x.s.post(
            &format!("/api/v1/orders/{id}/pack"),
            Some(&x.packer.access),
            json!({"barcode": "4901234567894", "quantity": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["order_complete"], false);
    let r =
        x.s.post(
            &format!("/api/v1/orders/{id}/pack"),
            Some(&x.packer.access),
            json!({"barcode": "4901234000018", "quantity": 5, "lot": "LOT-MID"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r =
        x.s.post(
            &format!("/api/v1/orders/{id}/pack"),
            Some(&x.packer.access),
            json!({"barcode": "CHOC-1"}),
        )
        .await;
    assert_eq!(r.body["order_complete"], true, "{r:?}");
    assert_eq!(r.body["status"], "packed");
    x.s.post(
        &format!("/api/v1/orders/{id}/dispatch"),
        Some(&x.packer.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "no_package");
    let pk = x.s.post(&format!("/api/v1/orders/{id}/packages"), Some(&x.packer.access), json!({"box_type": "60", "weight_g": 1200, "length_mm": 250, "width_mm": 200, "height_mm": 150})).await;
    assert_eq!(pk.status, StatusCode::CREATED, "{pk:?}");
    let ship_time = (time::OffsetDateTime::now_utc() - time::Duration::minutes(20))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("time");
    let key = [("idempotency-key", "dispatch-M-1001")];
    let body = json!({"ship_time": ship_time});
    let url = format!("/api/v1/orders/{id}/dispatch");
    let d =
        x.s.call_with(
            Method::POST,
            &url,
            Some(&x.packer.access),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(d.body["status"], "dispatched", "{d:?}");
    // A retried dispatch (lost response) with the same key is answered from the first, changing nothing.
    let again =
        x.s.call_with(Method::POST, &url, Some(&x.packer.access), Some(body), &key)
            .await;
    assert_eq!((again.status, &again.body), (StatusCode::OK, &d.body));
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    x.s.post(
        &format!("/api/v1/orders/{id}/dispatch"),
        Some(&x.packer.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "already_dispatched");
    let o =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.packer.access)
            .await;
    assert_eq!(o.body["status"], "dispatched");
    assert!(
        o.body["ship_time"]
            .as_str()
            .is_some_and(|t| t.starts_with(&ship_time[..16])),
        "{o:?}"
    );

    // Stock: 8 TEA left, 9 CHOC left (LOT-SOON 5 + LOT-LATE 4), nothing reserved anywhere.
    let tea = stock_of(&x, "TEA-1").await;
    assert_eq!((total(&tea, "on_hand"), total(&tea, "reserved")), (8, 0));
    let choc = stock_of(&x, "CHOC-1").await;
    assert_eq!((total(&choc, "on_hand"), total(&choc, "reserved")), (9, 0));
    let mv = x.s.get("/api/v1/movements?kind=ship", &x.sup.access).await;
    assert_eq!(mv.body.as_array().map(Vec::len), Some(3), "{mv:?}");
    let out = crate::ops::cli(&x.s, &["stock", "verify", "--tenant", "acme"], None);
    assert!(out.status.success(), "{out:?}");
}

async fn pack_refuses_wrong_items_and_nothing_changes(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 10, None).await;
    receive(&x, "CHOC-1", "A-01-01-02", 5, Some(("LOT-A", 100))).await;
    receive(&x, "CHOC-1", "A-01-01-02", 5, Some(("LOT-B", 300))).await;
    receive(&x, "TOWEL-1", "A-01-01-01", 3, None).await;
    let id = create_order(
        &x,
        "M-2001",
        json!([{"sku": "TEA-1", "quantity": 1}, {"sku": "CHOC-1", "quantity": 2}]),
    )
    .await;
    x.s.post(
        &format!("/api/v1/orders/{id}/allocate"),
        Some(&x.sup.access),
        json!({}),
    )
    .await;
    // Packing before picking is refused.
    x.s.post(
        &format!("/api/v1/orders/{id}/pack"),
        Some(&x.packer.access),
        json!({"barcode": "4901234567894"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "order_not_packable");
    x.s.post(
        &format!("/api/v1/orders/{id}/pick"),
        Some(&x.packer.access),
        json!({}),
    )
    .await;
    let before =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.packer.access)
            .await
            .body;
    let url = format!("/api/v1/orders/{id}/pack");
    x.s.post(
        &url,
        Some(&x.packer.access),
        json!({"barcode": "X000ABC123"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "wrong_item");
    x.s.post(
        &url,
        Some(&x.packer.access),
        json!({"barcode": "0000000000000"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown_barcode");
    x.s.post(
        &url,
        Some(&x.packer.access),
        json!({"barcode": "4901234567894", "quantity": 2}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "over_quantity");
    x.s.post(
        &url,
        Some(&x.packer.access),
        json!({"barcode": "4901234000018", "lot": "LOT-B"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "batch_not_allocated");
    x.s.post(
        &url,
        Some(&x.packer.access),
        json!({"barcode": "4901234567894", "quantity": 0}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_quantity");
    x.s.post(&url, Some(&x.packer.access), json!({"barcode": 12}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let after =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.packer.access)
            .await
            .body;
    assert_eq!(before, after, "refused scans change nothing");
    // One good scan, then the same item again is over quantity.
    assert_eq!(
        x.s.post(
            &url,
            Some(&x.packer.access),
            json!({"barcode": "4901234567894"})
        )
        .await
        .status,
        StatusCode::OK
    );
    x.s.post(
        &url,
        Some(&x.packer.access),
        json!({"barcode": "4901234567894"}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "over_quantity");

    // Bad input elsewhere: unknown SKU, location, lot; zero and negative quantities; packer adjusting.
    x.s.post(
        "/api/v1/orders",
        Some(&x.sup.access),
        order_body("M-2002", json!([{"sku": "NOPE", "quantity": 1}])),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown_sku");
    x.s.post(
        "/api/v1/orders",
        Some(&x.sup.access),
        order_body("M-2003", json!([{"sku": "TEA-1", "quantity": 0}])),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_quantity");
    x.s.post(
        "/api/v1/orders",
        Some(&x.sup.access),
        order_body("M-2001", json!([{"sku": "TEA-1", "quantity": 1}])),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "conflict");
    x.s.post(
        "/api/v1/stock/receive",
        Some(&x.sup.access),
        json!({"sku": "TEA-1", "location": "Z-99", "quantity": 1}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown_location");
    x.s.post(
        "/api/v1/stock/receive",
        Some(&x.sup.access),
        json!({"sku": "TEA-1", "location": "A-01-01-01", "quantity": -5}),
    )
    .await
    .assert_problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "ledger_non_positive_quantity",
    );
    x.s.post(
        "/api/v1/stock/receive",
        Some(&x.sup.access),
        json!({"sku": "CHOC-1", "location": "A-01-01-01", "quantity": 5}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "lot_required");
    x.s.post(
        "/api/v1/stock/adjust",
        Some(&x.sup.access),
        json!({"sku": "TEA-1", "location": "A-01-01-01", "delta": -100, "reason_code": "damaged"}),
    )
    .await
    .assert_problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "ledger_insufficient_available",
    );
    x.s.post("/api/v1/stock/move", Some(&x.sup.access), json!({"sku": "CHOC-1", "from": "A-01-01-02", "to": "A-01-01-01", "quantity": 1, "lot": "LOT-Z"})).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown_batch");
    x.s.post("/api/v1/skus", Some(&x.sup.access), json!({"seller_sku": "BAD", "name": "x", "barcodes": [{"code": "4901234567895", "kind": "jan"}]})).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_barcode");
    let denied =
        x.s.post(
            "/api/v1/stock/adjust",
            Some(&x.packer.access),
            json!({"sku": "TEA-1", "location": "A-01-01-01", "delta": 5, "reason_code": "found"}),
        )
        .await;
    denied.assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let tea = stock_of(&x, "TEA-1").await;
    assert_eq!(total(&tea, "on_hand"), 10, "no refused request moved stock");

    // A foreign tenant's order id: 404, audited, nothing changed.
    let other = x.s.tenant("other").await;
    let osv =
        x.s.mfa_user("other", other, "sv@other.example", Role::Supervisor)
            .await;
    let otok = x.s.login("other", &osv).await;
    for (m, path) in [
        (Method::GET, format!("/api/v1/orders/{id}")),
        (Method::POST, format!("/api/v1/orders/{id}/cancel")),
        (Method::POST, format!("/api/v1/orders/{id}/allocate")),
        (Method::GET, format!("/api/v1/orders/{id}/recipient")),
    ] {
        x.s.call(m, &path, Some(&otok.access), Some(json!({})))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    assert_eq!(
        x.s.audit_actions(other)
            .await
            .iter()
            .filter(|a| *a == "access_denied")
            .count(),
        4
    );
    assert_eq!(
        x.s.get(&format!("/api/v1/orders/{id}"), &x.packer.access)
            .await
            .body["status"],
        "picking"
    );
}

/// Eight supervisors receive the same return at once: one restocks it, the others are told it is
/// already received, and the stock grows by the return's quantity once.
async fn concurrent_receipts_of_one_return_restock_once(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 5, None).await;
    let r =
        x.s.post(
            "/api/v1/returns",
            Some(&x.sup.access),
            json!({"reason_code": "unwanted", "lines": [{"sku": "TEA-1", "quantity": 2}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let rid = r.body["id"].as_str().expect("id").to_owned();
    let s = std::sync::Arc::new(x);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, rid) = (s.clone(), rid.clone());
        tasks.push(tokio::spawn(async move {
            s.s.post(
                &format!("/api/v1/returns/{rid}/receive"),
                Some(&s.sup.access),
                json!({"disposition": "restock", "location": "A-01-01-02", "reason_code": "inspected_ok"}),
            )
            .await
        }));
    }
    let (mut restocked, mut refused) = (0, 0);
    for t in tasks {
        let r = t.await.expect("join");
        match (r.status, r.body["status"].as_str(), r.body["code"].as_str()) {
            (StatusCode::OK, Some("restocked"), _) => restocked += 1,
            (StatusCode::CONFLICT, _, Some("return_already_received")) => refused += 1,
            _ => panic!("unexpected answer {r:?}"),
        }
    }
    assert_eq!((restocked, refused), (1, 7));
    assert_eq!(total(&stock_of(&s, "TEA-1").await, "on_hand"), 7);
    let out = crate::ops::cli(&s.s, &["stock", "verify", "--tenant", "acme"], None);
    assert!(out.status.success(), "{out:?}");
}

async fn concurrent_allocations_never_oversell(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 6, None).await;
    receive(&x, "TEA-1", "A-01-01-02", 4, None).await;
    let mut ids = Vec::new();
    for i in 0..50 {
        ids.push(
            create_order(
                &x,
                &format!("C-{i:03}"),
                json!([{"sku": "TEA-1", "quantity": 1}]),
            )
            .await,
        );
    }
    let s = std::sync::Arc::new(x);
    let mut tasks = Vec::new();
    for id in ids {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.s.post(
                &format!("/api/v1/orders/{id}/allocate"),
                Some(&s.sup.access),
                json!({}),
            )
            .await
        }));
    }
    let mut allocated = 0;
    let mut backordered = 0;
    for t in tasks {
        let r = t.await.expect("join");
        match r.body["status"].as_str() {
            Some("allocated") => allocated += 1,
            Some("backordered") => backordered += 1,
            _ => panic!("unexpected answer {r:?}"),
        }
    }
    assert_eq!((allocated, backordered), (10, 40));
    let tea = stock_of(&s, "TEA-1").await;
    assert_eq!(
        (
            total(&tea, "on_hand"),
            total(&tea, "reserved"),
            total(&tea, "available")
        ),
        (10, 10, 0)
    );
    let out = crate::ops::cli(&s.s, &["stock", "verify", "--tenant", "acme"], None);
    assert!(out.status.success(), "{out:?}");
}

async fn cancel_releases_and_returns_restock(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 5, None).await;
    let id = create_order(&x, "M-3001", json!([{"sku": "TEA-1", "quantity": 3}])).await;
    x.s.post(
        &format!("/api/v1/orders/{id}/allocate"),
        Some(&x.sup.access),
        json!({}),
    )
    .await;
    x.s.post(
        &format!("/api/v1/orders/{id}/pick"),
        Some(&x.packer.access),
        json!({}),
    )
    .await;
    let tea = stock_of(&x, "TEA-1").await;
    assert_eq!(total(&tea, "reserved"), 3);
    // Packers cannot cancel; supervisors can, and the reservation is released.
    x.s.post(
        &format!("/api/v1/orders/{id}/cancel"),
        Some(&x.packer.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let c =
        x.s.post(
            &format!("/api/v1/orders/{id}/cancel"),
            Some(&x.sup.access),
            json!({}),
        )
        .await;
    assert_eq!(c.body["status"], "cancelled", "{c:?}");
    let tea = stock_of(&x, "TEA-1").await;
    assert_eq!((total(&tea, "on_hand"), total(&tea, "reserved")), (5, 0));
    x.s.post(
        &format!("/api/v1/orders/{id}/cancel"),
        Some(&x.sup.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "order_illegal_transition");

    let r =
        x.s.post(
            "/api/v1/returns",
            Some(&x.sup.access),
            json!({"reason_code": "unwanted", "lines": [{"sku": "TEA-1", "quantity": 2}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let rid = r.body["id"].as_str().expect("id").to_owned();
    let rc = x.s.post(&format!("/api/v1/returns/{rid}/receive"), Some(&x.sup.access), json!({"disposition": "restock", "location": "A-01-01-02", "reason_code": "inspected_ok"})).await;
    assert_eq!(rc.body["status"], "restocked", "{rc:?}");
    x.s.post(
        &format!("/api/v1/returns/{rid}/receive"),
        Some(&x.sup.access),
        json!({"disposition": "restock", "reason_code": "again"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "return_already_received");
    let r2 =
        x.s.post(
            "/api/v1/returns",
            Some(&x.sup.access),
            json!({"reason_code": "damaged", "lines": [{"sku": "TEA-1", "quantity": 1}]}),
        )
        .await;
    let rid2 = r2.body["id"].as_str().expect("id").to_owned();
    x.s.post(
        &format!("/api/v1/returns/{rid2}/receive"),
        Some(&x.sup.access),
        json!({"disposition": "quarantine", "location": "A-01-01-02", "reason_code": "damaged"}),
    )
    .await
    .assert_problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_a_quarantine_location",
    );
    let q =
        x.s.post(
            &format!("/api/v1/returns/{rid2}/receive"),
            Some(&x.sup.access),
            json!({"disposition": "quarantine", "reason_code": "damaged"}),
        )
        .await;
    assert_eq!(q.body["status"], "quarantined", "{q:?}");
    let tea = stock_of(&x, "TEA-1").await;
    assert_eq!(total(&tea, "on_hand"), 8);
    // Quarantined stock is never allocated.
    let id2 = create_order(&x, "M-3002", json!([{"sku": "TEA-1", "quantity": 8}])).await;
    let a =
        x.s.post(
            &format!("/api/v1/orders/{id2}/allocate"),
            Some(&x.sup.access),
            json!({}),
        )
        .await;
    assert_eq!(a.body["status"], "backordered", "{a:?}");
    let out = crate::ops::cli(&x.s, &["stock", "verify", "--tenant", "acme"], None);
    assert!(out.status.success(), "{out:?}");
}

async fn recipient_is_sealed_masked_and_audited(b: Backend) {
    let x = setup(b).await;
    let id = create_order(&x, "M-4001", json!([{"sku": "TEA-1", "quantity": 1}])).await;
    let list =
        x.s.get("/api/v1/orders?status=received", &x.packer.access)
            .await;
    let row = &list.body[0];
    assert_eq!(row["recipient_masked"]["name"], "山***");
    assert_eq!(row["recipient_masked"]["postal_code"], "100-****");
    let o =
        x.s.get(&format!("/api/v1/orders/{id}"), &x.packer.access)
            .await;
    assert!(o.body.get("recipient").is_none(), "{o:?}");
    x.s.get(&format!("/api/v1/orders/{id}/recipient"), &x.packer.access)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let full =
        x.s.get(&format!("/api/v1/orders/{id}/recipient"), &x.sup.access)
            .await;
    assert_eq!(full.body["name"], "山田 太郎", "{full:?}");
    assert_eq!(full.body["postal_code"], "100-0005");
    assert!(
        x.s.audit_actions(x.tenant)
            .await
            .contains(&"pii_read".to_owned())
    );
    // At rest: no recipient text anywhere in the row.
    let rows =
        x.s.sql_in_tenant(
            x.tenant,
            "SELECT recipient_masked FROM orders WHERE tenant_id = $1",
        )
        .await;
    assert!(!rows[0][0].as_str().unwrap_or("").contains("太郎"));
    let clear =
        x.s.sql_in_tenant(
            x.tenant,
            "SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND recipient_masked LIKE '%丸の内%'",
        )
        .await;
    assert_eq!(clear[0][0], 0);
    // Invalid recipients are refused with specific codes.
    let mut bad = order_body("M-4002", json!([{"sku": "TEA-1", "quantity": 1}]));
    bad["recipient"]["postal_code"] = json!("12-345");
    x.s.post("/api/v1/orders", Some(&x.sup.access), bad.clone())
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_postal_code");
    bad["recipient"]["postal_code"] = json!("100-0005");
    bad["recipient"]["prefecture"] = json!("東京");
    x.s.post("/api/v1/orders", Some(&x.sup.access), bad)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_prefecture");
}

async fn adjustments_over_threshold_need_a_second_supervisor(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 5, None).await;
    let small =
        x.s.post(
            "/api/v1/stock/adjust",
            Some(&x.sup.access),
            json!({"sku": "TEA-1", "location": "A-01-01-01", "delta": 3, "reason_code": "found"}),
        )
        .await;
    assert_eq!(
        (small.status, small.body["outcome"].as_str()),
        (StatusCode::OK, Some("applied")),
        "{small:?}"
    );
    let big = x.s.post("/api/v1/stock/adjust", Some(&x.sup.access), json!({"sku": "TEA-1", "location": "A-01-01-01", "delta": 50, "reason_code": "found_pallet"})).await;
    assert_eq!(big.status, StatusCode::ACCEPTED, "{big:?}");
    let rid = big.body["request_id"]
        .as_str()
        .expect("request id")
        .to_owned();
    assert_eq!(
        total(&stock_of(&x, "TEA-1").await, "on_hand"),
        8,
        "a pending adjustment moves nothing"
    );
    let pending = x.s.get("/api/v1/adjustments", &x.sup.access).await;
    assert_eq!(pending.body.as_array().map(Vec::len), Some(1));
    x.s.post(
        &format!("/api/v1/adjustments/{rid}/approve"),
        Some(&x.sup.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "four_eyes_required");
    x.s.post(
        &format!("/api/v1/adjustments/{rid}/approve"),
        Some(&x.packer.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let sv2 =
        x.s.mfa_user("acme", x.tenant, "sv2@acme.example", Role::Supervisor)
            .await;
    let t2 = x.s.login("acme", &sv2).await;
    let ok =
        x.s.post(
            &format!("/api/v1/adjustments/{rid}/approve"),
            Some(&t2.access),
            json!({}),
        )
        .await;
    assert_eq!(ok.body["status"], "approved", "{ok:?}");
    assert_eq!(total(&stock_of(&x, "TEA-1").await, "on_hand"), 58);
    x.s.post(
        &format!("/api/v1/adjustments/{rid}/reject"),
        Some(&t2.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "adjustment_already_decided");
    // A large write-off of more than is there is refused at once, not parked for approval.
    x.s.post(
        "/api/v1/stock/adjust",
        Some(&x.sup.access),
        json!({"sku": "TEA-1", "location": "A-01-01-01", "delta": -500, "reason_code": "lost"}),
    )
    .await
    .assert_problem(
        StatusCode::UNPROCESSABLE_ENTITY,
        "ledger_insufficient_available",
    );
    x.s.post(
        "/api/v1/adjustments/nope/approve",
        Some(&t2.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
}

async fn cycle_count_posts_the_variance_on_approval(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 10, None).await;
    let c =
        x.s.post(
            "/api/v1/counts",
            Some(&x.sup.access),
            json!({"sku": "TEA-1", "location": "A-01-01-01"}),
        )
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{c:?}");
    let id = c.body["id"].as_str().expect("id").to_owned();
    x.s.post(
        &format!("/api/v1/counts/{id}/approve"),
        Some(&x.sup.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "count_not_counted");
    x.s.post(
        &format!("/api/v1/counts/{id}/count"),
        Some(&x.sup.access),
        json!({"counted": -1}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_quantity");
    let counted =
        x.s.post(
            &format!("/api/v1/counts/{id}/count"),
            Some(&x.sup.access),
            json!({"counted": 7}),
        )
        .await;
    assert_eq!(
        (
            counted.body["expected"].as_i64(),
            counted.body["variance"].as_i64()
        ),
        (Some(10), Some(-3)),
        "{counted:?}"
    );
    let ok =
        x.s.post(
            &format!("/api/v1/counts/{id}/approve"),
            Some(&x.sup.access),
            json!({}),
        )
        .await;
    assert_eq!(ok.body["status"], "approved", "{ok:?}");
    assert_eq!(total(&stock_of(&x, "TEA-1").await, "on_hand"), 7);
    let mv = x.s.get("/api/v1/movements?kind=count", &x.sup.access).await;
    assert_eq!(mv.body[0]["quantity"], 3);
    assert_eq!(mv.body[0]["from"], "A-01-01-01");
    x.s.post(
        &format!("/api/v1/counts/{id}/count"),
        Some(&x.sup.access),
        json!({"counted": 9}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "count_already_decided");
    let out = crate::ops::cli(&x.s, &["stock", "verify", "--tenant", "acme"], None);
    assert!(out.status.success(), "{out:?}");
}

async fn sku_csv_import_reports_every_bad_row(b: Backend) {
    let x = setup(b).await;
    let csv = "seller_sku,name,jan,lot_tracked,weight_g\n\
               NEW-1,煎茶,4901234111110,false,120\n\
               NEW-2,ほうじ茶,4901234111128,no,100\n\
               NEW-1,duplicate,,false,1\n\
               TEA-1,exists already,,false,1\n\
               NEW-3,,,false,1\n\
               NEW-4,heavy,,maybe,1\n\
               NEW-5,grams,,false,lots\n\
               NEW-6,\"抹茶, 缶入り\",4901234567894,true,80\n\
               NEW-7,ok,,yes,\n";
    let send = |body: &'static str| {
        x.s.http
            .post(x.s.url("/api/v1/skus/import"))
            .bearer_auth(&x.sup.access)
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    let r = send(csv).await.expect("import");
    assert_eq!(r.status(), StatusCode::OK);
    let report: Value = r.json().await.expect("json");
    assert_eq!(report["created"], 2, "{report}");
    let errs: Vec<(i64, String)> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap_or(0),
                e["code"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errs,
        vec![
            (2, "invalid_barcode".into()),
            (3, "duplicate_in_file".into()),
            (4, "conflict".into()),
            (5, "validation_failed".into()),
            (6, "validation_failed".into()),
            (7, "validation_failed".into()),
            (8, "conflict".into()),
        ],
        "{report}"
    );
    let skus = x.s.get("/api/v1/skus", &x.packer.access).await;
    let codes: Vec<&str> = skus
        .body
        .as_array()
        .expect("skus")
        .iter()
        .filter_map(|s| s["seller_sku"].as_str())
        .collect();
    assert!(
        codes.contains(&"NEW-1") && codes.contains(&"NEW-7") && !codes.contains(&"NEW-2"),
        "{codes:?}"
    );
    let bad = send("seller_sku,colour\nX,red\n").await.expect("import");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

async fn edits_are_versioned_and_locked_once_picking_starts(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 10, None).await;
    receive(&x, "TOWEL-1", "A-01-01-02", 10, None).await;
    let a = create_order(&x, "E-1", json!([{"sku": "TEA-1", "quantity": 1}])).await;
    let b2 = create_order(
        &x,
        "E-2",
        json!([{"sku": "TOWEL-1", "quantity": 2}, {"sku": "TEA-1", "quantity": 1}]),
    )
    .await;
    let v =
        x.s.get(&format!("/api/v1/orders/{a}"), &x.sup.access)
            .await
            .body["version"]
            .as_i64()
            .expect("version");
    let ok = x.s.call(Method::PATCH, &format!("/api/v1/orders/{a}"), Some(&x.sup.access), Some(json!({"version": v, "lines": [{"sku": "TEA-1", "quantity": 3}], "ship_by": date_in(2)}))).await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    assert_eq!(ok.body["lines"][0]["quantity"], 3);
    // The same stale version again: refused, nothing overwritten.
    x.s.call(
        Method::PATCH,
        &format!("/api/v1/orders/{a}"),
        Some(&x.sup.access),
        Some(json!({"version": v, "ship_by": date_in(5)})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "version_conflict");
    for id in [&a, &b2] {
        x.s.post(
            &format!("/api/v1/orders/{id}/allocate"),
            Some(&x.sup.access),
            json!({}),
        )
        .await;
    }
    // A batch pick list walks the bins once, in walk order, naming the order of each line.
    let pl =
        x.s.get(
            &format!("/api/v1/pick-lists?orders={a},{b2}"),
            &x.packer.access,
        )
        .await;
    let rows = pl.body.as_array().expect("pick list");
    assert_eq!(rows.len(), 3, "{pl:?}");
    assert_eq!(rows[0]["location"], "A-01-01-02");
    assert!(
        rows.iter()
            .any(|r| r["order"] == "E-1" && r["quantity"] == 3)
    );
    x.s.get("/api/v1/pick-lists?orders=nope", &x.packer.access)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    x.s.post(
        &format!("/api/v1/orders/{a}/pick"),
        Some(&x.packer.access),
        json!({}),
    )
    .await;
    let v =
        x.s.get(&format!("/api/v1/orders/{a}"), &x.sup.access)
            .await
            .body["version"]
            .as_i64()
            .expect("version");
    x.s.call(
        Method::PATCH,
        &format!("/api/v1/orders/{a}"),
        Some(&x.sup.access),
        Some(json!({"version": v, "ship_by": date_in(5)})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "order_locked");

    let skus = x.s.get("/api/v1/skus", &x.sup.access).await;
    let tea = skus
        .body
        .as_array()
        .expect("skus")
        .iter()
        .find(|s| s["seller_sku"] == "TEA-1")
        .cloned()
        .expect("tea");
    let (sid, sv) = (
        tea["id"].as_str().expect("id").to_owned(),
        tea["version"].as_i64().expect("version"),
    );
    let e = x.s.call(Method::PATCH, &format!("/api/v1/skus/{sid}"), Some(&x.sup.access), Some(json!({"version": sv, "name": "煎茶", "add_barcodes": [{"code": "036000291452", "kind": "upc"}]}))).await;
    assert_eq!(
        (e.status, e.body["name"].as_str()),
        (StatusCode::OK, Some("煎茶")),
        "{e:?}"
    );
    x.s.call(
        Method::PATCH,
        &format!("/api/v1/skus/{sid}"),
        Some(&x.sup.access),
        Some(json!({"version": sv, "name": "stale"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "version_conflict");
    // The new UPC scans as the SKU.
    let c = create_order(&x, "E-3", json!([{"sku": "TEA-1", "quantity": 1}])).await;
    x.s.post(
        &format!("/api/v1/orders/{c}/allocate"),
        Some(&x.sup.access),
        json!({}),
    )
    .await;
    x.s.post(
        &format!("/api/v1/orders/{c}/pick"),
        Some(&x.packer.access),
        json!({}),
    )
    .await;
    let p =
        x.s.post(
            &format!("/api/v1/orders/{c}/pack"),
            Some(&x.packer.access),
            json!({"barcode": "036000291452"}),
        )
        .await;
    assert_eq!(p.body["order_complete"], true, "{p:?}");
}

async fn receiving_against_an_inbound_shipment(b: Backend) {
    let x = setup(b).await;
    let asn = x.s.post("/api/v1/inbound", Some(&x.sup.access), json!({"reference": "ASN-001", "expected_on": date_in(1), "lines": [{"sku": "TEA-1", "quantity": 10}, {"sku": "CHOC-1", "quantity": 4}]})).await;
    assert_eq!(asn.status, StatusCode::CREATED, "{asn:?}");
    let id = asn.body["id"].as_str().expect("id").to_owned();
    x.s.post(
        "/api/v1/inbound",
        Some(&x.sup.access),
        json!({"reference": "ASN-001", "lines": [{"sku": "TEA-1", "quantity": 1}]}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, "conflict");
    let rcv = |sku: &str, qty: i64, extra: Value| {
        let mut body =
            json!({"sku": sku, "location": "RCV-01-01", "quantity": qty, "inbound_id": id});
        if let (Some(o), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        x.s.post("/api/v1/stock/receive", Some(&x.sup.access), body)
    };
    assert_eq!(
        rcv("TEA-1", 6, json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    rcv("TEA-1", 5, json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "over_receipt");
    rcv("TOWEL-1", 1, json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "not_on_inbound");
    assert_eq!(
        rcv("TEA-1", 4, json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        rcv("CHOC-1", 4, json!({"lot": "L-1", "expiry": date_in(100)}))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let v =
        x.s.get(&format!("/api/v1/inbound/{id}"), &x.sup.access)
            .await;
    assert_eq!(v.body["status"], "received", "{v:?}");
    rcv("TEA-1", 1, json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "inbound_closed");
    assert_eq!(total(&stock_of(&x, "TEA-1").await, "on_hand"), 10);
    // Putaway from the dock into a bin.
    let p = x.s.post("/api/v1/stock/move", Some(&x.sup.access), json!({"sku": "TEA-1", "from": "RCV-01-01", "to": "A-01-01-01", "quantity": 10, "putaway": true})).await;
    assert_eq!(p.status, StatusCode::NO_CONTENT, "{p:?}");
    let rows = stock_of(&x, "TEA-1").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["location"], "A-01-01-01");
}

async fn stock_verify_reports_a_balance_that_differs_from_its_ledger(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 10, None).await;
    let ok = crate::ops::cli(&x.s, &["stock", "verify", "--tenant", "acme"], None);
    assert!(ok.status.success(), "{ok:?}");
    // Someone edits a balance behind the ledger's back.
    x.s.exec_as_owner(
        x.tenant,
        &format!(
            "UPDATE stock_balances SET on_hand = 12 WHERE tenant_id = '{}'",
            x.tenant
        ),
    )
    .await;
    let bad = crate::ops::cli(&x.s, &["stock", "verify", "--tenant", "acme"], None);
    assert!(!bad.status.success());
    let text = String::from_utf8_lossy(&bad.stdout);
    assert!(
        text.contains("MISMATCH")
            && text.contains("stored on_hand 12")
            && text.contains("ledger on_hand 10"),
        "{text}"
    );
    // The ledger itself cannot be rewritten by the application role (append-only).
    if b == Backend::Sqlite {
        let url = format!("sqlite://{}", x.s.settings.sqlite_path().display());
        let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("sqlite");
        let upd = sqlx::Executor::execute(&mut c, "UPDATE stock_movements SET quantity = 1").await;
        assert!(upd.is_err(), "stock movements are immutable");
    }
}

/// Regression (PostgreSQL, found by the load generator): concurrent picks of the same SKUs onto the
/// one packing bench raced on creating its balance row (409) and could deadlock (500).
async fn concurrent_picks_onto_one_bench_all_succeed(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 40, None).await;
    receive(&x, "TOWEL-1", "A-01-01-02", 40, None).await;
    let mut ids = Vec::new();
    for i in 0..16 {
        // Half list TEA first, half TOWEL first: lock order must not depend on line order.
        let lines = if i % 2 == 0 {
            json!([{"sku": "TEA-1", "quantity": 1}, {"sku": "TOWEL-1", "quantity": 1}])
        } else {
            json!([{"sku": "TOWEL-1", "quantity": 1}, {"sku": "TEA-1", "quantity": 1}])
        };
        let id = create_order(&x, &format!("P-{i:02}"), lines).await;
        let a =
            x.s.post(
                &format!("/api/v1/orders/{id}/allocate"),
                Some(&x.sup.access),
                json!({}),
            )
            .await;
        assert_eq!(a.body["status"], "allocated", "{a:?}");
        ids.push(id);
    }
    let x = std::sync::Arc::new(x);
    let mut tasks = Vec::new();
    for id in ids {
        let x = x.clone();
        tasks.push(tokio::spawn(async move {
            x.s.post(
                &format!("/api/v1/orders/{id}/pick"),
                Some(&x.packer.access),
                json!({}),
            )
            .await
        }));
    }
    for t in tasks {
        let r = t.await.expect("join");
        assert_eq!(r.body["status"], "picking", "{r:?}");
    }
    let out = crate::ops::cli(&x.s, &["stock", "verify", "--tenant", "acme"], None);
    assert!(out.status.success(), "{out:?}");
}

/// Regression (PostgreSQL, found by the load generator): a dispatch that emptied the packing
/// bench's balance row deleted it while a concurrent pick waited for that row's lock; the pick then
/// updated nothing and its balance change was lost (ledger and balances disagreed).
async fn dispatch_emptying_the_bench_while_another_pick_arrives_loses_nothing(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 30, None).await;
    let mut ids = Vec::new();
    for i in 0..13 {
        let id = create_order(
            &x,
            &format!("R-{i:02}"),
            json!([{"sku": "TEA-1", "quantity": 1}]),
        )
        .await;
        let a =
            x.s.post(
                &format!("/api/v1/orders/{id}/allocate"),
                Some(&x.sup.access),
                json!({}),
            )
            .await;
        assert_eq!(a.body["status"], "allocated", "{a:?}");
        ids.push(id);
    }
    let pack = |id: String| {
        let x = &x;
        async move {
            let p =
                x.s.post(
                    &format!("/api/v1/orders/{id}/pack"),
                    Some(&x.packer.access),
                    json!({"barcode": "TEA-1"}),
                )
                .await;
            assert_eq!(p.body["status"], "packed", "{p:?}");
            let k =
                x.s.post(
                    &format!("/api/v1/orders/{id}/packages"),
                    Some(&x.packer.access),
                    json!({"box_type": "60", "weight_g": 300}),
                )
                .await;
            assert_eq!(k.status, StatusCode::CREATED, "{k:?}");
        }
    };
    x.s.post(
        &format!("/api/v1/orders/{}/pick", ids[0]),
        Some(&x.packer.access),
        json!({}),
    )
    .await;
    pack(ids[0].clone()).await;
    // Each round: the only unit on the bench leaves (its row goes to zero) while the next order's
    // unit is picked onto the bench.
    for w in ids.windows(2) {
        let (d, p) = (
            format!("/api/v1/orders/{}/dispatch", w[0]),
            format!("/api/v1/orders/{}/pick", w[1]),
        );
        let (dr, pr) = tokio::join!(
            x.s.post(&d, Some(&x.packer.access), json!({})),
            x.s.post(&p, Some(&x.packer.access), json!({}))
        );
        assert_eq!(dr.body["status"], "dispatched", "{dr:?}");
        assert_eq!(pr.body["status"], "picking", "{pr:?}");
        pack(w[1].clone()).await;
    }
    let out = crate::ops::cli(&x.s, &["stock", "verify", "--tenant", "acme"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let tea = stock_of(&x, "TEA-1").await;
    assert_eq!((total(&tea, "on_hand"), total(&tea, "reserved")), (18, 1));
}

/// Stock, order and change-feed reads are read snapshots: they answer while another transaction
/// holds the database for writing (SQLite: its one write lock; PostgreSQL: an exclusive lock on
/// the stock table), and see none of its uncommitted work. A denied read still writes its audit
/// event once the writer is done.
async fn reads_answer_while_a_writer_holds_the_database(b: Backend) {
    use sqlx::Connection;
    use std::time::Duration;
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 6, None).await;
    // The writer: a raw connection, outside the server's writer queue.
    let writer: Box<dyn std::any::Any> = match b {
        Backend::Sqlite => {
            let url = format!("sqlite://{}", x.s.settings.sqlite_path().display());
            let mut c = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
            sqlx::Executor::execute(
                &mut c,
                "BEGIN IMMEDIATE; UPDATE stock_balances SET on_hand = on_hand + 100",
            )
            .await
            .expect("hold the write lock");
            Box::new(c)
        }
        Backend::Postgres => {
            let url = x.s.settings.database_owner_url.clone().expect("owner url");
            let mut c = sqlx::PgConnection::connect(&url).await.expect("pg");
            sqlx::Executor::execute(
                &mut c,
                "BEGIN; LOCK TABLE stock_balances IN EXCLUSIVE MODE; UPDATE stock_balances SET on_hand = on_hand + 100",
            )
            .await
            .expect("hold the lock");
            Box::new(c)
        }
    };
    let read = |path: &'static str, token: String| {
        let s = &x.s;
        async move {
            tokio::time::timeout(Duration::from_secs(10), s.get(path, &token))
                .await
                .unwrap_or_else(|_| panic!("GET {path} waited for the writer"))
        }
    };
    let stock = read("/api/v1/stock?sku=TEA-1", x.sup.access.clone()).await;
    assert_eq!(stock.status, StatusCode::OK, "{stock:?}");
    assert_eq!(
        stock.body[0]["on_hand"], 6,
        "the writer's uncommitted change is not seen"
    );
    for path in [
        "/api/v1/orders",
        "/api/v1/changes",
        "/api/v1/skus",
        "/api/v1/movements",
    ] {
        let r = read(path, x.sup.access.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {r:?}");
    }
    // A packer may not read stock: the refusal is audited, in a write transaction that waits its
    // turn behind the writer.
    let release = async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(writer); // rolls back
    };
    let (denied, ()) = tokio::join!(x.s.get("/api/v1/stock", &x.packer.access), release);
    let status = denied.status;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        x.s.audit_actions(x.tenant)
            .await
            .contains(&"access_denied".to_owned())
    );
    let after = x.s.get("/api/v1/stock?sku=TEA-1", &x.sup.access).await;
    assert_eq!(after.body[0]["on_hand"], 6);
}

async fn stock_queries_filter_by_location_lot_expiry_and_low_stock(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 10, None).await;
    receive(&x, "TOWEL-1", "A-01-01-02", 2, None).await;
    receive(&x, "CHOC-1", "A-01-01-02", 5, Some(("LOT-NEAR", 20))).await;
    receive(&x, "CHOC-1", "A-01-01-01", 5, Some(("LOT-FAR", 300))).await;
    let q = |path: String| {
        let x = &x;
        async move {
            let r = x.s.get(&path, &x.sup.access).await;
            assert_eq!(r.status, StatusCode::OK, "{r:?}");
            r.body.as_array().cloned().unwrap_or_default()
        }
    };
    let by_bin = q("/api/v1/stock?location=A-01-01-02".into()).await;
    let mut skus: Vec<&str> = by_bin.iter().filter_map(|r| r["sku"].as_str()).collect();
    skus.sort_unstable();
    assert_eq!(skus, ["CHOC-1", "TOWEL-1"]);
    let by_lot = q("/api/v1/stock?batch=LOT-FAR".into()).await;
    assert_eq!(
        (by_lot.len(), by_lot[0]["location"].as_str()),
        (1, Some("A-01-01-01"))
    );
    let expiring = q(format!("/api/v1/stock?expiring_before={}", date_in(60))).await;
    assert_eq!(expiring.len(), 1);
    assert_eq!(expiring[0]["lot"], "LOT-NEAR");
    let both = q(format!(
        "/api/v1/stock?sku=CHOC-1&expiring_before={}",
        date_in(400)
    ))
    .await;
    assert_eq!(
        both.iter()
            .map(|r| r["lot"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["LOT-NEAR", "LOT-FAR"],
        "soonest first"
    );
    // A page of an expiry listing is the start of the whole listing, whatever its size: the
    // server lowers the date to the page's last expiry, which must never cut a row off (rows
    // sharing that expiry included, across SKUs and bins).
    receive(&x, "CHOC-1", "A-01-01-01", 3, Some(("LOT-TWIN", 20))).await;
    receive(&x, "CHOC-1", "A-01-01-02", 4, Some(("LOT-MID", 100))).await;
    let key = |r: &serde_json::Value| format!("{}/{}/{}", r["sku"], r["lot"], r["location"]);
    let all = q(format!(
        "/api/v1/stock?expiring_before={}&limit=1000",
        date_in(400)
    ))
    .await;
    assert_eq!(all.len(), 4, "{all:?}");
    for limit in 1..=5 {
        let page = q(format!(
            "/api/v1/stock?expiring_before={}&limit={limit}",
            date_in(400)
        ))
        .await;
        assert_eq!(
            page.iter().map(key).collect::<Vec<_>>(),
            all.iter().take(limit).map(key).collect::<Vec<_>>(),
            "limit {limit}"
        );
    }
    // Low stock: TOWEL (2 available) is at or below its level once the level is raised to 2.
    let skus_list = x.s.get("/api/v1/skus", &x.sup.access).await;
    let towel = skus_list
        .body
        .as_array()
        .expect("skus")
        .iter()
        .find(|s| s["seller_sku"] == "TOWEL-1")
        .cloned()
        .expect("towel");
    let e =
        x.s.call(
            Method::PATCH,
            &format!("/api/v1/skus/{}", towel["id"].as_str().expect("id")),
            Some(&x.sup.access),
            Some(json!({"version": towel["version"], "low_stock_level": 2})),
        )
        .await;
    assert_eq!(e.status, StatusCode::OK, "{e:?}");
    let low = q("/api/v1/stock?low_stock=true".into()).await;
    assert_eq!(
        low.iter()
            .filter_map(|r| r["sku"].as_str())
            .collect::<Vec<_>>(),
        ["TOWEL-1"]
    );
    assert!(q("/api/v1/stock?location=NOWHERE".into()).await.is_empty());
    x.s.get("/api/v1/stock?expiring_before=tomorrow", &x.sup.access)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    x.s.get("/api/v1/stock?colour=red", &x.sup.access)
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "bad_request");
}

async fn the_change_feed_lists_every_change_once_in_commit_order(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 100, None).await;
    let start = x.s.get("/api/v1/changes", &x.packer.access).await;
    assert_eq!(start.status, StatusCode::OK, "{start:?}");
    let cursor = start.body["head"].as_i64().expect("head");
    // 16 orders created concurrently.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16 {
        let (base, http, token) = (x.s.base.clone(), x.s.http.clone(), x.sup.access.clone());
        tasks.spawn(async move {
            let r = http
                .post(format!("{base}/api/v1/orders"))
                .bearer_auth(token)
                .json(&order_body(
                    &format!("FEED-{i}"),
                    json!([{"sku": "TEA-1", "quantity": 1}]),
                ))
                .send()
                .await
                .expect("create");
            assert_eq!(r.status(), StatusCode::CREATED);
            let v: Value = r.json().await.expect("json");
            v["id"].as_str().expect("id").to_owned()
        });
    }
    let mut created = Vec::new();
    while let Some(r) = tasks.join_next().await {
        created.push(r.expect("task"));
    }
    // Page through from the cursor, 5 at a time.
    let mut after = cursor;
    let mut seen: Vec<(i64, String, String)> = Vec::new();
    loop {
        let p =
            x.s.get(
                &format!("/api/v1/changes?after={after}&limit=5"),
                &x.packer.access,
            )
            .await;
        assert_eq!(p.status, StatusCode::OK, "{p:?}");
        let page = p.body["changes"].as_array().cloned().unwrap_or_default();
        if page.is_empty() {
            assert_eq!(p.body["next"], after);
            assert_eq!(p.body["head"], after, "caught up");
            break;
        }
        for c in &page {
            seen.push((
                c["seq"].as_i64().expect("seq"),
                c["entity"].as_str().unwrap_or("").to_owned(),
                c["id"].as_str().unwrap_or("").to_owned(),
            ));
        }
        after = p.body["next"].as_i64().expect("next");
    }
    // Dense and increasing: no gap a reader could skip, nothing twice.
    for (i, (seq, _, _)) in seen.iter().enumerate() {
        assert_eq!(*seq, cursor + 1 + i as i64, "{seen:?}");
    }
    for id in &created {
        assert_eq!(
            seen.iter()
                .filter(|(_, e, i)| e == "order" && i == id)
                .count(),
            1,
            "{id} once"
        );
    }
    // Further changes to one order appear after the cursor; a SKU edit too.
    let id = &created[0];
    x.s.post(
        &format!("/api/v1/orders/{id}/allocate"),
        Some(&x.sup.access),
        json!({}),
    )
    .await;
    let p =
        x.s.get(&format!("/api/v1/changes?after={after}"), &x.packer.access)
            .await;
    let page = p.body["changes"].as_array().cloned().unwrap_or_default();
    assert!(page.iter().any(|c| c["id"] == id.as_str()), "{p:?}");
    x.s.get("/api/v1/changes?limit=0", &x.packer.access)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    x.s.get("/api/v1/changes?after=-1", &x.packer.access)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Another tenant's feed is its own.
    let other = x.s.tenant("other").await;
    let op = x.s.user(other, "pk@other.example", Role::Packer).await;
    let ot = x.s.login("other", &op).await;
    let theirs = x.s.get("/api/v1/changes", &ot.access).await;
    assert_eq!(theirs.body["changes"], json!([]));
    assert_eq!(theirs.body["head"], 0);
}

/// `GET /api/v1/orders/views`: a page of whole orders, each exactly as `GET /api/v1/orders/{id}`
/// shows it (recipient masked), paged like the list; another tenant sees none of them.
async fn order_views_page_whole_orders_as_the_single_read_shows_them(b: Backend) {
    let x = setup(b).await;
    receive(&x, "TEA-1", "A-01-01-01", 50, None).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            create_order(
                &x,
                &format!("V-{i}"),
                json!([{"sku": "TEA-1", "quantity": 1}]),
            )
            .await,
        );
    }
    let page =
        x.s.get(
            "/api/v1/orders/views?status=received&limit=3",
            &x.packer.access,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{page:?}");
    let first = page.body.as_array().expect("array").clone();
    assert_eq!(first.len(), 3);
    for v in &first {
        let id = v["id"].as_str().expect("id");
        let single =
            x.s.get(&format!("/api/v1/orders/{id}"), &x.packer.access)
                .await;
        assert_eq!(
            &single.body, v,
            "the page shows the order as the single read does"
        );
    }
    let text = page.body.to_string();
    for pii in ["090-1234-5678", "丸の内1-9-1", "山田 太郎"] {
        assert!(!text.contains(pii), "recipient masked, {pii} not shown");
    }
    let last = first[2]["id"].as_str().expect("id");
    let rest =
        x.s.get(
            &format!("/api/v1/orders/views?status=received&limit=3&before={last}"),
            &x.packer.access,
        )
        .await;
    let rest = rest.body.as_array().expect("array").clone();
    assert_eq!(rest.len(), 2);
    let mut seen: Vec<String> = first
        .iter()
        .chain(&rest)
        .map(|v| v["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids, "every order once, newest first across pages");
    x.s.get("/api/v1/orders/views?limit=0", &x.packer.access)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let other = x.s.tenant("other").await;
    let osv =
        x.s.mfa_user("other", other, "sv@other.example", Role::Supervisor)
            .await;
    let otok = x.s.login("other", &osv).await;
    let theirs =
        x.s.get("/api/v1/orders/views?status=received", &otok.access)
            .await;
    assert_eq!(theirs.body, json!([]));
}

async fn created(x: &Setup, path: &str, body: Value) -> Value {
    let r = x.s.post(path, Some(&x.sup.access), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    r.body
}

/// `GET {list}` with each query: the ids of the items, in order; every item as the single read
/// (`{list}/{id}`) shows it.
async fn listed(x: &Setup, token: &str, list: &str, query: &str) -> Vec<String> {
    let r = x.s.get(&format!("{list}{query}"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{list}{query}: {r:?}");
    let mut ids = Vec::new();
    for item in r.body.as_array().expect("array") {
        let id = item["id"].as_str().expect("id").to_owned();
        let one = x.s.get(&format!("{list}/{id}"), token).await;
        assert_eq!(
            &one.body, item,
            "{list}: the list shows {id} as its read does"
        );
        ids.push(id);
    }
    ids
}

async fn inbound_returns_and_counts_are_listed_newest_first_per_tenant(b: Backend) {
    let x = setup(b).await;
    let tok = x.sup.access.as_str();
    // Inbound: ASN-1 fully received, ASN-2 still open.
    let asn1 = created(
        &x,
        "/api/v1/inbound",
        json!({"reference": "ASN-1", "lines": [{"sku": "TEA-1", "quantity": 3}]}),
    )
    .await;
    let asn1 = asn1["id"].as_str().expect("id").to_owned();
    let asn2 = created(&x, "/api/v1/inbound", json!({"reference": "ASN-2", "expected_on": date_in(2), "lines": [{"sku": "TEA-1", "quantity": 2}, {"sku": "TOWEL-1", "quantity": 5}]})).await;
    assert_eq!(asn2["status"], "open");
    assert_eq!(asn2["lines"][1]["sku"], "TOWEL-1");
    assert!(
        asn2["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let asn2 = asn2["id"].as_str().expect("id").to_owned();
    let r =
        x.s.post(
            "/api/v1/stock/receive",
            Some(tok),
            json!({"sku": "TEA-1", "location": "RCV-01-01", "quantity": 3, "inbound_id": asn1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    let inbound = "/api/v1/inbound";
    assert_eq!(
        listed(&x, tok, inbound, "").await,
        [asn2.as_str(), asn1.as_str()]
    );
    assert_eq!(
        listed(&x, tok, inbound, "?status=open").await,
        [asn2.as_str()]
    );
    assert_eq!(
        listed(&x, tok, inbound, "?status=received").await,
        [asn1.as_str()]
    );
    assert_eq!(listed(&x, tok, inbound, "?limit=1").await, [asn2.as_str()]);

    // Returns: one received (restocked), one expected. What POST answers is what GET shows.
    let ret1 = created(
        &x,
        "/api/v1/returns",
        json!({"reason_code": "unwanted", "lines": [{"sku": "TEA-1", "quantity": 1}]}),
    )
    .await;
    let ret1_id = ret1["id"].as_str().expect("id").to_owned();
    assert_eq!(
        x.s.get(&format!("/api/v1/returns/{ret1_id}"), tok)
            .await
            .body,
        ret1
    );
    assert_eq!(
        ret1["lines"],
        json!([{"line_no": 1, "sku": "TEA-1", "quantity": 1}])
    );
    let received =
        x.s.post(&format!("/api/v1/returns/{ret1_id}/receive"), Some(tok), json!({"disposition": "restock", "location": "A-01-01-02", "reason_code": "inspected_ok"}))
            .await;
    assert_eq!(received.body["status"], "restocked", "{received:?}");
    assert_eq!(received.body["lines"], ret1["lines"]);
    let ret2 = created(&x, "/api/v1/returns",
        json!({"reason_code": "damaged", "lines": [{"sku": "TOWEL-1", "quantity": 2}, {"sku": "TEA-1", "quantity": 1}]}),
    )
    .await;
    let ret2 = ret2["id"].as_str().expect("id").to_owned();
    let returns = "/api/v1/returns";
    assert_eq!(
        listed(&x, tok, returns, "").await,
        [ret2.as_str(), ret1_id.as_str()]
    );
    assert_eq!(
        listed(&x, tok, returns, "?status=expected").await,
        [ret2.as_str()]
    );
    assert_eq!(
        listed(&x, tok, returns, "?status=restocked&limit=1000").await,
        [ret1_id.as_str()]
    );
    assert!(
        listed(&x, tok, returns, "?status=disposed")
            .await
            .is_empty()
    );

    // Cycle counts: one counted, one open.
    receive(&x, "TOWEL-1", "A-01-01-01", 4, None).await;
    let mut counts = Vec::new();
    for sku in ["TEA-1", "TOWEL-1"] {
        let c = created(
            &x,
            "/api/v1/counts",
            json!({"sku": sku, "location": "A-01-01-01"}),
        )
        .await;
        assert!(
            c["created_at"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{c}"
        );
        counts.push(c["id"].as_str().expect("id").to_owned());
    }
    let r =
        x.s.post(
            &format!("/api/v1/counts/{}/count", counts[0]),
            Some(tok),
            json!({"counted": 9}),
        )
        .await;
    assert_eq!(r.body["status"], "counted", "{r:?}");
    let list = "/api/v1/counts";
    assert_eq!(
        listed(&x, tok, list, "").await,
        [counts[1].as_str(), counts[0].as_str()]
    );
    assert_eq!(
        listed(&x, tok, list, "?status=counted").await,
        [counts[0].as_str()]
    );
    assert_eq!(
        listed(&x, tok, list, "?status=open").await,
        [counts[1].as_str()]
    );

    // Refusals: an unknown status or a limit out of range is a 422 naming the allowed values;
    // an unknown parameter a 400; a packer 403 (audited).
    for (path, statuses) in [
        (inbound, "open, received"),
        (
            returns,
            "expected, received, restocked, quarantined, disposed",
        ),
        (list, "open, counted, approved, rejected"),
    ] {
        let r = x.s.get(&format!("{path}?status=closed"), tok).await;
        r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let detail = r.body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains(statuses) && detail.contains("`closed`"),
            "{detail}"
        );
        for limit in ["0", "1001"] {
            x.s.get(&format!("{path}?limit={limit}"), tok)
                .await
                .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        x.s.get(&format!("{path}?state=open"), tok)
            .await
            .assert_problem(StatusCode::BAD_REQUEST, "bad_request");
    }
    let denied = |actions: Vec<String>| actions.iter().filter(|a| *a == "access_denied").count();
    let before = denied(x.s.audit_actions(x.tenant).await);
    for path in [inbound, returns, list, &format!("{returns}/{ret2}")] {
        x.s.get(path, &x.packer.access)
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    assert_eq!(denied(x.s.audit_actions(x.tenant).await) - before, 4);

    // Another tenant sees none of these, and its own rows never appear here.
    let other = x.s.tenant("other").await;
    let osv =
        x.s.mfa_user("other", other, "sv@other.example", Role::Supervisor)
            .await;
    let otok = x.s.login("other", &osv).await.access;
    for path in [inbound, returns, list] {
        assert_eq!(x.s.get(path, &otok).await.body, json!([]), "{path}");
    }
    x.s.get(&format!("{returns}/{ret2}"), &otok)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    for (path, body) in [
        (
            "/api/v1/warehouses",
            json!({"code": "OSAKA1", "name": "大阪倉庫"}),
        ),
        (
            "/api/v1/skus",
            json!({"seller_sku": "TEA-1", "name": "緑茶"}),
        ),
        (
            "/api/v1/inbound",
            json!({"reference": "ASN-1", "lines": [{"sku": "TEA-1", "quantity": 1}]}),
        ),
        (
            "/api/v1/returns",
            json!({"reason_code": "unwanted", "lines": [{"sku": "TEA-1", "quantity": 1}]}),
        ),
    ] {
        let r = x.s.post(path, Some(&otok), body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    }
    assert_eq!(
        listed(&x, tok, inbound, "").await,
        [asn2.as_str(), asn1.as_str()]
    );
    assert_eq!(
        listed(&x, tok, returns, "").await,
        [ret2.as_str(), ret1_id.as_str()]
    );
    assert_eq!(listed(&x, &otok, inbound, "").await.len(), 1);
    assert_eq!(listed(&x, &otok, returns, "").await.len(), 1);
}
