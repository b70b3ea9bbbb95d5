//! Release channels and the updater manifest (design.md, "Updates"), per tenant. The rules —
//! versions, what an artifact must look like, who is in a rollout, which release a device is
//! offered — are `wms_core::release`; this loads and stores them in the tenant transaction.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use wms_core::release::{self, ArtifactSpec, Offer, ReleaseError, Version};

use crate::db::{Backend, DbError, TenantTx};
use crate::error::ApiError;
use crate::time::rfc3339;
use crate::warehouse::state;

/// One platform's build of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// tauri-plugin-updater's target: `linux-x86_64`, `linux-x86_64-deb`, `windows-x86_64`,
    /// `darwin-aarch64`, …
    pub platform: String,
    /// `https://` only.
    pub url: String,
    /// The base64 of the artifact's minisign `.sig` file (what `tauri signer sign` writes).
    pub signature: String,
}

/// `POST /api/v1/releases`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRelease {
    /// SemVer 2.0.0, no leading `v` (e.g. `1.4.0`, `1.5.0-rc.1`).
    pub version: String,
    /// 1–32 lowercase letters, digits or `-`; default `stable`.
    #[serde(default)]
    pub channel: Option<String>,
    /// At most 10,000 characters.
    #[serde(default)]
    pub notes: Option<String>,
    /// RFC 3339; default: now.
    #[serde(default)]
    pub pub_date: Option<String>,
    /// 0–100: the share of devices the manifest offers it to.
    pub rollout_percent: i64,
    /// 1–16, one per platform.
    pub artifacts: Vec<Artifact>,
}

/// `PATCH /api/v1/releases/{id}`: what is absent stays.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseChange {
    /// 0–100.
    #[serde(default)]
    pub rollout_percent: Option<i64>,
    /// `true` stops offering it (devices that installed it keep it); `false` offers it again.
    #[serde(default)]
    pub paused: Option<bool>,
    /// The `version_check` the change was made against: if the release changed since,
    /// `version_conflict` (409). Absent: applied to the release as it is.
    #[serde(default)]
    pub version_check: Option<i64>,
}

/// A published release.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseView {
    pub id: String,
    pub channel: String,
    pub version: String,
    pub notes: Option<String>,
    /// RFC 3339.
    pub pub_date: String,
    pub rollout_percent: u8,
    pub paused: bool,
    /// By platform.
    pub artifacts: Vec<Artifact>,
    /// RFC 3339.
    pub created_at: String,
    /// The admin who published it (a user id).
    pub created_by: String,
    /// Bumped by every change; give it back in a `PATCH` to refuse a change made meanwhile.
    pub version_check: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReleaseQuery {
    /// Only this channel.
    pub channel: Option<String>,
    /// 1–1000, default 200; newest first.
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ManifestQuery {
    /// Default: the channel an admin put the calling device on, else `stable`.
    pub channel: Option<String>,
}

/// One platform's download in the manifest.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManifestPlatform {
    pub signature: String,
    pub url: String,
}

/// tauri-plugin-updater's static JSON format, for the one platform asked about.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UpdateManifest {
    pub version: String,
    pub notes: Option<String>,
    /// RFC 3339.
    pub pub_date: String,
    pub platforms: BTreeMap<String, ManifestPlatform>,
}

fn invalid(e: ReleaseError) -> ApiError {
    ApiError::Validation(e.to_string())
}

/// A channel from a request, checked; `None`: the default channel.
pub fn channel_or_default(c: Option<&str>) -> Result<&str, ApiError> {
    let c = c.unwrap_or(release::DEFAULT_CHANNEL);
    release::check_channel(c).map_err(invalid)?;
    Ok(c)
}

/// A release as it will be stored, every field checked.
struct Checked<'a> {
    version: Version,
    channel: &'a str,
    pub_date: i64,
    rollout: u8,
}

fn check(n: &NewRelease, now: i64) -> Result<Checked<'_>, ApiError> {
    let version: Version = n.version.parse().map_err(invalid)?;
    let channel = channel_or_default(n.channel.as_deref())?;
    if let Some(notes) = &n.notes {
        release::check_notes(notes).map_err(invalid)?;
    }
    let pub_date = n
        .pub_date
        .as_deref()
        .map(release::parse_pub_date)
        .transpose()
        .map_err(invalid)?
        .unwrap_or(now);
    let rollout = release::check_rollout(n.rollout_percent).map_err(invalid)?;
    let specs: Vec<ArtifactSpec<'_>> = n
        .artifacts
        .iter()
        .map(|a| ArtifactSpec {
            platform: &a.platform,
            url: &a.url,
            signature: a.signature.trim(),
        })
        .collect();
    release::check_artifacts(&specs).map_err(invalid)?;
    Ok(Checked {
        version,
        channel,
        pub_date,
        rollout,
    })
}

fn version_exists(version: &str, channel: &str, published: &str) -> ApiError {
    let same = if published == version {
        String::new()
    } else {
        format!(" (as {published}: build metadata does not make a version newer)")
    };
    state(
        "release_version_exists",
        format!("version {version} is already published on channel {channel}{same}"),
    )
}

/// Publish a release. A version already on the channel (or one of equal SemVer precedence) is
/// `release_version_exists` (409).
pub async fn publish(
    tx: &mut TenantTx,
    actor: &str,
    n: &NewRelease,
    now: i64,
) -> Result<ReleaseView, ApiError> {
    let c = check(n, now)?;
    let (tid, conn) = tx.split();
    let published: Vec<(String,)> =
        sqlx::query_as("SELECT version FROM releases WHERE tenant_id = $1 AND channel = $2")
            .bind(tid)
            .bind(c.channel)
            .fetch_all(&mut *conn)
            .await?;
    if let Some((same,)) = published.iter().find(|(v,)| {
        v.parse::<Version>()
            .is_ok_and(|v| v.cmp_precedence(&c.version).is_eq())
    }) {
        return Err(version_exists(c.version.as_str(), c.channel, same));
    }
    let id = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO releases (tenant_id, id, channel, version, notes, pub_date, rollout_percent, paused, created_by, created_at, version_check) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, 1)",
    )
    .bind(tid)
    .bind(&id)
    .bind(c.channel)
    .bind(c.version.as_str())
    .bind(n.notes.as_deref())
    .bind(c.pub_date)
    .bind(i64::from(c.rollout))
    .bind(actor)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(|e| match DbError::from(e) {
        // Published concurrently (PostgreSQL; SQLite has one writer).
        DbError::Conflict(_) => version_exists(c.version.as_str(), c.channel, c.version.as_str()),
        other => other.into(),
    })?;
    for a in &n.artifacts {
        sqlx::query(
            "INSERT INTO release_artifacts (tenant_id, release_id, platform, url, signature) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(tid)
        .bind(&id)
        .bind(&a.platform)
        .bind(&a.url)
        .bind(a.signature.trim())
        .execute(&mut *conn)
        .await?;
    }
    view(tx, &id)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("release {id} vanished")))
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    i64,
    String,
    i64,
    i64,
);

const SELECT: &str = "SELECT r.id, r.channel, r.version, r.notes, r.pub_date, r.rollout_percent, r.paused, r.created_by, r.created_at, r.version_check \
     FROM releases r WHERE r.tenant_id = $1";

async fn with_artifacts(tx: &mut TenantTx, rows: Vec<Row>) -> Result<Vec<ReleaseView>, ApiError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut artifacts = crate::listing::lines_by_parent(
        tx,
        "SELECT release_id, platform, url, signature FROM release_artifacts WHERE tenant_id = $1 AND release_id IN ({ids}) ORDER BY platform",
        &ids,
        |(release, platform, url, signature): (String, String, String, String)| {
            (release, Artifact { platform, url, signature })
        },
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| ReleaseView {
            artifacts: artifacts.remove(&r.0).unwrap_or_default(),
            id: r.0,
            channel: r.1,
            version: r.2,
            notes: r.3,
            pub_date: rfc3339(r.4),
            rollout_percent: u8::try_from(r.5).unwrap_or(0),
            paused: r.6 != 0,
            created_by: r.7,
            created_at: rfc3339(r.8),
            version_check: r.9,
        })
        .collect())
}

pub async fn view(tx: &mut TenantTx, id: &str) -> Result<Option<ReleaseView>, ApiError> {
    let row = crate::listing::by_id(tx, SELECT, "r", id).await?;
    Ok(with_artifacts(tx, row.into_iter().collect()).await?.pop())
}

/// The tenant's releases, newest first (by publication).
pub async fn list(tx: &mut TenantTx, q: &ReleaseQuery) -> Result<Vec<ReleaseView>, ApiError> {
    let limit = crate::listing::limit(q.limit)?;
    let channel = q
        .channel
        .as_deref()
        .map(|c| channel_or_default(Some(c)))
        .transpose()?;
    let rows: Vec<Row> =
        crate::listing::newest(tx, SELECT, "r", channel.map(|c| ("channel", c)), limit).await?;
    with_artifacts(tx, rows).await
}

pub async fn exists(tx: &mut TenantTx, id: &str) -> Result<bool, ApiError> {
    let (tid, conn) = tx.split();
    let r: Option<(String,)> =
        sqlx::query_as("SELECT id FROM releases WHERE tenant_id = $1 AND id = $2")
            .bind(tid)
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(r.is_some())
}

/// Change a release's rollout and/or pause. Returns the release before and after (equal when the
/// change changed nothing: then nothing is written).
pub async fn change(
    tx: &mut TenantTx,
    backend: Backend,
    id: &str,
    c: &ReleaseChange,
) -> Result<(ReleaseView, ReleaseView), ApiError> {
    if c.rollout_percent.is_none() && c.paused.is_none() {
        return Err(ApiError::Validation(
            "give rollout_percent and/or paused".into(),
        ));
    }
    let rollout = c
        .rollout_percent
        .map(release::check_rollout)
        .transpose()
        .map_err(invalid)?;
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let (tid, conn) = tx.split();
    let current: Option<(i64,)> = sqlx::query_as(&format!(
        "SELECT version_check FROM releases WHERE tenant_id = $1 AND id = $2{lock}"
    ))
    .bind(tid)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    let (version_check,) = current.ok_or(ApiError::NotFound("release"))?;
    let conflict = || {
        state(
            "version_conflict",
            "the release changed meanwhile; reload and retry",
        )
    };
    if c.version_check.is_some_and(|v| v != version_check) {
        return Err(conflict());
    }
    let before = view(tx, id).await?.ok_or(ApiError::NotFound("release"))?;
    let rollout = rollout.unwrap_or(before.rollout_percent);
    let paused = c.paused.unwrap_or(before.paused);
    if rollout == before.rollout_percent && paused == before.paused {
        return Ok((before.clone(), before));
    }
    let (tid, conn) = tx.split();
    let n = sqlx::query(
        "UPDATE releases SET rollout_percent = $1, paused = $2, version_check = version_check + 1 \
         WHERE tenant_id = $3 AND id = $4 AND version_check = $5",
    )
    .bind(i64::from(rollout))
    .bind(i64::from(paused))
    .bind(tid)
    .bind(id)
    .bind(version_check)
    .execute(conn)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(conflict());
    }
    let after = view(tx, id).await?.ok_or(ApiError::NotFound("release"))?;
    Ok((before, after))
}

/// The manifest for a device running `current` on `platform`: the newest release of the channel
/// offered to it (`wms_core::release::choose`), or `None`.
pub async fn manifest(
    tx: &mut TenantTx,
    channel: &str,
    platform: &str,
    current: &Version,
    device: &str,
) -> Result<Option<UpdateManifest>, ApiError> {
    let (tid, conn) = tx.split();
    // Only releases that can be offered at all: not paused, rolled out to someone, built for
    // this platform.
    let rows: Vec<(String, String, Option<String>, i64, i64, String, String)> = sqlx::query_as(
        "SELECT r.id, r.version, r.notes, r.pub_date, r.rollout_percent, a.url, a.signature FROM releases r \
         JOIN release_artifacts a ON a.tenant_id = r.tenant_id AND a.release_id = r.id AND a.platform = $3 \
         WHERE r.tenant_id = $1 AND r.channel = $2 AND r.paused = 0 AND r.rollout_percent > 0",
    )
    .bind(tid)
    .bind(channel)
    .bind(platform)
    .fetch_all(conn)
    .await?;
    let candidates: Vec<_> = rows
        .into_iter()
        .filter_map(|r| match r.1.parse::<Version>() {
            Ok(v) => Some((r, v, )),
            Err(e) => {
                tracing::warn!(release = %r.0, error = %e, "stored release version does not parse; skipped");
                None
            }
        })
        .collect();
    let chosen = release::choose(
        &candidates,
        |(r, v)| Offer {
            release_id: &r.0,
            version: v,
            paused: false,
            rollout_percent: u8::try_from(r.4).unwrap_or(0),
            has_platform: true,
        },
        current,
        device,
    );
    Ok(chosen.map(|(r, _)| UpdateManifest {
        version: r.1.clone(),
        notes: r.2.clone(),
        pub_date: rfc3339(r.3),
        platforms: BTreeMap::from([(
            platform.to_owned(),
            ManifestPlatform {
                signature: r.6.clone(),
                url: r.5.clone(),
            },
        )]),
    }))
}
