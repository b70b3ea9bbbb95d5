//! Printing without a dialog:
//!
//! - raw bytes (ZPL) to a network label printer over TCP (port 9100, AppSocket), or to a CUPS
//!   queue in raw mode (`lp -d QUEUE -o raw`, i.e. `application/vnd.cups-raw`), plus Zebra's `~HS`
//!   host status over TCP;
//! - a PDF (the packing slip 納品書 on A4, a carrier label on A6) to a CUPS queue as
//!   `application/pdf` (`lp -d QUEUE -t TITLE -o document-format=application/pdf -o media=A4`), which
//!   the spooler renders for the queue's printer. A `tcp://` target is refused a PDF: that is a
//!   label printer's raw port, and a ZPL printer prints a PDF's bytes as garbage text, if at all.
//!
//! The CUPS scheduler is the one `CUPS_SERVER` names (or the system's), unless a caller names one
//! (`*_via`). `lp` and `lpstat` run with `LC_ALL=C` so that their answers can be read.
//!
//! **Not built: the Windows spooler.** The issue asks for `OpenPrinterW` → `StartDocPrinterW`
//! (datatype `RAW`) → `WritePrinter` behind `cfg(windows)`, but no Windows target was available to
//! even type-check it, so there is no such code here: a `winspool://PRINTER` target is refused at
//! parse time (`printer_platform_unsupported`), on every platform. On Windows today, print to a
//! network label printer over `tcp://`.
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
        if s.starts_with("winspool://") {
            return Err(PrintError::PlatformUnsupported(s.to_owned()));
        }
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
            // CUPS queue names: printable, no spaces, slashes or '#'; not an `lp` option.
            if queue.is_empty()
                || queue.starts_with('-')
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

const WINSPOOL_UNSUPPORTED: &str = if cfg!(windows) {
    "the Windows spooler is not built into this version; use tcp://HOST:PORT"
} else {
    "the Windows spooler is not supported on this platform; use tcp://HOST:PORT or cups://QUEUE"
};

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
    /// Nothing was sent: the bytes do not start with `%PDF-`.
    #[error("not a PDF (the document starts with {0}): nothing was sent to the printer")]
    NotPdf(String),
    /// Nothing was sent: a PDF goes through a spooler queue, not a label printer's raw port.
    #[error(
        "{0} is a label printer's raw port (it takes ZPL): a PDF is printed through a spooler queue, cups://QUEUE"
    )]
    PdfNeedsSpooler(String),
    /// The target names a spooler this build cannot use (the Windows spooler is not built).
    #[error("printer target `{0}`: {why}", why = WINSPOOL_UNSUPPORTED)]
    PlatformUnsupported(String),
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
            PrintError::NotPdf(_) => "not_pdf",
            PrintError::PdfNeedsSpooler(_) => "pdf_needs_spooler",
            PrintError::PlatformUnsupported(_) => "printer_platform_unsupported",
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

/// How a document reaches the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// The printer's own language (ZPL), untouched: TCP 9100, or a CUPS queue in raw mode.
    Raw,
    /// A PDF the spooler renders for the queue's printer, on this paper. CUPS queues only.
    Pdf(Media),
}

/// The paper a PDF is printed on (the job's `media`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Media {
    /// 210×297 mm: packing slips, sheets of four labels.
    A4,
    /// 105×148 mm: one carrier label on an office printer.
    A6,
}

impl Media {
    fn cups_name(self) -> &'static str {
        match self {
            Media::A4 => "A4",
            Media::A6 => "A6",
        }
    }
}

/// Refuses what is not a PDF before anything reaches a spooler.
pub fn check_pdf(bytes: &[u8]) -> Result<(), PrintError> {
    if bytes.starts_with(b"%PDF-") {
        return Ok(());
    }
    let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(16)])
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    Err(PrintError::NotPdf(if bytes.is_empty() {
        "nothing: it is empty".to_owned()
    } else {
        format!("`{head}`")
    }))
}

/// Checks that a TCP printer accepts a connection, without sending a byte (a printer ignores an
/// empty connection), so that nothing is fetched — and counted as a print on the server — for a
/// printer that is not there. For a CUPS queue, asks the scheduler whether the queue exists
/// (`lpstat -p QUEUE`); a queue that exists takes the job whatever its printer's state.
pub async fn probe(target: &PrinterTarget) -> Result<(), PrintError> {
    probe_for(target, Payload::Raw, None).await
}

/// As [`probe`], for this kind of document (a PDF needs a spooler queue), with an explicit CUPS
/// scheduler (a socket path or `host:port`; `None`: `CUPS_SERVER` or the system's).
pub async fn probe_for(
    target: &PrinterTarget,
    payload: Payload,
    cups_server: Option<&str>,
) -> Result<(), PrintError> {
    refuse_pdf_to_raw_port(target, payload)?;
    match target {
        PrinterTarget::Tcp { host, port } => {
            let mut s = connect(host, *port, &target.to_string()).await?;
            let _ = s.shutdown().await;
            Ok(())
        }
        PrinterTarget::Cups { queue } => {
            let out = cups_command("lpstat", cups_server)
                .arg("-p")
                .arg(queue)
                .output()
                .await
                .map_err(|e| PrintError::SpoolerMissing(format!("cannot run `lpstat`: {e}")))?;
            if out.status.success() {
                return Ok(());
            }
            Err(cups_refusal(queue, &out.stderr, cups_server, false).await)
        }
    }
}

/// Sends `bytes` as one raw job (CUPS: the scheduler named by `CUPS_SERVER`, or the default).
pub async fn send_raw(target: &PrinterTarget, bytes: &[u8]) -> Result<(), PrintError> {
    send(target, Payload::Raw, bytes, None, None).await
}

/// As [`send_raw`], with an explicit CUPS scheduler (a socket path or `host:port`).
pub async fn send_raw_via(
    target: &PrinterTarget,
    bytes: &[u8],
    cups_server: Option<&str>,
) -> Result<(), PrintError> {
    send(target, Payload::Raw, bytes, None, cups_server).await
}

/// Sends a PDF to a CUPS queue as `application/pdf` on `media`, titled `title` (the name the
/// queue shows; keep personal data out of it), through `cups_server` or `CUPS_SERVER`.
pub async fn send_pdf_via(
    target: &PrinterTarget,
    bytes: &[u8],
    media: Media,
    title: &str,
    cups_server: Option<&str>,
) -> Result<(), PrintError> {
    send(target, Payload::Pdf(media), bytes, Some(title), cups_server).await
}

/// Sends one job. A PDF is checked (`%PDF-`) and refused a `tcp://` target before anything is
/// sent; raw bytes go as they are.
pub async fn send(
    target: &PrinterTarget,
    payload: Payload,
    bytes: &[u8],
    title: Option<&str>,
    cups_server: Option<&str>,
) -> Result<(), PrintError> {
    refuse_pdf_to_raw_port(target, payload)?;
    match (target, payload) {
        (PrinterTarget::Tcp { host, port }, _) => {
            send_tcp(host, *port, bytes, &target.to_string()).await
        }
        (PrinterTarget::Cups { queue }, Payload::Raw) => {
            let mut args = title_args(title);
            args.extend(["-o".to_owned(), "raw".to_owned()]);
            send_cups(queue, &args, bytes, cups_server).await
        }
        (PrinterTarget::Cups { queue }, Payload::Pdf(media)) => {
            check_pdf(bytes)?;
            let mut args = title_args(title);
            args.extend([
                "-o".to_owned(),
                "document-format=application/pdf".to_owned(),
                "-o".to_owned(),
                format!("media={}", media.cups_name()),
            ]);
            send_cups(queue, &args, bytes, cups_server).await
        }
    }
}

/// A `tcp://` target is a label printer's raw port: a PDF goes through a spooler queue.
fn refuse_pdf_to_raw_port(target: &PrinterTarget, payload: Payload) -> Result<(), PrintError> {
    match (target, payload) {
        (PrinterTarget::Tcp { .. }, Payload::Pdf(_)) => {
            Err(PrintError::PdfNeedsSpooler(target.to_string()))
        }
        _ => Ok(()),
    }
}

/// `-t TITLE`, the title without control characters and at most 120 characters.
fn title_args(title: Option<&str>) -> Vec<String> {
    let title: String = title
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect();
    let title = title.trim();
    if title.is_empty() {
        Vec::new()
    } else {
        vec!["-t".to_owned(), title.to_owned()]
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

/// A CUPS command line tool with its answers in English (they are read below) and the scheduler
/// `server` if named (else `CUPS_SERVER`, else the system's).
fn cups_command(program: &str, server: Option<&str>) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.env("LC_ALL", "C").kill_on_drop(true);
    if let Some(s) = server {
        cmd.env("CUPS_SERVER", s);
    }
    cmd
}

/// `lp -d QUEUE ARGS…` with the bytes on stdin.
async fn send_cups(
    queue: &str,
    args: &[String],
    bytes: &[u8],
    server: Option<&str>,
) -> Result<(), PrintError> {
    use std::process::Stdio;
    let mut child = cups_command("lp", server)
        .arg("-d")
        .arg(queue)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
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
    Err(cups_refusal(queue, &out.stderr, server, true).await)
}

/// What a failed `lp` (`job`: it was given a job) or `lpstat` means. Neither tells a missing queue
/// from a scheduler it cannot reach (both say the destination does not exist), so the scheduler is
/// asked (`lpstat -r`).
async fn cups_refusal(queue: &str, stderr: &[u8], server: Option<&str>, job: bool) -> PrintError {
    let stderr = String::from_utf8_lossy(stderr).trim().to_owned();
    let lower = stderr.to_lowercase();
    let unreachable = || {
        PrintError::SpoolerMissing(format!(
            "the CUPS scheduler ({}) is not answering: {stderr}",
            server
                .map(str::to_owned)
                .or_else(|| std::env::var("CUPS_SERVER").ok())
                .unwrap_or_else(|| "the system's".to_owned())
        ))
    };
    if lower.contains("scheduler is not running")
        || lower.contains("connection refused")
        || lower.contains("unable to connect")
        || lower.contains("no such file")
    {
        unreachable()
    } else if lower.contains("does not exist")
        || lower.contains("not found")
        || lower.contains("unknown printer")
        || lower.contains("invalid destination")
    {
        if scheduler_running(server).await {
            PrintError::QueueMissing(queue.to_owned())
        } else {
            unreachable()
        }
    } else if lower.contains("not accepting jobs") || !job {
        // A queue that rejects jobs (`cupsreject`) takes none; a failed `lpstat` sent nothing.
        PrintError::Offline {
            target: format!("cups://{queue}"),
            reason: stderr,
        }
    } else {
        // Refused after reading the job: CUPS keeps no job, but say so rather than guess.
        PrintError::Uncertain {
            target: format!("cups://{queue}"),
            reason: stderr,
        }
    }
}

/// `lpstat -r`: "scheduler is running" (exit status 0 either way).
async fn scheduler_running(server: Option<&str>) -> bool {
    match cups_command("lpstat", server).arg("-r").output().await {
        Ok(out) => String::from_utf8_lossy(&out.stdout).contains("scheduler is running"),
        Err(_) => false,
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
        // Not an option to `lp`.
        assert_eq!(
            "cups://-h".parse::<PrinterTarget>().unwrap_err().code(),
            "bad_printer_target"
        );
    }

    #[test]
    fn the_windows_spooler_is_refused_plainly() {
        let err = "winspool://Zebra ZD421"
            .parse::<PrinterTarget>()
            .unwrap_err();
        assert_eq!(err.code(), "printer_platform_unsupported");
        assert!(!err.is_safe_to_retry());
        let msg = err.to_string();
        assert!(msg.contains("winspool://Zebra ZD421"), "{msg}");
        if cfg!(windows) {
            assert!(msg.contains("not built"), "{msg}");
        } else {
            assert!(msg.contains("not supported on this platform"), "{msg}");
        }
    }

    #[test]
    fn only_a_pdf_is_sent_as_one() {
        assert!(check_pdf(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n").is_ok());
        let err = check_pdf(b"^XA^FO50,50^FDhello^FS^XZ").unwrap_err();
        assert_eq!(err.code(), "not_pdf");
        assert!(err.to_string().contains("`^XA^FO50,50^FDhe`"), "{err}");
        assert!(check_pdf(b"").unwrap_err().to_string().contains("empty"));
        // Control bytes are not echoed into the message.
        let err = check_pdf(b"\x1b%-12345X@PJL").unwrap_err().to_string();
        assert!(!err.contains('\x1b'), "{err}");
        assert!(
            check_pdf(b" %PDF-1.4").is_err(),
            "nothing before the header"
        );
    }

    #[test]
    fn job_titles_are_one_clean_line() {
        assert!(title_args(None).is_empty());
        assert!(title_args(Some("  \n")).is_empty());
        assert_eq!(
            title_args(Some("packing slip\n ord_1\t")),
            ["-t", "packing slip ord_1"]
        );
        assert_eq!(title_args(Some(&"x".repeat(500)))[1].len(), 120);
    }

    /// A PDF never goes to a label printer's raw port, and nothing is sent or even connected.
    #[tokio::test]
    async fn a_pdf_is_refused_a_tcp_printer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target: PrinterTarget = format!("tcp://{}", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let pdf = b"%PDF-1.7\n";
        let err = send_pdf_via(&target, pdf, Media::A4, "slip", None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "pdf_needs_spooler", "{err}");
        assert!(err.to_string().contains("cups://QUEUE"), "{err}");
        let err = probe_for(&target, Payload::Pdf(Media::A6), None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "pdf_needs_spooler");
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection was made");
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
