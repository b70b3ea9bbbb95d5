//! Printing: byte-identical ZPL at the sandbox's TCP printer, "printer offline" on a dead port,
//! `~HS` status, the CUPS raw-queue path through a private cupsd, and PDFs (packing slips, A6
//! labels) through the same spooler.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use wms_client::api::Call;
use wms_client::label::LabelFormat;
use wms_client::print::{self, Media, PrinterTarget};
use wms_client::secrets::StorePreference;
use wms_client::station::{LabelSource, Station};

use crate::harness::{self, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_reaches_the_tcp_printer_byte_identical() {
    let server = Server::start(10, 3).await;
    let admin = server.admin_client(-1).await;
    let ids = admin.order_ids("received").await;
    admin.pack_with_package(&ids[0], 77).await;

    let sandbox_dir = tempfile::tempdir().unwrap();
    let sandbox = wms_sandbox::Sandbox::start(wms_sandbox::SandboxConfig::new(sandbox_dir.path()))
        .await
        .unwrap();
    let printer: PrinterTarget = sandbox.urls().printer.parse().unwrap();

    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let station = harness::login(&server, &dir, StorePreference::Auto).await;
    station.sync(&mut |_| {}).await.unwrap();
    harness::write_profile(&dir);

    let status = print::host_status(&printer).await.unwrap();
    assert!(status.ready(), "{status:?}");

    let (_, expected) = station.render_label(&ids[0], None).await.unwrap();
    // A number entered by hand, no label booked on the server: rendered here, said so.
    let out = station.print_label(&ids[0], None, &printer).await.unwrap();
    assert_eq!(out.source, LabelSource::LocalFallback);
    assert_eq!(out.prints, None);
    assert_eq!(out.bytes, expected.len());
    let mut jobs = Vec::new();
    for _ in 0..50 {
        jobs = sandbox.control().printer_jobs();
        if !jobs.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(jobs.len(), 1, "exactly one job: {jobs:?}");
    let got = sandbox.control().printer_job_bytes(&jobs[0].id).unwrap();
    assert_eq!(got, expected, "byte-identical ZPL");

    // A dead printer: a clear error, nothing sent, nothing resent behind the packer's back.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let target: PrinterTarget = format!("tcp://{dead}").parse().unwrap();
    let err = station
        .print_label(&ids[0], None, &target)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "printer_offline", "{err}");
    assert!(err.to_string().contains("printer offline"), "{err}");
    assert_eq!(sandbox.control().printer_jobs().len(), 1);
    sandbox.shutdown().await;
}

/// The sandbox printer's jobs, once `n` have arrived.
async fn jobs(sandbox: &wms_sandbox::RunningSandbox, n: usize) -> Vec<Vec<u8>> {
    for _ in 0..100 {
        let jobs = sandbox.control().printer_jobs();
        if jobs.len() >= n {
            return jobs
                .iter()
                .map(|j| sandbox.control().printer_job_bytes(&j.id).unwrap())
                .collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} printer jobs");
}

/// A label booked with the (sandbox) carrier is fetched from the server and reaches the printer
/// byte for byte as the server's label endpoint returns it; the server counts each print (a PNG
/// preview is not one), a dead printer costs no count, and a packer without PII access prints it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booked_label_comes_from_the_server_and_is_counted_there() {
    let (sandbox, _sandbox_dir, server, _root) = harness::with_yamato().await;

    let admin = server.admin_client(-1).await;
    let ids = admin.order_ids("received").await;
    let id = ids[0].clone();
    admin.allocate(&id).await;
    admin.pick_and_pack(&id).await;
    admin
        .post(
            &format!("/api/v1/orders/{id}/packages"),
            serde_json::json!({"box_type": "60", "weight_g": 800}),
        )
        .await;
    let booked = admin
        .post(
            &format!("/api/v1/orders/{id}/packages/1/book"),
            serde_json::json!({"carrier": "yamato"}),
        )
        .await;
    let tracking = booked["tracking_number"].as_str().unwrap().to_owned();
    assert_eq!(
        admin.label(&id, 1, "png").await.1,
        0,
        "a preview is not a print"
    );

    // A packer's station: the packer may not read recipients, and needs not.
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let station = Station::login(
        &dir,
        server.packer_login_params(),
        harness::options(StorePreference::Auto),
    )
    .await
    .unwrap();
    station.sync(&mut |_| {}).await.unwrap();
    let printer: PrinterTarget = sandbox.urls().printer.parse().unwrap();

    let first = station.print_label(&id, None, &printer).await.unwrap();
    assert_eq!(first.source, LabelSource::Server);
    assert_eq!(first.prints, Some(1));
    assert_eq!(first.package_seq, 1);
    assert_eq!(admin.label(&id, 1, "png").await.1, 1);
    let got = jobs(&sandbox, 1).await;
    assert_eq!(got.len(), 1, "exactly one job");

    // The packer asks again: a reprint, counted (and audited) on the server.
    let second = station.print_label(&id, Some(1), &printer).await.unwrap();
    assert_eq!(second.source, LabelSource::Server);
    assert_eq!(second.prints, Some(2));
    let got = jobs(&sandbox, 2).await;
    assert_eq!(got.len(), 2, "one job per explicit print");

    // A dead printer: a clear error before the server is asked, so nothing is counted.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let target: PrinterTarget = format!("tcp://{dead}").parse().unwrap();
    let err = station.print_label(&id, None, &target).await.unwrap_err();
    assert_eq!(err.code(), "printer_offline", "{err}");
    assert_eq!(admin.label(&id, 1, "png").await.1, 2);
    assert_eq!(sandbox.control().printer_jobs().len(), 2);

    // Byte for byte what the server's label endpoint hands out (this fetch is print 3).
    let (zpl, prints) = admin.label(&id, 1, "zpl").await;
    assert_eq!(prints, 3);
    assert_eq!(got[0], zpl, "the printer got the server's ZPL unchanged");
    assert_eq!(got[1], zpl);
    assert!(
        zpl.windows(tracking.len())
            .any(|w| w == tracking.as_bytes()),
        "the booked number is on the label"
    );
    // No recipient was read or cached at this station.
    assert_eq!(station.cache().counts().await.unwrap().recipients, 0);
    sandbox.shutdown().await;
}

fn have(cmd: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(cmd).exists())
}

/// Whether these tools are here; without them a test skips, except under CI=true, where it fails.
fn have_or_skip(cmds: &[&str], packages: &str) -> bool {
    let missing: Vec<&str> = cmds.iter().copied().filter(|c| !have(c)).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {missing:?} are missing (apt: {packages})"
    );
    eprintln!("skipping: {missing:?} not installed");
    false
}

fn cups_or_skip() -> bool {
    have_or_skip(
        &["cupsd", "lpadmin", "lp", "lpstat"],
        "cups cups-client cups-bsd",
    )
}

/// A printer on loopback (a raw queue's device): each connection is one job, read to the end.
struct LoopbackPrinter {
    port: u16,
    jobs: Arc<Mutex<Vec<Vec<u8>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl LoopbackPrinter {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let jobs = Arc::new(Mutex::new(Vec::new()));
        let sink = jobs.clone();
        let task = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = Vec::new();
                if s.read_to_end(&mut buf).await.is_ok() {
                    sink.lock().unwrap().push(buf);
                }
            }
        });
        Self { port, jobs, task }
    }

    fn count(&self) -> usize {
        self.jobs.lock().unwrap().len()
    }

    /// The jobs, once `n` have arrived (CUPS hands a job to its backend within a second or two).
    async fn jobs(&self, n: usize) -> Vec<Vec<u8>> {
        for _ in 0..400 {
            if self.count() >= n {
                return self.jobs.lock().unwrap().clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{} of {n} jobs reached the printer", self.count());
    }
}

impl Drop for LoopbackPrinter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A private cupsd (its own config, socket and spool in a temp dir) with a raw queue pointing at a
/// loopback TCP printer: the bytes arrive identical. Skipped without CUPS, except under CI=true.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cups_raw_queue_delivers_identical_bytes() {
    if !cups_or_skip() {
        return;
    }
    let printer = LoopbackPrinter::start().await;
    let cups = PrivateCups::start().await;
    let queue = "wms_zebra_test";
    cups.raw_queue(queue, printer.port);

    let zpl = b"^XA^CI28^FO50,50^A0N,40,40^FDwms-client cups test^FS^XZ\r\n".to_vec();
    let target: PrinterTarget = format!("cups://{queue}").parse().unwrap();
    print::send_raw_via(&target, &zpl, Some(&cups.socket))
        .await
        .unwrap();
    let got = printer.jobs(1).await;
    assert_eq!(got.len(), 1, "one job");
    assert_eq!(got[0], zpl, "identical bytes through the spooler");

    // An unknown queue is a clear error, and nothing was sent.
    let missing: PrinterTarget = "cups://no_such_queue".parse().unwrap();
    let err = print::send_raw_via(&missing, &zpl, Some(&cups.socket))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "queue_missing", "{err}");
    assert!(err.is_safe_to_retry());
    assert_eq!(cups.jobs(queue), 1);
}

/// Text of a PDF (pdftotext).
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftotext: {:?}", out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The audited reads of recipients for packing slips, on the server.
async fn slip_reads(admin: &harness::Admin) -> usize {
    let page = admin.get_q("/api/v1/audit", &[("limit", "500")]).await;
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["action"] == "pii_read"
                && e["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("packing slip"))
        })
        .count()
}

/// Through a private cupsd whose raw queue's device is a loopback printer: a packer's station
/// prints an order's packing slip (the device profile's document printer) and its booked label as
/// a PDF; each arrives as the very PDF the server made (a raw queue passes it through), the slip
/// reading as the order's reference and SKUs. A missing queue, a PDF for a tcp:// label printer
/// and bytes that are not a PDF are refused before anything is fetched or spooled; an unreachable
/// scheduler is said to be one. Then the same through `wms-station print-slip` / `print-label
/// --format pdf`. Skipped without CUPS or pdftotext, except under CI=true.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packing_slip_and_pdf_label_reach_a_cups_queue_as_the_servers_pdf() {
    if !cups_or_skip() || !have_or_skip(&["pdftotext"], "poppler-utils") {
        return;
    }
    let (sandbox, _sandbox_dir, server, root) = harness::with_yamato().await;
    let id = root.order_ids("received").await[0].clone();
    root.allocate(&id).await;
    root.pick_and_pack(&id).await;
    root.post(
        &format!("/api/v1/orders/{id}/packages"),
        serde_json::json!({"box_type": "60", "weight_g": 800}),
    )
    .await;
    root.post(
        &format!("/api/v1/orders/{id}/packages/1/book"),
        serde_json::json!({"carrier": "yamato"}),
    )
    .await;
    let order = root.get(&format!("/api/v1/orders/{id}")).await;
    let external_id = order["external_id"].as_str().unwrap().to_owned();
    let skus: Vec<String> = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["sku"].as_str().unwrap().to_owned())
        .collect();
    assert!(!skus.is_empty());

    let printer = LoopbackPrinter::start().await;
    let cups = PrivateCups::start().await;
    let queue = "wms_a4_test";
    cups.raw_queue(queue, printer.port);
    let spooler: PrinterTarget = format!("cups://{queue}").parse().unwrap();

    // A packer's station printing through the private scheduler; key files, so that the
    // command line can open it afterwards.
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let mut options = harness::options(StorePreference::File);
    options.cups_server = Some(cups.socket.clone());
    let station = Station::login(&dir, server.packer_login_params(), options)
        .await
        .unwrap();
    station.sync(&mut |_| {}).await.unwrap();

    // No document printer yet: said so, nothing asked of the server.
    let err = station.print_packing_slip(&id, None).await.unwrap_err();
    assert_eq!(err.code(), "printer_not_configured", "{err}");

    // The admin gives this device its printers; the station reads them at the print.
    let device = station.device_id().unwrap().expect("device id");
    let mut call = Call::post(
        format!("/api/v1/devices/{device}/printer-profile"),
        serde_json::json!({"label_printer": sandbox.urls().printer, "label_format": "zpl203",
                           "document_printer": format!("cups://{queue}")}),
    )
    .bearer(&root.token);
    call.method = Method::PUT;
    let _: serde_json::Value = root.api.json(call).await.unwrap();

    // (b) A missing queue: a clear error before the slip is asked for (no audited read of the
    // recipient), nothing spooled, nothing printed.
    let reads = slip_reads(&root).await;
    let missing: PrinterTarget = "cups://no_such_queue".parse().unwrap();
    let err = station
        .print_packing_slip(&id, Some(&missing))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "queue_missing", "{err}");
    assert!(err.to_string().contains("no_such_queue"), "{err}");
    assert_eq!(slip_reads(&root).await, reads, "no recipient read for it");
    // A tcp:// target is a label printer's raw port: refused a PDF, just as early.
    let tcp: PrinterTarget = sandbox.urls().printer.parse().unwrap();
    let err = station
        .print_packing_slip(&id, Some(&tcp))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "pdf_needs_spooler", "{err}");
    assert_eq!(slip_reads(&root).await, reads);

    // (a) The slip, to the profile's document printer: the server's PDF, unchanged.
    let out = station.print_packing_slip(&id, None).await.unwrap();
    assert_eq!(out.printer, format!("cups://{queue}"));
    assert_eq!(slip_reads(&root).await, reads + 1, "one audited read");
    let got = printer.jobs(1).await;
    let slip = root
        .api
        .raw(
            Call::get(format!("/api/v1/orders/{id}/packing-slip"))
                .bearer(&root.token)
                .once(),
        )
        .await
        .unwrap()
        .body;
    assert!(slip.starts_with(b"%PDF-"));
    assert_eq!(
        got[0], slip,
        "the raw queue passed the server's PDF through"
    );
    assert_eq!(out.bytes, slip.len());
    let text = pdf_text(&got[0]);
    assert!(text.contains(&external_id), "{external_id} in {text}");
    for sku in &skus {
        assert!(text.contains(sku.as_str()), "{sku} in {text}");
    }

    // The booked label as a PDF (an A6 page), counted on the server like any print.
    let err = station
        .print_label_as(&id, None, &tcp, LabelFormat::Pdf, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "pdf_needs_spooler", "{err}");
    assert_eq!(root.label(&id, 1, "png").await.1, 0, "nothing counted");
    let label = station
        .print_label_as(&id, None, &spooler, LabelFormat::Pdf, None)
        .await
        .unwrap();
    assert_eq!(label.source, LabelSource::Server);
    assert_eq!(label.format, LabelFormat::Pdf);
    assert_eq!(label.prints, Some(1));
    let got = printer.jobs(2).await;
    let (pdf_label, prints) = root.label(&id, 1, "pdf").await;
    assert_eq!(prints, 2);
    assert_eq!(got[1], pdf_label, "the server's PDF label, unchanged");
    assert!(pdf_text(&got[1]).contains(&external_id));

    // (c) Bytes that are not a PDF never reach the spooler — not even one that is not there.
    let zpl = b"^XA^FO50,50^FDnot a pdf^FS^XZ";
    for scheduler in [cups.socket.as_str(), "/nonexistent/cups.sock"] {
        let err = print::send_pdf_via(&spooler, zpl, Media::A4, "t", Some(scheduler))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "not_pdf", "{err}");
    }
    // A scheduler that is not answering is said to be one, not a missing queue.
    let err = print::send_pdf_via(
        &spooler,
        &slip,
        Media::A4,
        "t",
        Some("/nonexistent/cups.sock"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "spooler_missing", "{err}");
    assert!(err.is_safe_to_retry());
    assert_eq!(
        cups.jobs(queue),
        2,
        "only the slip and the label were spooled"
    );
    assert_eq!(printer.count(), 2);

    // The command line: the slip to the profile's printer, the label as a PDF.
    drop(station);
    let cli = |args: Vec<String>| {
        let (dir, socket) = (dir.clone(), cups.socket.clone());
        tokio::task::spawn_blocking(move || {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::cli::station_with_env(&dir, &a, None, &[("CUPS_SERVER", socket.as_str())])
        })
    };
    let (ok, out, err) = cli(vec!["print-slip".into(), "--order".into(), id.clone()])
        .await
        .unwrap();
    assert!(ok, "print-slip: {out}{err}");
    assert!(out.contains(&format!("to cups://{queue}")), "{out}");
    let args = [
        "print-label",
        "--order",
        &id,
        "--printer",
        &spooler.to_string(),
        "--format",
        "pdf",
    ];
    let (ok, out, err) = cli(args.iter().map(|a| (*a).to_owned()).collect())
        .await
        .unwrap();
    assert!(ok, "print-label --format pdf: {out}{err}");
    assert!(
        out.contains("print 3: a reprint") && out.contains("format pdf"),
        "{out}"
    );
    let got = printer.jobs(4).await;
    assert_eq!(got[2], slip);
    assert_eq!(got[3], pdf_label);
    sandbox.shutdown().await;
}

/// A private cupsd: its own config, socket and spool in a temp dir, stopped on drop.
struct PrivateCups {
    child: std::process::Child,
    socket: String,
    _root: tempfile::TempDir,
}

impl PrivateCups {
    async fn start() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("wms-cups")
            .tempdir()
            .unwrap();
        let root = dir.path();
        // cupsd runs backends as `lp`: the directories must be traversable.
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        for d in ["spool", "cache", "state", "log", "tmp"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::set_permissions(root.join("tmp"), std::fs::Permissions::from_mode(0o1777))
            .unwrap();
        let socket = root.join("cups.sock").display().to_string();
        let r = root.display();
        std::fs::write(
            root.join("cupsd.conf"),
            format!(
                "Listen {socket}\nLogLevel warn\nWebInterface No\nBrowsing No\n\
                 <Location />\n  Order allow,deny\n  Allow all\n</Location>\n\
                 <Location /admin>\n  Order allow,deny\n  Allow all\n</Location>\n"
            ),
        )
        .unwrap();
        std::fs::write(
            root.join("cups-files.conf"),
            format!(
                "ServerRoot {r}\nRequestRoot {r}/spool\nCacheDir {r}/cache\nStateDir {r}/state\n\
                 TempDir {r}/tmp\nErrorLog {r}/log/error_log\nAccessLog {r}/log/access_log\nPageLog {r}/log/page_log\n"
            ),
        )
        .unwrap();
        let cupsd = ["/usr/sbin/cupsd", "/usr/bin/cupsd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap();
        let child = Command::new(cupsd)
            .arg("-f")
            .arg("-c")
            .arg(root.join("cupsd.conf"))
            .arg("-s")
            .arg(root.join("cups-files.conf"))
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if Path::new(&socket).exists() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(Path::new(&socket).exists(), "private cupsd did not start");
        Self {
            child,
            socket,
            _root: dir,
        }
    }

    /// `lpadmin -p QUEUE -E -v socket://127.0.0.1:PORT -m raw`: jobs go to the port unchanged.
    fn raw_queue(&self, queue: &str, port: u16) {
        let st = Command::new("lpadmin")
            .env("CUPS_SERVER", &self.socket)
            .args(["-p", queue, "-E", "-v"])
            .arg(format!("socket://127.0.0.1:{port}"))
            .args(["-m", "raw"])
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "lpadmin: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    }

    /// How many jobs the queue has had (`lpstat -W all -o QUEUE`).
    fn jobs(&self, queue: &str) -> usize {
        let out = Command::new("lpstat")
            .env("CUPS_SERVER", &self.socket)
            .args(["-W", "all", "-o", queue])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with(&format!("{queue}-")))
            .count()
    }
}

impl Drop for PrivateCups {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
