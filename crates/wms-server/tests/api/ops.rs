//! TLS, operational endpoints, the OpenAPI document, and the `wms-server` command-line contract.

use reqwest::StatusCode;
use std::io::{BufRead, Read, Write};
use std::process::{Command, Output, Stdio};

use crate::harness::{Backend, TestServer, client_for};

/// Run the real `wms-server` binary against the same data directory / database as `s`.
pub fn cli(s: &TestServer, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wms-server"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("WMS_DATA_DIR", s.dir.path())
        .env("WMS_LOG", "warn");
    if let Some(url) = &s.settings.database_url {
        cmd.env("WMS_DATABASE_URL", url);
    }
    if let Some(url) = &s.settings.database_owner_url {
        cmd.env("WMS_DATABASE_OWNER_URL", url);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn wms-server");
    if let Some(mut pipe) = child.stdin.take()
        && let Some(input) = stdin
    {
        pipe.write_all(input.as_bytes()).expect("stdin");
    }
    child.wait_with_output().expect("wait")
}

/// A TLS 1.1 ClientHello (no supported_versions extension): the server must answer with an alert.
fn tls11_client_hello() -> Vec<u8> {
    let mut body = vec![0x03, 0x02];
    body.extend_from_slice(&[0x42; 32]);
    body.push(0);
    // TLS_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    body.extend_from_slice(&[0x00, 0x04, 0x00, 0x2f, 0xc0, 0x13]);
    body.extend_from_slice(&[0x01, 0x00]);
    let mut hs = vec![0x01, 0x00, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01, (hs.len() >> 8) as u8, hs.len() as u8];
    rec.extend_from_slice(&hs);
    rec
}

fn raw_exchange(addr: &str, bytes: &[u8]) -> Vec<u8> {
    let mut sock = std::net::TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok();
    sock.write_all(bytes).expect("write");
    let mut out = Vec::new();
    let _ = sock.read_to_end(&mut out);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_tls_12_and_13_are_spoken() {
    let s = TestServer::start(Backend::Sqlite).await;
    let addr = s.base.trim_start_matches("https://").to_owned();
    let tls = wms_server::tls::load_or_generate(&s.settings).expect("tls");
    for v in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let c = client_for(&tls, Some(v));
        let r = c.get(s.url("/healthz")).send().await.expect("handshake");
        assert_eq!(r.status(), StatusCode::OK, "{v:?}");
    }
    let answer = tokio::task::spawn_blocking({
        let addr = addr.clone();
        move || raw_exchange(&addr, &tls11_client_hello())
    })
    .await
    .expect("join");
    // A fatal TLS alert (record 21, level 2: handshake_failure 40 or protocol_version 70) and
    // no ServerHello: no TLS 1.1 session is possible.
    assert!(answer.len() >= 7, "{answer:?}");
    assert_eq!(
        (answer[0], answer[5]),
        (21, 2),
        "expected a fatal alert record, got {answer:?}"
    );
    assert!(
        [40, 70].contains(&answer[6]),
        "expected handshake_failure or protocol_version, got {answer:?}"
    );
    let plain = tokio::task::spawn_blocking(move || {
        raw_exchange(&addr, b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    })
    .await
    .expect("join");
    assert!(
        !plain.starts_with(b"HTTP/"),
        "plain HTTP must not be answered: {:?}",
        String::from_utf8_lossy(&plain)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_metrics_and_request_ids() {
    let s = TestServer::start(Backend::Sqlite).await;
    let h = s.http.get(s.url("/healthz")).send().await.expect("healthz");
    assert_eq!(h.status(), StatusCode::OK);
    assert!(h.headers().contains_key("x-request-id"));
    let r = s.http.get(s.url("/readyz")).send().await.expect("readyz");
    assert_eq!(r.status(), StatusCode::OK);
    let m = s
        .http
        .get(s.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(m.contains("wms_http_requests_total"), "{m}");
    assert!(m.contains("route=\"/healthz\""), "{m}");
    s.state.set_draining();
    let r = s.http.get(s.url("/readyz")).send().await.expect("readyz");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// The document served is generated from the handlers; `docs/openapi.json` is the committed copy
/// (regenerate with `UPDATE_OPENAPI=1 cargo test -p wms-server openapi`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_served_and_committed() {
    let s = TestServer::start(Backend::Sqlite).await;
    let served: serde_json::Value = s
        .http
        .get(s.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    let generated = serde_json::to_value(wms_server::http::openapi()).expect("value");
    assert_eq!(served, generated);
    let paths = served["paths"].as_object().expect("paths");
    for p in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/auth/mfa/enroll",
        "/api/v1/auth/mfa/verify",
        "/api/v1/sessions",
        "/healthz",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    let committed_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let pretty = wms_server::http::openapi().to_pretty_json().expect("json") + "\n";
    if std::env::var("UPDATE_OPENAPI").is_ok() {
        std::fs::write(&committed_path, &pretty).expect("write");
    }
    let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
    assert!(
        committed == pretty,
        "docs/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test -p wms-server openapi`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_contract_tenant_user_audit_demo() {
    let s = TestServer::start(Backend::Sqlite).await;
    let out = cli(&s, &["tenant", "create", "kanto"], None);
    assert!(out.status.success(), "{out:?}");
    let dup = cli(&s, &["tenant", "create", "kanto"], None);
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));

    let out = cli(
        &s,
        &[
            "user",
            "create",
            "--tenant",
            "kanto",
            "--email",
            "sv@kanto.example",
            "--role",
            "supervisor",
            "--password-stdin",
        ],
        Some("a long and fine passphrase\n"),
    );
    assert!(out.status.success(), "{out:?}");
    let weak = cli(
        &s,
        &[
            "user",
            "create",
            "--tenant",
            "kanto",
            "--email",
            "p@kanto.example",
            "--role",
            "packer",
            "--password-stdin",
        ],
        Some("password1234\n"),
    );
    assert!(!weak.status.success());
    let bad_role = cli(
        &s,
        &[
            "user",
            "create",
            "--tenant",
            "kanto",
            "--email",
            "p@kanto.example",
            "--role",
            "root",
        ],
        None,
    );
    assert!(!bad_role.status.success());
    let otp = cli(
        &s,
        &[
            "user",
            "create",
            "--tenant",
            "kanto",
            "--email",
            "p@kanto.example",
            "--role",
            "packer",
        ],
        None,
    );
    assert!(
        String::from_utf8_lossy(&otp.stdout).contains("one-time password"),
        "{otp:?}"
    );

    let verify = cli(&s, &["audit", "verify", "--tenant", "kanto"], None);
    assert!(verify.status.success(), "{verify:?}");
    assert!(String::from_utf8_lossy(&verify.stdout).contains("holds"));

    let demo = cli(&s, &["demo", "seed", "--tenant", "demo", "--json"], None);
    assert!(demo.status.success(), "{demo:?}");
    let summary: serde_json::Value = serde_json::from_slice(&demo.stdout).expect("json summary");
    assert_eq!(summary["users"].as_array().map(Vec::len), Some(3));
    assert!(summary["users"][1]["totp_secret"].is_string());
    // The printed credentials work.
    let sv = &summary["users"][1];
    let secret =
        wms_core::totp::secret_from_base32(sv["totp_secret"].as_str().expect("seed")).expect("b32");
    let login = s
        .post("/api/v1/auth/login", None, serde_json::json!({"tenant": "demo", "email": sv["email"], "password": sv["password"], "totp": crate::harness::code_now(&secret, 0)}))
        .await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");

    let mut prod = Command::new(env!("CARGO_BIN_EXE_wms-server"));
    prod.args(["demo", "seed", "--tenant", "demo2"])
        .env("WMS_DATA_DIR", s.dir.path())
        .env("WMS_PRODUCTION", "true");
    let refused = prod.output().expect("run");
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("production"));
}

/// `wms-server serve` as an operator runs it: writes its certificate to `$WMS_DATA_DIR/tls/`, logs
/// the address and fingerprint, serves TLS, and shuts down gracefully on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_binary_generates_a_certificate_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wms-server"))
        .arg("serve")
        .env("WMS_DATA_DIR", dir.path())
        .env("WMS_LISTEN", "127.0.0.1:0")
        .env("WMS_LOG", "info")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (addr, fingerprint) = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stderr).lines();
        loop {
            let line = lines.next().expect("server exited early").expect("read");
            if line.contains("listening") {
                let addr = line
                    .split("https://")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .expect("address")
                    .to_owned();
                let fp = line
                    .split("fingerprint=")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next())
                    .expect("fingerprint")
                    .to_owned();
                std::thread::spawn(move || for _ in lines {});
                return (addr, fp);
            }
        }
    })
    .await
    .expect("join");
    let cert = dir.path().join("tls/cert.pem");
    assert!(cert.exists());
    let settings = crate::harness::test_settings(dir.path());
    let tls = wms_server::tls::load_or_generate(&settings).expect("tls");
    assert_eq!(
        tls.fingerprint, fingerprint,
        "the logged fingerprint is the certificate's"
    );
    let r = client_for(&tls, None)
        .get(format!("https://{addr}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), StatusCode::OK);
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(
        status.success(),
        "graceful shutdown exits 0, got {status:?}"
    );
}
