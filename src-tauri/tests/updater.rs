//! The updater without a window: the app's update code in tauri's mock runtime (no display), the
//! updater plugin configured with a test key, against the real `wms-server` (TLS with its
//! self-signed certificate, pinned by the station; SQLite) where an admin publishes releases
//! through the API, and artifacts served over TLS on loopback. A good signature passes; a tampered
//! artifact, another key's signature and a signature made for another version are refused; the
//! server's 204, pause and rollout decide what is offered; the session's token never goes to the
//! artifact host; a certificate other than the pinned one is refused; an unpackaged build does not
//! install.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use jilian_desktop::Desk;
use jilian_desktop::updates::{self, UPDATE_PROGRESS, Updates};
use tauri::http::header::AUTHORIZATION;
use tauri::{Listener as _, Manager as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wms_client::releases::{Artifact, NewRelease, ReleaseChange};
use wms_client::secrets::StorePreference;
use wms_client::station::{LoginParams, Station, StationOptions};
use zeroize::Zeroizing;

const TENANT: &str = "demo";

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A release key as `tauri signer generate` makes one: the public key as the app carries it.
struct Key {
    public: String,
    secret: minisign::SecretKey,
}

impl Key {
    fn new() -> Self {
        let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
        Self {
            public: b64(&kp.pk.to_box().unwrap().to_string()),
            secret: kp.sk,
        }
    }

    /// The `.sig` content `tauri signer sign` writes, made for `version` (its trusted comment).
    fn sign(&self, data: &[u8], version: &str) -> String {
        let trusted =
            format!("timestamp:1764400000\tfile:jilian-wms_{version}_amd64.deb\tversion:{version}");
        let sig = minisign::sign(
            None,
            &self.secret,
            Cursor::new(data),
            Some(&trusted),
            Some("signature from tauri secret key"),
        )
        .unwrap();
        b64(&sig.to_string())
    }
}

/// A real server on loopback with the demo tenant.
struct Server {
    _dir: tempfile::TempDir,
    _running: wms_server::Running,
    url: String,
    fingerprint: String,
    tls: wms_server::tls::TlsMaterial,
    admin_email: String,
    admin_password: String,
    admin_totp_secret: String,
    packer_email: String,
    packer_password: String,
}

fn settings(dir: &Path) -> wms_server::Settings {
    let mut s = wms_server::Settings {
        data_dir: dir.to_path_buf(),
        argon2: wms_server::config::Argon2Settings {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        },
        ..wms_server::Settings::default()
    };
    s.auth_rate_per_minute = 100_000;
    s.amazon.workers = false;
    s
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path());
        let tls = wms_server::tls::load_or_generate(&s).unwrap();
        let state = wms_server::build_state(s.clone()).await.unwrap();
        let summary = wms_server::demo::seed(&state, TENANT, 1, 0).await.unwrap();
        let user = |prefix: &str| {
            summary
                .users
                .iter()
                .find(|u| u.email.starts_with(prefix))
                .unwrap()
        };
        let (admin, packer) = (user("admin@"), user("packer@"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let running = wms_server::launch(state, listener, &tls).await.unwrap();
        Self {
            url: format!("https://127.0.0.1:{}", running.addr.port()),
            fingerprint: tls.fingerprint.clone(),
            _running: running,
            _dir: dir,
            tls,
            admin_email: admin.email.clone(),
            admin_password: admin.password.clone(),
            admin_totp_secret: admin.totp_secret.clone().unwrap_or_default(),
            packer_email: packer.email.clone(),
            packer_password: packer.password.clone(),
        }
    }

    fn admin_totp(&self) -> String {
        let secret = wms_core::totp::secret_from_base32(&self.admin_totp_secret).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        wms_core::totp::code_at(&secret, now).unwrap()
    }
}

/// What the artifact host was asked: the path, and whether an `Authorization` header came.
type Seen = Arc<Mutex<Vec<(String, bool)>>>;

/// A small HTTPS file server on 127.0.0.1 (the server's host, so the station's pin applies to it)
/// presenting `tls`'s certificate.
async fn artifact_host(
    tls: &wms_server::tls::TlsMaterial,
    files: HashMap<String, Vec<u8>>,
) -> (u16, Seen) {
    let acceptor = tokio_rustls::TlsAcceptor::from(wms_server::tls::server_config(tls).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let files = Arc::new(files);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, files, log) = (acceptor.clone(), files.clone(), log.clone());
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
                let path = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let auth = head.lines().any(|l| l.starts_with("authorization:"));
                log.lock().unwrap().push((path.clone(), auth));
                let response = match files.get(&path) {
                    Some(body) => [
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes(),
                        body.clone(),
                    ]
                    .concat(),
                    None => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec(),
                };
                let _ = s.write_all(&response).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (port, seen)
}

/// The app as `run()` builds it, in the mock runtime: the updater plugin with `pubkey` (the key
/// the app would carry) and version-bound signatures required, as tauri.conf.json has them.
fn app(pubkey: &str) -> tauri::App<tauri::test::MockRuntime> {
    let mut ctx = tauri::test::mock_context(tauri::test::noop_assets());
    ctx.config_mut().plugins.0.insert(
        "updater".into(),
        serde_json::json!({ "pubkey": pubkey, "endpoints": [], "requireSignedVersion": true }),
    );
    assert_eq!(ctx.package_info().version.to_string(), "0.1.0");
    tauri::test::mock_builder()
        .plugin(tauri_plugin_updater::Builder::new().build())
        .manage(Updates::default())
        .build(ctx)
        .unwrap()
}

fn release(version: &str, url: String, signature: String, rollout: u8) -> NewRelease {
    NewRelease {
        version: version.into(),
        channel: None,
        notes: Some(format!("Jilian WMS {version}")),
        pub_date: None,
        rollout_percent: rollout,
        artifacts: vec![Artifact {
            platform: updates::platform().unwrap(),
            url,
            signature,
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updater_takes_only_what_the_release_key_signed_for_that_version() {
    let server = Server::start().await;
    let key = Key::new();
    let other = Key::new();
    let good =
        b"!<arch>\ndebian-binary   jilian-wms 0.2.0 (a .deb's bytes, as far as the updater cares)"
            .to_vec();
    let tampered = [good.as_slice(), b" + something else"].concat();
    let (port, seen) = artifact_host(
        &server.tls,
        HashMap::from([
            ("/good.deb".to_owned(), good.clone()),
            ("/tampered.deb".to_owned(), tampered),
        ]),
    )
    .await;
    let at = |path: &str| format!("https://127.0.0.1:{port}{path}");

    // The admin's station, logged in (the login's TOTP counts as a fresh step-up for a while),
    // publishes; a packer's station, another installation, is the one updated: updates are for
    // every role.
    let options = || StationOptions {
        secret_store: StorePreference::File,
        ..StationOptions::default()
    };
    let login = |email: &str, password: &str, totp: Option<String>| LoginParams {
        server: server.url.clone(),
        fingerprint: Some(server.fingerprint.clone()),
        tenant: TENANT.into(),
        email: email.into(),
        password: Zeroizing::new(password.into()),
        totp,
    };
    let (admin_dir, bench_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let admin = Station::login(
        admin_dir.path(),
        login(
            &server.admin_email,
            &server.admin_password,
            Some(server.admin_totp()),
        ),
        options(),
    )
    .await
    .unwrap();
    drop(
        Station::login(
            bench_dir.path(),
            login(&server.packer_email, &server.packer_password, None),
            options(),
        )
        .await
        .unwrap(),
    );
    // The app's own state over the packer's installation, as `run()` opens it at start.
    let desk = Desk::open(bench_dir.path().to_path_buf()).await;
    let app = app(&key.public);
    let handle = app.handle().clone();
    let progress: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let events = progress.clone();
    handle.listen(UPDATE_PROGRESS, move |e| {
        events
            .lock()
            .unwrap()
            .push(serde_json::from_str(e.payload()).unwrap());
    });
    let offered = || async { updates::pending_update(&handle, &desk).await };

    // Nothing published: the server answers 204.
    assert!(offered().await.unwrap().is_none());

    // A release signed with the app's key for its version: offered, downloaded, verified.
    let v020 = admin
        .publish_release(&release(
            "0.2.0",
            at("/good.deb"),
            key.sign(&good, "0.2.0"),
            100,
        ))
        .await
        .unwrap();
    assert_eq!(
        (v020.version.as_str(), v020.channel.as_str()),
        ("0.2.0", "stable")
    );
    assert!(
        admin
            .releases(None)
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == v020.id)
    );
    let update = offered().await.unwrap().expect("0.2.0 is offered");
    assert_eq!(update.version, "0.2.0");
    assert_eq!(update.body.as_deref(), Some("Jilian WMS 0.2.0"));
    assert_eq!(update.download_url.as_str(), at("/good.deb"));
    assert!(
        !update.headers.contains_key(AUTHORIZATION),
        "the session's token is not for the artifact host"
    );
    let bytes = updates::download_verified(&handle, &update).await.unwrap();
    assert_eq!(bytes, good);
    assert!(seen.lock().unwrap().iter().all(|(_, auth)| !auth));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let phases: Vec<String> = progress
        .lock()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        phases.first().map(String::as_str),
        Some("download"),
        "{phases:?}"
    );
    assert_eq!(
        phases.last().map(String::as_str),
        Some("verify"),
        "{phases:?}"
    );
    let last = progress.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last["downloaded"], good.len());
    assert_eq!(last["total"], good.len());

    // A newer version whose artifact is not the bytes that were signed: refused.
    admin
        .publish_release(&release(
            "0.3.0",
            at("/tampered.deb"),
            key.sign(&good, "0.3.0"),
            100,
        ))
        .await
        .unwrap();
    let update = offered().await.unwrap().unwrap();
    assert_eq!(update.version, "0.3.0");
    let e = updates::download_verified(&handle, &update)
        .await
        .unwrap_err();
    assert_eq!(e.code, "update_signature_invalid", "{}", e.message);

    // Signed with another key: refused.
    admin
        .publish_release(&release(
            "0.4.0",
            at("/good.deb"),
            other.sign(&good, "0.4.0"),
            100,
        ))
        .await
        .unwrap();
    let update = offered().await.unwrap().unwrap();
    assert_eq!(update.version, "0.4.0");
    let e = updates::download_verified(&handle, &update)
        .await
        .unwrap_err();
    assert_eq!(e.code, "update_signature_invalid", "{}", e.message);

    // 0.2.0's genuine artifact and signature announced as 0.5.0 (a downgrade in disguise): refused.
    let v050 = admin
        .publish_release(&release(
            "0.5.0",
            at("/good.deb"),
            key.sign(&good, "0.2.0"),
            100,
        ))
        .await
        .unwrap();
    let update = offered().await.unwrap().unwrap();
    assert_eq!(update.version, "0.5.0");
    let e = updates::download_verified(&handle, &update)
        .await
        .unwrap_err();
    assert_eq!(e.code, "update_signature_invalid", "{}", e.message);
    assert!(e.message.contains("0.2.0"), "{}", e.message);

    // The admin pauses the newer ones (rollout 0 for one of them): 0.2.0 is what is offered again.
    let listed = admin.releases(None).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|r| r.version.as_str())
            .collect::<Vec<_>>(),
        ["0.5.0", "0.4.0", "0.3.0", "0.2.0"],
        "newest first"
    );
    let paused = admin.pause_release(&v050.id).await.unwrap();
    assert!(paused.paused);
    for r in listed
        .iter()
        .filter(|r| r.version == "0.4.0" || r.version == "0.3.0")
    {
        if r.version == "0.4.0" {
            assert_eq!(
                admin
                    .set_release_rollout(&r.id, 0)
                    .await
                    .unwrap()
                    .rollout_percent,
                0
            );
        } else {
            admin.pause_release(&r.id).await.unwrap();
        }
    }
    let update = offered().await.unwrap().unwrap();
    assert_eq!(update.version, "0.2.0");
    assert_eq!(
        updates::download_verified(&handle, &update).await.unwrap(),
        good
    );
    // Paused too: nothing newer for this station.
    admin.pause_release(&v020.id).await.unwrap();
    assert!(offered().await.unwrap().is_none());
    // Resumed: offered again.
    assert!(!admin.resume_release(&v020.id).await.unwrap().paused);
    assert_eq!(offered().await.unwrap().unwrap().version, "0.2.0");
    // A change decided on the release as it was at publication (paused and resumed since) is
    // refused, not applied over the newer state.
    let stale = ReleaseChange {
        rollout_percent: Some(50),
        version_check: v020.version_check,
        ..ReleaseChange::default()
    };
    let e = admin.change_release(&v020.id, stale).await.unwrap_err();
    assert_eq!(e.code(), "version_conflict");

    // The admin puts the bench on the beta channel: its update check is offered beta's release
    // (stable's 0.2.0 is not on it); back on the default, stable's again.
    let admin_device = admin.device_id().unwrap();
    let bench = admin
        .devices()
        .await
        .unwrap()
        .into_iter()
        .find(|d| Some(&d.id) != admin_device.as_ref())
        .expect("the bench's device");
    assert_eq!(bench.update_channel, None);
    let mut beta = release(
        "0.6.0-beta.1",
        at("/good.deb"),
        key.sign(&good, "0.6.0-beta.1"),
        100,
    );
    beta.channel = Some("beta".into());
    admin.publish_release(&beta).await.unwrap();
    assert_eq!(offered().await.unwrap().unwrap().version, "0.2.0");
    let e = admin
        .set_device_update_channel(&bench.id, Some("Beta Ring"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_url", "checked before it is sent: {e}");
    let set = admin
        .set_device_update_channel(&bench.id, Some(" beta "))
        .await
        .unwrap();
    assert_eq!(set.update_channel.as_deref(), Some("beta"));
    assert_eq!(offered().await.unwrap().unwrap().version, "0.6.0-beta.1");
    let set = admin
        .set_device_update_channel(&bench.id, None)
        .await
        .unwrap();
    assert_eq!(set.update_channel, None);
    assert_eq!(offered().await.unwrap().unwrap().version, "0.2.0");

    // This test binary is no installed package: the install is refused before anything is fetched.
    let asked = seen.lock().unwrap().len();
    let e = updates::install(&handle, &desk, handle.state::<Updates>().inner())
        .await
        .unwrap_err();
    assert_eq!(e.code, "update_not_installable", "{}", e.message);
    assert_eq!(seen.lock().unwrap().len(), asked);

    // An artifact host on the server's address with another certificate than the pinned one:
    // refused by the pin, nothing downloaded.
    let elsewhere = tempfile::tempdir().unwrap();
    let impostor = wms_server::tls::load_or_generate(&settings(elsewhere.path())).unwrap();
    assert_ne!(impostor.fingerprint, server.fingerprint);
    let (bad_port, bad_seen) = artifact_host(
        &impostor,
        HashMap::from([("/good.deb".to_owned(), good.clone())]),
    )
    .await;
    let v060 = admin
        .publish_release(&release(
            "0.6.0",
            format!("https://127.0.0.1:{bad_port}/good.deb"),
            key.sign(&good, "0.6.0"),
            100,
        ))
        .await
        .unwrap();
    let update = offered().await.unwrap().unwrap();
    assert_eq!(update.version, v060.version);
    let e = updates::download_verified(&handle, &update)
        .await
        .unwrap_err();
    assert_eq!(e.code, "tls_pin_mismatch", "{}", e.message);
    assert!(
        bad_seen.lock().unwrap().is_empty(),
        "no request got through"
    );

    // The server's own checks reach the caller as its codes.
    let e = admin
        .publish_release(&release(
            "0.6.0",
            at("/good.deb"),
            key.sign(&good, "0.6.0"),
            100,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "release_version_exists");
}
