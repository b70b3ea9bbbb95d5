//! A raw TCP label printer (like port 9100): each connection's bytes until EOF are one job.
//! Zebra `~HS` host-status queries are answered; "offline" closes the listening socket so
//! connections are refused, and re-binds the same address when back online.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::control::Control;

/// `~HS` answer: three STX…ETX CR LF strings (communication settings, paper/head/pause flags,
/// label counts), all "ready".
pub const HOST_STATUS: &[u8] = b"\x02030,0,0,0812,000,0,0,0,000,0,0,0\x03\r\n\
\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\r\n\
\x021234,0\x03\r\n";

/// Serves until the task is aborted. `listener` is already bound (its port is advertised).
pub async fn serve(ctl: Arc<Control>, listener: TcpListener) {
    let addr = listener.local_addr().ok();
    let mut online = ctl.printer_online_watch();
    let mut listener = Some(listener);
    loop {
        let is_online = *online.borrow_and_update();
        if is_online
            && listener.is_none()
            && let Some(a) = addr
        {
            match TcpListener::bind(a).await {
                Ok(l) => listener = Some(l),
                Err(e) => tracing::warn!(error = %e, "printer: cannot re-bind"),
            }
        }
        if !is_online {
            // Closing the socket makes new connections fail with "connection refused".
            listener = None;
        }
        match &listener {
            Some(l) => {
                tokio::select! {
                    accepted = l.accept() => {
                        if let Ok((stream, peer)) = accepted {
                            tokio::spawn(job(ctl.clone(), stream, peer));
                        }
                    }
                    changed = online.changed() => {
                        if changed.is_err() { return; }
                    }
                }
            }
            None if is_online => {
                // The re-bind failed (port briefly busy): retry shortly.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            None => {
                if online.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}

fn count_hs(buf: &[u8]) -> usize {
    buf.windows(3)
        .filter(|w| {
            w[0] == b'~' && w[1].eq_ignore_ascii_case(&b'H') && w[2].eq_ignore_ascii_case(&b'S')
        })
        .count()
}

/// Only `~HS` queries and whitespace: a status poll, not a print job.
fn is_status_only(buf: &[u8]) -> bool {
    let mut rest = Vec::with_capacity(buf.len());
    let mut i = 0;
    while i < buf.len() {
        if i + 3 <= buf.len() && count_hs(&buf[i..i + 3]) == 1 {
            i += 3;
        } else {
            rest.push(buf[i]);
            i += 1;
        }
    }
    rest.iter().all(u8::is_ascii_whitespace)
}

async fn job(ctl: Arc<Control>, mut stream: TcpStream, peer: SocketAddr) {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut answered = 0;
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                let queries = count_hs(&buf);
                while answered < queries {
                    if stream.write_all(HOST_STATUS).await.is_err() {
                        break;
                    }
                    answered += 1;
                }
                if buf.len() > 64 * 1024 * 1024 {
                    tracing::warn!(%peer, "printer: job over 64 MiB, dropped");
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(%peer, error = %e, "printer: read failed");
                break;
            }
        }
    }
    let _ = stream.shutdown().await;
    if buf.is_empty() || is_status_only(&buf) {
        return;
    }
    match ctl.save_print_job(&peer.to_string(), &buf) {
        Ok(j) => tracing::info!(job = %j.id, size = j.size, "printer: job received"),
        Err(e) => tracing::error!(error = %e, "printer: cannot save job"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_queries_are_not_jobs() {
        assert!(is_status_only(b"~HS\r\n"));
        assert!(is_status_only(b"~hs ~HS"));
        assert!(!is_status_only(b"~HS^XA^FDx^FS^XZ"));
        assert_eq!(count_hs(b"~HS~HS"), 2);
        assert_eq!(
            HOST_STATUS
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count(),
            3
        );
    }
}
