//! Bad input never yields a 500 and changes nothing; replays are answered, not re-executed;
//! tampering is detected.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wms_core::role::Role;

use crate::both_backends;
use crate::harness::{Backend, TestServer};

both_backends!(
    malformed_requests_are_clear_4xx_problems,
    idempotency_keys_replay_and_refuse_reuse,
    audit_tampering_is_detected_by_verify,
    sealed_values_do_not_open_in_another_row,
    login_is_rate_limited_per_ip,
);

async fn malformed_requests_are_clear_4xx_problems(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let admin = s
        .mfa_user("acme", t, "admin@acme.example", Role::Admin)
        .await;
    let tok = s.login("acme", &admin).await;
    let send = |body: Vec<u8>, ct: &'static str| {
        let req = s
            .http
            .post(s.url("/api/v1/users"))
            .bearer_auth(&tok.access)
            .header("content-type", ct)
            .body(body);
        async move {
            let r = req.send().await.expect("send");
            let status = r.status();
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body: serde_json::Value = r.json().await.unwrap_or_default();
            (status, ct, body)
        }
    };
    let cases: Vec<(Vec<u8>, &'static str, StatusCode, &str)> = vec![
        (
            b"{not json".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            br#"{"email":"x@acme.example","role":"packer","admin":true}"#.to_vec(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            br#"{"email":"x@acme.example","role":"root"}"#.to_vec(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            br#"{"email":"not-an-email","role":"packer"}"#.to_vec(),
            "application/json",
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            br#"{"email":"x@acme.example","role":"packer"}"#.to_vec(),
            "text/plain",
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (body, ct, status, code) in cases {
        let (got, got_ct, problem) = send(body, ct).await;
        assert_eq!(
            (got, problem["code"].as_str().unwrap_or("")),
            (status, code),
            "{problem}"
        );
        assert_eq!(got_ct, "application/problem+json");
    }
    // An oversized body (just over the limit, so that the whole body is on the wire before the
    // server answers): 413. The server closes that connection, so it gets a client of its own.
    let tls = wms_server::tls::load_or_generate(&s.settings).expect("tls");
    let big = crate::harness::client_for(&tls, None)
        .post(s.url("/api/v1/users"))
        .bearer_auth(&tok.access)
        .header("content-type", "application/json")
        .body(vec![b' '; s.settings.max_body_bytes + 100])
        .send()
        .await
        .expect("send");
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let problem: serde_json::Value = big.json().await.unwrap_or_default();
    assert_eq!(problem["code"], "payload_too_large");
    let n = s
        .sql_in_tenant(t, "SELECT COUNT(*) FROM users WHERE tenant_id = $1")
        .await;
    assert_eq!(n[0][0], 1, "no user was created by any malformed request");
    // Unknown routes and methods are problems too.
    s.get("/api/v1/nope", &tok.access)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    s.call(Method::DELETE, "/api/v1/me", Some(&tok.access), None)
        .await
        .assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    // Bad query parameters on the audit log.
    s.get("/api/v1/audit?limit=100000", &tok.access)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

async fn idempotency_keys_replay_and_refuse_reuse(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let admin = s
        .mfa_user("acme", t, "admin@acme.example", Role::Admin)
        .await;
    let tok = s.login("acme", &admin).await;
    let body = json!({"email": "new@acme.example", "role": "packer"});
    let key = [("idempotency-key", "create-new-packer-1")];
    let first = s
        .call_with(
            Method::POST,
            "/api/v1/users",
            Some(&tok.access),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let again = s
        .call_with(
            Method::POST,
            "/api/v1/users",
            Some(&tok.access),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(
        again.body, first.body,
        "a replay returns the first response"
    );
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let n = s
        .sql_in_tenant(t, "SELECT COUNT(*) FROM users WHERE tenant_id = $1")
        .await;
    assert_eq!(n[0][0], 2, "the replay created nothing");
    // The same key with another body is refused and changes nothing.
    let other = s
        .call_with(
            Method::POST,
            "/api/v1/users",
            Some(&tok.access),
            Some(json!({"email": "other@acme.example", "role": "packer"})),
            &key,
        )
        .await;
    other.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    // Without a key the same request is a new request: a duplicate e-mail, 409.
    s.post("/api/v1/users", Some(&tok.access), body)
        .await
        .assert_problem(StatusCode::CONFLICT, "conflict");
    // An invalid key is refused.
    s.call_with(
        Method::POST,
        "/api/v1/auth/logout",
        Some(&tok.access),
        None,
        &[("idempotency-key", "")],
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "bad_request");
    // Login with a key: a retried login (lost response) returns the same session, not a second one.
    let packer = s.user(t, "p@acme.example", Role::Packer).await;
    let login = json!({"tenant": "acme", "email": packer.email, "password": packer.password});
    let lk = [("idempotency-key", "login-1")];
    let l1 = s
        .call_with(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(login.clone()),
            &lk,
        )
        .await;
    let l2 = s
        .call_with(Method::POST, "/api/v1/auth/login", None, Some(login), &lk)
        .await;
    assert_eq!(l1.status, StatusCode::OK);
    assert_eq!(l1.body["access_token"], l2.body["access_token"]);
    let sessions = s
        .get(
            "/api/v1/sessions",
            l1.body["access_token"].as_str().expect("token"),
        )
        .await;
    assert_eq!(sessions.body.as_array().map(Vec::len), Some(1));
    // Stored responses are sealed: no token in clear in the database.
    let raw = s.sql_in_tenant(t, "SELECT COUNT(*) FROM idempotency_keys WHERE tenant_id = $1 AND response_sealed IS NOT NULL").await;
    assert_eq!(raw[0][0], 2);
}

async fn audit_tampering_is_detected_by_verify(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let admin = s
        .mfa_user("acme", t, "admin@acme.example", Role::Admin)
        .await;
    let tok = s.login("acme", &admin).await;
    let v = s.get("/api/v1/audit/verify", &tok.access).await;
    assert_eq!(v.body["intact"], true, "{v:?}");
    let verified = v.body["verified"].as_i64().expect("count");
    assert!(verified >= 5);
    let page = s.get("/api/v1/audit?limit=2", &tok.access).await;
    assert_eq!(page.body["events"].as_array().map(Vec::len), Some(2));
    assert!(page.body["next_before"].is_i64());

    // An attacker with database access rewrites event 3 (turning a failure into a success, say).
    if b == Backend::Sqlite {
        s.exec_as_owner(t, "DROP TRIGGER audit_events_no_update")
            .await;
    }
    s.exec_as_owner(
        t,
        &format!(
            "UPDATE audit_events SET actor = 'someone-else' WHERE tenant_id = '{t}' AND seq = 3"
        ),
    )
    .await;
    let v = s.get("/api/v1/audit/verify", &tok.access).await;
    assert_eq!(v.body["intact"], false, "{v:?}");
    assert_eq!(v.body["broken_at_seq"], 3);

    // The CLI says the same, with a non-zero exit.
    let out = crate::ops::cli(&s, &["audit", "verify", "--tenant", "acme"], None);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BROKEN at event 3"), "{text}");
}

async fn sealed_values_do_not_open_in_another_row(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let a = s.user(t, "a@acme.example", Role::Packer).await;
    let bu = s.user(t, "b@acme.example", Role::Packer).await;
    // Stored sealed, not in clear.
    let clear = s
        .sql_in_tenant(
            t,
            "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND email_sealed = 'a@acme.example'",
        )
        .await;
    assert_eq!(clear[0][0], 0);
    // Copy a's sealed e-mail into b's row.
    s.exec_as_owner(t, &format!("UPDATE users SET email_sealed = (SELECT email_sealed FROM users WHERE tenant_id = '{t}' AND id = '{}') WHERE tenant_id = '{t}' AND id = '{}'", a.id, bu.id)).await;
    let mut tx_rows = s
        .sql_in_tenant(
            t,
            &format!(
                "SELECT id FROM users WHERE tenant_id = $1 AND id = '{}'",
                bu.id
            ),
        )
        .await;
    assert_eq!(
        tx_rows.pop().map(|r| r[0].clone()),
        Some(serde_json::Value::from(bu.id.clone()))
    );
    let keys = wms_server::keys::KeyStore::new(
        wms_server::keys::MasterKeys::load(&s.settings).expect("master"),
    );
    let opened = wms_server::admin_ops::open_user_email(&s.state.db, &keys, t, &bu.id).await;
    assert!(
        opened.is_err(),
        "a ciphertext moved to another row must not open: {opened:?}"
    );
    let own = wms_server::admin_ops::open_user_email(&s.state.db, &keys, t, &a.id).await;
    assert_eq!(own.ok().as_deref(), Some("a@acme.example"));
}

async fn login_is_rate_limited_per_ip(b: Backend) {
    let s = TestServer::start_with(b, |st| st.auth_rate_per_minute = 3).await;
    let t = s.tenant("acme").await;
    let u = s.user(t, "p@acme.example", Role::Packer).await;
    for _ in 0..3 {
        s.post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": u.email, "password": "wrong wrong wrong"}),
        )
        .await;
    }
    let r = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": u.email, "password": u.password}),
        )
        .await;
    r.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
}
