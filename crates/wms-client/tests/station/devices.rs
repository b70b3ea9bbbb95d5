//! Remote wipe and device revocation against the real server: the station finds out at its next
//! contact, erases its cache and keys, and reports `device_wiped` / `device_revoked`.

use reqwest::Method;
use serde_json::{Value, json};
use wms_client::api::Call;
use wms_client::secrets::{self, SecretStoreKind, StorePreference};
use wms_client::station::Station;

use crate::harness::{self, Admin, Server};

fn put(admin: &Admin, path: &str, body: Value) -> Call {
    let mut c = Call::post(path, body).bearer(&admin.token);
    c.method = Method::PUT;
    c
}

fn device<'a>(list: &'a Value, id: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {list}"))
}

fn status_lines(dir: &std::path::Path) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wms-station"))
        .arg("--data")
        .arg(dir)
        .arg("status")
        .env("WMS_LABEL_FONT", harness::font_path())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn status_cli(dir: &std::path::Path) -> (bool, String) {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || status_lines(&dir))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_remote_wipe_erases_cache_and_key_at_the_next_sync() {
    let server = Server::start(5, 4).await;
    let admin = server.tenant_admin().await;
    for id in admin.order_ids("received").await {
        admin.allocate(&id).await;
    }
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let pref = StorePreference::Keyring;
    let station = Station::login(&dir, server.packer_login_params(), harness::options(pref))
        .await
        .unwrap();
    station.sync(&mut |_| {}).await.unwrap();
    let id = station.device_id().unwrap().expect("device id");
    let status = station.status().await.unwrap();
    assert_eq!(status.device_id.as_deref(), Some(id.as_str()));
    assert_eq!(status.wipe_pending, Some(false));
    let (ok, out) = status_cli(&dir).await;
    assert!(ok, "{out}");
    assert!(out.contains(&format!("device: {id}")), "{out}");
    assert!(out.contains("wipe pending: no"), "{out}");
    assert!(out.contains("last sync: "), "existing lines kept: {out}");

    // The admin sees the station, gives it a printer profile; the station keeps it in its cache.
    let list = admin.get("/api/v1/devices").await;
    let d = device(&list, &id);
    assert!(d["name"].is_string(), "hostname sent at login: {d}");
    assert_eq!(d["active_sessions"], 1);
    let profile = json!({"label_printer": "tcp://10.0.0.21:9100", "label_format": "zpl300", "document_printer": null});
    let _: Value = admin
        .api
        .json(put(
            &admin,
            &format!("/api/v1/devices/{id}/printer-profile"),
            profile.clone(),
        ))
        .await
        .unwrap();
    let info = station.check_device().await.unwrap().expect("registered");
    let p = info.printer_profile.expect("profile");
    assert_eq!(p.label_printer.as_deref(), Some("tcp://10.0.0.21:9100"));
    assert_eq!(p.dpi(), Some(300));
    let cached = station.device_info().await.unwrap().expect("cached");
    assert_eq!(
        cached.printer_profile.as_ref().and_then(|p| p.dpi()),
        Some(300)
    );
    assert!(cached.checked_at.is_some());

    // A wipe is requested (the admin's TOTP step-up is fresh from its login).
    let r = admin
        .post(
            &format!("/api/v1/devices/{id}/wipe"),
            json!({"reason": "stolen"}),
        )
        .await;
    assert_eq!(r["wipe_pending"], true, "{r}");
    let cache_file = dir.join("cache.sqlite");
    assert!(cache_file.exists());

    let err = station.sync(&mut |_| {}).await.unwrap_err();
    assert_eq!(err.code(), "device_wiped", "{err}");
    for f in ["cache.sqlite", "cache.sqlite-wal", "cache.sqlite-shm"] {
        assert!(!dir.join(f).exists(), "{f} survived the wipe");
    }
    let store = secrets::open_kind(
        SecretStoreKind::Keyring,
        &harness::installation_id(&dir),
        &dir,
    )
    .unwrap();
    assert!(
        store.get("cache_key").unwrap().is_none(),
        "cache key survived"
    );
    assert!(
        store.get("refresh_token").unwrap().is_none(),
        "refresh token survived"
    );
    assert_eq!(
        store.get("device_id").unwrap().map(|d| d.to_vec()),
        Some(id.as_bytes().to_vec()),
        "the device keeps its identity"
    );

    // The server saw the acknowledgment: wiped_at, no pending request, no live session.
    let list = admin.get("/api/v1/devices").await;
    let d = device(&list, &id);
    assert!(d["wiped_at"].is_string(), "{d}");
    assert_eq!(d["wipe_pending"], false);
    assert_eq!(d["active_sessions"], 0);
    let audit = admin.get("/api/v1/audit").await.to_string();
    assert!(audit.contains("device_wipe_requested") && audit.contains("device_wiped"));

    // Until a new login, the installation refuses to open, with the same code.
    drop(station);
    let err = Station::open(&dir, harness::options(pref))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "device_wiped", "{err}");
    let (ok, out) = status_cli(&dir).await;
    assert!(!ok && out.contains("remote wipe"), "{out}");
    // A wiped (not revoked) device may sign in again and work.
    let station = Station::login(&dir, server.packer_login_params(), harness::options(pref))
        .await
        .unwrap();
    let report = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!(report.orders, 4);
    assert_eq!(station.device_id().unwrap().as_deref(), Some(id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_revoked_station_erases_its_cache_and_reports_device_revoked() {
    let server = Server::start(5, 2).await;
    let admin = server.tenant_admin().await;
    for id in admin.order_ids("received").await {
        admin.allocate(&id).await;
    }
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let pref = StorePreference::File;
    let station = Station::login(&dir, server.packer_login_params(), harness::options(pref))
        .await
        .unwrap();
    station.sync(&mut |_| {}).await.unwrap();
    let id = station.device_id().unwrap().expect("device id");
    assert!(dir.join("cache.sqlite").exists());

    let r = admin
        .post(&format!("/api/v1/devices/{id}/revoke"), json!({}))
        .await;
    assert_eq!(r["revoked"], true, "{r}");

    // The next call finds out (its refresh is refused), erases, and says why.
    let err = station.replay_outbox().await.unwrap_err();
    assert_eq!(err.code(), "device_revoked", "{err}");
    assert!(!dir.join("cache.sqlite").exists(), "cache survived");
    let store =
        secrets::open_kind(SecretStoreKind::File, &harness::installation_id(&dir), &dir).unwrap();
    assert!(store.get("cache_key").unwrap().is_none());
    assert!(store.get("refresh_token").unwrap().is_none());
    drop(station);
    let err = Station::open(&dir, harness::options(pref))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "device_revoked", "{err}");
    // Logging in again from the revoked device is refused by the server.
    let err = Station::login(&dir, server.packer_login_params(), harness::options(pref))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "device_revoked", "{err}");
    assert!(!dir.join("cache.sqlite").exists());
    assert!(store.get("cache_key").unwrap().is_none());
    let list = admin.get("/api/v1/devices").await;
    assert_eq!(device(&list, &id)["revoked"], true);
}
