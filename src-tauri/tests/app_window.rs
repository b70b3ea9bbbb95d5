//! The real app, end to end: the built `jilian-desktop` binary in a real window under Xvfb,
//! driven over WebDriver (`tauri-driver` + WebKitWebDriver), against a real server (TLS,
//! SQLite), `wms-sandbox` (Amazon, Yamato, a raw TCP label printer) — logging in with TOTP after
//! confirming the certificate fingerprint, packing an Amazon order by simulated scanner input (a
//! wrong item refused on the way), booking and printing its label, dispatching it by scanning the
//! label back; then the label bytes at the printer and Amazon's shipment confirmation are checked.
//!
//! Needs `Xvfb`, `WebKitWebDriver` (Debian `webkit2gtk-driver`), `tauri-driver`
//! (`cargo install tauri-driver --locked`) and `dbus-run-session`; skipped without them unless
//! `CI=true`, where their absence fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/stack.rs"]
mod stack;
#[path = "support/webdriver.rs"]
mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use stack::{Api, Stack, TENANT};
use webdriver::{ENTER, F2, Session};

fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// Kills the child's whole process group (the driver, WebKitWebDriver, the app, their D-Bus
/// session) when dropped, so a failed test leaves nothing running.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` as the leader of a new process group.
fn spawn_group(cmd: &mut Command) -> Proc {
    use std::os::unix::process::CommandExt as _;
    Proc(cmd.process_group(0).spawn().unwrap())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// An Xvfb display of its own (the first free number from 90).
fn start_xvfb(xvfb: &Path) -> (Proc, String) {
    for n in 90..140 {
        if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            || Path::new(&format!("/tmp/.X{n}-lock")).exists()
        {
            continue;
        }
        let mut p = spawn_group(
            Command::new(xvfb)
                .args([
                    format!(":{n}").as_str(),
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        );
        for _ in 0..50 {
            if Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (p, format!(":{n}"));
            }
            if let Ok(Some(_)) = p.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(p);
    }
    panic!("no free X display for Xvfb");
}

fn wait_port(port: u16, secs: u64) {
    for _ in 0..secs * 10 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("nothing listens on {port} after {secs} s");
}

fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screens");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// A screenshot of the X display (ImageMagick's `import`, when installed), saved as a test
/// artefact. WebKitWebDriver's own screenshot command can stall for minutes under Xvfb.
async fn shot(display: &str, name: &str) {
    if let Some(import) = find_tool("import") {
        let _ = tokio::process::Command::new(import)
            .args(["-window", "root"])
            .arg(artefacts().join(format!("{name}.png")))
            .env("DISPLAY", display)
            .status()
            .await;
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pack_and_dispatch_an_amazon_order_in_the_real_window() {
    let tools = (
        find_tool("Xvfb"),
        find_tool("tauri-driver"),
        find_tool("WebKitWebDriver"),
        find_tool("dbus-run-session"),
    );
    let (Some(xvfb), Some(driver), Some(_webkit), Some(dbus)) = tools else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs Xvfb, tauri-driver, WebKitWebDriver and dbus-run-session: {tools:?}"
        );
        eprintln!("skipped: Xvfb, tauri-driver, WebKitWebDriver or dbus-run-session missing");
        return;
    };
    let started = std::time::Instant::now();
    let mark = |what: &str| eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());
    let stack = Stack::start().await;
    mark("server, sandbox and order ready");

    // The station's data directory, provisioned with its label printer (the sandbox's) and the
    // English interface; the login itself happens in the window.
    let data = tempfile::tempdir().unwrap();
    let printer = stack.sandbox.urls().printer.clone();
    std::fs::write(
        data.path().join("desk.json"),
        serde_json::to_vec(&serde_json::json!({
            "locale": "en",
            "profile": {"labelPrinter": printer, "labelFormat": "zpl203"}
        }))
        .unwrap(),
    )
    .unwrap();

    let (_xvfb, display) = start_xvfb(&xvfb);
    let port = free_port();
    let app = env!("CARGO_BIN_EXE_jilian-desktop");
    let mut cmd = Command::new(dbus);
    cmd.arg("--")
        .arg(&driver)
        .args(["--port", &port.to_string()])
        .args(["--native-port", &free_port().to_string()])
        .env("DISPLAY", &display)
        .env("JILIAN_DATA_DIR", data.path())
        .env("JILIAN_LOG", "info,jilian_desktop=debug")
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let _driver = spawn_group(&mut cmd);
    wait_port(port, 30);
    let s = Session::start(&format!("http://127.0.0.1:{port}"), app)
        .await
        .expect("a WebDriver session with the app");

    // --- Log in: server → fingerprint shown and confirmed → credentials → TOTP.
    mark("app started");
    let server = s.wait_for("#server", 60).await.unwrap();
    mark("login screen");
    shot(&display, "01-login").await;
    s.type_into(&server, &stack.url).await.unwrap();
    // Forms are submitted with Enter, as a person at the bench would (and a click on a submit
    // button makes WebKitWebDriver wait for a navigation that never comes).
    s.keys(&ENTER.to_string()).await.unwrap();
    let fp = s
        .wait_for("[data-testid=fingerprint] .fingerprint", 20)
        .await
        .unwrap();
    mark("fingerprint shown");
    let shown = s.text(&fp).await.unwrap();
    assert_eq!(
        shown.replace(':', "").to_lowercase(),
        stack.fingerprint.replace(':', "").to_lowercase(),
        "the window shows the server certificate's fingerprint"
    );
    let confirm = s
        .wait_for("[data-testid=confirm-fingerprint]", 5)
        .await
        .unwrap();
    s.click(&confirm).await.unwrap();
    s.type_into(&s.wait_for("#tenant", 5).await.unwrap(), TENANT)
        .await
        .unwrap();
    s.type_into(
        &s.wait_for("#email", 5).await.unwrap(),
        &stack.supervisor.email,
    )
    .await
    .unwrap();
    s.type_into(
        &s.wait_for("#password", 5).await.unwrap(),
        &stack.supervisor.password,
    )
    .await
    .unwrap();
    s.keys(&ENTER.to_string()).await.unwrap();
    mark("credentials sent");
    let totp = s.wait_for("#totp", 20).await.unwrap();
    mark("asked for TOTP");
    s.type_into(&totp, &stack.supervisor.totp()).await.unwrap();
    s.keys(&ENTER.to_string()).await.unwrap();
    s.wait_for("[data-testid=prompt]", 30).await.unwrap();
    shot(&display, "02-packer-ready").await;
    mark("logged in");

    // --- Scan the order (its Amazon order id, as on the pick list).
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.scan(&stack.amazon_order_id).await.unwrap();
    s.wait_text("[data-testid=order-id]", &stack.amazon_order_id, 30)
        .await
        .unwrap();

    // A wrong item: refused, a red message, nothing counted.
    s.scan("JP-00005").await.unwrap();
    s.wait_for("[data-testid=scan-error]", 15).await.unwrap();
    shot(&display, "03-wrong-item").await;
    let qty = s.wait_for("[data-testid=qty-1]", 5).await.unwrap();
    assert!(
        s.text(&qty).await.unwrap().trim_start().starts_with('0'),
        "a wrong item counts nothing"
    );

    // The right items, one scan per unit.
    for (sku, quantity) in &stack.lines {
        for _ in 0..*quantity {
            s.scan(sku).await.unwrap();
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    }
    s.wait_for("[data-testid=line-1][data-done=true]", 20)
        .await
        .unwrap();
    shot(&display, "04-packed").await;
    mark("packed");

    // Package, carrier booking, label preview, print.
    let weight = s.wait_for("#weight", 20).await.unwrap();
    s.clear(&weight).await.unwrap();
    s.type_into(&weight, "800").await.unwrap();
    s.keys(&ENTER.to_string()).await.unwrap();
    // The carrier step takes the focus; Enter books with the default carrier (Yamato).
    s.wait_for("[data-testid=carrier-form]", 20).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.keys(&ENTER.to_string()).await.unwrap();
    s.wait_for("[data-testid=preview]", 30).await.unwrap();
    let tracking = s.wait_for("[data-testid=tracking]", 5).await.unwrap();
    let tracking = digits(&s.text(&tracking).await.unwrap());
    assert_eq!(tracking.len(), 12, "a Yamato number: {tracking}");
    shot(&display, "05-label").await;
    mark("booked");
    s.wait_for("[data-testid=print]", 5).await.unwrap();
    s.keys(&F2.to_string()).await.unwrap();
    s.wait_for("[data-testid=scan-label]", 30).await.unwrap();

    // The label reached the printer, byte for byte what the server rendered for it.
    let mut jobs = Vec::new();
    for _ in 0..100 {
        jobs = stack.sandbox.control().printer_jobs();
        if !jobs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(jobs.len(), 1, "one label printed: {jobs:?}");
    let bytes = stack
        .sandbox
        .control()
        .printer_job_bytes(&jobs[0].id)
        .unwrap();
    assert!(bytes.starts_with(b"^XA") || bytes.windows(3).any(|w| w == b"^XA"));
    assert!(
        bytes
            .windows(tracking.len())
            .any(|w| w == tracking.as_bytes()),
        "the label carries the booked number"
    );

    // A label of another parcel is refused; this parcel's label dispatches the order.
    s.scan("999999999999").await.unwrap();
    s.wait_for("[data-testid=scan-error]", 15).await.unwrap();
    s.scan(&tracking).await.unwrap();
    s.wait_for("[data-testid=scan-ok]", 30).await.unwrap();
    shot(&display, "06-dispatched").await;
    mark("dispatched");

    // Amazon is told: the sandbox received the shipment confirmation with this number.
    let mut confirmed = None;
    for _ in 0..300 {
        confirmed = stack
            .sandbox
            .control()
            .confirmations()
            .into_iter()
            .find(|c| c.order_id == stack.amazon_order_id && c.status == 204);
        if confirmed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let confirmed = confirmed.unwrap_or_else(|| {
        panic!(
            "no confirmShipment for {}: {:?}",
            stack.amazon_order_id,
            stack.sandbox.control().confirmations()
        )
    });
    assert!(
        confirmed.body.to_string().contains(&tracking),
        "the confirmation carries the tracking number: {}",
        confirmed.body
    );
    mark("Amazon confirmed");

    // --- Approvals: another supervisor's adjustment (the admin's) is approved in the window;
    // the signed-in supervisor's own request is refused by the server (four eyes), and the
    // window says so.
    // The admin logged in at the start (the order's setup): one TOTP step later now.
    let admin = Api::login_with(&stack, &stack.admin, &stack.admin.totp_ahead(1)).await;
    let asked = admin
        .post(
            "/api/v1/stock/adjust",
            serde_json::json!({"sku": "JP-00002", "location": "RCV-01-01", "delta": 12, "reason_code": "found"}),
        )
        .await;
    let theirs = asked["request_id"]
        .as_str()
        .expect("above the threshold: a request");
    s.click(&s.wait_for("[data-testid=nav-supervisor]", 5).await.unwrap())
        .await
        .unwrap();
    s.click(&s.wait_for("[data-testid=tab-approvals]", 10).await.unwrap())
        .await
        .unwrap();
    let approve = s
        .wait_for(&format!("tr[data-id='{theirs}'] button.primary"), 20)
        .await
        .unwrap();
    s.click(&approve).await.unwrap();
    s.wait_text("[data-testid=adjust-notice]", "approved and posted", 20)
        .await
        .unwrap();
    let decided = admin.get("/api/v1/adjustments?status=approved").await;
    assert_eq!(decided[0]["id"].as_str(), Some(theirs), "{decided}");

    s.type_into(&s.wait_for("#a-sku", 5).await.unwrap(), "JP-00002")
        .await
        .unwrap();
    s.type_into(&s.wait_for("#a-loc", 5).await.unwrap(), "RCV-01-01")
        .await
        .unwrap();
    s.execute(
        "const r = document.querySelector('#a-reason'); r.value = 'found'; r.dispatchEvent(new Event('change'));",
    )
    .await
    .unwrap();
    let delta = s.wait_for("#a-delta", 5).await.unwrap();
    s.type_into(&delta, "15").await.unwrap();
    s.keys(&ENTER.to_string()).await.unwrap();
    s.wait_text(
        "[data-testid=adjust-notice]",
        "waits for another supervisor",
        20,
    )
    .await
    .unwrap();
    let own = s
        .wait_for("[data-testid=adjustments] tbody tr button.primary", 10)
        .await
        .unwrap();
    s.click(&own).await.unwrap();
    s.wait_text(
        "[data-testid=adjustments-error]",
        "Another supervisor must approve an adjustment you requested",
        20,
    )
    .await
    .unwrap();
    shot(&display, "07-approvals").await;
    mark("approvals");
    s.quit().await;
}

/// `tests/support/xwin.c` built with the system C compiler and libX11 into `dir`: a window
/// manager's moves (resize, close) for an Xvfb display, without unsafe code in the tests.
fn build_xwin(cc: &Path, dir: &Path) -> Option<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/xwin.c");
    let out = dir.join("xwin");
    let ok = Command::new(cc)
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .arg("-lX11")
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(out)
}

fn xwin(tool: &Path, display: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(tool)
        .args(args)
        .env("DISPLAY", display)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Polls `f` every 100 ms for up to `secs` seconds.
fn eventually<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..secs * 10 {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// One run of the app (no server needed: it opens on the login screen) with its config in
/// `config` (`XDG_CONFIG_HOME`); returns the process and its window.
fn open_app(dbus: &Path, display: &str, config: &Path, data: &Path, tool: &Path) -> (Proc, String) {
    let app = spawn_group(
        Command::new(dbus)
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_jilian-desktop"))
            .env("DISPLAY", display)
            .env("XDG_CONFIG_HOME", config)
            .env("JILIAN_DATA_DIR", data)
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let window = eventually(60, || xwin(tool, display, &["find", "Jilian WMS"]))
        .expect("the app's window within 60 s");
    (app, window)
}

#[test]
fn the_window_keeps_its_size_and_place_between_runs() {
    let tools = (
        find_tool("Xvfb"),
        find_tool("dbus-run-session"),
        find_tool("cc"),
    );
    let (Some(xvfb), Some(dbus), Some(cc)) = tools else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs Xvfb, dbus-run-session and a C compiler: {tools:?}"
        );
        eprintln!("skipped: Xvfb, dbus-run-session or cc missing");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let Some(tool) = build_xwin(&cc, dir.path()) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs libX11's headers (libx11-dev) to build tests/support/xwin.c"
        );
        eprintln!("skipped: tests/support/xwin.c does not build (libx11-dev missing?)");
        return;
    };
    let config = dir.path().join("config");
    let data = dir.path().join("data");
    let (_xvfb, display) = start_xvfb(&xvfb);
    let geometry = |w: &str| xwin(&tool, &display, &["geometry", w]).unwrap_or_default();

    // First run: the size tauri.conf.json sets; a person makes it smaller and moves it, closes.
    let (mut app, w) = open_app(&dbus, &display, &config, &data, &tool);
    assert!(geometry(&w).starts_with("1280x800+"), "{}", geometry(&w));
    xwin(&tool, &display, &["resize", &w, "120", "80", "1100", "700"]).unwrap();
    eventually(10, || (geometry(&w) == "1100x700+120+80").then_some(()))
        .unwrap_or_else(|| panic!("resized: {}", geometry(&w)));
    // Let the app see the configure events before the close.
    std::thread::sleep(Duration::from_millis(500));
    xwin(&tool, &display, &["close", &w]).unwrap();
    eventually(20, || app.0.try_wait().ok().flatten()).expect("the app exits when closed");
    let saved: serde_json::Value = serde_json::from_slice(
        &std::fs::read(config.join("jp.jilian.wms/.window-state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        (&saved["main"]["width"], &saved["main"]["height"]),
        (&serde_json::json!(1100), &serde_json::json!(700)),
        "{saved}"
    );

    // Second run: the window opens as it was left.
    let (_app, w) = open_app(&dbus, &display, &config, &data, &tool);
    let restored = eventually(10, || {
        let g = geometry(&w);
        (g == "1100x700+120+80").then_some(g)
    });
    assert!(restored.is_some(), "restored: {}", geometry(&w));
    xwin(&tool, &display, &["close", &w]).unwrap();
}
