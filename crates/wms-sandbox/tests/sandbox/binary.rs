//! The `wms-sandbox serve` binary prints the URLs as JSON on its first stdout line.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::http_client;

#[tokio::test]
async fn serve_prints_the_urls_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wms-sandbox"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("first line in time")
        .expect("read")
        .expect("a line");
    let urls: Value = serde_json::from_str(&first).expect("JSON first line");
    for k in [
        "amazon",
        "lwa_token_url",
        "control",
        "printer",
        "yamato",
        "sagawa",
        "ca_cert",
        "cert_sha256",
    ] {
        assert!(urls[k].is_string(), "{k} in {first}");
    }
    let amazon = urls["amazon"].as_str().expect("amazon");
    assert!(amazon.starts_with("https://127.0.0.1:") && amazon.ends_with("/amazon"));
    assert!(
        urls["printer"]
            .as_str()
            .expect("printer")
            .starts_with("tcp://127.0.0.1:")
    );
    assert_eq!(
        urls["lwa_token_url"].as_str().expect("lwa"),
        format!("{amazon}/auth/o2/token")
    );
    let pem = std::fs::read(urls["ca_cert"].as_str().expect("ca")).expect("cert file");
    let der = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .expect("a cert")
        .expect("pem");
    use sha2::Digest;
    assert_eq!(
        urls["cert_sha256"].as_str().expect("sha"),
        hex::encode(sha2::Sha256::digest(der.as_ref()))
    );
    let http = http_client(der, Duration::from_secs(10));
    let settings: Value = http
        .get(format!(
            "{}/settings",
            urls["control"].as_str().expect("control")
        ))
        .send()
        .await
        .expect("control over TLS")
        .json()
        .await
        .expect("json");
    assert_eq!(settings["searchLagSecs"], 120);
    child.kill().await.expect("kill");
}
