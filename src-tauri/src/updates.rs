//! App updates and the admin's releases (design.md, "Updates").
//!
//! Every station asks its server's manifest endpoint (`/api/v1/updates/{platform}/{version}`,
//! tauri-plugin-updater's format) whether a newer version is meant for it, with the session's
//! bearer token (the server decides the rollout per station) over the station's own TLS (the
//! server's certificate pinned when the station pins it; never "accept invalid certificates").
//! The plugin downloads the artifact and verifies its minisign signature against the public key
//! built into the app (`tauri.conf.json`, `plugins.updater.pubkey`; releases are signed offline
//! with the matching private key) and that the signature was made for the announced version
//! (`requireSignedVersion`); only then is it installed. The app is never restarted here: the UI
//! says a restart finishes the update, and the packer chooses when (not in the middle of an
//! order). The session's token goes to the server only: an artifact hosted elsewhere is fetched
//! without it.
//!
//! The UI is granted none of the plugin's own commands: these are the only way in.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tauri::http::header::AUTHORIZATION;
use tauri::{AppHandle, Emitter, Runtime, State};
use tauri_plugin_updater::{Update, UpdaterExt};
use wms_client::releases::{self, Artifact, NewRelease, Release, ReleaseChange};

use crate::error::{AppError, Result};
use crate::office::given;
use crate::{Desk, is_erasure};

/// The event carrying an install's progress.
pub const UPDATE_PROGRESS: &str = "update-progress";
/// How long the manifest may take to come.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);
/// Progress events at most this often while downloading (plus the first and the last).
const PROGRESS_EVERY: Duration = Duration::from_millis(150);

/// One install at a time (a second click, or a second window, is refused).
#[derive(Debug, Default)]
pub struct Updates {
    installing: AtomicBool,
}

/// Clears the install flag however the install ends.
#[derive(Debug)]
struct Installing<'a>(&'a AtomicBool);

impl Drop for Installing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Updates {
    fn begin(&self) -> Result<Installing<'_>> {
        if self.installing.swap(true, Ordering::AcqRel) {
            return Err(AppError::new(
                "update_in_progress",
                "an update is already being installed",
            ));
        }
        Ok(Installing(&self.installing))
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateCheckView {
    /// A newer version is meant for this station.
    pub available: bool,
    pub version: Option<String>,
    pub notes: Option<String>,
    /// RFC 3339.
    pub pub_date: Option<String>,
    /// The running version.
    pub current: String,
    /// This copy can install it in place (it was installed from a package). A development build
    /// cannot: `update_install` refuses with `update_not_installable`.
    pub installable: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateInstalledView {
    pub version: String,
    /// Always true: the new version runs after the app is restarted, which is left to the user.
    pub restart_required: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProgress {
    /// `download`, then `verify` (the signature, once every byte is in), `install`, `done`.
    pub phase: &'static str,
    pub downloaded: u64,
    /// The artifact's size when the server says it.
    pub total: Option<u64>,
}

fn emit_progress<R: Runtime>(app: &AppHandle<R>, p: UpdateProgress) {
    if let Err(e) = app.emit(UPDATE_PROGRESS, p) {
        tracing::debug!(error = %e, "update progress not emitted");
    }
}

/// The plugin's errors as the contract's codes. Its messages carry no token (headers are never
/// in them); URLs of the server and of artifacts may appear, which the admin published anyway.
pub fn update_error(e: tauri_plugin_updater::Error) -> AppError {
    use tauri_plugin_updater::Error as E;
    let code = match &e {
        E::Minisign(_)
        | E::Base64(_)
        | E::SignatureUtf8(_)
        | E::SignedVersionMismatch { .. }
        | E::MissingSignedVersion => "update_signature_invalid",
        E::Reqwest(r) => {
            if wms_client::tls::find_pin_mismatch(r).is_some() {
                "tls_pin_mismatch"
            } else if r.is_connect() || r.is_timeout() || r.is_body() {
                "offline"
            } else {
                "update_unavailable"
            }
        }
        E::ReleaseNotFound
        | E::TargetNotFound(_)
        | E::TargetsNotFound(_)
        | E::Network(_)
        | E::Serialization(_)
        | E::Semver(_)
        | E::UrlParse(_)
        | E::UnsupportedOs
        | E::UnsupportedArch => "update_unavailable",
        E::InvalidUpdaterFormat
        | E::AuthenticationFailed
        | E::DebInstallFailed
        | E::PackageInstallFailed
        | E::BinaryNotFoundInArchive
        | E::TempDirNotOnSameMountPoint
        | E::TempDirNotFound
        | E::Io(_) => "update_install_failed",
        E::InsecureTransportProtocol => "insecure_url",
        _ => "internal",
    };
    if code == "internal" || code == "update_install_failed" {
        tracing::error!(error = %e, code, "update failed");
    } else {
        tracing::info!(error = %e, code, "update refused");
    }
    AppError::new(code, e.to_string())
}

/// This build's updater target: `linux-x86_64` and the like.
pub fn platform() -> Result<String> {
    tauri_plugin_updater::target().ok_or_else(|| {
        AppError::new(
            "update_unavailable",
            "updates are not published for this operating system or processor",
        )
    })
}

/// Whether this copy was installed from a package the updater can replace (a `.deb`, an
/// AppImage…). A binary run from the build directory was not: installing would overwrite it with
/// a package file.
#[must_use]
pub fn installable() -> bool {
    tauri::utils::platform::bundle_type().is_some()
}

/// Asks the station's server whether a newer version is meant for this station. `None`: nothing
/// newer (the server answered 204, or offers this version or an older one).
pub async fn pending_update<R: Runtime>(app: &AppHandle<R>, desk: &Desk) -> Result<Option<Update>> {
    let platform = platform()?;
    let current = app.package_info().version.to_string();
    let source = with_station!(desk, |s| Ok(s.update_source(&platform, &current).await?))?;
    let authorization = source.authorization();
    let updater = app
        .updater_builder()
        .endpoints(vec![source.manifest_url.clone()])
        .and_then(|b| b.header(AUTHORIZATION, authorization.as_str()))
        .map(|b| {
            b.timeout(CHECK_TIMEOUT)
                .configure_client(source.client_setup())
        })
        .and_then(tauri_plugin_updater::UpdaterBuilder::build)
        .map_err(update_error)?;
    let Some(mut update) = updater.check().await.map_err(update_error)? else {
        return Ok(None);
    };
    if !source.is_server(&update.download_url) {
        update.headers.remove(AUTHORIZATION);
    }
    Ok(Some(update))
}

/// Downloads the update's artifact and has the plugin verify its signature (against the app's
/// public key, for the announced version), emitting `update-progress` on the way. The bytes are
/// returned only when the signature holds (`update_signature_invalid` otherwise).
pub async fn download_verified<R: Runtime>(app: &AppHandle<R>, update: &Update) -> Result<Vec<u8>> {
    // Atomics, not cells: both callbacks see them, and the future stays `Send`.
    const UNKNOWN: u64 = u64::MAX;
    let downloaded = AtomicU64::new(0);
    let total = AtomicU64::new(UNKNOWN);
    let progress = |phase| {
        let t = total.load(Ordering::Relaxed);
        UpdateProgress {
            phase,
            downloaded: downloaded.load(Ordering::Relaxed),
            total: (t != UNKNOWN).then_some(t),
        }
    };
    let mut last: Option<Instant> = None;
    emit_progress(app, progress("download"));
    let bytes = update
        .download(
            |chunk, length| {
                downloaded.fetch_add(chunk as u64, Ordering::Relaxed);
                total.store(length.unwrap_or(UNKNOWN), Ordering::Relaxed);
                if last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY) {
                    last = Some(Instant::now());
                    emit_progress(app, progress("download"));
                }
            },
            || emit_progress(app, progress("verify")),
        )
        .await
        .map_err(update_error)?;
    Ok(bytes)
}

/// Checks, downloads, verifies and installs the newest version meant for this station; the app
/// keeps running the old one until it is restarted.
pub async fn install<R: Runtime>(
    app: &AppHandle<R>,
    desk: &Desk,
    updates: &Updates,
) -> Result<UpdateInstalledView> {
    let _turn = updates.begin()?;
    if !installable() {
        return Err(AppError::new(
            "update_not_installable",
            "this copy of the app was not installed from a package (a development build): install the new version's package instead",
        ));
    }
    // Asked again rather than remembered from the last check: the token in the request is
    // current, and a release paused since is not installed.
    let update = pending_update(app, desk).await?.ok_or_else(|| {
        AppError::new(
            "update_unavailable",
            "the server offers no newer version for this station now",
        )
    })?;
    let bytes = download_verified(app, &update).await?;
    let size = bytes.len() as u64;
    emit_progress(
        app,
        UpdateProgress {
            phase: "install",
            downloaded: size,
            total: Some(size),
        },
    );
    let version = update.version.clone();
    // The package manager (pkexec / sudo prompt for a .deb) blocks: off the async workers.
    tauri::async_runtime::spawn_blocking(move || update.install(bytes))
        .await
        .map_err(|e| AppError::new("internal", format!("the installer task failed: {e}")))?
        .map_err(update_error)?;
    emit_progress(
        app,
        UpdateProgress {
            phase: "done",
            downloaded: size,
            total: Some(size),
        },
    );
    tracing::info!(%version, "update installed: restart to run it");
    Ok(UpdateInstalledView {
        version,
        restart_required: true,
    })
}

/// Whether a newer version is meant for this station (any role).
#[tauri::command]
pub async fn update_check<R: Runtime>(
    app: AppHandle<R>,
    desk: State<'_, Desk>,
) -> Result<UpdateCheckView> {
    let current = app.package_info().version.to_string();
    let update = pending_update(&app, &desk).await?;
    Ok(UpdateCheckView {
        available: update.is_some(),
        version: update.as_ref().map(|u| u.version.clone()),
        notes: update.as_ref().and_then(|u| u.body.clone()),
        // As the server wrote it (the plugin has checked it is RFC 3339).
        pub_date: update
            .as_ref()
            .and_then(|u| u.raw_json.get("pub_date"))
            .and_then(|d| d.as_str())
            .map(str::to_owned),
        current,
        installable: installable(),
    })
}

/// Downloads, verifies and installs the update; emits `update-progress`; a restart finishes it.
#[tauri::command]
pub async fn update_install<R: Runtime>(
    app: AppHandle<R>,
    desk: State<'_, Desk>,
    updates: State<'_, Updates>,
) -> Result<UpdateInstalledView> {
    install(&app, &desk, &updates).await
}

// --- The admin's releases.

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactInput {
    platform: String,
    url: String,
    signature: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactView {
    platform: String,
    url: String,
    signature: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseView {
    id: String,
    channel: String,
    version: String,
    notes: Option<String>,
    pub_date: Option<String>,
    rollout_percent: u8,
    paused: bool,
    artifacts: Vec<ArtifactView>,
    created_at: Option<String>,
    created_by: Option<String>,
    /// Given back to `release_set`: a change someone made meanwhile is not overwritten.
    version_check: Option<i64>,
}

impl From<Release> for ReleaseView {
    fn from(r: Release) -> Self {
        Self {
            id: r.id,
            channel: r.channel,
            version: r.version,
            notes: r.notes,
            pub_date: r.pub_date,
            rollout_percent: r.rollout_percent,
            paused: r.paused,
            artifacts: r
                .artifacts
                .into_iter()
                .map(|a| ArtifactView {
                    platform: a.platform,
                    url: a.url,
                    signature: a.signature,
                })
                .collect(),
            created_at: r.created_at,
            created_by: r.created_by,
            version_check: r.version_check,
        }
    }
}

/// A rollout percentage as the form sends it: a whole number 0–100.
fn percent(p: i64) -> Result<u8> {
    u8::try_from(p)
        .ok()
        .filter(|p| *p <= releases::FULL_ROLLOUT)
        .ok_or_else(|| AppError::invalid(format!("rolloutPercent: {p} is not 0–100")))
}

/// The release as the server takes it, checked before a step-up is asked for.
fn new_release(
    version: &str,
    channel: Option<String>,
    notes: Option<String>,
    rollout_percent: i64,
    artifacts: Vec<ArtifactInput>,
) -> Result<NewRelease> {
    let r = NewRelease {
        version: version.trim().trim_start_matches('v').to_owned(),
        channel: given(channel),
        notes: given(notes),
        pub_date: None,
        rollout_percent: percent(rollout_percent)?,
        artifacts: artifacts
            .into_iter()
            .map(|a| Artifact {
                platform: a.platform.trim().to_owned(),
                url: a.url.trim().to_owned(),
                // Pasted from a file: line breaks and spaces are not part of the base64.
                signature: a.signature.split_whitespace().collect(),
            })
            .collect(),
    };
    r.check().map_err(|e| AppError::invalid(e.to_string()))?;
    Ok(r)
}

/// The published releases, newest first (admin); `channel` null: every channel.
#[tauri::command]
pub async fn releases_list(
    desk: State<'_, Desk>,
    channel: Option<String>,
) -> Result<Vec<ReleaseView>> {
    let channel = given(channel);
    with_station!(desk, |s| {
        Ok(s.releases(channel.as_deref())
            .await?
            .into_iter()
            .map(ReleaseView::from)
            .collect())
    })
}

/// Publishes a release (admin, step-up).
#[tauri::command]
pub async fn release_publish(
    desk: State<'_, Desk>,
    version: String,
    channel: Option<String>,
    notes: Option<String>,
    rollout_percent: i64,
    artifacts: Vec<ArtifactInput>,
) -> Result<ReleaseView> {
    let r = new_release(&version, channel, notes, rollout_percent, artifacts)?;
    with_station!(desk, |s| Ok(s.publish_release(&r).await?.into()))
}

/// Changes a release's rollout and/or pauses or resumes it (admin, step-up); `version_check` as
/// the release was listed refuses a change someone made meanwhile (`version_conflict`).
#[tauri::command]
pub async fn release_set(
    desk: State<'_, Desk>,
    id: String,
    rollout_percent: Option<i64>,
    paused: Option<bool>,
    version_check: Option<i64>,
) -> Result<ReleaseView> {
    let change = ReleaseChange {
        rollout_percent: rollout_percent.map(percent).transpose()?,
        paused,
        version_check,
    };
    if change.rollout_percent.is_none() && change.paused.is_none() {
        return Err(AppError::invalid(
            "nothing to change: rolloutPercent or paused",
        ));
    }
    with_station!(desk, |s| Ok(s
        .change_release(id.trim(), change)
        .await?
        .into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(platform: &str) -> ArtifactInput {
        use base64::Engine as _;
        let e = &base64::engine::general_purpose::STANDARD;
        let sig = [b"ED".as_slice(), &[7u8; 72]].concat();
        let text = format!(
            "untrusted comment: signature from tauri secret key\n{}\ntrusted comment: version:1.4.0\n{}\n",
            e.encode(sig),
            e.encode([9u8; 64])
        );
        // As pasted from a wrapped .sig file.
        let wrapped: Vec<String> = e
            .encode(text)
            .as_bytes()
            .chunks(40)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        ArtifactInput {
            platform: format!(" {platform} "),
            url: "https://wms.example.jp/dl/jilian_1.4.0_amd64.deb".into(),
            signature: wrapped.join("\n"),
        }
    }

    #[test]
    fn a_release_from_the_form_is_trimmed_and_checked() {
        let r = new_release(
            " v1.4.0 ",
            Some(" ".into()),
            Some(" Faster sync ".into()),
            25,
            vec![artifact("linux-x86_64")],
        )
        .unwrap();
        assert_eq!(r.version, "1.4.0");
        assert_eq!((r.channel, r.notes.as_deref()), (None, Some("Faster sync")));
        assert_eq!(r.artifacts[0].platform, "linux-x86_64");
        assert!(!r.artifacts[0].signature.contains('\n'));
        for (version, pct, artifacts) in [
            ("1.4", 25, vec![artifact("linux-x86_64")]),
            ("1.4.0", 101, vec![artifact("linux-x86_64")]),
            ("1.4.0", -1, vec![artifact("linux-x86_64")]),
            ("1.4.0", 25, vec![]),
            ("1.4.0", 25, vec![artifact("linux x86")]),
        ] {
            let e = new_release(version, None, None, pct, artifacts).unwrap_err();
            assert_eq!(
                e.code, "validation_failed",
                "{version} {pct}: {}",
                e.message
            );
        }
    }

    #[test]
    fn release_views_are_camel_case() {
        let r: Release = serde_json::from_value(serde_json::json!({
            "id": "r1", "channel": "stable", "version": "1.4.0", "rollout_percent": 25, "paused": true,
            "artifacts": [{"platform": "linux-x86_64", "url": "https://x/a.deb", "signature": "c2ln"}],
            "created_at": "2026-11-28T09:00:00.000Z", "created_by": "u1", "version_check": 4
        }))
        .unwrap();
        let v = serde_json::to_value(ReleaseView::from(r)).unwrap();
        assert_eq!(v["rolloutPercent"], 25);
        assert_eq!(v["createdBy"], "u1");
        assert_eq!(v["versionCheck"], 4);
        assert_eq!(v["artifacts"][0]["platform"], "linux-x86_64");
        assert!(v["pubDate"].is_null());
    }

    #[test]
    fn updater_errors_become_contract_codes() {
        use tauri_plugin_updater::Error as E;
        let sig = update_error(E::SignedVersionMismatch {
            signed: "1.0.0".into(),
            announced: "2.0.0".into(),
        });
        assert_eq!(sig.code, "update_signature_invalid");
        assert_eq!(
            update_error(E::MissingSignedVersion).code,
            "update_signature_invalid"
        );
        assert_eq!(update_error(E::ReleaseNotFound).code, "update_unavailable");
        assert_eq!(
            update_error(E::TargetsNotFound(vec!["linux-x86_64".into()])).code,
            "update_unavailable"
        );
        assert_eq!(
            update_error(E::DebInstallFailed).code,
            "update_install_failed"
        );
    }

    #[test]
    fn one_install_at_a_time() {
        let u = Updates::default();
        let first = u.begin().unwrap();
        assert_eq!(u.begin().unwrap_err().code, "update_in_progress");
        drop(first);
        drop(u.begin().unwrap());
    }

    #[test]
    fn the_app_carries_the_updater_key_and_requires_version_bound_signatures() {
        let c: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
        let cfg: tauri_plugin_updater::Config =
            serde_json::from_value(c["plugins"]["updater"].clone()).unwrap();
        assert!(cfg.require_signed_version);
        assert!(!cfg.allow_downgrades);
        assert!(!cfg.dangerous_accept_invalid_certs && !cfg.dangerous_accept_invalid_hostnames);
        assert!(!cfg.dangerous_insecure_transport_protocol);
        // No fixed endpoint: each station asks the server it is signed in to.
        assert!(cfg.endpoints.is_empty());
        use base64::Engine as _;
        let key = base64::engine::general_purpose::STANDARD
            .decode(&cfg.pubkey)
            .map(String::from_utf8)
            .unwrap()
            .unwrap();
        assert!(
            key.starts_with("untrusted comment: minisign public key"),
            "{key}"
        );
        // Never a bundling step that would need the private key on a build machine.
        assert!(c["bundle"]["createUpdaterArtifacts"].is_null());
    }
}
