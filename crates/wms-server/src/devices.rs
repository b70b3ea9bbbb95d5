//! The device registry (issue 6, remote wipe and device revoke): every workstation that signs in
//! with a device id is registered here, per tenant.
//!
//! - **Revoke** (admin): the device's sessions end in the same transaction, and a login or a token
//!   refresh from it is refused with `device_revoked` (403). The check and the revocation meet on
//!   the device row: a login upserts it (taking its row lock) before it creates a session, and a
//!   revocation updates it before it revokes sessions, so a login racing a revocation either sees
//!   the revocation or has its new session revoked by it.
//! - **Wipe** (admin + step-up): only a request; the station carries it out at its next contact
//!   (`GET /api/v1/devices/self` says `wipe: true`), erases its cache and keys, and acknowledges
//!   with `POST /api/v1/devices/self/wiped`, which ends the device's sessions.
//! - **Printer profile** (admin): label printer, label format and document printer, read by the
//!   station from `GET /api/v1/devices/self`.
//! - **Update channel** (admin + step-up, like a release's rollout: it decides which build a
//!   station installs): the release channel the updater manifest offers the device when the
//!   request names none; unset, the server's default (`stable`).

use axum::extract::Path;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wms_core::audit::{AuditAction, Outcome};
use wms_core::wire::Problem;

use crate::audit::NewEvent;
use crate::auth::extract::{Authorized, req};
use crate::db::TenantTx;
use crate::error::ApiError;
use crate::http::extract::ApiJson;
use crate::time::{now_ms, rfc3339};

/// Longest device id (the length `sessions.device` has always been cut to).
pub const MAX_ID_LEN: usize = 128;
const MAX_NAME_LEN: usize = 100;
const MAX_PRINTER_LEN: usize = 200;

/// A device id: 1–128 of `A-Z a-z 0-9 . _ : -` (the station sends `station-<uuid>`). `self` is
/// the caller's own device in the API's paths, so it is no device's id.
#[must_use]
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id != "self"
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

fn clean_name(name: &str) -> Option<String> {
    let n: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_LEN)
        .collect();
    let n = n.trim();
    (!n.is_empty()).then(|| n.to_owned())
}

/// The label format a station prints in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LabelFormat {
    /// ZPL for 203 dpi printers (8 dots/mm).
    Zpl203,
    /// ZPL for 300 dpi printers (12 dots/mm).
    Zpl300,
    /// An A6 PDF through the OS spooler (a `cups://` queue): for printers that speak no ZPL.
    Pdf,
}

/// Where a station prints. Targets are `tcp://HOST:PORT` (raw port 9100) or `cups://QUEUE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrinterProfile {
    /// The label printer, e.g. `tcp://10.0.0.21:9100` or `cups://zebra-bench-3`.
    #[serde(default)]
    pub label_printer: Option<String>,
    pub label_format: LabelFormat,
    /// The A4 printer for packing slips, e.g. `cups://office-a4`.
    #[serde(default)]
    pub document_printer: Option<String>,
}

fn check_target(field: &str, v: &str) -> Result<(), ApiError> {
    let bad = |why: &str| {
        ApiError::Validation(format!(
            "{field} must be tcp://HOST:PORT or cups://QUEUE ({why}), got `{}`",
            v.chars().take(60).collect::<String>()
        ))
    };
    if v.len() > MAX_PRINTER_LEN {
        return Err(bad("at most 200 characters"));
    }
    if let Some(rest) = v.strip_prefix("tcp://") {
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        let host_ok = !host.is_empty()
            && host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':')
            });
        if !host_ok {
            return Err(bad("bad host"));
        }
        match port.parse::<u16>() {
            Ok(p) if p > 0 => Ok(()),
            _ => Err(bad("bad port")),
        }
    } else if let Some(queue) = v.strip_prefix("cups://") {
        let ok = !queue.is_empty()
            && queue
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
        if ok {
            Ok(())
        } else {
            Err(bad("bad queue name"))
        }
    } else {
        Err(bad("unknown scheme"))
    }
}

impl PrinterProfile {
    fn check(&self) -> Result<(), ApiError> {
        if let Some(p) = &self.label_printer {
            check_target("label_printer", p)?;
        }
        if let Some(p) = &self.document_printer {
            check_target("document_printer", p)?;
        }
        // A PDF goes through the spooler; a raw port (tcp://) is a label printer's and would
        // print the PDF's bytes as text. Packing slips are PDFs too.
        if self.label_format == LabelFormat::Pdf
            && self
                .label_printer
                .as_deref()
                .is_some_and(|p| p.starts_with("tcp://"))
        {
            return Err(ApiError::Validation(
                "label_format pdf needs a cups://QUEUE label printer: a tcp:// raw port takes ZPL"
                    .into(),
            ));
        }
        if self
            .document_printer
            .as_deref()
            .is_some_and(|p| p.starts_with("tcp://"))
        {
            return Err(ApiError::Validation(
                "document_printer must be a cups://QUEUE: packing slips are PDFs, and a tcp:// raw port takes ZPL"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// A device as an admin sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceView {
    pub id: String,
    /// The name the station gave at login (its hostname).
    pub name: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// The user who signed in (or tried to) from it last.
    pub last_user_id: Option<String>,
    /// Sessions of this device that are still usable.
    pub active_sessions: i64,
    pub revoked: bool,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
    /// A wipe has been asked for and not yet acknowledged by the station.
    pub wipe_pending: bool,
    pub wipe_requested_at: Option<String>,
    pub wipe_requested_by: Option<String>,
    /// When the station last acknowledged a wipe.
    pub wiped_at: Option<String>,
    pub printer_profile: Option<PrinterProfile>,
    /// The release channel its updates come from; null: the server's default (`stable`).
    pub update_channel: Option<String>,
}

/// An admin's choice of a device's release channel.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannelRequest {
    /// A channel name (`a-z`, `0-9`, `-`, 1–32), or null for the server's default (`stable`).
    pub channel: Option<String>,
}

/// What a station learns about itself.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeviceSelf {
    pub id: String,
    /// Erase the local cache and keys now, then `POST /api/v1/devices/self/wiped`.
    pub wipe: bool,
    pub revoked: bool,
    pub printer_profile: Option<PrinterProfile>,
}

/// An admin's action on a device.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceActionRequest {
    /// Why (kept in the audit log).
    #[serde(default)]
    pub reason: Option<String>,
}

type Row = (
    String,
    Option<String>,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
    i64,
    Option<String>,
);

const SELECT: &str = "SELECT d.id, d.name, d.first_seen, d.last_seen, d.last_user_id, d.revoked_at, d.revoked_by, \
     d.wipe_requested_at, d.wipe_requested_by, d.wiped_at, d.printer_profile, \
     (SELECT COUNT(*) FROM sessions s WHERE s.tenant_id = d.tenant_id AND s.device = d.id \
        AND s.revoked_at IS NULL AND s.refresh_expires_at > $2), \
     d.update_channel \
     FROM devices d WHERE d.tenant_id = $1";

fn profile_from(text: Option<String>) -> Result<Option<PrinterProfile>, ApiError> {
    text.map(|t| serde_json::from_str(&t).map_err(ApiError::internal))
        .transpose()
}

fn view(r: Row) -> Result<DeviceView, ApiError> {
    let (
        id,
        name,
        first,
        last,
        user,
        rev_at,
        rev_by,
        wipe_at,
        wipe_by,
        wiped,
        profile,
        active,
        channel,
    ) = r;
    Ok(DeviceView {
        id,
        name,
        first_seen: rfc3339(first),
        last_seen: rfc3339(last),
        last_user_id: user,
        active_sessions: active,
        revoked: rev_at.is_some(),
        revoked_at: rev_at.map(rfc3339),
        revoked_by: rev_by,
        wipe_pending: wipe_at.is_some(),
        wipe_requested_at: wipe_at.map(rfc3339),
        wipe_requested_by: wipe_by,
        wiped_at: wiped.map(rfc3339),
        printer_profile: profile_from(profile)?,
        update_channel: channel,
    })
}

async fn all(tx: &mut TenantTx) -> Result<Vec<DeviceView>, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<Row> = sqlx::query_as(&format!("{SELECT} ORDER BY d.last_seen DESC, d.id"))
        .bind(tid)
        .bind(now_ms())
        .fetch_all(conn)
        .await?;
    rows.into_iter().map(view).collect()
}

async fn get(tx: &mut TenantTx, id: &str) -> Result<Option<DeviceView>, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} AND d.id = $3"))
        .bind(tid)
        .bind(now_ms())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(view).transpose()
}

/// End every live session of a device; returns how many.
async fn revoke_sessions(tx: &mut TenantTx, id: &str, reason: &str) -> Result<u64, ApiError> {
    let (tid, conn) = tx.split();
    Ok(sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoked_reason = $2 WHERE tenant_id = $3 AND device = $4 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(reason)
    .bind(tid)
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected())
}

/// A device id from a path: malformed is a 400, unknown or another tenant's a 404 (audited).
async fn require_device<R>(
    auth: Authorized<R>,
    id: &str,
) -> Result<(Authorized<R>, DeviceView), ApiError> {
    if !valid_id(id) {
        return Err(ApiError::BadRequest(format!(
            "`{}` is not a device id (1–{MAX_ID_LEN} of letters, digits, `.`, `_`, `:`, `-`)",
            id.chars().take(40).collect::<String>()
        )));
    }
    let mut auth = auth;
    match get(&mut auth.tx, id).await? {
        Some(d) => Ok((auth, d)),
        None => Err(auth.not_found("device", format!("device:{id}")).await),
    }
}

fn reason_of(body: DeviceActionRequest, default: &str) -> String {
    body.reason
        .as_deref()
        .and_then(clean_name)
        .map(|r| r.chars().take(200).collect())
        .unwrap_or_else(|| default.to_owned())
}

// ------------------------------------------------------------------ hooks of login and refresh

/// What a login learnt about its device.
#[derive(Debug)]
pub struct LoginDevice {
    pub id: String,
    pub revoked: bool,
    /// First time this device was seen.
    pub registered: bool,
}

/// At a login whose credentials are good: register the device, or note its contact. Takes the
/// device row's lock for the rest of the login transaction (see the module's note on races).
pub async fn on_login(
    tx: &mut TenantTx,
    device: Option<&str>,
    name: Option<&str>,
    user: &str,
) -> Result<Option<LoginDevice>, ApiError> {
    let Some(id) = device else {
        return Ok(None);
    };
    if !valid_id(id) {
        return Err(ApiError::Validation(format!(
            "device must be 1–{MAX_ID_LEN} of letters, digits, `.`, `_`, `:`, `-`"
        )));
    }
    let now = now_ms();
    let (tid, conn) = tx.split();
    let (first_seen, revoked_at): (i64, Option<i64>) = sqlx::query_as(
        "INSERT INTO devices (tenant_id, id, name, first_seen, last_seen, last_user_id) VALUES ($1, $2, $3, $4, $4, $5) \
         ON CONFLICT (tenant_id, id) DO UPDATE SET last_seen = excluded.last_seen, last_user_id = excluded.last_user_id, \
           name = COALESCE(excluded.name, devices.name) \
         RETURNING first_seen, revoked_at",
    )
    .bind(tid)
    .bind(id)
    .bind(name.and_then(clean_name))
    .bind(now)
    .bind(user)
    .fetch_one(conn)
    .await?;
    Ok(Some(LoginDevice {
        id: id.to_owned(),
        revoked: revoked_at.is_some(),
        registered: first_seen == now && revoked_at.is_none(),
    }))
}

/// At a token refresh: the session's device, if that device is revoked (the refresh is refused);
/// otherwise notes the device's contact.
pub async fn on_refresh(tx: &mut TenantTx, session: &str) -> Result<Option<String>, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT d.id, d.revoked_at FROM sessions s JOIN devices d ON d.tenant_id = s.tenant_id AND d.id = s.device \
         WHERE s.tenant_id = $1 AND s.id = $2",
    )
    .bind(tid)
    .bind(session)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some((id, Some(_))) => Ok(Some(id)),
        Some((id, None)) => {
            sqlx::query("UPDATE devices SET last_seen = $1 WHERE tenant_id = $2 AND id = $3")
                .bind(now_ms())
                .bind(tid)
                .bind(&id)
                .execute(conn)
                .await?;
            Ok(None)
        }
        None => Ok(None),
    }
}

// ------------------------------------------------------------------ admin endpoints

#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", security(("bearer" = [])),
    responses((status = 200, description = "every device of the tenant, most recently seen first", body = Vec<DeviceView>), (status = 403, body = Problem)))]
pub async fn list_devices(
    mut auth: Authorized<req::ManageUsers>,
) -> Result<axum::Json<Vec<DeviceView>>, ApiError> {
    Ok(axum::Json(all(&mut auth.tx).await?))
}

#[utoipa::path(post, path = "/api/v1/devices/{id}/revoke", tag = "devices", security(("bearer" = [])), request_body = DeviceActionRequest,
    params(("id" = String, Path, description = "device id"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, description = "revoked; its sessions are ended and it can no longer sign in (`device_revoked`)", body = DeviceView),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "`already_revoked`", body = Problem)))]
pub async fn revoke_device(
    auth: Authorized<req::ManageUsers>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeviceActionRequest>,
) -> Result<axum::Json<DeviceView>, ApiError> {
    let (mut auth, _) = require_device(auth, &id).await?;
    let actor = auth.ctx.actor();
    let reason = reason_of(body, "revoked by an admin");
    let (tid, conn) = auth.tx.split();
    let changed = sqlx::query(
        "UPDATE devices SET revoked_at = $1, revoked_by = $2 WHERE tenant_id = $3 AND id = $4 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(&actor)
    .bind(tid)
    .bind(&id)
    .execute(conn)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(ApiError::State {
            code: "already_revoked",
            message: "this device is already revoked".into(),
        });
    }
    let ended = revoke_sessions(&mut auth.tx, &id, "device revoked").await?;
    let detail = format!("{reason}; {ended} sessions ended");
    audited_view(auth, &actor, AuditAction::DeviceRevoked, &id, detail).await
}

#[utoipa::path(post, path = "/api/v1/devices/{id}/wipe", tag = "devices", security(("bearer" = [])), request_body = DeviceActionRequest,
    params(("id" = String, Path, description = "device id"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, description = "wipe requested: the station erases its cache and keys at its next contact and acknowledges", body = DeviceView),
        (status = 400, body = Problem), (status = 403, description = "admin with a fresh MFA step-up only (`step_up_required`)", body = Problem), (status = 404, body = Problem)))]
pub async fn wipe_device(
    auth: Authorized<req::ManageUsersStepUp>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DeviceActionRequest>,
) -> Result<axum::Json<DeviceView>, ApiError> {
    let (mut auth, _) = require_device(auth, &id).await?;
    let actor = auth.ctx.actor();
    let reason = reason_of(body, "wipe requested by an admin");
    let (tid, conn) = auth.tx.split();
    sqlx::query(
        "UPDATE devices SET wipe_requested_at = $1, wipe_requested_by = $2 WHERE tenant_id = $3 AND id = $4",
    )
    .bind(now_ms())
    .bind(&actor)
    .bind(tid)
    .bind(&id)
    .execute(conn)
    .await?;
    audited_view(auth, &actor, AuditAction::DeviceWipeRequested, &id, reason).await
}

#[utoipa::path(put, path = "/api/v1/devices/{id}/printer-profile", tag = "devices", security(("bearer" = [])), request_body = PrinterProfile,
    params(("id" = String, Path, description = "device id"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = DeviceView), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, description = "`validation_failed`", body = Problem)))]
pub async fn set_printer_profile(
    auth: Authorized<req::ManageUsers>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PrinterProfile>,
) -> Result<axum::Json<DeviceView>, ApiError> {
    body.check()?;
    let (mut auth, _) = require_device(auth, &id).await?;
    let json = serde_json::to_string(&body).map_err(ApiError::internal)?;
    let (tid, conn) = auth.tx.split();
    sqlx::query("UPDATE devices SET printer_profile = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(&json)
        .bind(tid)
        .bind(&id)
        .execute(conn)
        .await?;
    let actor = auth.ctx.actor();
    audited_view(auth, &actor, AuditAction::DeviceProfileChanged, &id, json).await
}

#[utoipa::path(put, path = "/api/v1/devices/{id}/update-channel", tag = "devices", security(("bearer" = [])), request_body = UpdateChannelRequest,
    params(("id" = String, Path, description = "device id"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, description = "the device's updates now come from this channel (null: the server's default)", body = DeviceView),
        (status = 400, body = Problem), (status = 403, description = "admin with a fresh MFA step-up only (`step_up_required`)", body = Problem),
        (status = 404, body = Problem), (status = 422, description = "`validation_failed`: not a channel name", body = Problem)))]
pub async fn set_update_channel(
    auth: Authorized<req::ManageUsersStepUp>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateChannelRequest>,
) -> Result<axum::Json<DeviceView>, ApiError> {
    let channel = body
        .channel
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if let Some(c) = channel {
        wms_core::release::check_channel(c).map_err(|e| ApiError::Validation(e.to_string()))?;
    }
    let (mut auth, _) = require_device(auth, &id).await?;
    let (tid, conn) = auth.tx.split();
    sqlx::query("UPDATE devices SET update_channel = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(channel)
        .bind(tid)
        .bind(&id)
        .execute(conn)
        .await?;
    let actor = auth.ctx.actor();
    let detail = format!("update channel: {}", channel.unwrap_or("(the default)"));
    audited_view(auth, &actor, AuditAction::DeviceProfileChanged, &id, detail).await
}

/// The release channel an admin put this device on, if any.
pub async fn update_channel_of(tx: &mut TenantTx, id: &str) -> Result<Option<String>, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT update_channel FROM devices WHERE tenant_id = $1 AND id = $2")
            .bind(tid)
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.and_then(|r| r.0))
}

/// Records an admin's action on a device, then answers with the device as it now is.
async fn audited_view<R>(
    mut auth: Authorized<R>,
    actor: &str,
    action: AuditAction,
    id: &str,
    detail: impl Into<String>,
) -> Result<axum::Json<DeviceView>, ApiError> {
    auth.audit(
        NewEvent::new(actor, action, Outcome::Success)
            .target(format!("device:{id}"))
            .detail(detail),
    )
    .await?;
    let view = get(&mut auth.tx, id)
        .await?
        .ok_or(ApiError::NotFound("device"))?;
    auth.tx.commit().await?;
    Ok(axum::Json(view))
}

// ------------------------------------------------------------------ the station's own device

/// The device a session was opened from, if it was opened with a (valid) device id.
pub async fn of_session(tx: &mut TenantTx, session: &str) -> Result<Option<String>, ApiError> {
    let (tid, conn) = tx.split();
    let device: Option<(Option<String>,)> =
        sqlx::query_as("SELECT device FROM sessions WHERE tenant_id = $1 AND id = $2")
            .bind(tid)
            .bind(session)
            .fetch_optional(conn)
            .await?;
    Ok(device.and_then(|d| d.0).filter(|d| valid_id(d)))
}

/// The caller's session's device (registered now if it signed in before the registry existed).
async fn own_device<R>(auth: &mut Authorized<R>) -> Result<DeviceView, ApiError> {
    let session = auth.ctx.session.to_string();
    let user = auth.ctx.actor();
    let Some(id) = of_session(&mut auth.tx, &session).await? else {
        return Err(ApiError::NotFound("device"));
    };
    on_login(&mut auth.tx, Some(&id), None, &user).await?;
    get(&mut auth.tx, &id)
        .await?
        .ok_or(ApiError::NotFound("device"))
}

#[utoipa::path(get, path = "/api/v1/devices/self", tag = "devices", security(("bearer" = [])),
    responses((status = 200, description = "the calling station's device: a pending wipe, its printer profile", body = DeviceSelf),
        (status = 401, body = Problem), (status = 404, description = "the session was not opened with a device id", body = Problem)))]
pub async fn own(
    mut auth: Authorized<req::SelfService>,
) -> Result<axum::Json<DeviceSelf>, ApiError> {
    let d = own_device(&mut auth).await?;
    auth.tx.commit().await?;
    Ok(axum::Json(DeviceSelf {
        id: d.id,
        wipe: d.wipe_pending,
        revoked: d.revoked,
        printer_profile: d.printer_profile,
    }))
}

#[utoipa::path(post, path = "/api/v1/devices/self/wiped", tag = "devices", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 204, description = "the wipe is recorded and every session of the device (this one included) has ended"),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, description = "`wipe_not_requested`", body = Problem)))]
pub async fn acknowledge_wipe(
    mut auth: Authorized<req::SelfService>,
) -> Result<StatusCode, ApiError> {
    let d = own_device(&mut auth).await?;
    if !d.wipe_pending {
        return Err(ApiError::State {
            code: "wipe_not_requested",
            message: "no wipe was requested for this device".into(),
        });
    }
    let (tid, conn) = auth.tx.split();
    sqlx::query(
        "UPDATE devices SET wiped_at = $1, wipe_requested_at = NULL, wipe_requested_by = NULL WHERE tenant_id = $2 AND id = $3",
    )
    .bind(now_ms())
    .bind(tid)
    .bind(&d.id)
    .execute(conn)
    .await?;
    let ended = revoke_sessions(&mut auth.tx, &d.id, "device wiped").await?;
    let actor = auth.ctx.actor();
    auth.audit(
        NewEvent::new(&actor, AuditAction::DeviceWiped, Outcome::Success)
            .target(format!("device:{}", d.id))
            .detail(format!(
                "requested by {} at {}; {ended} sessions ended",
                d.wipe_requested_by.as_deref().unwrap_or("?"),
                d.wipe_requested_at.as_deref().unwrap_or("?")
            )),
    )
    .await?;
    auth.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids_and_printer_targets() {
        assert!(valid_id("station-0b7a4f8e-2a51-4c38-9d0e-6f1b2c3d4e5f"));
        for bad in [
            "",
            "self",
            "a b",
            "x/../y",
            "é",
            &"a".repeat(MAX_ID_LEN + 1),
        ] {
            assert!(!valid_id(bad), "{bad}");
        }
        for ok in [
            "tcp://10.0.0.21:9100",
            "tcp://printer-3.local:9100",
            "cups://zebra_3",
        ] {
            assert!(check_target("p", ok).is_ok(), "{ok}");
        }
        for bad in [
            "tcp://10.0.0.21",
            "tcp://:9100",
            "tcp://h:0",
            "tcp://h:99999",
            "cups://",
            "cups://a b",
            "lpr://x",
            "http://x:80",
        ] {
            assert!(check_target("p", bad).is_err(), "{bad}");
        }
        let profile = |label: Option<&str>, format, document: Option<&str>| PrinterProfile {
            label_printer: label.map(str::to_owned),
            label_format: format,
            document_printer: document.map(str::to_owned),
        };
        assert!(
            profile(Some("cups://a6"), LabelFormat::Pdf, Some("cups://a4"))
                .check()
                .is_ok()
        );
        assert!(
            profile(Some("tcp://h:9100"), LabelFormat::Zpl203, None)
                .check()
                .is_ok()
        );
        assert!(
            profile(Some("tcp://h:9100"), LabelFormat::Pdf, None)
                .check()
                .is_err()
        );
        assert!(
            profile(None, LabelFormat::Zpl300, Some("tcp://h:9100"))
                .check()
                .is_err()
        );
        assert_eq!(
            serde_json::from_str::<LabelFormat>("\"pdf\"").ok(),
            Some(LabelFormat::Pdf)
        );
        assert_eq!(clean_name("  bench\u{7}-3 "), Some("bench-3".into()));
        assert_eq!(clean_name(" \n "), None);
    }
}
