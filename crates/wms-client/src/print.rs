//! Printing without a dialog: raw bytes (ZPL) to a network label printer over TCP (port 9100,
//! AppSocket), or to a CUPS queue in raw mode (`lp -d QUEUE -o raw`, i.e.
//! `application/vnd.cups-raw`), plus Zebra's `~HS` host status over TCP.
//!
//! Nothing here ever resends a label by itself. A failure before any byte left is safe to retry
//! (`PrintError::is_safe_to_retry`); a failure after bytes left is *uncertain* — the label may have
//! printed — and a reprint is an explicit call by the packer.

use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// After the half-close, how long to wait for the printer to close its side.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterTarget {
    /// `tcp://HOST:PORT`
    Tcp { host: String, port: u16 },
    /// `cups://QUEUE`
    Cups { queue: String },
}

impl fmt::Display for PrinterTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrinterTarget::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            PrinterTarget::Cups { queue } => write!(f, "cups://{queue}"),
        }
    }
}

impl std::str::FromStr for PrinterTarget {
    type Err = PrintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PrintError::BadTarget(s.to_owned());
        if let Some(rest) = s.strip_prefix("tcp://") {
            let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                return Err(bad());
            }
            Ok(PrinterTarget::Tcp {
                host: host.to_owned(),
                port: port.parse().map_err(|_| bad())?,
            })
        } else if let Some(queue) = s.strip_prefix("cups://") {
            // CUPS queue names: printable, no spaces, slashes or '#'.
            if queue.is_empty()
                || queue
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '#'))
            {
                return Err(bad());
            }
            Ok(PrinterTarget::Cups {
                queue: queue.to_owned(),
            })
        } else {
            Err(bad())
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error("printer target `{0}` is not tcp://HOST:PORT or cups://QUEUE")]
    BadTarget(String),
    /// Nothing was sent.
    #[error("printer offline: {target} ({reason})")]
    Offline { target: String, reason: String },
    /// Nothing was sent.
    #[error("queue missing: CUPS has no queue `{0}`")]
    QueueMissing(String),
    /// Nothing was sent.
    #[error("CUPS is not available here: {0}")]
    SpoolerMissing(String),
    /// Some or all bytes may have reached the printer: do not resend without the packer asking.
    #[error(
        "printing to {target} may or may not have happened ({reason}): check the printer; reprint only on purpose"
    )]
    Uncertain { target: String, reason: String },
    #[error("the printer's status answer could not be read: {0}")]
    Status(String),
}

impl PrintError {
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            PrintError::BadTarget(_) => "bad_printer_target",
            PrintError::Offline { .. } => "printer_offline",
            PrintError::QueueMissing(_) => "queue_missing",
            PrintError::SpoolerMissing(_) => "spooler_missing",
            PrintError::Uncertain { .. } => "print_uncertain",
            PrintError::Status(_) => "printer_status",
        }
    }

    /// True when no byte reached the printer, so sending again cannot print twice.
    #[must_use]
    pub fn is_safe_to_retry(&self) -> bool {
        matches!(
            self,
            PrintError::Offline { .. }
                | PrintError::QueueMissing(_)
                | PrintError::SpoolerMissing(_)
        )
    }
}

async fn connect(host: &str, port: u16, target: &str) -> Result<TcpStream, PrintError> {
    let offline = |reason: String| PrintError::Offline {
        target: target.to_owned(),
        reason,
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port))).await {
        Err(_) => Err(offline("no answer within 3 s".into())),
        Ok(Err(e)) => Err(offline(match e.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            _ => e.to_string(),
        })),
        Ok(Ok(s)) => Ok(s),
    }
}

/// Checks that a TCP printer accepts a connection, without sending a byte (a printer ignores an
/// empty connection), so that nothing is fetched — and counted as a print on the server — for a
/// printer that is not there. A CUPS queue is not probed: the spooler queues the job either way.
pub async fn probe(target: &PrinterTarget) -> Result<(), PrintError> {
    match target {
        PrinterTarget::Tcp { host, port } => {
            let mut s = connect(host, *port, &target.to_string()).await?;
            let _ = s.shutdown().await;
            Ok(())
        }
        PrinterTarget::Cups { .. } => Ok(()),
    }
}

/// Sends `bytes` as one raw job (CUPS: the scheduler named by `CUPS_SERVER`, or the default).
pub async fn send_raw(target: &PrinterTarget, bytes: &[u8]) -> Result<(), PrintError> {
    send_raw_via(target, bytes, None).await
}

/// As [`send_raw`], with an explicit CUPS scheduler (a socket path or `host:port`).
pub async fn send_raw_via(
    target: &PrinterTarget,
    bytes: &[u8],
    cups_server: Option<&str>,
) -> Result<(), PrintError> {
    match target {
        PrinterTarget::Tcp { host, port } => {
            send_tcp(host, *port, bytes, &target.to_string()).await
        }
        PrinterTarget::Cups { queue } => send_cups(queue, bytes, cups_server).await,
    }
}

/// Writes everything, half-closes (the printer sees the end of the job), then waits for the printer
/// to close its side or a short timeout.
async fn send_tcp(host: &str, port: u16, bytes: &[u8], target: &str) -> Result<(), PrintError> {
    let mut stream = connect(host, port, target).await?;
    let uncertain = |reason: String| PrintError::Uncertain {
        target: target.to_owned(),
        reason,
    };
    match tokio::time::timeout(WRITE_TIMEOUT, async {
        stream.write_all(bytes).await?;
        stream.flush().await?;
        stream.shutdown().await
    })
    .await
    {
        Err(_) => return Err(uncertain("the printer stopped accepting data".into())),
        Ok(Err(e)) => return Err(uncertain(e.to_string())),
        Ok(Ok(())) => {}
    }
    let mut sink = [0u8; 512];
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    Ok(())
}

/// `lp -d QUEUE -o raw` with the bytes on stdin (honours `CUPS_SERVER`).
async fn send_cups(queue: &str, bytes: &[u8], server: Option<&str>) -> Result<(), PrintError> {
    use std::process::Stdio;
    let mut cmd = tokio::process::Command::new("lp");
    if let Some(s) = server {
        cmd.env("CUPS_SERVER", s);
    }
    let mut child = cmd
        .arg("-d")
        .arg(queue)
        .arg("-o")
        .arg("raw")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| PrintError::SpoolerMissing(format!("cannot run `lp`: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        if let Err(e) = stdin.write_all(bytes).await {
            // lp may exit early (unknown queue) and close its stdin: look at its answer below.
            tracing::debug!(error = %e, "lp closed its input early");
        }
        drop(stdin);
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| PrintError::Uncertain {
            target: format!("cups://{queue}"),
            reason: e.to_string(),
        })?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    let lower = stderr.to_lowercase();
    if lower.contains("does not exist")
        || lower.contains("not found")
        || lower.contains("unknown printer")
    {
        Err(PrintError::QueueMissing(queue.to_owned()))
    } else if lower.contains("scheduler is not running")
        || lower.contains("connection refused")
        || lower.contains("unable to connect")
        || lower.contains("no such file")
    {
        Err(PrintError::SpoolerMissing(stderr))
    } else {
        // lp refused after reading the job: CUPS keeps no job, but say so rather than guess.
        Err(PrintError::Uncertain {
            target: format!("cups://{queue}"),
            reason: stderr,
        })
    }
}

/// Zebra host status (`~HS`), the flags a packer can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct PrinterStatus {
    pub paper_out: bool,
    pub paused: bool,
    pub head_open: bool,
    pub ribbon_out: bool,
    pub buffer_full: bool,
}

impl PrinterStatus {
    #[must_use]
    pub fn ready(&self) -> bool {
        !(self.paper_out || self.paused || self.head_open || self.ribbon_out || self.buffer_full)
    }
}

/// Parses the three `STX … ETX` strings of a `~HS` answer.
///
/// String 1: `aaa,b,c,dddd,eee,f,…` — b paper out, c pause, f buffer full.
/// String 2: `mmm,n,o,p,…` — o head up (open), p ribbon out.
pub fn parse_host_status(raw: &[u8]) -> Result<PrinterStatus, PrintError> {
    let text = String::from_utf8_lossy(raw);
    let frames: Vec<Vec<&str>> = text
        .split('\u{2}')
        .filter_map(|f| f.split('\u{3}').next())
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| f.split(',').map(str::trim).collect())
        .collect();
    let flag = |frame: usize, field: usize| -> Result<bool, PrintError> {
        frames
            .get(frame)
            .and_then(|f| f.get(field))
            .map(|v| *v == "1")
            .ok_or_else(|| {
                PrintError::Status(format!("field {field} of string {} missing", frame + 1))
            })
    };
    Ok(PrinterStatus {
        paper_out: flag(0, 1)?,
        paused: flag(0, 2)?,
        buffer_full: flag(0, 5)?,
        head_open: flag(1, 2)?,
        ribbon_out: flag(1, 3)?,
    })
}

/// Asks a TCP printer for its `~HS` status (not supported through CUPS).
pub async fn host_status(target: &PrinterTarget) -> Result<PrinterStatus, PrintError> {
    let PrinterTarget::Tcp { host, port } = target else {
        return Err(PrintError::Status(
            "~HS needs a direct tcp:// connection to the printer".into(),
        ));
    };
    let name = target.to_string();
    let mut stream = connect(host, *port, &name).await?;
    stream
        .write_all(b"~HS\r\n")
        .await
        .map_err(|e| PrintError::Status(e.to_string()))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(3), async {
        // Three ETX-terminated strings make a complete answer.
        while buf.iter().filter(|b| **b == 3).count() < 3 {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    if read.is_err() && buf.is_empty() {
        return Err(PrintError::Status("no ~HS answer within 3 s".into()));
    }
    let _ = stream.shutdown().await;
    parse_host_status(&buf)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            "tcp://127.0.0.1:9100".parse::<PrinterTarget>().unwrap(),
            PrinterTarget::Tcp {
                host: "127.0.0.1".into(),
                port: 9100
            }
        );
        assert_eq!(
            "cups://zebra".parse::<PrinterTarget>().unwrap(),
            PrinterTarget::Cups {
                queue: "zebra".into()
            }
        );
        assert!("http://x".parse::<PrinterTarget>().is_err());
        assert!("cups://a b".parse::<PrinterTarget>().is_err());
        assert!("tcp://host".parse::<PrinterTarget>().is_err());
    }

    #[test]
    fn host_status_flags() {
        let ready = b"\x02030,0,0,0812,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,0,0,0,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n";
        assert!(parse_host_status(ready).unwrap().ready());
        let trouble = b"\x02030,1,1,0812,000,0,0,0,000,0,0,0\x03\r\n\x02000,0,1,0,0,2,6,0,00000000,1,000\x03\r\n\x021234,0\x03\r\n";
        let s = parse_host_status(trouble).unwrap();
        assert!(s.paper_out && s.paused && s.head_open && !s.ribbon_out);
        assert!(parse_host_status(b"garbage").is_err());
    }
}
