//! The Secret Service path of the secret store, in a real desktop-style session: a private D-Bus
//! session bus (`dbus-run-session`) with GNOME Keyring's Secret Service, in a child process of
//! this test binary (the bus and the keyring live and die with it). Unlocked, a station keeps
//! its refresh token and cache key there through a whole login → sync → logout cycle; locked or
//! without a default collection, `Auto` falls back to the kernel keyring without ever asking for
//! an unlock (which would put up a prompt nobody answers). Skipped without dbus-run-session and
//! gnome-keyring-daemon, except under `CI=true`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wms_client::secrets::{self, SecretStoreKind, StorePreference};

fn have(cmd: &str) -> bool {
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .any(|d| Path::new(d).join(cmd).exists())
}

/// Runs the ignored test `name` of this binary inside a private D-Bus session with GNOME
/// Keyring started (and its login collection created and unlocked when `unlock`).
fn run_in_session(name: &str, unlock: bool) {
    if !(have("dbus-run-session") && have("gnome-keyring-daemon")) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but dbus-run-session / gnome-keyring-daemon are missing (apt: dbus gnome-keyring)"
        );
        eprintln!("skipping: no dbus-run-session or gnome-keyring-daemon");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let runtime = home.path().join("run");
    std::fs::create_dir(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let start = if unlock {
        "printf 'jilian-test' | gnome-keyring-daemon --unlock --components=secrets >/dev/null"
    } else {
        "gnome-keyring-daemon --start --components=secrets >/dev/null"
    };
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &format!("{start} && exec \"$0\" \"$@\"")])
        .arg(&exe)
        .args([name, "--exact", "--ignored", "--nocapture"])
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", &runtime)
        .env_remove("DISPLAY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The child's report, read while it runs (a full pipe would stall it).
    let mut stdout = child.stdout.take().unwrap();
    let report = std::thread::spawn(move || {
        let mut out = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
        out
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{name} did not finish in 120 s (waiting for a Secret Service prompt?)");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let report = report.join().unwrap();
    assert!(
        status.success(),
        "{name} failed in its D-Bus session: {status}\n{report}"
    );
    // A filter that matched nothing would pass too: the child must have run exactly this test.
    assert!(
        report.contains("test result: ok. 1 passed"),
        "{name} did not run in the child:\n{report}"
    );
}

#[test]
fn secret_service_keeps_the_station_secrets() {
    run_in_session("secret_service::in_session_unlocked", true);
}

#[test]
fn locked_secret_service_falls_back_without_a_prompt() {
    run_in_session("secret_service::in_session_without_collection", false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the D-Bus session that secret_service_keeps_the_station_secrets starts"]
async fn in_session_unlocked() {
    assert!(std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some());
    assert_eq!(secrets::auto_kind("probe"), SecretStoreKind::SecretService);
    // The item is in the Secret Service, not in the kernel keyring.
    let ss = secrets::choose(
        StorePreference::SecretService,
        "inst-a",
        Path::new("/nonexistent"),
    )
    .unwrap();
    assert_eq!(ss.kind(), SecretStoreKind::SecretService);
    ss.set("token", b"s3cret").unwrap();
    assert_eq!(
        ss.get("token").unwrap().as_deref().map(Vec::as_slice),
        Some(&b"s3cret"[..])
    );
    let native = secrets::open_kind(
        SecretStoreKind::Keyring,
        "inst-a",
        Path::new("/nonexistent"),
    )
    .unwrap();
    assert!(native.get("token").unwrap().is_none(), "not in keyutils");
    let reopened = secrets::open_kind(
        SecretStoreKind::SecretService,
        "inst-a",
        Path::new("/nonexistent"),
    )
    .unwrap();
    assert_eq!(
        reopened.get("token").unwrap().as_deref().map(Vec::as_slice),
        Some(&b"s3cret"[..])
    );
    reopened.delete("token").unwrap();
    assert!(ss.get("token").unwrap().is_none());
    // A whole station cycle: login, sync, sealed cache, logout wiping the keys.
    crate::session_cache::full_cycle(StorePreference::Auto, SecretStoreKind::SecretService, 30)
        .await;
}

#[test]
#[ignore = "runs inside the D-Bus session that locked_secret_service_falls_back_without_a_prompt starts"]
fn in_session_without_collection() {
    assert!(std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some());
    let err = secrets::choose(
        StorePreference::SecretService,
        "inst-b",
        Path::new("/nonexistent"),
    )
    .err()
    .expect("no unlocked default collection: refused");
    assert!(err.to_string().contains("collection"), "{err}");
    assert_eq!(secrets::auto_kind("probe"), SecretStoreKind::Keyring);
}
