//! Printing: byte-identical ZPL at the sandbox's TCP printer, "printer offline" on a dead port,
//! `~HS` status, and the CUPS raw-queue path through a private cupsd.

use std::path::Path;
use std::process::Command;

use wms_client::print::{self, PrinterTarget};
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

/// A private cupsd (its own config, socket and spool in a temp dir) with a raw queue pointing at a
/// loopback TCP printer: the bytes arrive identical. Skipped without CUPS, except under CI=true.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cups_raw_queue_delivers_identical_bytes() {
    if !(have("cupsd") && have("lpadmin") && have("lp")) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but cupsd/lpadmin/lp are missing (apt: cups cups-client cups-bsd)"
        );
        eprintln!("skipping: CUPS is not installed");
        return;
    }
    // The printer: one connection, everything until EOF.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.unwrap();
        buf
    });

    let root = tempfile::Builder::new()
        .prefix("wms-cups")
        .tempdir()
        .unwrap();
    let cups = PrivateCups::start(root.path()).await;
    let queue = "wms_zebra_test";
    let st = Command::new("lpadmin")
        .env("CUPS_SERVER", &cups.socket)
        .args([
            "-p",
            queue,
            "-E",
            "-v",
            &format!("socket://127.0.0.1:{port}"),
            "-m",
            "raw",
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "lpadmin: {}",
        String::from_utf8_lossy(&st.stderr)
    );

    let zpl = b"^XA^CI28^FO50,50^A0N,40,40^FDwms-client cups test^FS^XZ\r\n".to_vec();
    let target: PrinterTarget = format!("cups://{queue}").parse().unwrap();
    print::send_raw_via(&target, &zpl, Some(&cups.socket))
        .await
        .unwrap();
    let got = tokio::time::timeout(std::time::Duration::from_secs(20), received)
        .await
        .expect("the CUPS job reached the printer")
        .unwrap();
    assert_eq!(got, zpl, "identical bytes through the spooler");

    // An unknown queue is a clear error, and nothing was sent.
    let missing: PrinterTarget = "cups://no_such_queue".parse().unwrap();
    let err = print::send_raw_via(&missing, &zpl, Some(&cups.socket))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "queue_missing", "{err}");
    assert!(err.is_safe_to_retry());
}

struct PrivateCups {
    child: std::process::Child,
    socket: String,
}

impl PrivateCups {
    async fn start(root: &Path) -> Self {
        use std::os::unix::fs::PermissionsExt;
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
        Self { child, socket }
    }
}

impl Drop for PrivateCups {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
