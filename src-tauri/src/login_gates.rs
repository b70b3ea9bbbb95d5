//! The login's two gates, as commands: first-time MFA enrolment (`login_enrol_start`,
//! `login_enrol_confirm`, then `login_enrol_sign_in` with the next code) and the forced password
//! change (`login_change_password`). `login` answers `mfa_enrollment_required` or
//! `password_change_required` and keeps the stopped login here, in the app's state: the restricted
//! token and the password stay in this process (zeroized on drop), the UI never sees them. The UI
//! does see the new authenticator seed, once, to show it.

use base64::Engine as _;
use serde::Serialize;
use tauri::{AppHandle, State};
use tokio::sync::Mutex;
use wms_client::station::{LoginParams, PendingLogin, SignIn, StationOptions};
use wms_client::{ApiError, Station, StationError};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{AppError, Result};
use crate::{AppInfo, Desk, app_info_of, emit_status};

/// The login stopped at a gate, if any (one at a time: a new `login` replaces it).
#[derive(Default)]
pub struct Gates(Mutex<Option<PendingLogin>>);

fn expired() -> AppError {
    AppError::new(
        "login_expired",
        "no sign-in is waiting for this step: sign in again",
    )
}

/// Signs in; at a gate, keeps the login and refuses with the gate's code.
pub(crate) async fn sign_in(
    gates: &Gates,
    desk: &Desk,
    params: &LoginParams,
    options: StationOptions,
) -> Result<Station> {
    let mut pending = gates.0.lock().await;
    *pending = None;
    match Station::sign_in(&desk.data_dir, params, options).await? {
        SignIn::SignedIn(s) => Ok(*s),
        SignIn::Gate(p) => {
            let refusal = p.refusal();
            *pending = Some(*p);
            Err(refusal.into())
        }
    }
}

/// The new authenticator seed: the secret (base32) for manual entry, the `otpauth://` URI and the
/// QR code as a `data:` URI of the server's SVG (shown as an image, never as markup).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrolmentView {
    secret: String,
    otpauth_uri: String,
    qr_data_uri: String,
}

impl Drop for EnrolmentView {
    fn drop(&mut self) {
        self.secret.zeroize();
        self.otpauth_uri.zeroize();
        self.qr_data_uri.zeroize();
    }
}

impl std::fmt::Debug for EnrolmentView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EnrolmentView(<redacted>)")
    }
}

/// A step failed: keep the login for another try unless it can no longer go on.
fn refused(slot: &mut Option<PendingLogin>, e: AppError) -> AppError {
    if e.code == "login_expired" || slot.as_ref().is_some_and(|p| !p.is_live()) {
        *slot = None;
    }
    e
}

/// The server's password policy says why in its detail (too short, too common…): that reason is
/// the message the UI shows beside its own words, not the whole "server refused (422 …)" line.
fn policy_refusal(e: StationError) -> AppError {
    match e {
        StationError::Api(ApiError::Problem {
            code,
            detail: Some(reason),
            ..
        }) if code == "weak_password" => AppError::new("weak_password", reason),
        other => other.into(),
    }
}

/// The station is signed in: it becomes this desk's, as after a plain `login`.
async fn install(app: &AppHandle, desk: &Desk, station: Station, email: String) -> Result<AppInfo> {
    {
        let mut guard = desk.station.write().await;
        if guard.is_some() {
            return Err(AppError::new(
                "already_logged_in",
                "this station is logged in: log out first",
            ));
        }
        desk.update_settings(|s| {
            s.last_email = Some(email);
            s.last_role = None;
        })?;
        *guard = Some(station);
    }
    let info = app_info_of(desk).await;
    emit_status(app, desk).await;
    Ok(info)
}

#[tauri::command]
pub async fn login_enrol_start(gates: State<'_, Gates>) -> Result<EnrolmentView> {
    let mut slot = gates.0.lock().await;
    let pending = slot.as_mut().ok_or_else(expired)?;
    match pending.start_enrolment().await {
        Ok(e) => {
            let svg = base64::engine::general_purpose::STANDARD.encode(e.qr_svg.as_bytes());
            let svg = Zeroizing::new(svg);
            Ok(EnrolmentView {
                secret: e.secret.to_string(),
                otpauth_uri: e.otpauth_uri.to_string(),
                qr_data_uri: format!("data:image/svg+xml;base64,{}", svg.as_str()),
            })
        }
        Err(e) => Err(refused(&mut slot, e.into())),
    }
}

#[tauri::command]
pub async fn login_enrol_confirm(gates: State<'_, Gates>, code: String) -> Result<()> {
    let code = Zeroizing::new(code);
    if code.trim().is_empty() {
        return Err(AppError::new("mfa_required", "enter the code"));
    }
    let mut slot = gates.0.lock().await;
    let pending = slot.as_mut().ok_or_else(expired)?;
    pending
        .confirm_enrolment(&code)
        .await
        .map_err(|e| refused(&mut slot, e.into()))
}

#[tauri::command]
pub async fn login_enrol_sign_in(
    app: AppHandle,
    desk: State<'_, Desk>,
    gates: State<'_, Gates>,
    code: String,
) -> Result<AppInfo> {
    let code = Zeroizing::new(code);
    if code.trim().is_empty() {
        return Err(AppError::new("mfa_required", "enter the code"));
    }
    let mut slot = gates.0.lock().await;
    let pending = slot.as_mut().ok_or_else(expired)?;
    let email = pending.email().to_owned();
    match pending.sign_in_with_code(&code).await {
        Ok(SignIn::SignedIn(s)) => {
            *slot = None;
            drop(slot);
            install(&app, &desk, *s, email).await
        }
        // The next gate (a password still to change).
        Ok(SignIn::Gate(p)) => {
            let refusal = p.refusal();
            *slot = Some(*p);
            Err(refusal.into())
        }
        Err(e) => Err(refused(&mut slot, e.into())),
    }
}

#[tauri::command]
pub async fn login_change_password(
    app: AppHandle,
    desk: State<'_, Desk>,
    gates: State<'_, Gates>,
    current: String,
    new: String,
    repeat: String,
) -> Result<AppInfo> {
    let (current, new, repeat) = (
        Zeroizing::new(current),
        Zeroizing::new(new),
        Zeroizing::new(repeat),
    );
    let mut slot = gates.0.lock().await;
    let pending = slot.as_mut().ok_or_else(expired)?;
    let email = pending.email().to_owned();
    match pending.change_password(&current, &new, &repeat).await {
        Ok(station) => {
            *slot = None;
            drop(slot);
            install(&app, &desk, station, email).await
        }
        Err(e) => Err(refused(&mut slot, policy_refusal(e))),
    }
}

/// Back to the sign-in form: the stopped login is dropped (its token and password with it).
#[tauri::command]
pub async fn login_gate_cancel(gates: State<'_, Gates>) -> Result<()> {
    *gates.0.lock().await = None;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_refusal_carries_the_servers_reason_and_other_refusals_keep_their_codes() {
        let weak = StationError::Api(ApiError::Problem {
            status: 422,
            code: "weak_password".into(),
            detail: Some("password must be at least 12 characters".into()),
        });
        let e = policy_refusal(weak);
        assert_eq!(e.code, "weak_password");
        assert_eq!(e.message, "password must be at least 12 characters");
        let wrong = StationError::Api(ApiError::Problem {
            status: 401,
            code: "invalid_credentials".into(),
            detail: Some("invalid credentials".into()),
        });
        assert_eq!(policy_refusal(wrong).code, "invalid_credentials");
        assert_eq!(
            policy_refusal(StationError::PasswordMismatch).code,
            "password_mismatch"
        );
        assert_eq!(
            policy_refusal(StationError::LoginExpired).code,
            "login_expired"
        );
    }

    #[test]
    fn a_refusal_without_a_waiting_login_leaves_nothing_behind() {
        let mut slot = None;
        let e = refused(&mut slot, expired());
        assert_eq!(e.code, "login_expired");
        assert!(slot.is_none());
    }
}
