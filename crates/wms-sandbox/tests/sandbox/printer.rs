//! The raw TCP printer: jobs saved byte for byte, `~HS` answered, offline refuses connections.

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::start;

async fn send_job(addr: std::net::SocketAddr, bytes: &[u8]) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    s.shutdown().await.expect("shutdown");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest).await;
}

async fn jobs(env: &crate::common::Env, n: usize) -> Vec<Value> {
    for _ in 0..100 {
        let v = env.ctl_get("/printer/jobs").await;
        let list = v["jobs"].as_array().cloned().unwrap_or_default();
        if list.len() >= n {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no {n} print jobs");
}

#[tokio::test]
async fn jobs_status_and_offline() {
    let env = start().await;
    let addr = env.sb.printer_addr();
    assert_eq!(env.sb.urls().printer, format!("tcp://{addr}"));

    let mut job: Vec<u8> =
        b"^XA^CI28^FO50,50^A0N,40,40^FD\xe5\xb1\xb1\xe7\x94\xb0 \xe5\xa4\xaa\xe9\x83\x8e^FS^XZ"
            .to_vec();
    job.extend((0..200_000u32).map(|i| (i % 251) as u8));
    send_job(addr, &job).await;
    let list = jobs(&env, 1).await;
    assert_eq!(list[0]["size"], job.len());
    assert_eq!(list[0]["sha256"], hex::encode(Sha256::digest(&job)));
    let id = list[0]["id"].as_str().expect("id");
    let raw = env
        .http
        .get(env.control_url(&format!("/printer/jobs/{id}")))
        .send()
        .await
        .expect("raw")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(raw.as_ref(), job.as_slice());

    // ~HS: three status lines back; a status poll is not a job.
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"~HS").await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got.iter().filter(|b| **b == b'\n').count() < 3 {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("status in time")
            .expect("read");
        assert!(n > 0, "closed before the status");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got.first(), Some(&0x02));
    drop(s);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        env.ctl_get("/printer/jobs").await["jobs"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Offline: connections refused. Back online: the same address prints again.
    let r = env
        .http
        .put(env.control_url("/printer/online"))
        .json(&json!({"online": false}))
        .send()
        .await
        .expect("offline");
    assert!(r.status().is_success());
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "offline printer accepted a connection");
    env.sb.control().set_printer_online(true);
    let mut ok = false;
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ok, "printer did not come back");
    send_job(addr, b"^XA^FDagain^FS^XZ").await;
    // The probe connection above sent nothing (no job); the second real job is listed.
    let list = jobs(&env, 2).await;
    assert_eq!(list[1]["size"], 17);
}
