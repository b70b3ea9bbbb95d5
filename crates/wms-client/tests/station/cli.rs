//! The `wms-station` binary end to end: login (--password-stdin, TOTP), status, sync, logout.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::harness::{self, Server};

fn station(data: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    station_with_env(data, args, stdin, &[])
}

/// `wms-station --data DATA ARGS…` with these environment variables: (success, stdout, stderr).
pub fn station_with_env(
    data: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wms-station"))
        .arg("--data")
        .arg(data)
        .args(args)
        .envs(env.iter().copied())
        .env("WMS_LABEL_FONT", harness::font_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn run(
    data: std::path::PathBuf,
    args: Vec<String>,
    stdin: Option<String>,
) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        station(&data, &a, stdin.as_deref())
    })
    .await
    .unwrap()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wms_station_binary_login_status_sync_logout() {
    let server = Server::start(12, 8).await;
    let admin = server.admin_client(-1).await;
    for id in admin.order_ids("received").await {
        admin.allocate(&id).await;
    }
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    // The fingerprint in plain lower-case hex (the server logs the AB:CD:… form).
    let fp = server.fingerprint.replace(':', "").to_lowercase();

    harness::clear_of_step_boundary().await;
    let (ok, out, err) = run(
        dir.clone(),
        s(&[
            "--secret-store",
            "file",
            "login",
            "--server",
            &server.url(),
            "--fingerprint",
            &fp,
            "--tenant",
            harness::TENANT,
            "--email",
            &server.supervisor_email,
            "--password-stdin",
            "--totp",
            &server.totp(0),
        ]),
        Some(format!("{}\n", server.password)),
    )
    .await;
    assert!(ok, "login failed: {out}{err}");
    assert!(out.contains("key-file fallback"), "{out}");
    assert!(
        !err.contains(&server.password),
        "the password never reaches the log"
    );

    let (ok, out, err) = run(dir.clone(), s(&["sync"]), None).await;
    assert!(ok, "sync failed: {out}{err}");
    assert!(out.contains("synced: 8 orders, 12 skus"), "{out}");
    assert!(
        out.contains("full load: 8 orders fetched; cursor "),
        "{out}"
    );

    // The next sync is a delta from the stored cursor (nothing changed in between).
    let (ok, out, err) = run(dir.clone(), s(&["sync"]), None).await;
    assert!(ok, "sync failed: {out}{err}");
    assert!(out.contains("synced: 0 orders, 0 skus"), "{out}");
    assert!(
        out.contains("delta: 0 changes read, 0 orders fetched"),
        "{out}"
    );

    let (ok, out, err) = run(dir.clone(), s(&["status"]), None).await;
    assert!(ok, "status failed: {out}{err}");
    assert!(out.contains("online: online"), "{out}");
    assert!(out.contains("outbox: 0 pending"), "{out}");
    assert!(out.contains("keyring backend: key-file fallback"), "{out}");
    assert!(out.contains("8 orders, 12 skus"), "{out}");

    let (ok, out, err) = run(dir.clone(), s(&["logout"]), None).await;
    assert!(ok, "logout failed: {out}{err}");
    assert!(out.contains("session revoked on the server: true"), "{out}");
    assert!(!dir.join("cache.sqlite").exists());
    assert!(!dir.join("secrets").join("refresh_token").exists());
    assert!(!dir.join("secrets").join("cache_key").exists());

    let (ok, _, err) = run(dir.clone(), s(&["status"]), None).await;
    assert!(!ok, "status after logout needs a login: {err}");
}
