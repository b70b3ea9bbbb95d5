//! The privacy policy's retention and data-request promises (sections 8 and 11): expired closed
//! orders and audit events are deleted by the retention job (the chain still verifies), and an
//! admin's export / correct / delete requests are carried out at once and audited.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wms_core::ids::TenantId;
use wms_core::role::Role;

use crate::both_backends;
use crate::harness::{Backend, TestServer, Tokens, code_now};

both_backends!(
    retention_deletes_only_expired_closed_orders_and_keeps_the_chain_verifiable,
    data_requests_export_correct_and_erase_and_are_audited,
    data_requests_are_admin_only_step_up_and_tenant_scoped,
    retention_settings_are_validated_and_need_step_up,
    retention_runs_from_the_cli_and_at_server_start,
);

const DAY_MS: i64 = 86_400_000;

struct Setup {
    s: TestServer,
    tenant: TenantId,
    admin: Tokens,
    admin_totp: Vec<u8>,
    sup: Tokens,
    packer: Tokens,
}

async fn setup(b: Backend) -> Setup {
    let s = TestServer::start(b).await;
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
    seed_master_data(&s, &admin.access).await;
    Setup {
        tenant,
        admin,
        admin_totp: ad.totp.clone().expect("totp"),
        sup,
        packer,
        s,
    }
}

async fn seed_master_data(s: &TestServer, token: &str) {
    let r = s
        .post(
            "/api/v1/warehouses",
            Some(token),
            json!({"code": "TOKYO1", "name": "東京第一倉庫"}),
        )
        .await;
    assert!(r.status.is_success(), "{r:?}");
    let r = s
        .post(
            "/api/v1/skus",
            Some(token),
            json!({"seller_sku": "TEA-1", "name": "緑茶", "barcodes": [{"code": "4901234567894", "kind": "jan"}]}),
        )
        .await;
    assert!(r.status.is_success(), "{r:?}");
}

async fn create_order(s: &TestServer, token: &str, ext: &str) -> String {
    let r = s
        .post(
            "/api/v1/orders",
            Some(token),
            json!({
                "external_id": ext,
                "lines": [{"sku": "TEA-1", "quantity": 1}],
                "recipient": {"name": "山田 太郎", "postal_code": "1000005", "prefecture": "東京都", "city": "千代田区", "address1": "丸の内1-9-1", "phone": "090-1234-5678"}
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    r.body["id"].as_str().expect("id").to_owned()
}

async fn cancelled_order(s: &TestServer, token: &str, ext: &str) -> String {
    let id = create_order(s, token, ext).await;
    // With an Idempotency-Key: its stored response is a record retention covers too.
    let key = uuid::Uuid::new_v4().to_string();
    let r = s
        .call_with(
            Method::POST,
            &format!("/api/v1/orders/{id}/cancel"),
            Some(token),
            Some(json!({})),
            &[("Idempotency-Key", key.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    id
}

async fn count(s: &TestServer, t: TenantId, sql: &str) -> i64 {
    s.sql_in_tenant(t, sql).await[0][0].as_i64().expect("count")
}

/// A byte-string literal in the backend's SQL.
fn bytes_lit(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "'\\x00'::bytea",
    }
}

async fn retention_deletes_only_expired_closed_orders_and_keeps_the_chain_verifiable(b: Backend) {
    let x = setup(b).await;
    let (s, t, tok) = (&x.s, x.tenant, x.admin.access.as_str());
    let expired = cancelled_order(s, tok, "R-1").await;
    let recent = cancelled_order(s, tok, "R-2").await;
    let open = create_order(s, tok, "R-3").await;
    let feedback_due = cancelled_order(s, tok, "R-4").await;
    let shipped = cancelled_order(s, tok, "R-5").await;
    // Fulfilment rows hanging off two of them (written as the owner: the shortest way to the
    // shapes an Amazon dispatch leaves): a package with a label, a tracking milestone, and for
    // one an Amazon order whose shipment feedback is still pending.
    let now = wms_server::time::now_ms();
    let bl = bytes_lit(b);
    let mut sql = vec![format!(
        "INSERT INTO amazon_authorizations (tenant_id, id, selling_partner_id, marketplaces, lwa_client_id, secrets_sealed, warehouse_id, pii_recipient, pii_buyer_email, status, created_at, updated_at) \
         SELECT '{t}', 'auth-1', 'A1SELLER', 'A1VC38T7YXB528', 'amzn1.client', {bl}, id, 1, 0, 'active', {now}, {now} FROM warehouses WHERE tenant_id = '{t}'"
    )];
    for (order, amazon_id) in [(&feedback_due, "503-0000001"), (&shipped, "503-0000002")] {
        sql.push(format!("INSERT INTO packages (tenant_id, order_id, seq, box_type, weight_g, created_at, carrier, tracking_number, label_sealed) VALUES ('{t}', '{order}', 1, 'S', 500, {now}, 'yamato', '123456789012', {bl})"));
        sql.push(format!("INSERT INTO package_items (tenant_id, order_id, package_seq, line_no, quantity) VALUES ('{t}', '{order}', 1, 1, 1)"));
        sql.push(format!("INSERT INTO tracking_events (tenant_id, order_id, package_seq, kind, at_ms) VALUES ('{t}', '{order}', 1, 'delivered', {now})"));
        sql.push(format!("INSERT INTO amazon_orders (tenant_id, order_id, authorization_id, amazon_order_id, marketplace_id, amazon_status, last_updated_ms) VALUES ('{t}', '{order}', 'auth-1', '{amazon_id}', 'A1VC38T7YXB528', 'Shipped', {now})"));
    }
    sql.push(format!("INSERT INTO amazon_feedback (tenant_id, order_id, package_seq, authorization_id, amazon_order_id, request_json, status, next_attempt_at, created_at, updated_at) VALUES ('{t}', '{feedback_due}', 1, 'auth-1', '503-0000001', '{{}}', 'pending', {now}, {now}, {now})"));
    sql.push(format!("INSERT INTO amazon_feedback (tenant_id, order_id, package_seq, authorization_id, amazon_order_id, request_json, status, next_attempt_at, created_at, updated_at, confirmed_at) VALUES ('{t}', '{shipped}', 1, 'auth-1', '503-0000002', '{{}}', 'confirmed', {now}, {now}, {now}, {now})"));
    // Everything but `recent` last changed 100 days ago.
    let old = now - 100 * DAY_MS;
    sql.push(format!(
        "UPDATE orders SET updated_at = {old} WHERE tenant_id = '{t}' AND id <> '{recent}'"
    ));
    for q in sql {
        s.exec_as_owner(t, &q).await;
    }

    let r = wms_server::retention::run_tenant(&s.state, t, now, "cli")
        .await
        .expect("retention");
    assert_eq!(
        (
            r.orders_deleted,
            r.orders_kept_feedback,
            r.orders_kept_return
        ),
        (2, 1, 0),
        "{r:?}"
    );
    assert_eq!(r.audit_events_removed, 0, "nothing is 90 days old yet");
    let left: Vec<String> = s
        .sql_in_tenant(t, "SELECT id FROM orders WHERE tenant_id = $1 ORDER BY id")
        .await
        .into_iter()
        .map(|r| r[0].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut kept = vec![recent.clone(), open.clone(), feedback_due.clone()];
    kept.sort();
    assert_eq!(left, kept);
    for table in [
        "order_lines",
        "packages",
        "package_items",
        "tracking_events",
        "amazon_orders",
        "amazon_feedback",
    ] {
        let q = format!(
            "SELECT COUNT(*) FROM {table} WHERE tenant_id = $1 AND order_id IN ('{expired}', '{shipped}')"
        );
        assert_eq!(count(s, t, &q).await, 0, "{table}");
    }
    assert_eq!(
        count(
            s,
            t,
            &format!(
                "SELECT COUNT(*) FROM packages WHERE tenant_id = $1 AND order_id = '{feedback_due}'"
            )
        )
        .await,
        1
    );
    // Workstations learn of the deletion through the change feed (a tombstone).
    assert_eq!(
        count(
            s,
            t,
            &format!("SELECT COUNT(*) FROM changes WHERE tenant_id = $1 AND entity_id = '{expired}' AND op = 'delete'")
        )
        .await,
        1
    );
    let gone = s.get(&format!("/api/v1/orders/{expired}"), tok).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{gone:?}");
    // One audit event per run, counts only.
    let runs = s
        .sql_in_tenant(
            t,
            "SELECT detail FROM audit_events WHERE tenant_id = $1 AND action = 'retention_run'",
        )
        .await;
    assert_eq!(runs.len(), 1);
    let detail = runs[0][0].as_str().unwrap_or_default();
    assert!(detail.contains("2 orders deleted"), "{detail}");
    assert!(!detail.contains(&expired), "{detail}");

    // A second run finds nothing more.
    let again = wms_server::retention::run_tenant(&s.state, t, now, "cli")
        .await
        .expect("retention");
    assert_eq!(again.orders_deleted, 0, "{again:?}");

    // 200 days on: the recent order has expired too, the one waiting for Amazon has not, and every
    // audit event but the newest is past the audit retention. The chain still verifies from its
    // anchor.
    let events_before = count(
        s,
        t,
        "SELECT COUNT(*) FROM audit_events WHERE tenant_id = $1",
    )
    .await;
    let later = now + 200 * DAY_MS;
    let r = wms_server::retention::run_tenant(&s.state, t, later, "cli")
        .await
        .expect("retention");
    assert_eq!((r.orders_deleted, r.orders_kept_feedback), (1, 1), "{r:?}");
    assert_eq!(r.audit_events_removed as i64, events_before - 1, "{r:?}");
    // Stored idempotent responses, ended sessions (their refresh expired more than 90 days
    // before) and data-request records past retention go too.
    assert!(r.idempotency_keys_removed >= 4, "{r:?}");
    assert!(r.sessions_removed >= 3, "{r:?}");
    for table in ["idempotency_keys", "sessions", "refresh_tokens"] {
        let q = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1");
        assert_eq!(count(s, t, &q).await, 0, "{table}");
    }
    let report = wms_server::admin_ops::verify_audit(&s.state, "acme")
        .await
        .expect("verify");
    assert!(report.broken.is_none(), "{report:?}");
    assert_eq!(report.verified, 2, "the newest kept event and this run's");
    let again = wms_server::retention::run_tenant(&s.state, t, later, "cli")
        .await
        .expect("retention");
    // Nothing more to delete; of the audit log only the event the previous run left before its own.
    assert_eq!(
        (again.orders_deleted, again.audit_events_removed),
        (0, 1),
        "{again:?}"
    );
    let report = wms_server::admin_ops::verify_audit(&s.state, "acme")
        .await
        .expect("verify");
    assert!(report.broken.is_none(), "{report:?}");
    let out = crate::ops::cli(s, &["audit", "verify", "--tenant", "acme"], None);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("removed by retention"),
        "{out:?}"
    );
    if b == Backend::Postgres {
        // Only the owner's prune_audit_events writes the anchor: the application role cannot
        // move it past events it would like to hide.
        let mut tx = s.state.db.pool().begin().await.expect("begin");
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(t.to_string())
            .execute(&mut *tx)
            .await
            .expect("set");
        let moved = sqlx::query("UPDATE audit_anchors SET seq = seq + 1")
            .execute(&mut *tx)
            .await;
        assert!(
            moved.is_err(),
            "the application role must not move the anchor"
        );
        tx.rollback().await.ok();
    }
    // Removing one more event than retention did is still a broken link.
    let first: i64 = count(
        s,
        t,
        "SELECT MIN(seq) FROM audit_events WHERE tenant_id = $1",
    )
    .await;
    s.exec_as_owner(
        t,
        &format!("DELETE FROM audit_events WHERE tenant_id = '{t}' AND seq = {first}"),
    )
    .await;
    let report = wms_server::admin_ops::verify_audit(&s.state, "acme")
        .await
        .expect("verify");
    assert!(report.broken.is_some(), "{report:?}");
    // The ledger is untouched by retention.
    assert!(
        wms_server::admin_ops::verify_stock(&s.state, "acme")
            .await
            .expect("stock verify")
            .is_empty()
    );
}

async fn data_request(s: &TestServer, token: &str, body: Value) -> crate::harness::Resp {
    s.post("/api/v1/data-requests", Some(token), body).await
}

async fn data_requests_export_correct_and_erase_and_are_audited(b: Backend) {
    let x = setup(b).await;
    let (s, t, tok) = (&x.s, x.tenant, x.admin.access.as_str());
    let id = create_order(s, tok, "D-1").await;

    let r = data_request(
        s,
        tok,
        json!({"kind": "export", "order_id": id, "reason": "customer asked by e-mail; identity checked"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(r.body["export"]["recipient"]["name"], "山田 太郎", "{r:?}");
    assert_eq!(r.body["export"]["lines"][0]["quantity"], 1);
    assert_eq!(r.body["request"]["status"], "done");
    assert!(
        s.audit_actions(t)
            .await
            .contains(&"data_exported".to_owned())
    );

    let r = data_request(
        s,
        tok,
        json!({"kind": "correct", "order_id": id, "reason": "new address",
               "recipient": {"name": "佐藤 花子", "postal_code": "530-0001", "prefecture": "大阪府", "city": "大阪市北区", "address1": "梅田1-1-1"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    let full = s.get(&format!("/api/v1/orders/{id}/recipient"), tok).await;
    assert_eq!(full.body["name"], "佐藤 花子", "{full:?}");
    assert_eq!(full.body["prefecture"], "大阪府");
    let o = s.get(&format!("/api/v1/orders/{id}"), tok).await;
    assert_eq!(o.body["recipient_masked"]["name"], "佐***", "{o:?}");
    assert_eq!(o.body["recipient_masked"]["postal_code"], "530-****");
    assert!(
        s.audit_actions(t)
            .await
            .contains(&"data_corrected".to_owned())
    );

    let r = data_request(
        s,
        tok,
        json!({"kind": "delete", "order_id": id, "reason": "erasure request, verified"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert!(r.body.get("export").is_none());
    s.get(&format!("/api/v1/orders/{id}/recipient"), tok)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "pii_purged");
    let o = s.get(&format!("/api/v1/orders/{id}"), tok).await;
    assert_eq!(o.body["recipient_pii"], "purged", "{o:?}");
    assert_eq!(o.body["recipient_masked"]["prefecture"], "大阪府");
    assert_eq!(
        count(
            s,
            t,
            &format!("SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND id = '{id}' AND recipient_sealed IS NULL")
        )
        .await,
        1
    );
    assert!(s.audit_actions(t).await.contains(&"data_erased".to_owned()));
    // Erasing again is harmless; correcting an erased recipient is refused and changes nothing.
    let r = data_request(
        s,
        tok,
        json!({"kind": "delete", "order_id": id, "reason": "repeat"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert!(
        r.body["request"]["result"]
            .as_str()
            .unwrap_or_default()
            .contains("no recipient PII held")
    );
    data_request(
        s,
        tok,
        json!({"kind": "correct", "order_id": id, "reason": "too late",
               "recipient": {"name": "佐藤 花子", "postal_code": "530-0001", "prefecture": "大阪府", "city": "大阪市北区", "address1": "梅田1-1-1"}}),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "pii_purged");

    // The list: newest first, due 30 days after verification, no personal data.
    let list = s.get("/api/v1/data-requests", tok).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    let rows = list.body.as_array().expect("array");
    let kinds: Vec<&str> = rows.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds, ["delete", "delete", "correct", "export"]);
    let v = time::OffsetDateTime::parse(
        rows[0]["verified_at"].as_str().expect("verified_at"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339");
    let due = time::OffsetDateTime::parse(
        rows[0]["due_by"].as_str().expect("due_by"),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("rfc3339");
    assert_eq!(due - v, time::Duration::days(30));
    let text = list.body.to_string();
    for pii in ["山田", "佐藤", "梅田", "090-1234-5678"] {
        assert!(!text.contains(pii), "{pii} in {text}");
    }
    let stored = s
        .sql_in_tenant(
            t,
            "SELECT result, reason FROM data_requests WHERE tenant_id = $1",
        )
        .await;
    assert!(!format!("{stored:?}").contains("佐藤"));
}

async fn data_requests_are_admin_only_step_up_and_tenant_scoped(b: Backend) {
    let x = setup(b).await;
    let (s, t, tok) = (&x.s, x.tenant, x.admin.access.as_str());
    let id = create_order(s, tok, "D-2").await;
    let erase = json!({"kind": "delete", "order_id": id, "reason": "verified request"});
    let requests = "SELECT COUNT(*) FROM data_requests WHERE tenant_id = $1";

    // Supervisors and packers: 403 and an access_denied event.
    for who in [&x.sup.access, &x.packer.access] {
        data_request(s, who, erase.clone())
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
        s.get("/api/v1/data-requests", who)
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    let denied = s
        .audit_actions(t)
        .await
        .iter()
        .filter(|a| *a == "access_denied")
        .count();
    assert!(denied >= 2, "{denied}");

    // Malformed and invalid requests: clear 4xx, nothing done.
    let raw = s
        .http
        .post(s.url("/api/v1/data-requests"))
        .bearer_auth(tok)
        .header("content-type", "application/json")
        .body("{\"kind\": \"delete\",")
        .send()
        .await
        .expect("request");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: Value = raw.json().await.expect("problem");
    assert_eq!(body["code"], "bad_request");
    for bad in [
        json!({"kind": "erase", "order_id": id, "reason": "x"}),
        json!({"kind": "delete", "order_id": id}),
        json!({"kind": "delete", "order_id": id, "reason": "   "}),
        json!({"kind": "correct", "order_id": id, "reason": "no recipient given"}),
        json!({"kind": "delete", "order_id": id, "reason": "x", "tenant": "globex"}),
        json!({"kind": "correct", "order_id": id, "reason": "bad postal code",
               "recipient": {"name": "佐藤 花子", "postal_code": "53", "prefecture": "大阪府", "city": "大阪市北区", "address1": "梅田1-1-1"}}),
    ] {
        let r = data_request(s, tok, bad.clone()).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad} -> {r:?}");
    }
    assert_eq!(count(s, t, requests).await, 0);

    // Another tenant's order: 404, and that order keeps its recipient.
    let g = s.tenant("globex").await;
    let gad = s
        .mfa_user("globex", g, "admin@globex.example", Role::Admin)
        .await;
    let gtok = s.login("globex", &gad).await;
    seed_master_data(s, &gtok.access).await;
    let foreign = create_order(s, &gtok.access, "G-1").await;
    data_request(
        s,
        tok,
        json!({"kind": "delete", "order_id": foreign, "reason": "not ours"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    data_request(
        s,
        tok,
        json!({"kind": "export", "order_id": foreign, "reason": "not ours"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    let theirs = s
        .get(&format!("/api/v1/orders/{foreign}/recipient"), &gtok.access)
        .await;
    assert_eq!(theirs.body["name"], "山田 太郎", "{theirs:?}");
    assert_eq!(count(s, g, requests).await, 0);

    // Without a fresh step-up: refused, then allowed after one.
    s.age_step_up(t).await;
    data_request(s, tok, erase.clone())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "step_up_required");
    assert_eq!(count(s, t, requests).await, 0);
    let mine = s.get(&format!("/api/v1/orders/{id}/recipient"), tok).await;
    assert_eq!(mine.body["name"], "山田 太郎", "{mine:?}");
    let v = s
        .post(
            "/api/v1/auth/mfa/verify",
            Some(tok),
            json!({"code": code_now(&x.admin_totp, 1)}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");
    let r = data_request(s, tok, erase).await;
    assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
    assert_eq!(count(s, t, requests).await, 1);
}

async fn retention_settings_are_validated_and_need_step_up(b: Backend) {
    let x = setup(b).await;
    let (s, t, tok) = (&x.s, x.tenant, x.admin.access.as_str());
    let path = "/api/v1/settings/retention";
    let r = s.get(path, tok).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body, json!({"business_days": 90, "audit_days": 90}));
    s.get(path, &x.sup.access)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    for bad in [
        json!({"business_days": 29, "audit_days": 90}),
        json!({"business_days": 90, "audit_days": 3651}),
        json!({"business_days": -1, "audit_days": 90}),
        json!({"business_days": 90}),
        json!({"business_days": "90", "audit_days": 90}),
        json!({"business_days": 90, "audit_days": 90, "tenant": "globex"}),
    ] {
        let r = s
            .call(Method::PUT, path, Some(tok), Some(bad.clone()))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad} -> {r:?}");
        assert_eq!(r.code(), "validation_failed");
    }
    let r = s.get(path, tok).await;
    assert_eq!(r.body["business_days"], 90);
    let r = s
        .call(
            Method::PUT,
            path,
            Some(tok),
            Some(json!({"business_days": 120, "audit_days": 365})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        s.get(path, tok).await.body,
        json!({"business_days": 120, "audit_days": 365})
    );
    assert!(
        s.audit_actions(t)
            .await
            .contains(&"retention_changed".to_owned())
    );
    s.call(
        Method::PUT,
        path,
        Some(&x.sup.access),
        Some(json!({"business_days": 30, "audit_days": 30})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    s.age_step_up(t).await;
    s.call(
        Method::PUT,
        path,
        Some(tok),
        Some(json!({"business_days": 30, "audit_days": 30})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "step_up_required");
    assert_eq!(s.get(path, tok).await.body["business_days"], 120);
    // The job follows the stored setting: an order closed 100 days ago is within 120 days.
    let id = cancelled_order(s, tok, "S-1").await;
    let now = wms_server::time::now_ms();
    s.exec_as_owner(
        t,
        &format!(
            "UPDATE orders SET updated_at = {} WHERE tenant_id = '{t}' AND id = '{id}'",
            now - 100 * DAY_MS
        ),
    )
    .await;
    let r = wms_server::retention::run_tenant(&s.state, t, now, "cli")
        .await
        .expect("retention");
    assert_eq!(r.orders_deleted, 0, "{r:?}");
    let r = wms_server::retention::run_tenant(&s.state, t, now + 30 * DAY_MS, "cli")
        .await
        .expect("retention");
    assert_eq!(r.orders_deleted, 1, "{r:?}");
}

async fn aged_cancelled_order(s: &TestServer, t: TenantId, token: &str, ext: &str) -> String {
    let id = cancelled_order(s, token, ext).await;
    let old = wms_server::time::now_ms() - 100 * DAY_MS;
    s.exec_as_owner(
        t,
        &format!("UPDATE orders SET updated_at = {old} WHERE tenant_id = '{t}' AND id = '{id}'"),
    )
    .await;
    id
}

async fn retention_runs_from_the_cli_and_at_server_start(b: Backend) {
    let mut x = setup(b).await;
    let t = x.tenant;
    let tok = x.admin.access.clone();
    let id = aged_cancelled_order(&x.s, t, &tok, "C-1").await;
    let orders =
        |id: &str| format!("SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND id = '{id}'");
    let out = crate::ops::cli(&x.s, &["retention", "run", "--tenant", "acme"], None);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tenant acme: 1 orders deleted"), "{stdout}");
    assert_eq!(count(&x.s, t, &orders(&id)).await, 0);
    let unknown = crate::ops::cli(&x.s, &["retention", "run", "--tenant", "nope"], None);
    assert!(!unknown.status.success(), "{unknown:?}");
    let by = "SELECT actor FROM audit_events WHERE tenant_id = $1 AND action = 'retention_run' ORDER BY seq";
    assert_eq!(x.s.sql_in_tenant(t, by).await, vec![vec![json!("cli")]]);

    // The server runs it once at start (and then hourly).
    let id = aged_cancelled_order(&x.s, t, &tok, "C-2").await;
    x.s.settings.retention_interval_secs = 3600;
    x.s.crash_and_restart().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let runs = x.s.sql_in_tenant(t, by).await;
        if runs.len() == 2 {
            assert_eq!(runs[1], vec![json!("system")]);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no retention run at start: {runs:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(count(&x.s, t, &orders(&id)).await, 0);
}
