//! The login's two gates against the real server: first-time MFA enrolment and the forced password
//! change, bad input included.

use serde_json::{Value, json};
use wms_client::StationError;
use wms_client::api::Call;
use wms_client::secrets::StorePreference;
use wms_client::station::{Gate, LoginParams, PendingLogin, SignIn, Station};
use zeroize::Zeroizing;

use crate::harness::{Admin, Server, TENANT, clear_of_step_boundary, options};

const NEW_PASSWORD: &str = "Kobe-harbour-crane-42";

fn params(server: &Server, email: &str, password: &str, totp: Option<String>) -> LoginParams {
    LoginParams {
        server: server.url(),
        fingerprint: Some(server.fingerprint.clone()),
        tenant: TENANT.into(),
        email: email.into(),
        password: Zeroizing::new(password.into()),
        totp,
    }
}

/// A new account of `role`, as an admin creates it: a one-time password that must be changed.
async fn new_user(admin: &Admin, email: &str, role: &str) -> (String, String) {
    let v = admin
        .post("/api/v1/users", json!({"email": email, "role": role}))
        .await;
    (
        v["id"].as_str().unwrap().to_owned(),
        v["one_time_password"].as_str().unwrap().to_owned(),
    )
}

async fn mfa_enrolled(admin: &Admin, id: &str) -> bool {
    admin.get(&format!("/api/v1/users/{id}")).await["mfa_enrolled"]
        .as_bool()
        .unwrap()
}

fn code(secret: &[u8], offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    wms_core::totp::code_at(secret, (now + offset * 30) as u64).unwrap()
}

fn gate(s: SignIn) -> PendingLogin {
    match s {
        SignIn::Gate(p) => *p,
        SignIn::SignedIn(_) => panic!("signed in, expected a gate"),
    }
}

fn signed_in(s: SignIn) -> Station {
    match s {
        SignIn::SignedIn(s) => *s,
        SignIn::Gate(p) => panic!("stopped at {:?}", p.gate()),
    }
}

/// The session works for a call that no restricted session may make.
async fn fully_signed_in(station: &Station) {
    let sessions: Value = station
        .session()
        .json(|t| Call::get("/api/v1/sessions").bearer(t))
        .await
        .unwrap();
    assert!(sessions.as_array().is_some_and(|a| !a.is_empty()));
}

#[tokio::test]
async fn an_unenrolled_supervisor_enrols_then_signs_in_with_the_next_code_and_changes_the_password()
{
    let server = Server::start(2, 0).await;
    let admin = server.tenant_admin().await;
    let email = "new-supervisor@example.jp";
    let (id, otp) = new_user(&admin, email, "supervisor").await;
    let data = tempfile::tempdir().unwrap();
    let opts = || options(StorePreference::File);

    // Station::login still refuses with the gate's error for its existing callers.
    let e = Station::login(data.path(), params(&server, email, &otp, None), opts())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "mfa_enrollment_required");

    let mut pending = gate(
        Station::sign_in(data.path(), &params(&server, email, &otp, None), opts())
            .await
            .unwrap(),
    );
    assert_eq!(pending.gate(), Gate::MfaEnrolment);
    assert!(!format!("{pending:?}").contains(&otp));
    // A step of another gate is refused, and says which gate this is.
    let e = pending
        .change_password(&otp, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "wrong_login_gate");
    // Confirming before a seed was issued: the server has nothing to confirm.
    let e = pending.confirm_enrolment("123456").await.unwrap_err();
    assert_eq!(e.code(), "conflict");
    assert!(!mfa_enrolled(&admin, &id).await);

    let enrolment = pending.start_enrolment().await.unwrap();
    assert!(enrolment.otpauth_uri.starts_with("otpauth://totp/"));
    assert!(enrolment.qr_svg.contains("<svg"));
    assert_eq!(format!("{enrolment:?}"), "Enrolment(<redacted>)");
    let secret = wms_core::totp::secret_from_base32(&enrolment.secret).unwrap();

    // A wrong code: refused, nothing enrolled, the gate stays.
    clear_of_step_boundary().await;
    let wrong = if code(&secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let e = pending.confirm_enrolment(wrong).await.unwrap_err();
    assert_eq!(e.code(), "mfa_invalid");
    assert!(!mfa_enrolled(&admin, &id).await);
    assert_eq!(pending.gate(), Gate::MfaEnrolment);
    // Nothing was written for this login: no session, no cache.
    assert!(!data.path().join("station.json").exists());

    // The right code (the previous step's) enrols.
    pending.confirm_enrolment(&code(&secret, -1)).await.unwrap();
    assert!(mfa_enrolled(&admin, &id).await);
    assert_eq!(pending.gate(), Gate::MfaNextCode);
    let e = pending.start_enrolment().await.unwrap_err();
    assert_eq!(e.code(), "wrong_login_gate");

    // The code that confirmed the enrolment cannot sign in (replayed); the next one does.
    let e = pending
        .sign_in_with_code(&code(&secret, -1))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.code(), "mfa_replayed");
    assert_eq!(pending.gate(), Gate::MfaNextCode);
    let mut pending = gate(pending.sign_in_with_code(&code(&secret, 0)).await.unwrap());
    // The one-time password must still be changed.
    assert_eq!(pending.gate(), Gate::PasswordChange);
    let station = pending
        .change_password(&otp, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap();
    assert!(!pending.is_live());
    assert_eq!(
        pending
            .confirm_enrolment("123456")
            .await
            .unwrap_err()
            .code(),
        "login_expired"
    );
    fully_signed_in(&station).await;
    assert!(data.path().join("station.json").exists());
}

#[tokio::test]
async fn a_must_change_packer_changes_the_password_and_the_old_one_stops_working() {
    let server = Server::start(2, 0).await;
    let admin = server.tenant_admin().await;
    let email = "new-packer@example.jp";
    let (_, otp) = new_user(&admin, email, "packer").await;
    let data = tempfile::tempdir().unwrap();
    let opts = || options(StorePreference::File);

    let e = Station::login(data.path(), params(&server, email, &otp, None), opts())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "password_change_required");
    let mut pending = gate(
        Station::sign_in(data.path(), &params(&server, email, &otp, None), opts())
            .await
            .unwrap(),
    );
    assert_eq!(pending.gate(), Gate::PasswordChange);
    assert_eq!(pending.email(), email);

    // Refused before anything is sent: a mismatched repetition, an empty field.
    let e = pending
        .change_password(&otp, NEW_PASSWORD, "Kobe-harbour-crane-43")
        .await
        .unwrap_err();
    assert!(matches!(e, StationError::PasswordMismatch), "{e}");
    let e = pending
        .change_password("", NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "password_required");
    // Refused by the server's policy, with its reason; a wrong current password.
    let e = pending
        .change_password(&otp, "short", "short")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "weak_password");
    let e = pending
        .change_password(&otp, "password123", "password123")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "weak_password");
    let e = pending.change_password(&otp, &otp, &otp).await.unwrap_err();
    assert_eq!(e.code(), "weak_password");
    let e = pending
        .change_password("not-the-password", NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_credentials");
    assert_eq!(pending.gate(), Gate::PasswordChange);
    assert!(pending.is_live());
    // Nothing changed: the one-time password still leads to this gate.
    assert_eq!(
        Station::login(data.path(), params(&server, email, &otp, None), opts())
            .await
            .unwrap_err()
            .code(),
        "password_change_required"
    );

    let station = pending
        .change_password(&otp, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap();
    fully_signed_in(&station).await;
    drop(station);

    let e = Station::login(data.path(), params(&server, email, &otp, None), opts())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "invalid_credentials");
    let again = signed_in(
        Station::sign_in(
            data.path(),
            &params(&server, email, NEW_PASSWORD, None),
            opts(),
        )
        .await
        .unwrap(),
    );
    fully_signed_in(&again).await;
}

#[tokio::test]
async fn an_expired_enrolment_token_means_sign_in_again() {
    let server = Server::start(2, 0).await;
    let admin = server.tenant_admin().await;
    let email = "late-supervisor@example.jp";
    let (id, otp) = new_user(&admin, email, "supervisor").await;
    let data = tempfile::tempdir().unwrap();
    let mut pending = gate(
        Station::sign_in(
            data.path(),
            &params(&server, email, &otp, None),
            options(StorePreference::File),
        )
        .await
        .unwrap(),
    );
    // The restricted session ends before the enrolment (here: a role change revokes the user's
    // sessions; an enrolment token also expires ten minutes after the login).
    admin
        .api
        .unit(
            Call::put(format!("/api/v1/users/{id}/role"), json!({"role": "admin"}))
                .bearer(&admin.token),
        )
        .await
        .unwrap();
    let e = pending.start_enrolment().await.unwrap_err();
    assert_eq!(e.code(), "login_expired");
}

/// `wms-station login --new-password-stdin`: the current password, then the new one, on stdin.
async fn cli_login(
    server: &Server,
    data: &std::path::Path,
    email: &str,
    stdin: String,
    change: bool,
) -> (bool, String, String) {
    let (data, url, fp, email) = (
        data.to_path_buf(),
        server.url(),
        server.fingerprint.clone(),
        email.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        let mut args = vec![
            "--secret-store",
            "file",
            "login",
            "--server",
            &url,
            "--fingerprint",
            &fp,
            "--tenant",
            TENANT,
            "--email",
            &email,
            "--password-stdin",
        ];
        if change {
            args.push("--new-password-stdin");
        }
        crate::cli::station_with_env(&data, &args, Some(&stdin), &[])
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wms_station_login_changes_a_must_change_password_from_stdin() {
    let server = Server::start(2, 0).await;
    let admin = server.tenant_admin().await;
    let email = "cli-packer@example.jp";
    let (_, otp) = new_user(&admin, email, "packer").await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("station");

    // Without the flag: refused, and told how.
    let (ok, _, err) = cli_login(&server, &data, email, format!("{otp}\n"), false).await;
    assert!(!ok);
    assert!(err.contains("--new-password-stdin"), "{err}");
    // The flag without a second line: refused before anything is sent.
    let (ok, _, err) = cli_login(&server, &data, email, format!("{otp}\n"), true).await;
    assert!(!ok);
    assert!(err.contains("a line each"), "{err}");
    // A weak new password: the policy's refusal.
    let (ok, _, err) = cli_login(&server, &data, email, format!("{otp}\nshort\n"), true).await;
    assert!(!ok);
    assert!(err.contains("weak_password"), "{err}");

    let (ok, out, err) = cli_login(
        &server,
        &data,
        email,
        format!("{otp}\n{NEW_PASSWORD}\n"),
        true,
    )
    .await;
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("password changed"), "{out}");
    assert!(out.contains("logged in"), "{out}");
    assert!(!out.contains(NEW_PASSWORD) && !err.contains(NEW_PASSWORD));
    // Now the new password is the password.
    let (ok, _, err) = cli_login(&server, &data, email, format!("{otp}\n"), false).await;
    assert!(!ok);
    assert!(err.contains("invalid_credentials"), "{err}");
    let (ok, out, err) = cli_login(&server, &data, email, format!("{NEW_PASSWORD}\n"), false).await;
    assert!(ok, "{out}\n{err}");
}
