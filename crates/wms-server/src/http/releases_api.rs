//! `/api/v1/releases` (admin: publish, list, roll out, pause) and `/api/v1/updates/…`, the
//! manifest tauri-plugin-updater reads on every desktop (design.md, "Updates").

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use wms_core::audit::{AuditAction, Outcome};
use wms_core::release::Version;
use wms_core::wire::Problem;

use super::extract::{ApiJson, ApiQuery};
use crate::audit::NewEvent;
use crate::auth::extract::{Authorized, ReadOnly, req};
use crate::error::ApiError;
use crate::releases::{
    self, ManifestQuery, NewRelease, ReleaseChange, ReleaseQuery, ReleaseView, UpdateManifest,
};
use crate::time::now_ms;

#[utoipa::path(post, path = "/api/v1/releases", tag = "releases", security(("bearer" = [])), request_body = NewRelease,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 201, body = ReleaseView),
        (status = 403, description = "admin with a fresh MFA step-up only (`step_up_required`)", body = Problem),
        (status = 409, description = "`release_version_exists`: the version (or one of equal SemVer precedence) is already on the channel", body = Problem),
        (status = 422, description = "`validation_failed`: version, channel, rollout, notes, pub_date, or an artifact's platform, https URL or minisign signature", body = Problem)))]
pub async fn publish(
    mut auth: Authorized<req::ManageSystem>,
    ApiJson(body): ApiJson<NewRelease>,
) -> Result<(StatusCode, axum::Json<ReleaseView>), ApiError> {
    let actor = auth.ctx.actor();
    let r = releases::publish(&mut auth.tx, &actor, &body, now_ms()).await?;
    let platforms: Vec<&str> = r.artifacts.iter().map(|a| a.platform.as_str()).collect();
    auth.audit(
        NewEvent::new(&actor, AuditAction::ReleasePublished, Outcome::Success)
            .target(format!("release:{}", r.id))
            .detail(format!(
                "version {} on channel {} to {} % ({})",
                r.version,
                r.channel,
                r.rollout_percent,
                platforms.join(", ")
            )),
    )
    .await?;
    auth.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(r)))
}

#[utoipa::path(get, path = "/api/v1/releases", tag = "releases", security(("bearer" = [])), params(ReleaseQuery),
    responses((status = 200, description = "Newest first", body = Vec<ReleaseView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    mut auth: Authorized<req::ReadReleases, ReadOnly>,
    ApiQuery(q): ApiQuery<ReleaseQuery>,
) -> Result<axum::Json<Vec<ReleaseView>>, ApiError> {
    Ok(axum::Json(releases::list(&mut auth.tx, &q).await?))
}

#[utoipa::path(patch, path = "/api/v1/releases/{id}", tag = "releases", security(("bearer" = [])), request_body = ReleaseChange,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "replay protection")),
    responses((status = 200, body = ReleaseView),
        (status = 403, description = "admin with a fresh MFA step-up only (`step_up_required`)", body = Problem),
        (status = 404, body = Problem), (status = 409, description = "`version_conflict`: `version_check` is not the release's", body = Problem),
        (status = 422, description = "`validation_failed`: nothing to change, rollout out of 0–100", body = Problem)))]
pub async fn change(
    mut auth: Authorized<req::ManageSystem>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReleaseChange>,
) -> Result<axum::Json<ReleaseView>, ApiError> {
    if !releases::exists(&mut auth.tx, &id).await? {
        return Err(auth.not_found("release", format!("release:{id}")).await);
    }
    let backend = auth.state.db.backend();
    let (before, after) = releases::change(&mut auth.tx, backend, &id, &body).await?;
    let actor = auth.ctx.actor();
    let what = format!("version {} on channel {}", after.version, after.channel);
    let mut events = Vec::new();
    if before.rollout_percent != after.rollout_percent {
        events.push((
            AuditAction::ReleaseRolloutChanged,
            format!(
                "{what}: rollout {} -> {} %",
                before.rollout_percent, after.rollout_percent
            ),
        ));
    }
    match (before.paused, after.paused) {
        (false, true) => events.push((AuditAction::ReleasePaused, format!("{what}: paused"))),
        (true, false) => events.push((AuditAction::ReleaseResumed, format!("{what}: resumed"))),
        _ => {}
    }
    for (action, detail) in events {
        auth.audit(
            NewEvent::new(&actor, action, Outcome::Success)
                .target(format!("release:{id}"))
                .detail(detail),
        )
        .await?;
    }
    auth.tx.commit().await?;
    Ok(axum::Json(after))
}

#[utoipa::path(get, path = "/api/v1/updates/{platform}/{current_version}", tag = "releases", security(("bearer" = [])),
    params(("platform" = String, Path, description = "updater target, e.g. `linux-x86_64`, `linux-x86_64-deb`, `windows-x86_64`, `darwin-aarch64`"),
        ("current_version" = String, Path, description = "the running app's SemVer version"), ManifestQuery),
    responses((status = 200, description = "tauri-plugin-updater's JSON: the newest release of the channel offered to this device (its session's device id, else the user); the channel is `?channel=`, else the device's (set by an admin), else `stable`", body = UpdateManifest),
        (status = 204, description = "nothing newer for this device"),
        (status = 401, body = Problem),
        (status = 422, description = "`validation_failed`: the platform, version or channel does not parse", body = Problem)))]
pub async fn manifest(
    mut auth: Authorized<req::SelfService, ReadOnly>,
    Path((platform, current)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<ManifestQuery>,
) -> Result<Response, ApiError> {
    let invalid = |e: wms_core::release::ReleaseError| ApiError::Validation(e.to_string());
    wms_core::release::check_platform(&platform).map_err(invalid)?;
    let current: Version = current.parse().map_err(invalid)?;
    let session = auth.ctx.session.to_string();
    let station = crate::devices::of_session(&mut auth.tx, &session).await?;
    // The channel asked for, else the one an admin put this device on, else the default.
    let assigned = match (&q.channel, &station) {
        (None, Some(d)) => crate::devices::update_channel_of(&mut auth.tx, d).await?,
        _ => None,
    };
    let channel = releases::channel_or_default(q.channel.as_deref().or(assigned.as_deref()))?;
    let device = station.unwrap_or_else(|| auth.ctx.actor());
    let found = releases::manifest(&mut auth.tx, channel, &platform, &current, &device).await?;
    Ok(match found {
        Some(m) => axum::Json(m).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}
