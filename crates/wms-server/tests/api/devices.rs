//! The device registry: registration at login, the admin's list, revoke (sessions end, login and
//! refresh refused with `device_revoked`), remote wipe (step-up, acknowledged by the device),
//! printer profiles, tenant isolation.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wms_core::role::Role;

use crate::both_backends;
use crate::harness::{Backend, Resp, TestServer, TestUser, Tokens, code_now};

both_backends!(
    devices_register_at_login_and_a_revoked_device_is_refused,
    devices_wipe_needs_step_up_and_is_acknowledged_by_the_device,
    devices_of_another_tenant_are_not_found,
);

const DEVICE: &str = "station-0b7a4f8e-2a51-4c38-9d0e-6f1b2c3d4e5f";

async fn device_login(s: &TestServer, tenant: &str, u: &TestUser, device: &str) -> Resp {
    s.post(
        "/api/v1/auth/login",
        None,
        json!({"tenant": tenant, "email": u.email, "password": u.password,
               "device": device, "device_name": "bench-3\u{7}"}),
    )
    .await
}

fn tokens(r: &Resp) -> Tokens {
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    Tokens {
        access: r.body["access_token"].as_str().expect("access").to_owned(),
        refresh: r.body["refresh_token"]
            .as_str()
            .expect("refresh")
            .to_owned(),
    }
}

fn find<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .expect("list")
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("device {id} not in {list}"))
}

async fn devices_register_at_login_and_a_revoked_device_is_refused(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let admin = s
        .mfa_user("acme", t, "admin@acme.example", Role::Admin)
        .await;
    let packer = s.user(t, "packer@acme.example", Role::Packer).await;
    let admin_tok = s.login("acme", &admin).await;

    // A malformed device id is refused clearly, and registers nothing.
    device_login(&s, "acme", &packer, "no spaces/here")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let tok = tokens(&device_login(&s, "acme", &packer, DEVICE).await);
    // A second login from it is the same device.
    let tok2 = tokens(&device_login(&s, "acme", &packer, DEVICE).await);

    let list = s.get("/api/v1/devices", &admin_tok.access).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    assert_eq!(list.body.as_array().map(Vec::len), Some(1), "{list:?}");
    let d = find(&list.body, DEVICE);
    assert_eq!(d["name"], "bench-3", "control characters dropped");
    assert_eq!(d["last_user_id"], packer.id.as_str());
    assert_eq!(d["active_sessions"], 2);
    assert_eq!(d["revoked"], false);
    assert_eq!(d["wipe_pending"], false);
    assert_eq!(d["printer_profile"], Value::Null);
    let actions = s.audit_actions(t).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "device_registered").count(),
        1,
        "{actions:?}"
    );

    // The station reads its own record; an admin session opened without a device has none.
    let me = s.get("/api/v1/devices/self", &tok.access).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(
        me.body,
        json!({"id": DEVICE, "wipe": false, "revoked": false, "printer_profile": null})
    );
    s.get("/api/v1/devices/self", &admin_tok.access)
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");

    // Packers can neither list nor act on devices.
    s.get("/api/v1/devices", &tok.access)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let revoke = format!("/api/v1/devices/{DEVICE}/revoke");
    s.post(&revoke, Some(&tok.access), json!({}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let profile_path = format!("/api/v1/devices/{DEVICE}/printer-profile");
    s.call(
        Method::PUT,
        &profile_path,
        Some(&tok.access),
        Some(json!({"label_format": "zpl203"})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, "forbidden");

    // Malformed and unknown ids, malformed profiles.
    s.post(
        "/api/v1/devices/bad%20id/revoke",
        Some(&admin_tok.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "bad_request");
    s.post(
        "/api/v1/devices/station-unknown/revoke",
        Some(&admin_tok.access),
        json!({}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    for bad in [
        json!({"label_format": "zpl600"}),
        json!({"label_format": "zpl203", "label_printer": "lpr://x"}),
        json!({"label_format": "zpl203", "label_printer": "tcp://10.0.0.5"}),
        json!({"label_format": "zpl203", "document_printer": "cups://a b"}),
        json!({"label_format": "zpl203", "colour": "red"}),
        json!({}),
    ] {
        s.call(
            Method::PUT,
            &profile_path,
            Some(&admin_tok.access),
            Some(bad.clone()),
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }

    // The printer profile reaches the station.
    let profile = json!({"label_printer": "tcp://10.0.0.21:9100", "label_format": "zpl300",
                         "document_printer": "cups://office-a4"});
    let r = s
        .call(
            Method::PUT,
            &profile_path,
            Some(&admin_tok.access),
            Some(profile.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["printer_profile"], profile);
    let me = s.get("/api/v1/devices/self", &tok.access).await;
    assert_eq!(me.body["printer_profile"], profile);

    // Revoke: the device's sessions end, its refresh and any new login are refused.
    let r = s
        .post(
            &revoke,
            Some(&admin_tok.access),
            json!({"reason": "left on the train"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["revoked"], true);
    assert_eq!(r.body["revoked_by"], admin.id.as_str());
    assert_eq!(r.body["active_sessions"], 0);
    s.post(&revoke, Some(&admin_tok.access), json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "already_revoked");
    s.get("/api/v1/me", &tok.access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    for refresh in [&tok.refresh, &tok2.refresh] {
        s.post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh}),
        )
        .await
        .assert_problem(StatusCode::FORBIDDEN, "device_revoked");
    }
    device_login(&s, "acme", &packer, DEVICE)
        .await
        .assert_problem(StatusCode::FORBIDDEN, "device_revoked");
    // The user is not blocked: another workstation still works.
    let other = tokens(&device_login(&s, "acme", &packer, "station-spare").await);
    let me = s.get("/api/v1/devices/self", &other.access).await;
    assert_eq!(me.body["id"], "station-spare");

    let actions = s.audit_actions(t).await;
    for a in [
        "device_profile_changed",
        "device_revoked",
        "login_failed",
        "access_denied",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} missing: {actions:?}");
    }
    let rows = s
        .sql_in_tenant(
            t,
            "SELECT detail, outcome FROM audit_events WHERE tenant_id = $1 AND action = 'login_failed'",
        )
        .await;
    assert!(
        rows.iter()
            .any(|r| r[0] == "device revoked" && r[1] == "denied"),
        "{rows:?}"
    );
    let rows = s
        .sql_in_tenant(
            t,
            "SELECT target FROM audit_events WHERE tenant_id = $1 AND action = 'access_denied' AND detail = 'token refresh from a revoked device'",
        )
        .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][0], format!("device:{DEVICE}").as_str());
    let rows = s
        .sql_in_tenant(
            t,
            "SELECT detail FROM audit_events WHERE tenant_id = $1 AND action = 'device_revoked'",
        )
        .await;
    assert_eq!(rows[0][0], "left on the train; 2 sessions ended");
    let verify = s.get("/api/v1/audit/verify", &admin_tok.access).await;
    assert_eq!(verify.status, StatusCode::OK, "{verify:?}");
}

async fn devices_wipe_needs_step_up_and_is_acknowledged_by_the_device(b: Backend) {
    let s = TestServer::start(b).await;
    let t = s.tenant("acme").await;
    let admin = s
        .mfa_user("acme", t, "admin@acme.example", Role::Admin)
        .await;
    let packer = s.user(t, "packer@acme.example", Role::Packer).await;
    let admin_tok = s.login("acme", &admin).await;
    let tok = tokens(&device_login(&s, "acme", &packer, DEVICE).await);
    let wipe = format!("/api/v1/devices/{DEVICE}/wipe");

    // Without a wipe requested, the device has nothing to acknowledge.
    s.post("/api/v1/devices/self/wiped", Some(&tok.access), json!({}))
        .await
        .assert_problem(StatusCode::CONFLICT, "wipe_not_requested");
    // Packers cannot ask; an admin needs a fresh step-up.
    s.post(&wipe, Some(&tok.access), json!({}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    let old = wms_server::time::now_ms() - 6 * 60 * 1000;
    s.exec_as_owner(
        t,
        &format!(
            "UPDATE sessions SET mfa_at = {old} WHERE tenant_id = '{t}' AND user_id = '{}'",
            admin.id
        ),
    )
    .await;
    s.post(&wipe, Some(&admin_tok.access), json!({}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "step_up_required");
    let me = s.get("/api/v1/devices/self", &tok.access).await;
    assert_eq!(me.body["wipe"], false, "nothing requested: {me:?}");
    let v = s
        .post(
            "/api/v1/auth/mfa/verify",
            Some(&admin_tok.access),
            json!({"code": code_now(admin.totp.as_deref().expect("totp"), 1)}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");
    let r = s
        .post(&wipe, Some(&admin_tok.access), json!({"reason": "stolen"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["wipe_pending"], true);
    assert_eq!(r.body["wipe_requested_by"], admin.id.as_str());
    assert_eq!(r.body["wiped_at"], Value::Null);

    // The device sees the request and acknowledges it; its sessions end with it.
    let me = s.get("/api/v1/devices/self", &tok.access).await;
    assert_eq!(me.body["wipe"], true, "{me:?}");
    let ack = s
        .call(
            Method::POST,
            "/api/v1/devices/self/wiped",
            Some(&tok.access),
            None,
        )
        .await;
    assert_eq!(ack.status, StatusCode::NO_CONTENT, "{ack:?}");
    s.get("/api/v1/devices/self", &tok.access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    s.post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": tok.refresh}),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    let list = s.get("/api/v1/devices", &admin_tok.access).await;
    let d = find(&list.body, DEVICE);
    assert_eq!(d["wipe_pending"], false);
    assert!(d["wiped_at"].is_string(), "{d}");
    assert_eq!(d["revoked"], false);
    assert_eq!(d["active_sessions"], 0);
    // A wiped (not revoked) device may sign in again, with nothing left to wipe.
    let again = tokens(&device_login(&s, "acme", &packer, DEVICE).await);
    let me = s.get("/api/v1/devices/self", &again.access).await;
    assert_eq!(me.body["wipe"], false);

    let actions = s.audit_actions(t).await;
    for a in ["device_wipe_requested", "device_wiped"] {
        assert_eq!(
            actions.iter().filter(|x| *x == a).count(),
            1,
            "{a}: {actions:?}"
        );
    }
    let rows = s
        .sql_in_tenant(
            t,
            "SELECT actor, target FROM audit_events WHERE tenant_id = $1 AND action = 'device_wiped'",
        )
        .await;
    assert_eq!(rows[0][0], packer.id.as_str());
    assert_eq!(rows[0][1], format!("device:{DEVICE}").as_str());
}

async fn devices_of_another_tenant_are_not_found(b: Backend) {
    let s = TestServer::start(b).await;
    let ta = s.tenant("alpha").await;
    let tb = s.tenant("bravo").await;
    let packer_a = s.user(ta, "packer@alpha.example", Role::Packer).await;
    let admin_b = s
        .mfa_user("bravo", tb, "admin@bravo.example", Role::Admin)
        .await;
    let tok_a = tokens(&device_login(&s, "alpha", &packer_a, DEVICE).await);
    let tok_b = s.login("bravo", &admin_b).await;
    let denied_before = s
        .audit_actions(tb)
        .await
        .iter()
        .filter(|a| *a == "access_denied")
        .count();
    let matrix = [
        (Method::POST, "revoke", json!({})),
        (Method::POST, "wipe", json!({})),
        (
            Method::PUT,
            "printer-profile",
            json!({"label_format": "zpl203"}),
        ),
        (Method::PUT, "update-channel", json!({"channel": "beta"})),
    ];
    for (method, action, body) in &matrix {
        s.call(
            method.clone(),
            &format!("/api/v1/devices/{DEVICE}/{action}"),
            Some(&tok_b.access),
            Some(body.clone()),
        )
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    }
    let theirs = s.get("/api/v1/devices", &tok_b.access).await;
    assert_eq!(theirs.body, json!([]));
    let denied_after = s
        .audit_actions(tb)
        .await
        .iter()
        .filter(|a| *a == "access_denied")
        .count();
    assert_eq!(denied_after - denied_before, matrix.len());
    // Nothing changed for alpha's device.
    let me = s.get("/api/v1/devices/self", &tok_a.access).await;
    assert_eq!(
        me.body,
        json!({"id": DEVICE, "wipe": false, "revoked": false, "printer_profile": null})
    );
    // The same device id in another tenant is another device.
    let packer_b = s.user(tb, "packer@bravo.example", Role::Packer).await;
    let tok_pb = tokens(&device_login(&s, "bravo", &packer_b, DEVICE).await);
    let r = s
        .post(
            &format!("/api/v1/devices/{DEVICE}/revoke"),
            Some(&tok_b.access),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    s.get("/api/v1/me", &tok_pb.access)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
    let me = s.get("/api/v1/me", &tok_a.access).await;
    assert_eq!(
        me.status,
        StatusCode::OK,
        "alpha's device is untouched: {me:?}"
    );
    let rows = s
        .sql_in_tenant(ta, "SELECT revoked_at FROM devices WHERE tenant_id = $1")
        .await;
    assert_eq!(rows, vec![vec![Value::Null]]);
}
