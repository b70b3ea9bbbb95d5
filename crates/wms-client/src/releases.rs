//! App updates, as the server keeps them (design.md, "Updates"): an admin publishes a release of
//! the desktop app (a version, notes, and per platform an artifact URL with its updater
//! signature) on a channel, rolls it out to a percentage of the stations and may pause it; every
//! station asks the server's manifest endpoint whether a newer version is meant for it.
//!
//! The manifest (`GET /api/v1/updates/{platform}/{current_version}`, tauri-plugin-updater's JSON
//! format, 204 when there is nothing newer for this station) is read by the updater itself, not
//! here: [`Station::update_source`] hands it what it needs to reach the server the way the station
//! does — the absolute URL, the session's bearer token, and TLS pinned to the server's certificate
//! when the station pins one. The updater verifies the artifact's minisign signature against the
//! public key built into the app; nothing here vouches for an artifact.
//!
//! Publishing and changing a release need an admin with a fresh MFA step-up (`step_up_required`
//! otherwise, which reaches the UI unchanged, as do the server's `validation_failed` and the
//! conflict of a version published twice).

use std::time::Duration;

use reqwest::Url;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::api::ApiError;
use crate::station::{Station, StationError};
use crate::tls;
use wms_core::release as rule;

/// The most a rollout can be: every station.
pub use wms_core::release::FULL_ROLLOUT;

/// One platform's build of a release: where the updater downloads it and its signature (the
/// base64 of the minisign `.sig` file `tauri signer sign` writes).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Artifact {
    /// tauri-plugin-updater's target: `linux-x86_64`, or `linux-x86_64-deb` for one bundle type.
    pub platform: String,
    pub url: String,
    pub signature: String,
}

/// A release to publish (`POST /api/v1/releases`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewRelease {
    /// SemVer, without a leading `v`.
    pub version: String,
    /// `None`: the server's default channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// RFC 3339; `None`: the server stamps the time of publication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pub_date: Option<String>,
    /// 0–100: the share of stations the manifest offers it to.
    pub rollout_percent: u8,
    pub artifacts: Vec<Artifact>,
}

/// A published release as the server shows it. Fields a newer server adds are ignored; the ones
/// it may leave out read as empty.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Release {
    #[serde(deserialize_with = "text_or_number")]
    pub id: String,
    #[serde(default)]
    pub channel: String,
    pub version: String,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub pub_date: Option<String>,
    pub rollout_percent: u8,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    /// RFC 3339, UTC.
    #[serde(default)]
    pub created_at: Option<String>,
    /// The admin who published it (a user id).
    #[serde(default)]
    pub created_by: Option<String>,
    /// Bumped by every change: given back in a [`ReleaseChange`], a change made meanwhile by
    /// someone else is refused (`version_conflict`) instead of overwritten.
    #[serde(default)]
    pub version_check: Option<i64>,
}

/// A change to a published release (`PATCH /api/v1/releases/{id}`); what is `None` stays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReleaseChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_percent: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
    /// The release's `version_check` as the change was decided on (`None`: whatever it is now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_check: Option<i64>,
}

/// The release list as the server may write it: a bare array, or wrapped in an object.
#[derive(Deserialize)]
#[serde(untagged)]
enum Listing {
    Bare(Vec<Release>),
    Wrapped {
        #[serde(alias = "items")]
        releases: Vec<Release>,
    },
}

fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(i64),
    }
    Ok(match Id::deserialize(d)? {
        Id::Text(s) => s,
        Id::Number(n) => n.to_string(),
    })
}

/// Why a release cannot be sent as it is (checked before a step-up is asked for, with the rule
/// the server applies: `wms_core::release`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct ReleaseInputError(#[from] pub rule::ReleaseError);

impl NewRelease {
    /// The server's own checks, before anything is sent: a SemVer version, a channel name,
    /// notes' length, an RFC 3339 date, 0–100 %, and 1–16 artifacts, one per platform, each an
    /// https URL with the shape of a minisign signature.
    pub fn check(&self) -> Result<(), ReleaseInputError> {
        self.version.parse::<rule::Version>()?;
        if let Some(c) = &self.channel {
            rule::check_channel(c)?;
        }
        if let Some(n) = &self.notes {
            rule::check_notes(n)?;
        }
        if let Some(d) = &self.pub_date {
            rule::parse_pub_date(d)?;
        }
        rule::check_rollout(i64::from(self.rollout_percent))?;
        let specs: Vec<rule::ArtifactSpec<'_>> = self
            .artifacts
            .iter()
            .map(|a| rule::ArtifactSpec {
                platform: &a.platform,
                url: &a.url,
                signature: a.signature.trim(),
            })
            .collect();
        rule::check_artifacts(&specs)?;
        Ok(())
    }
}

/// What the updater needs to reach the server as this station does. Not `Clone`, and its
/// `Debug` leaves the token out.
pub struct UpdateSource {
    /// The manifest endpoint for this platform and version (absolute, on the station's server).
    pub manifest_url: Url,
    bearer: Zeroizing<String>,
    tls: rustls::ClientConfig,
    https_only: bool,
}

impl std::fmt::Debug for UpdateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateSource")
            .field("manifest_url", &self.manifest_url.as_str())
            .field("bearer", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl UpdateSource {
    /// The `Authorization` header's value for the server (`Bearer …`).
    #[must_use]
    pub fn authorization(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("Bearer {}", self.bearer.as_str()))
    }

    /// Whether `url` is on the station's server (same scheme, host and port): only there may the
    /// session's token go. An artifact hosted elsewhere is fetched without it.
    #[must_use]
    pub fn is_server(&self, url: &Url) -> bool {
        url.origin() == self.manifest_url.origin()
    }

    /// Configures an HTTP client the way the station's own is: TLS 1.2+ pinned to the server's
    /// certificate for the server's host (the public CAs for any other host an artifact is on),
    /// https only (outside tests), a connect timeout. For tauri-plugin-updater's
    /// `configure_client`, which builds its client from the same reqwest.
    pub fn client_setup(
        &self,
    ) -> impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static {
        let tls = self.tls.clone();
        let https_only = self.https_only;
        move |b| {
            b.tls_backend_preconfigured(tls.clone())
                .https_only(https_only)
                .connect_timeout(Duration::from_secs(10))
        }
    }
}

/// A release id as a path segment: what the server hands out (UUIDs, numbers), nothing that
/// could move the request elsewhere.
fn release_path(id: &str) -> Result<String, StationError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(format!("/api/v1/releases/{id}"))
    } else {
        Err(ApiError::BadUrl(format!("release id {id:?}")).into())
    }
}

/// `{base}/api/v1/updates/{platform}/{current_version}`, the base's path prefix kept.
fn manifest_url(base: &Url, platform: &str, current_version: &str) -> Result<Url, ApiError> {
    let bad = |e: rule::ReleaseError| ApiError::BadUrl(e.to_string());
    rule::check_platform(platform).map_err(bad)?;
    current_version.parse::<rule::Version>().map_err(bad)?;
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| ApiError::BadUrl(base.to_string()))?
        .pop_if_empty()
        .extend(["api", "v1", "updates", platform, current_version]);
    Ok(url)
}

impl Station {
    /// The published releases, newest first (admin); `channel` narrows them to one channel.
    pub async fn releases(&self, channel: Option<&str>) -> Result<Vec<Release>, StationError> {
        let query: Vec<(&str, String)> = channel
            .filter(|c| !c.is_empty())
            .map(|c| ("channel", c.to_owned()))
            .into_iter()
            .collect();
        let listing: Listing = self.get_json("/api/v1/releases", &query).await?;
        Ok(match listing {
            Listing::Bare(r) | Listing::Wrapped { releases: r } => r,
        })
    }

    /// Publishes a release (admin, after a step-up). One idempotency key for the call and its
    /// retries: a lost answer is not a second release (nor a `409` for our own first attempt).
    pub async fn publish_release(&self, r: &NewRelease) -> Result<Release, StationError> {
        let body = serde_json::to_value(r).unwrap_or_default();
        self.post_json("/api/v1/releases", body).await
    }

    /// Changes a release's rollout and/or pause (admin, after a step-up).
    pub async fn change_release(
        &self,
        id: &str,
        change: ReleaseChange,
    ) -> Result<Release, StationError> {
        let path = release_path(id)?;
        let body = serde_json::to_value(change).unwrap_or_default();
        self.patch_json(&path, body).await
    }

    /// Offers a release to `percent` % of the stations (0–100).
    pub async fn set_release_rollout(
        &self,
        id: &str,
        percent: u8,
    ) -> Result<Release, StationError> {
        let change = ReleaseChange {
            rollout_percent: Some(percent.min(FULL_ROLLOUT)),
            ..ReleaseChange::default()
        };
        self.change_release(id, change).await
    }

    /// Stops offering a release (stations that installed it keep it).
    pub async fn pause_release(&self, id: &str) -> Result<Release, StationError> {
        let change = ReleaseChange {
            paused: Some(true),
            ..ReleaseChange::default()
        };
        self.change_release(id, change).await
    }

    /// Offers a paused release again, at its rollout.
    pub async fn resume_release(&self, id: &str) -> Result<Release, StationError> {
        let change = ReleaseChange {
            paused: Some(false),
            ..ReleaseChange::default()
        };
        self.change_release(id, change).await
    }

    /// The manifest endpoint for this platform (an updater target such as `linux-x86_64`) and the
    /// running version, as an absolute URL on the station's server (its path prefix kept).
    pub fn update_manifest_url(
        &self,
        platform: &str,
        current_version: &str,
    ) -> Result<Url, StationError> {
        Ok(manifest_url(
            self.session().api().base_url(),
            platform,
            current_version,
        )?)
    }

    /// Everything the updater needs to ask the manifest endpoint as this station: the URL, a
    /// current access token (refreshed if it has expired; `session_expired`, `not_logged_in` and
    /// `offline` otherwise), and the station's TLS (pinned when the station pins).
    pub async fn update_source(
        &self,
        platform: &str,
        current_version: &str,
    ) -> Result<UpdateSource, StationError> {
        let manifest_url = self.update_manifest_url(platform, current_version)?;
        let host = manifest_url.host_str().unwrap_or_default().to_owned();
        let tls = tls::client_config_pinned_to_host(self.pinned_fingerprint(), &host)
            .map_err(|e| ApiError::TlsSetup(e.to_string()))?;
        let bearer = self.session().access_token().await?;
        Ok(UpdateSource {
            manifest_url,
            bearer,
            tls,
            https_only: !self.allows_loopback_http(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The shape of a `tauri signer sign` signature (not a valid one: that is the updater's test).
    fn signature() -> String {
        use base64::Engine as _;
        let e = &base64::engine::general_purpose::STANDARD;
        let sig = [b"ED".as_slice(), &[7u8; 72]].concat();
        e.encode(format!(
            "untrusted comment: signature from tauri secret key\n{}\ntrusted comment: timestamp:1\tfile:app.deb\tversion:1.4.0\n{}\n",
            e.encode(sig),
            e.encode([9u8; 64])
        ))
    }

    fn release() -> NewRelease {
        NewRelease {
            version: "1.4.0".into(),
            channel: None,
            notes: Some("Faster sync".into()),
            pub_date: None,
            rollout_percent: 25,
            artifacts: vec![Artifact {
                platform: "linux-x86_64".into(),
                url: "https://wms.example.jp/dl/jilian_1.4.0_amd64.deb".into(),
                signature: signature(),
            }],
        }
    }

    #[test]
    fn a_new_release_leaves_out_what_is_not_given() {
        let v = serde_json::to_value(release()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version": "1.4.0", "notes": "Faster sync", "rollout_percent": 25,
                "artifacts": [{"platform": "linux-x86_64",
                    "url": "https://wms.example.jp/dl/jilian_1.4.0_amd64.deb", "signature": signature()}]})
        );
        let c = ReleaseChange {
            paused: Some(true),
            ..ReleaseChange::default()
        };
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            serde_json::json!({"paused": true})
        );
        let c = ReleaseChange {
            rollout_percent: Some(50),
            version_check: Some(3),
            ..ReleaseChange::default()
        };
        assert_eq!(
            serde_json::to_value(c).unwrap(),
            serde_json::json!({"rollout_percent": 50, "version_check": 3})
        );
    }

    #[test]
    fn a_release_is_checked_with_the_servers_rule() {
        use rule::ReleaseError as E;
        release().check().unwrap();
        let public_key = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(
                "untrusted comment: minisign public key: 830527E73B260BA4\nRWSkCyY75ycFg30E\n",
            )
        };
        let bad: Vec<(fn(&E) -> bool, Box<dyn Fn(&mut NewRelease)>)> = vec![
            (
                |e| matches!(e, E::Version(_)),
                Box::new(|r| r.version = "v1.4".into()),
            ),
            (
                |e| matches!(e, E::Version(_)),
                Box::new(|r| r.version = "1.04.0".into()),
            ),
            (
                |e| matches!(e, E::Rollout(101)),
                Box::new(|r| r.rollout_percent = 101),
            ),
            (
                |e| matches!(e, E::Channel(_)),
                Box::new(|r| r.channel = Some("Beta Ring".into())),
            ),
            (
                |e| matches!(e, E::PubDate(_)),
                Box::new(|r| r.pub_date = Some("tomorrow".into())),
            ),
            (
                |e| matches!(e, E::ArtifactCount),
                Box::new(|r| r.artifacts.clear()),
            ),
            (
                |e| matches!(e, E::Platform(_)),
                Box::new(|r| r.artifacts[0].platform = "Linux x64".into()),
            ),
            (
                |e| matches!(e, E::Url { .. }),
                Box::new(|r| r.artifacts[0].url = "http://wms.example.jp/a.deb".into()),
            ),
            (
                |e| matches!(e, E::Signature { .. }),
                Box::new(|r| r.artifacts[0].signature = "untrusted comment: x".into()),
            ),
            (
                |e| matches!(e, E::Signature { .. }),
                Box::new(move |r| r.artifacts[0].signature = public_key.clone()),
            ),
            (
                |e| matches!(e, E::DuplicatePlatform(_)),
                Box::new(|r| r.artifacts.push(r.artifacts[0].clone())),
            ),
        ];
        for (i, (expected, spoil)) in bad.into_iter().enumerate() {
            let mut r = release();
            spoil(&mut r);
            let e = r.check().unwrap_err();
            assert!(expected(&e.0), "case {i}: {e}");
        }
    }

    #[test]
    fn releases_read_bare_or_wrapped_with_unknown_fields_ignored() {
        let one = r#"{"id":"0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b","channel":"stable","version":"1.4.0",
            "notes":null,"pub_date":"2026-11-28T09:00:00.000Z","rollout_percent":25,"paused":false,
            "artifacts":[{"platform":"linux-x86_64","url":"https://x/a.deb","signature":"c2ln"}],
            "created_at":"2026-11-28T09:00:00.000Z","created_by":"u1","version_check":2,"some_future_field":{"a":1}}"#;
        let bare: Listing = serde_json::from_str(&format!("[{one}]")).unwrap();
        let wrapped: Listing = serde_json::from_str(&format!(r#"{{"releases":[{one}]}}"#)).unwrap();
        let items: Listing =
            serde_json::from_str(&format!(r#"{{"items":[{one}],"next":null}}"#)).unwrap();
        for l in [bare, wrapped, items] {
            let (Listing::Bare(r) | Listing::Wrapped { releases: r }) = l;
            assert_eq!(r.len(), 1);
            assert_eq!(r[0].version, "1.4.0");
            assert_eq!(r[0].rollout_percent, 25);
            assert_eq!(r[0].artifacts[0].platform, "linux-x86_64");
            assert_eq!(r[0].created_by.as_deref(), Some("u1"));
            assert_eq!(r[0].version_check, Some(2));
        }
        // The least a server may write: a numeric id, no artifacts listed, not paused.
        let r: Release =
            serde_json::from_str(r#"{"id":7,"version":"1.5.0","rollout_percent":0}"#).unwrap();
        assert_eq!((r.id.as_str(), r.paused), ("7", false));
        assert!(r.artifacts.is_empty() && r.channel.is_empty() && r.created_at.is_none());
        // A percentage out of range is not a release.
        assert!(
            serde_json::from_str::<Release>(
                r#"{"id":"a","version":"1.5.0","rollout_percent":300}"#
            )
            .is_err()
        );
    }

    #[test]
    fn the_manifest_url_is_on_the_server_with_its_prefix() {
        let base = Url::parse("https://wms.example.jp:8443").unwrap();
        assert_eq!(
            manifest_url(&base, "linux-x86_64", "0.1.0")
                .unwrap()
                .as_str(),
            "https://wms.example.jp:8443/api/v1/updates/linux-x86_64/0.1.0"
        );
        let prefixed = Url::parse("https://example.jp/wms/?x=1#top").unwrap();
        assert_eq!(
            manifest_url(&prefixed, "linux-x86_64-deb", "1.4.0-rc.1+b.2")
                .unwrap()
                .as_str(),
            "https://example.jp/wms/api/v1/updates/linux-x86_64-deb/1.4.0-rc.1+b.2"
        );
        for (platform, version) in [
            ("../../admin", "0.1.0"),
            ("linux-x86_64", "0.1.0/../../x"),
            ("linux", "0.1.0"),
            ("linux-x86_64", "v0.1.0"),
        ] {
            assert_eq!(
                manifest_url(&base, platform, version).unwrap_err().code(),
                "bad_url"
            );
        }
    }

    #[test]
    fn release_ids_cannot_leave_the_releases_path() {
        assert_eq!(
            release_path("0193a1b2-7c4d").unwrap(),
            "/api/v1/releases/0193a1b2-7c4d"
        );
        for bad in ["", "../users", "a/b", "a?b", "a%2F"] {
            assert!(release_path(bad).is_err(), "{bad}");
        }
    }
}
