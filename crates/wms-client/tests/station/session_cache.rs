//! Login with TOTP over the pinned certificate, sync, the sealed cache, tamper handling, logout —
//! once with the OS keyring (kernel keyutils here) and once with the key-file fallback.

use serde_json::Value;
use wms_client::cache::CacheError;
use wms_client::secrets::{self, SecretStoreKind, StorePreference};
use wms_client::station::{Station, StationError};

use crate::harness::{self, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyring_backend_full_cycle() {
    full_cycle(StorePreference::Keyring, SecretStoreKind::Keyring, 300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_file_fallback_full_cycle() {
    full_cycle(StorePreference::File, SecretStoreKind::File, 40).await;
}

pub(crate) async fn full_cycle(pref: StorePreference, kind: SecretStoreKind, orders: usize) {
    let server = Server::start(25, orders).await;
    let admin = server.admin_client(-1).await;
    let received = admin.order_ids("received").await;
    assert_eq!(received.len(), orders);
    // Release all but the last to packing; pack the first one into a labelled package.
    for id in &received[1..orders - 1] {
        admin.allocate(id).await;
    }
    let packed_id = received[0].clone();
    admin.pack_with_package(&packed_id, 1).await;

    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");

    // A wrong pin is refused before any credential is sent.
    let mut wrong = server.login_params(Some(server.totp(0)));
    wrong.fingerprint = Some("00".repeat(32));
    let err = Station::login(&dir, wrong, harness::options(pref))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "certificate_pin_mismatch", "{err}");
    assert!(err.to_string().contains("fingerprint"), "{err}");

    // A supervisor without a code is asked for one.
    let err = Station::login(&dir, server.login_params(None), harness::options(pref))
        .await
        .unwrap_err();
    assert!(matches!(err, StationError::MfaRequired), "{err}");

    let station = harness::login(&server, &dir, pref).await;
    assert_eq!(station.secret_store_kind(), kind);
    let mut events = Vec::new();
    let report = station
        .sync(&mut |e: &wms_client::SyncEvent| events.push(e.clone()))
        .await
        .unwrap();
    assert_eq!(report.orders, orders - 1, "allocated + packed orders");
    assert_eq!(report.skus, 25);
    assert!(matches!(
        events.first(),
        Some(wms_client::SyncEvent::Started)
    ));
    assert!(matches!(
        events.last(),
        Some(wms_client::SyncEvent::Finished(_))
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, wms_client::SyncEvent::Orders { .. }))
    );

    // The label path caches the recipient (label fields only) of the open order.
    harness::write_profile(&dir);
    let (_, zpl) = station.render_label(&packed_id, None).await.unwrap();
    assert!(zpl.starts_with(b"^XA") || zpl.windows(3).any(|w| w == b"^XA"));
    let status = station.status().await.unwrap();
    assert_eq!(status.cached_recipients, 1);
    assert!(status.online);

    // Nothing readable on disk: SKU names, recipient names, addresses.
    let skus: Vec<Value> =
        serde_json::from_value(admin.get_q("/api/v1/skus", &[("limit", "1000")]).await).unwrap();
    let recipient = admin
        .get(&format!("/api/v1/orders/{packed_id}/recipient"))
        .await;
    station.cache().checkpoint().await.unwrap();
    let mut needles: Vec<String> = skus
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    needles.push(recipient["name"].as_str().unwrap().to_owned());
    needles.push(recipient["address1"].as_str().unwrap().to_owned());
    // Channel order ids (indexed by a keyed tag) and seller SKUs / barcodes (likewise).
    let packed_view = admin.get(&format!("/api/v1/orders/{packed_id}")).await;
    needles.push(packed_view["external_id"].as_str().unwrap().to_owned());
    needles.extend(
        skus.iter()
            .map(|s| s["seller_sku"].as_str().unwrap().to_owned()),
    );
    needles.extend(
        recipient["name"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .map(str::to_owned),
    );
    let mut files = vec![station.cache().path().to_path_buf()];
    files.push(dir.join("cache.sqlite-wal"));
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        for n in &needles {
            assert!(
                !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
                "plaintext {n:?} found in {}",
                f.display()
            );
        }
    }

    // A flipped byte is detected: the row is dropped and re-fetched, never shown.
    let victim = received[1].clone();
    let mut raw = station
        .cache()
        .raw_payload("orders", &victim)
        .await
        .unwrap()
        .unwrap();
    let mid = raw.len() / 2;
    raw[mid] ^= 0x01;
    station
        .cache()
        .write_raw_payload("orders", &victim, &raw)
        .await
        .unwrap();
    let err = station.cache().order(&victim).await.unwrap_err();
    assert!(matches!(err, CacheError::Tampered { .. }), "{err}");
    assert!(
        station.cache().order(&victim).await.unwrap().is_none(),
        "dropped"
    );
    let refetched = station.order(&victim).await.unwrap();
    assert_eq!(refetched.id, victim);
    assert_eq!(
        station.cache().order(&victim).await.unwrap().unwrap().id,
        victim
    );

    // A row copied to another id fails to open (the AAD binds the id).
    let other = received[2].clone();
    let good = station
        .cache()
        .raw_payload("orders", &victim)
        .await
        .unwrap()
        .unwrap();
    station
        .cache()
        .write_raw_payload("orders", &other, &good)
        .await
        .unwrap();
    let err = station.cache().order(&other).await.unwrap_err();
    assert!(matches!(err, CacheError::Tampered { .. }), "{err}");
    assert_eq!(station.order(&other).await.unwrap().id, other);

    // Logout: revoked on the server, secrets and cache gone.
    let install = harness::installation_id(&dir);
    let store = secrets::open_kind(kind, &install, &dir).unwrap();
    let refresh = store.get("refresh_token").unwrap().unwrap();
    assert!(store.get("cache_key").unwrap().is_some());
    let cache_path = station.cache().path().to_path_buf();
    let out = station.logout(false).await.unwrap();
    assert!(out.revoked_on_server);
    assert!(store.get("refresh_token").unwrap().is_none());
    assert!(store.get("cache_key").unwrap().is_none());
    assert!(!cache_path.exists());
    if kind == SecretStoreKind::File {
        let left: Vec<_> = std::fs::read_dir(dir.join("secrets"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            vec!["device_id".to_owned()],
            "only the device id stays"
        );
    }
    let r = admin
        .api
        .json::<Value>(wms_client::api::Call::post(
            "/api/v1/auth/refresh",
            serde_json::json!({"refresh_token": String::from_utf8_lossy(&refresh)}),
        ))
        .await
        .unwrap_err();
    assert_eq!(r.status(), Some(401), "{r}");
    let err = Station::open(&dir, harness::options(pref))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "cache_key_missing", "{err}");
}
