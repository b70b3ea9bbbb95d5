//! Printing: byte-identical ZPL at the sandbox's TCP printer, "printer offline" on a dead port,
//! `~HS` status, and the CUPS raw-queue path through a private cupsd.

use std::path::Path;
use std::process::Command;

use wms_client::print::{self, PrinterTarget};
use wms_client::secrets::StorePreference;

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
    let out = station.print_label(&ids[0], None, &printer).await.unwrap();
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
