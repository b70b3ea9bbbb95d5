//! Authentication and MFA, end to end over TLS, with their failure twins.

use reqwest::{Method, StatusCode};
use serde_json::json;
use wms_core::role::Role;

use crate::both_backends;
use crate::harness::{Backend, TestServer, code_now};

both_backends!(
    packer_logs_in_reads_me_and_logs_out,
    wrong_password_and_unknown_user_look_the_same_and_are_audited,
    supervisor_must_enrol_mfa_then_totp_is_required_and_single_use,
    refresh_rotates_and_reuse_revokes_the_family,
    expired_and_revoked_tokens_are_refused,
    repeated_failures_lock_the_account,
    one_time_password_must_be_changed_first,
    packer_cannot_reach_admin_endpoints,
    step_up_is_required_for_role_changes,
);

async fn packer_logs_in_reads_me_and_logs_out(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let u = s.user(t, "Packer@Acme.example", Role::Packer).await;
    let tok = s.login("acme", &u).await;
    let me = s.get("/api/v1/me", &tok.access).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(me.body["email"], "packer@acme.example");
    assert_eq!(me.body["role"], "packer");
    assert_eq!(me.body["tenant"], "acme");
    let sessions = s.get("/api/v1/sessions", &tok.access).await;
    assert_eq!(sessions.body.as_array().map(Vec::len), Some(1));
    assert_eq!(sessions.body[0]["current"], true);
    let out = s
        .call(Method::POST, "/api/v1/auth/logout", Some(&tok.access), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    s.get("/api/v1/me", &tok.access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    // No token, a malformed header, a token of another kind: all 401 problems.
    s.call(Method::GET, "/api/v1/me", None, None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    s.get("/api/v1/me", "garbage")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    s.get("/api/v1/me", &tok.refresh)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    let actions = s.audit_actions(t).await;
    assert!(
        actions.contains(&"login_ok".to_owned()) && actions.contains(&"logout".to_owned()),
        "{actions:?}"
    );
}

async fn wrong_password_and_unknown_user_look_the_same_and_are_audited(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let u = s.user(t, "p@acme.example", Role::Packer).await;
    let wrong = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": u.email, "password": "not the password at all"}),
        )
        .await;
    wrong.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let unknown = s.post("/api/v1/auth/login", None, json!({"tenant": "acme", "email": "nobody@acme.example", "password": "whatever whatever"})).await;
    unknown.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let no_tenant = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "nope", "email": u.email, "password": u.password}),
        )
        .await;
    no_tenant.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
    let actions = s.audit_actions(t).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "login_failed").count(),
        2,
        "{actions:?}"
    );
}

async fn supervisor_must_enrol_mfa_then_totp_is_required_and_single_use(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let u = s.user(t, "sv@acme.example", Role::Supervisor).await;
    let r = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": u.email, "password": u.password}),
        )
        .await;
    r.assert_problem(StatusCode::FORBIDDEN, "mfa_enrollment_required");
    let enrol = r.body["enrollment_token"]
        .as_str()
        .expect("enrollment token")
        .to_owned();
    // The enrolment token reaches nothing but enrolment: a supervisor without MFA is refused.
    s.get("/api/v1/sessions", &enrol)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "mfa_enrollment_required");
    let e = s
        .post("/api/v1/auth/mfa/enroll", Some(&enrol), json!({}))
        .await;
    assert_eq!(e.status, StatusCode::OK, "{e:?}");
    assert!(
        e.body["otpauth_uri"]
            .as_str()
            .unwrap_or("")
            .starts_with("otpauth://totp/")
    );
    assert!(e.body["qr_svg"].as_str().unwrap_or("").contains("<svg"));
    let secret = wms_core::totp::secret_from_base32(e.body["secret"].as_str().expect("secret"))
        .expect("b32");
    s.post(
        "/api/v1/auth/mfa/verify",
        Some(&enrol),
        json!({"code": "000000"}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "mfa_invalid");
    let v = s
        .post(
            "/api/v1/auth/mfa/verify",
            Some(&enrol),
            json!({"code": code_now(&secret, 0)}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");

    let base = json!({"tenant": "acme", "email": u.email, "password": u.password});
    s.post("/api/v1/auth/login", None, base.clone())
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "mfa_required");
    let mut wrong = base.clone();
    wrong["totp"] = json!("123456");
    let w = s.post("/api/v1/auth/login", None, wrong).await;
    if w.status != StatusCode::OK {
        w.assert_problem(StatusCode::UNAUTHORIZED, "mfa_invalid");
    }
    let mut good = base.clone();
    good["totp"] = json!(code_now(&secret, 1));
    let ok = s.post("/api/v1/auth/login", None, good.clone()).await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    // The same code again is a replay, even though it is still inside the time window.
    s.post("/api/v1/auth/login", None, good)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "mfa_replayed");
    let tok = ok.body["access_token"].as_str().expect("token");
    assert_eq!(s.get("/api/v1/sessions", tok).await.status, StatusCode::OK);
    let actions = s.audit_actions(t).await;
    for a in [
        "mfa_enrol_started",
        "mfa_enrolled",
        "mfa_failed",
        "mfa_replayed",
        "access_denied",
        "login_ok",
    ] {
        assert!(actions.iter().any(|x| x == a), "missing {a} in {actions:?}");
    }
}

async fn refresh_rotates_and_reuse_revokes_the_family(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let u = s.user(t, "p@acme.example", Role::Packer).await;
    let tok = s.login("acme", &u).await;
    let r1 = s
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": tok.refresh}),
        )
        .await;
    assert_eq!(r1.status, StatusCode::OK, "{r1:?}");
    let new_access = r1.body["access_token"].as_str().expect("access").to_owned();
    let new_refresh = r1.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_ne!(new_refresh, tok.refresh);
    assert_eq!(
        s.get("/api/v1/me", &new_access).await.status,
        StatusCode::OK
    );
    // The old refresh token, used a second time: the whole family dies.
    s.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": tok.refresh}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    s.get("/api/v1/me", &new_access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    s.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": new_refresh}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    s.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": "wrt_x"}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    assert!(
        s.audit_actions(t)
            .await
            .contains(&"refresh_reuse_detected".to_owned())
    );
}

async fn expired_and_revoked_tokens_are_refused(b: Backend) {
    let s = TestServer::start_with(b, |st| st.access_token_ttl_secs = 1).await;
    let t = s.tenant("acme").await;
    let u = s.user(t, "p@acme.example", Role::Packer).await;
    let a = s.login("acme", &u).await;
    let other = s.login("acme", &u).await;
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    s.get("/api/v1/me", &a.access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "token_expired");
    // A fresh login, then revoke the other session by id: its token stops working at once.
    let c = s
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": a.refresh}),
        )
        .await;
    let c_access = c.body["access_token"].as_str().expect("access").to_owned();
    let list = s.get("/api/v1/sessions", &c_access).await;
    let other_id = list
        .body
        .as_array()
        .expect("list")
        .iter()
        .find(|x| x["current"] == false)
        .expect("other")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let del = s
        .call(
            Method::DELETE,
            &format!("/api/v1/sessions/{other_id}"),
            Some(&c_access),
            None,
        )
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{del:?}");
    s.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": other.refresh}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    let actions = s.audit_actions(t).await;
    assert!(
        actions.contains(&"session_revoked".to_owned())
            && actions.contains(&"access_denied".to_owned()),
        "{actions:?}"
    );
}

async fn repeated_failures_lock_the_account(b: Backend) {
    let s = TestServer::start_with(b, |st| {
        st.lockout_threshold = 3;
        st.lockout_base_secs = 60;
    })
    .await;
    let t = s.tenant("acme").await;
    let u = s.user(t, "p@acme.example", Role::Packer).await;
    for _ in 0..3 {
        s.post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": u.email, "password": "wrong wrong wrong"}),
        )
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    // Even the right password is refused while the lock holds.
    let r = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": u.email, "password": u.password}),
        )
        .await;
    r.assert_problem(StatusCode::LOCKED, "account_locked");
    let retry: i64 = r
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((50..=60).contains(&retry), "retry-after {retry}");
    assert!(s.audit_actions(t).await.contains(&"lockout".to_owned()));
}

async fn one_time_password_must_be_changed_first(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let (_, otp) = wms_server::accounts::create_user(
        &s.state.db,
        &s.state.keys,
        &s.state.hasher,
        t,
        "new@acme.example",
        Role::Packer,
        None,
        "test",
    )
    .await
    .expect("user");
    let otp = otp.expect("one-time password").to_string();
    let r = s
        .post(
            "/api/v1/auth/login",
            None,
            json!({"tenant": "acme", "email": "new@acme.example", "password": otp}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["password_change_required"], true);
    let tok = r.body["access_token"].as_str().expect("token").to_owned();
    s.get("/api/v1/sessions", &tok)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "password_change_required");
    assert_eq!(s.get("/api/v1/me", &tok).await.status, StatusCode::OK);
    let weak = s
        .post(
            "/api/v1/auth/password",
            Some(&tok),
            json!({"current_password": otp, "new_password": "password1234"}),
        )
        .await;
    weak.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "weak_password");
    let bad = s.post("/api/v1/auth/password", Some(&tok), json!({"current_password": "not it at all", "new_password": "a much better passphrase"})).await;
    bad.assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let ok = s
        .post(
            "/api/v1/auth/password",
            Some(&tok),
            json!({"current_password": otp, "new_password": "a much better passphrase"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{ok:?}");
    assert_eq!(s.get("/api/v1/sessions", &tok).await.status, StatusCode::OK);
    s.post(
        "/api/v1/auth/login",
        None,
        json!({"tenant": "acme", "email": "new@acme.example", "password": otp}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

async fn packer_cannot_reach_admin_endpoints(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let u = s.user(t, "p@acme.example", Role::Packer).await;
    let tok = s.login("acme", &u).await;
    let before = s
        .audit_actions(t)
        .await
        .iter()
        .filter(|a| *a == "access_denied")
        .count();
    for path in ["/api/v1/users", "/api/v1/audit", "/api/v1/audit/verify"] {
        s.get(path, &tok.access)
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    s.post(
        "/api/v1/users",
        Some(&tok.access),
        json!({"email": "x@acme.example", "role": "admin"}),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let after = s
        .audit_actions(t)
        .await
        .iter()
        .filter(|a| *a == "access_denied")
        .count();
    assert_eq!(after - before, 4);
    let n = s
        .sql_in_tenant(t, "SELECT COUNT(*) FROM users WHERE tenant_id = $1")
        .await;
    assert_eq!(n[0][0], 1, "nothing was created");
}

async fn step_up_is_required_for_role_changes(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let admin = s
        .mfa_user("acme", t, "admin@acme.example", Role::Admin)
        .await;
    let packer = s.user(t, "p@acme.example", Role::Packer).await;
    let tok = s.login("acme", &admin).await;
    let path = format!("/api/v1/users/{}/role", packer.id);
    // Fresh MFA from login: allowed.
    let ok = s
        .call(
            Method::PUT,
            &path,
            Some(&tok.access),
            Some(json!({"role": "supervisor"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{ok:?}");
    // Age the MFA verification past five minutes.
    let old = wms_server::time::now_ms() - 6 * 60 * 1000;
    s.exec_as_owner(
        t,
        &format!("UPDATE sessions SET mfa_at = {old} WHERE tenant_id = '{t}'"),
    )
    .await;
    s.call(
        Method::PUT,
        &path,
        Some(&tok.access),
        Some(json!({"role": "packer"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "step_up_required");
    let v = s
        .post(
            "/api/v1/auth/mfa/verify",
            Some(&tok.access),
            json!({"code": code_now(admin.totp.as_deref().expect("totp"), 1)}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");
    let ok = s
        .call(
            Method::PUT,
            &path,
            Some(&tok.access),
            Some(json!({"role": "packer"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{ok:?}");
    let users = s
        .get(&format!("/api/v1/users/{}", packer.id), &tok.access)
        .await;
    assert_eq!(users.body["role"], "packer");
    let actions = s.audit_actions(t).await;
    assert_eq!(actions.iter().filter(|a| *a == "role_changed").count(), 2);
    assert!(actions.contains(&"pii_read".to_owned()));
}

both_backends!(more_concurrent_requests_than_pooled_connections_all_complete);

/// Regression: a handler that took a second pool connection while holding its transaction
/// deadlocked the SQLite pool (8 connections) at 8 concurrent requests.
async fn more_concurrent_requests_than_pooled_connections_all_complete(b: Backend) {
    let s = std::sync::Arc::new(TestServer::start(b).await);
    let t = s.tenant("acme").await;
    let u = s.user(t, "p@acme.example", Role::Packer).await;
    let tok = s.login("acme", &u).await;
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..48 {
        let (s, access) = (s.clone(), tok.access.clone());
        tasks.push(tokio::spawn(async move {
            s.get("/api/v1/me", &access).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("join"), StatusCode::OK);
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}
