//! Release channels and the updater manifest (design.md, "Updates"): publishing needs an admin
//! with a fresh step-up and valid artifacts; the manifest offers each device the newest release
//! meant for it (paused, rollout, platform), the same answer every time; tenants never see each
//! other's releases.

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use wms_core::ids::TenantId;
use wms_core::release::bucket;
use wms_core::role::Role;

use crate::both_backends;
use crate::harness::{Backend, Resp, TestServer, TestUser, Tokens, code_now};

both_backends!(
    releases_publish_needs_an_admin_with_step_up_and_valid_artifacts,
    releases_manifest_offers_the_newest_release_meant_for_the_device,
    releases_change_rollout_and_pause_audited_and_versioned,
    releases_of_another_tenant_never_appear,
    releases_a_device_put_on_a_channel_is_offered_that_channel,
);

/// The base64 of a minisign `.sig` file, shaped as `tauri signer sign` writes it.
fn signature(seed: u8) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut sig = b"ED".to_vec();
    sig.resize(74, seed);
    let text = format!(
        "untrusted comment: signature from tauri secret key\n{}\ntrusted comment: timestamp:1764403200\tfile:jilian.deb\n{}\n",
        b64(&sig),
        b64(&[seed; 64])
    );
    b64(text.as_bytes())
}

fn release(version: &str, rollout: i64, platforms: &[&str]) -> Value {
    let artifacts: Vec<Value> = platforms
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({"platform": p, "url": format!("https://releases.example.jp/jilian/{version}/{p}.bin"),
                   "signature": signature(u8::try_from(i).unwrap_or(0) + 1)})
        })
        .collect();
    json!({"version": version, "notes": format!("Jilian {version}"), "rollout_percent": rollout, "artifacts": artifacts})
}

struct Setup {
    s: TestServer,
    tenant: TenantId,
    admin: Tokens,
    admin_user: TestUser,
    sup: Tokens,
    packer: TestUser,
}

async fn setup(b: Backend) -> Setup {
    let s = TestServer::start(b).await;
    let tenant = s.tenant("acme").await;
    let admin_user = s
        .mfa_user("acme", tenant, "admin@acme.example", Role::Admin)
        .await;
    let sv = s
        .mfa_user("acme", tenant, "sv@acme.example", Role::Supervisor)
        .await;
    let packer = s.user(tenant, "pk@acme.example", Role::Packer).await;
    let admin = s.login("acme", &admin_user).await;
    let sup = s.login("acme", &sv).await;
    Setup {
        s,
        tenant,
        admin,
        admin_user,
        sup,
        packer,
    }
}

impl Setup {
    async fn publish(&self, body: Value) -> Resp {
        self.s
            .post("/api/v1/releases", Some(&self.admin.access), body)
            .await
    }

    async fn published(&self, body: Value) -> Value {
        let r = self.publish(body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        r.body
    }

    async fn patch(&self, id: &str, body: Value) -> Resp {
        self.s
            .call(
                Method::PATCH,
                &format!("/api/v1/releases/{id}"),
                Some(&self.admin.access),
                Some(body),
            )
            .await
    }

    /// The packer signed in at `device` (or without a device id).
    async fn station(&self, device: Option<&str>) -> String {
        let mut body =
            json!({"tenant": "acme", "email": self.packer.email, "password": self.packer.password});
        if let Some(d) = device {
            body["device"] = json!(d);
        }
        let r = self.s.post("/api/v1/auth/login", None, body).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        r.body["access_token"].as_str().expect("access").to_owned()
    }

    async fn count(&self, table: &str) -> i64 {
        self.s
            .sql_in_tenant(
                self.tenant,
                &format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = $1"),
            )
            .await[0][0]
            .as_i64()
            .expect("count")
    }

    async fn audited(&self, action: &str) -> usize {
        self.s
            .audit_actions(self.tenant)
            .await
            .iter()
            .filter(|a| *a == action)
            .count()
    }
}

async fn manifest(s: &TestServer, token: &str, platform: &str, current: &str) -> Resp {
    s.get(&format!("/api/v1/updates/{platform}/{current}"), token)
        .await
}

async fn releases_publish_needs_an_admin_with_step_up_and_valid_artifacts(b: Backend) {
    let x = setup(b).await;
    let s = &x.s;
    let body = release("1.4.0", 100, &["linux-x86_64", "windows-x86_64"]);

    // Supervisors and packers: 403, audited; nothing stored.
    let packer = x.station(None).await;
    let denied = x.audited("access_denied").await;
    for who in [&x.sup.access, &packer] {
        s.post("/api/v1/releases", Some(who), body.clone())
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
        s.get("/api/v1/releases", who)
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    assert_eq!(x.audited("access_denied").await - denied, 4);
    // An admin whose step-up is stale: refused until a fresh TOTP.
    s.age_step_up(x.tenant).await;
    x.publish(body.clone())
        .await
        .assert_problem(StatusCode::FORBIDDEN, "step_up_required");
    assert_eq!(x.count("releases").await, 0);
    let totp = x.admin_user.totp.as_deref().expect("totp");
    let v = s
        .post(
            "/api/v1/auth/mfa/verify",
            Some(&x.admin.access),
            json!({"code": code_now(totp, 1)}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");

    let r = x.published(body.clone()).await;
    let id = r["id"].as_str().expect("id").to_owned();
    let created_at = r["created_at"].as_str().expect("created_at").to_owned();
    assert_eq!(
        r,
        json!({
            "id": id, "channel": "stable", "version": "1.4.0", "notes": "Jilian 1.4.0",
            "pub_date": created_at, "rollout_percent": 100, "paused": false,
            "artifacts": [
                {"platform": "linux-x86_64", "url": "https://releases.example.jp/jilian/1.4.0/linux-x86_64.bin", "signature": signature(1)},
                {"platform": "windows-x86_64", "url": "https://releases.example.jp/jilian/1.4.0/windows-x86_64.bin", "signature": signature(2)}
            ],
            "created_at": created_at, "created_by": x.admin_user.id, "version_check": 1
        })
    );
    assert!(
        created_at.ends_with('Z') && created_at.len() == 24,
        "{created_at}"
    );
    assert_eq!(x.audited("release_published").await, 1);

    // The same version again, or one differing only in build metadata: 409. Another channel: fine.
    x.publish(body.clone())
        .await
        .assert_problem(StatusCode::CONFLICT, "release_version_exists");
    x.publish(release("1.4.0+build.7", 100, &["linux-x86_64"]))
        .await
        .assert_problem(StatusCode::CONFLICT, "release_version_exists");
    let mut beta = release("1.4.0", 10, &["linux-x86_64"]);
    beta["channel"] = json!("beta");
    beta["pub_date"] = json!("2026-11-29T18:00:00+09:00");
    let beta = x.published(beta).await;
    assert_eq!(
        (&beta["channel"], &beta["pub_date"]),
        (&json!("beta"), &json!("2026-11-29T09:00:00.000Z"))
    );

    // Invalid releases: 422 with what is wrong; nothing stored.
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = release("1.5.0", 50, &["linux-x86_64"]);
        f(&mut b);
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            with(&|b| b["artifacts"][0]["url"] = json!("http://releases.example.jp/a.deb")),
            "https",
        ),
        (
            with(&|b| b["artifacts"][0]["signature"] = json!("bm90IGEgc2lnbmF0dXJl")),
            "minisign",
        ),
        (
            with(&|b| b["artifacts"][0]["signature"] = json!("")),
            "signature",
        ),
        (
            with(&|b| b["rollout_percent"] = json!(101)),
            "rollout_percent",
        ),
        (
            with(&|b| b["rollout_percent"] = json!(-1)),
            "rollout_percent",
        ),
        (
            with(&|b| b["version"] = json!("v1.5.0")),
            "semantic version",
        ),
        (with(&|b| b["version"] = json!("1.5")), "semantic version"),
        (with(&|b| b["channel"] = json!("Beta 2")), "channel"),
        (with(&|b| b["pub_date"] = json!("tomorrow")), "pub_date"),
        (
            with(&|b| b["artifacts"][0]["platform"] = json!("Linux")),
            "platform",
        ),
        (with(&|b| b["artifacts"] = json!([])), "artifacts"),
        (
            with(&|b| {
                let a = b["artifacts"][0].clone();
                b["artifacts"] = json!([a.clone(), a]);
            }),
            "twice",
        ),
        (with(&|b| b["tenant"] = json!("globex")), "unknown field"),
    ];
    for (bad, says) in cases {
        let r = x.publish(bad.clone()).await;
        r.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let detail = r.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(says), "{bad} -> {detail}");
    }
    assert_eq!(x.count("releases").await, 2);
    assert_eq!(x.count("release_artifacts").await, 3);

    // An Idempotency-Key makes a retry the same release, not a 409 for the first attempt.
    let key = uuid::Uuid::new_v4().to_string();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let r = s
            .call_with(
                Method::POST,
                "/api/v1/releases",
                Some(&x.admin.access),
                Some(release("1.5.0", 0, &["darwin-aarch64"])),
                &[("Idempotency-Key", key.as_str())],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{r:?}");
        answers.push(r.body);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(x.count("releases").await, 3);
    assert_eq!(x.audited("release_published").await, 3);

    // The list: newest first, by channel on request.
    let all = s.get("/api/v1/releases", &x.admin.access).await;
    let versions: Vec<(&str, &str)> = all
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|r| {
            (
                r["version"].as_str().unwrap_or_default(),
                r["channel"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [("1.5.0", "stable"), ("1.4.0", "beta"), ("1.4.0", "stable")]
    );
    assert_eq!(all.body[2]["id"], id.as_str());
    let b = s
        .get("/api/v1/releases?channel=beta", &x.admin.access)
        .await;
    assert_eq!(b.body, json!([beta]));
    s.get("/api/v1/releases?channel=BETA", &x.admin.access)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    s.get("/api/v1/releases?limit=0", &x.admin.access)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

/// Device ids whose bucket for this release is below (`inside`) or at least `percent`.
fn devices(release_id: &str, percent: u8, inside: bool, n: usize) -> Vec<String> {
    (0..10_000)
        .map(|i| format!("station-{i}"))
        .filter(|d| (bucket(release_id, d) < percent) == inside)
        .take(n)
        .collect()
}

async fn releases_manifest_offers_the_newest_release_meant_for_the_device(b: Backend) {
    let x = setup(b).await;
    let s = &x.s;
    let old = x
        .published(release("1.3.0", 100, &["linux-x86_64", "windows-x86_64"]))
        .await;
    let new = x
        .published(release("1.4.0", 100, &["linux-x86_64", "windows-x86_64"]))
        .await;
    let new_id = new["id"].as_str().expect("id").to_owned();
    let station = x.station(Some("station-bench-1")).await;

    // Nothing newer: 204 with no body. Older: the newest, for the platform asked about only.
    let r = manifest(s, &station, "linux-x86_64", "1.4.0").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{r:?}");
    assert_eq!(r.body, Value::Null);
    assert_eq!(
        manifest(s, &station, "linux-x86_64", "2.0.0-beta.1")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = manifest(s, &station, "linux-x86_64", "1.2.9").await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(
        r.body,
        json!({
            "version": "1.4.0", "notes": "Jilian 1.4.0", "pub_date": new["pub_date"],
            "platforms": {"linux-x86_64": {"signature": signature(1), "url": "https://releases.example.jp/jilian/1.4.0/linux-x86_64.bin"}}
        })
    );
    let r = manifest(s, &station, "windows-x86_64", "1.4.0-rc.2").await;
    assert_eq!(r.body["version"], "1.4.0");
    assert_eq!(
        r.body["platforms"]["windows-x86_64"]["url"],
        "https://releases.example.jp/jilian/1.4.0/windows-x86_64.bin"
    );
    // A platform without an artifact: 204.
    assert_eq!(
        manifest(s, &station, "darwin-aarch64", "1.0.0")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // What does not parse: 422.
    for (platform, version) in [
        ("linux-x86_64", "latest"),
        ("linux-x86_64", "1.4"),
        ("Linux", "1.0.0"),
    ] {
        manifest(s, &station, platform, version)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    s.get(
        "/api/v1/updates/linux-x86_64/1.0.0?channel=No%20Such",
        &station,
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    // Another channel has nothing.
    let r = s
        .get("/api/v1/updates/linux-x86_64/1.0.0?channel=beta", &station)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Unauthenticated: 401.
    let anon = s
        .call(
            Method::GET,
            "/api/v1/updates/linux-x86_64/1.0.0",
            None,
            None,
        )
        .await;
    anon.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");

    // Paused: the older release is offered instead; resumed: the new one again.
    let r = x.patch(&new_id, json!({"paused": true})).await;
    assert_eq!(r.body["paused"], true, "{r:?}");
    let r = manifest(s, &station, "linux-x86_64", "1.2.0").await;
    assert_eq!(r.body["version"], "1.3.0", "{r:?}");
    assert_eq!(
        manifest(s, &station, "linux-x86_64", "1.3.0").await.status,
        StatusCode::NO_CONTENT
    );
    let old_id = old["id"].as_str().expect("id");
    assert_eq!(
        x.patch(old_id, json!({"paused": true})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        manifest(s, &station, "linux-x86_64", "1.2.0").await.status,
        StatusCode::NO_CONTENT,
        "every release paused"
    );
    assert_eq!(
        x.patch(&new_id, json!({"paused": false})).await.status,
        StatusCode::OK
    );

    // Rollout 0: nobody; 100: everybody; 50: the devices whose bucket is below 50, the same
    // answer every time. The device is the session's device id, else the user.
    let inside = devices(&new_id, 50, true, 3);
    let outside = devices(&new_id, 50, false, 3);
    let mut stations = Vec::new();
    for d in inside.iter().chain(&outside) {
        stations.push((d.clone(), x.station(Some(d)).await));
    }
    let no_device = x.station(None).await;
    let answer = |percent: u8, device: &str| {
        if bucket(&new_id, device) < percent {
            StatusCode::OK
        } else {
            StatusCode::NO_CONTENT
        }
    };
    for percent in [0u8, 50, 100] {
        let r = x.patch(&new_id, json!({"rollout_percent": percent})).await;
        assert_eq!(r.body["rollout_percent"], percent, "{r:?}");
        for (device, token) in &stations {
            for _ in 0..2 {
                let r = manifest(s, token, "linux-x86_64", "1.3.0").await;
                assert_eq!(r.status, answer(percent, device), "{device} at {percent} %");
            }
        }
        let r = manifest(s, &no_device, "linux-x86_64", "1.3.0").await;
        assert_eq!(
            r.status,
            answer(percent, &x.packer.id),
            "user at {percent} %"
        );
    }
}

async fn releases_change_rollout_and_pause_audited_and_versioned(b: Backend) {
    let x = setup(b).await;
    let s = &x.s;
    let r = x
        .published(release("2.0.0", 10, &["linux-x86_64-deb"]))
        .await;
    let id = r["id"].as_str().expect("id").to_owned();

    // Only the admin; a packer or supervisor is 403; an unknown id 404 (audited).
    for who in [&x.sup.access, &x.station(None).await] {
        s.call(
            Method::PATCH,
            &format!("/api/v1/releases/{id}"),
            Some(who),
            Some(json!({"paused": true})),
        )
        .await
        .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    x.patch(
        "01930000-0000-7000-8000-000000000000",
        json!({"paused": true}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    // Nothing to change, or out of range: 422.
    for bad in [
        json!({}),
        json!({"rollout_percent": 101}),
        json!({"rollout_percent": -5}),
        json!({"paused": "yes"}),
        json!({"version": "3.0.0"}),
    ] {
        x.patch(&id, bad)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }

    let r = x.patch(&id, json!({"rollout_percent": 25})).await;
    assert_eq!(
        (&r.body["rollout_percent"], &r.body["version_check"]),
        (&json!(25), &json!(2)),
        "{r:?}"
    );
    // Against an older version_check: 409, nothing changed. Against the current one: applied.
    x.patch(&id, json!({"rollout_percent": 50, "version_check": 1}))
        .await
        .assert_problem(StatusCode::CONFLICT, "version_conflict");
    let r = x
        .patch(
            &id,
            json!({"paused": true, "rollout_percent": 50, "version_check": 2}),
        )
        .await;
    assert_eq!(
        (
            &r.body["paused"],
            &r.body["rollout_percent"],
            &r.body["version_check"]
        ),
        (&json!(true), &json!(50), &json!(3)),
        "{r:?}"
    );
    // A change that changes nothing writes and audits nothing.
    let r = x.patch(&id, json!({"paused": true})).await;
    assert_eq!(r.body["version_check"], 3, "{r:?}");
    let r = x.patch(&id, json!({"paused": false})).await;
    assert_eq!(r.body["paused"], false, "{r:?}");
    assert_eq!(x.audited("release_rollout_changed").await, 2);
    assert_eq!(x.audited("release_paused").await, 1);
    assert_eq!(x.audited("release_resumed").await, 1);

    // Idempotency-Key: a replay answers the first response and changes nothing.
    let key = uuid::Uuid::new_v4().to_string();
    let path = format!("/api/v1/releases/{id}");
    let headers = [("Idempotency-Key", key.as_str())];
    let keyed = || {
        s.call_with(
            Method::PATCH,
            &path,
            Some(&x.admin.access),
            Some(json!({"rollout_percent": 75})),
            &headers,
        )
    };
    let first = keyed().await;
    assert_eq!(first.body["rollout_percent"], 75, "{first:?}");
    assert_eq!(
        x.patch(&id, json!({"rollout_percent": 80})).await.status,
        StatusCode::OK
    );
    let replay = keyed().await;
    assert_eq!(replay.body, first.body);
    let list = s.get("/api/v1/releases", &x.admin.access).await;
    assert_eq!(list.body[0]["rollout_percent"], 80, "{list:?}");

    // A stale step-up: refused, nothing changed.
    s.age_step_up(x.tenant).await;
    x.patch(&id, json!({"paused": true}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "step_up_required");
    let list = s.get("/api/v1/releases", &x.admin.access).await;
    assert_eq!(
        list.body[0]["paused"], false,
        "reading needs no step-up: {list:?}"
    );
}

async fn releases_of_another_tenant_never_appear(b: Backend) {
    let x = setup(b).await;
    let s = &x.s;
    let g = s.tenant("globex").await;
    let gadmin = s
        .mfa_user("globex", g, "admin@globex.example", Role::Admin)
        .await;
    let gtok = s.login("globex", &gadmin).await;
    let theirs = s
        .post(
            "/api/v1/releases",
            Some(&gtok.access),
            release("9.9.9", 100, &["linux-x86_64"]),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{theirs:?}");
    let their_id = theirs.body["id"].as_str().expect("id").to_owned();

    // Not in acme's manifest or list; acme may publish the same version; their id is a 404 here.
    let station = x.station(Some("station-1")).await;
    assert_eq!(
        manifest(s, &station, "linux-x86_64", "1.0.0").await.status,
        StatusCode::NO_CONTENT
    );
    let list = s.get("/api/v1/releases", &x.admin.access).await;
    assert_eq!(list.body, json!([]), "{list:?}");
    let mine = x.published(release("9.9.9", 0, &["linux-x86_64"])).await;
    assert_eq!(
        manifest(s, &station, "linux-x86_64", "1.0.0").await.status,
        StatusCode::NO_CONTENT,
        "acme's 9.9.9 is at 0 %, globex's at 100 % is not acme's"
    );
    let denied = x.audited("access_denied").await;
    x.patch(&their_id, json!({"rollout_percent": 0}))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(x.audited("access_denied").await, denied + 1);
    let list = s.get("/api/v1/releases", &gtok.access).await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(1), "{list:?}");
    assert_eq!(list.body[0]["rollout_percent"], 100);
    assert_eq!(list.body[0]["id"], their_id.as_str());
    assert_ne!(mine["id"], list.body[0]["id"]);
}

async fn releases_a_device_put_on_a_channel_is_offered_that_channel(b: Backend) {
    let x = setup(b).await;
    let s = &x.s;
    x.published(release("1.4.0", 100, &["linux-x86_64"])).await;
    let mut beta = release("1.5.0-beta.1", 100, &["linux-x86_64"]);
    beta["channel"] = json!("beta");
    x.published(beta).await;
    let pilot = x.station(Some("station-pilot")).await;
    let other = x.station(Some("station-other")).await;
    let path = "/api/v1/devices/station-pilot/update-channel";
    let put =
        async |token: &str, body: Value| s.call(Method::PUT, path, Some(token), Some(body)).await;
    let version = |r: &Resp| r.body["version"].as_str().unwrap_or_default().to_owned();

    // By default every station reads `stable`.
    assert_eq!(
        version(&manifest(s, &pilot, "linux-x86_64", "1.0.0").await),
        "1.4.0"
    );

    // Refused, and nothing changed: a supervisor or packer, a stale step-up, a bad name, a field
    // that is not there, another device id.
    let before = x.audited("device_profile_changed").await;
    for who in [&x.sup.access, &pilot] {
        put(who, json!({"channel": "beta"}))
            .await
            .assert_problem(StatusCode::FORBIDDEN, "forbidden");
    }
    for bad in [
        json!({"channel": "Beta Ring"}),
        json!({"channel": "b".repeat(33)}),
        json!({"channel": "beta", "colour": "red"}),
    ] {
        put(&x.admin.access, bad)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    }
    s.call(
        Method::PUT,
        "/api/v1/devices/station-nobody/update-channel",
        Some(&x.admin.access),
        Some(json!({"channel": "beta"})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, "not_found");
    s.age_step_up(x.tenant).await;
    put(&x.admin.access, json!({"channel": "beta"}))
        .await
        .assert_problem(StatusCode::FORBIDDEN, "step_up_required");
    assert_eq!(x.audited("device_profile_changed").await, before);
    assert_eq!(
        version(&manifest(s, &pilot, "linux-x86_64", "1.0.0").await),
        "1.4.0"
    );

    // After a fresh TOTP: the pilot station is offered beta, the others still stable.
    let totp = x.admin_user.totp.as_deref().expect("totp");
    let v = s
        .post(
            "/api/v1/auth/mfa/verify",
            Some(&x.admin.access),
            json!({"code": code_now(totp, 1)}),
        )
        .await;
    assert_eq!(v.status, StatusCode::OK, "{v:?}");
    let r = put(&x.admin.access, json!({"channel": "beta"})).await;
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert_eq!(r.body["id"], "station-pilot");
    assert_eq!(r.body["update_channel"], "beta");
    let list = s.get("/api/v1/devices", &x.admin.access).await;
    let row = |id: &str| {
        list.body
            .as_array()
            .and_then(|l| l.iter().find(|d| d["id"] == id))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(row("station-pilot")["update_channel"], "beta", "{list:?}");
    assert_eq!(row("station-other")["update_channel"], Value::Null);
    assert_eq!(
        version(&manifest(s, &pilot, "linux-x86_64", "1.0.0").await),
        "1.5.0-beta.1"
    );
    assert_eq!(
        version(&manifest(s, &other, "linux-x86_64", "1.0.0").await),
        "1.4.0"
    );
    // A channel the request names still wins.
    let r = s
        .get("/api/v1/updates/linux-x86_64/1.0.0?channel=stable", &pilot)
        .await;
    assert_eq!(version(&r), "1.4.0");
    assert_eq!(x.audited("device_profile_changed").await, before + 1);
    let rows = s
        .sql_in_tenant(
            x.tenant,
            "SELECT detail, target FROM audit_events WHERE tenant_id = $1 AND action = 'device_profile_changed'",
        )
        .await;
    assert_eq!(rows[0][0], "update channel: beta");
    assert_eq!(rows[0][1], "device:station-pilot");

    // Null (or blank) puts it back on the default.
    for back in [json!({"channel": null}), json!({"channel": " "})] {
        let r = put(&x.admin.access, back).await;
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        assert_eq!(r.body["update_channel"], Value::Null);
    }
    assert_eq!(
        version(&manifest(s, &pilot, "linux-x86_64", "1.0.0").await),
        "1.4.0"
    );
}
