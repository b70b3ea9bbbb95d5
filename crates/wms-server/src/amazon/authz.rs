//! Seller authorizations: who we act for at Amazon. The refresh token and the LWA client secret are
//! sealed under the tenant's data key (AAD binds tenant, table, column and row) and never leave the
//! server: the API returns neither, and `Debug` prints neither.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use wms_core::seal::Aad;
use zeroize::Zeroizing;

use crate::db::{DbError, TenantTx};
use crate::error::ApiError;
use crate::keys::TenantKeys;
use crate::time::{now_ms, rfc3339};
use crate::warehouse::master;
use crate::warehouse::{rule, state};

/// What an admin gives to connect a seller account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAuthorization {
    /// The selling partner id (merchant token), e.g. `A3EXAMPLE0SELLER`.
    pub selling_partner_id: String,
    /// Marketplace ids; default: amazon.co.jp (`A1VC38T7YXB528`).
    #[serde(default)]
    pub marketplaces: Vec<String>,
    /// The LWA client id of the application registration.
    pub lwa_client_id: String,
    /// Secret: sealed at rest, never returned.
    pub lwa_client_secret: String,
    /// Secret (`Atzr|…`): sealed at rest, never returned.
    pub refresh_token: String,
    /// Warehouse code the seller's orders are fulfilled from (default: the only warehouse).
    #[serde(default)]
    pub warehouse: Option<String>,
    /// Whether the application was granted the restricted role for recipient names, addresses and
    /// phone numbers (Direct-to-Consumer Delivery). Without it the product stores no such PII.
    #[serde(default)]
    pub pii_recipient: bool,
    /// Whether buyer e-mail addresses were granted.
    #[serde(default)]
    pub pii_buyer_email: bool,
}

impl std::fmt::Debug for NewAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAuthorization")
            .field("selling_partner_id", &self.selling_partner_id)
            .field("marketplaces", &self.marketplaces)
            .finish_non_exhaustive()
    }
}

/// `granted` or `not_granted`, per PII scope.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PiiScopes {
    pub recipient: &'static str,
    pub buyer_email: &'static str,
}

/// Per status, how many package confirmations this authorization has.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct FeedbackCounts {
    pub pending: i64,
    pub sent: i64,
    pub confirmed: i64,
    pub failed: i64,
    pub handled: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuthorizationView {
    pub id: String,
    pub selling_partner_id: String,
    pub marketplaces: Vec<String>,
    pub lwa_client_id: String,
    pub warehouse_id: String,
    pub pii: PiiScopes,
    /// `active` or `revoked`.
    pub status: String,
    pub revoked_reason: Option<String>,
    pub revoked_at: Option<String>,
    pub pii_purged_at: Option<String>,
    /// Orders updated at Amazon up to this time have been read.
    pub synced_until: Option<String>,
    pub last_sync_at: Option<String>,
    pub last_sync_error: Option<String>,
    pub feedback: FeedbackCounts,
    pub created_at: String,
}

/// A stored authorization (secrets still sealed).
#[derive(Clone)]
pub struct AuthRow {
    pub id: String,
    pub selling_partner_id: String,
    pub marketplaces: Vec<String>,
    pub lwa_client_id: String,
    secrets_sealed: Vec<u8>,
    pub warehouse_id: String,
    pub pii_recipient: bool,
    pub pii_buyer_email: bool,
    pub status: String,
    pub revoked_reason: Option<String>,
    pub revoked_at: Option<i64>,
    pub pii_purged_at: Option<i64>,
    pub sync_watermark_ms: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub last_sync_error: Option<String>,
    pub created_at: i64,
}

impl std::fmt::Debug for AuthRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRow")
            .field("id", &self.id)
            .field("selling_partner_id", &self.selling_partner_id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl AuthRow {
    #[must_use]
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    #[must_use]
    pub fn marketplace(&self) -> &str {
        self.marketplaces.first().map_or("", String::as_str)
    }
}

#[derive(Serialize, Deserialize)]
struct Secrets {
    refresh_token: String,
    client_secret: String,
}

fn secrets_aad(tenant: wms_core::ids::TenantId, id: &str) -> Aad<'_> {
    Aad {
        tenant,
        table: "amazon_authorizations",
        column: "secrets",
        row: id,
    }
}

/// Open the sealed secrets into LWA credentials (held in zeroizing memory by `wms-amazon`).
pub fn credentials(
    keys: &TenantKeys,
    tenant: wms_core::ids::TenantId,
    row: &AuthRow,
) -> Result<wms_amazon::Credentials, ApiError> {
    let json = keys
        .data
        .open(&secrets_aad(tenant, &row.id), &row.secrets_sealed)
        .map_err(ApiError::internal)?;
    let Secrets {
        refresh_token,
        client_secret,
    } = serde_json::from_slice(&json).map_err(ApiError::internal)?;
    // The plain copies are wiped when dropped; `Secret` keeps its own zeroizing copy.
    let (refresh_token, client_secret) =
        (Zeroizing::new(refresh_token), Zeroizing::new(client_secret));
    Ok(wms_amazon::Credentials {
        client_id: row.lwa_client_id.clone(),
        client_secret: wms_amazon::Secret::new(client_secret.as_str()),
        refresh_token: wms_amazon::Secret::new(refresh_token.as_str()),
    })
}

fn ident_ok(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
}

pub async fn create(
    tx: &mut TenantTx,
    keys: &TenantKeys,
    default_marketplace: &str,
    n: NewAuthorization,
) -> Result<String, ApiError> {
    let spid = n.selling_partner_id.trim();
    if !ident_ok(spid, 32) {
        return Err(ApiError::Validation(
            "selling_partner_id must be 1–32 letters and digits".into(),
        ));
    }
    let mut marketplaces: Vec<String> =
        n.marketplaces.iter().map(|m| m.trim().to_owned()).collect();
    if marketplaces.is_empty() {
        marketplaces.push(default_marketplace.to_owned());
    }
    if marketplaces.iter().any(|m| !ident_ok(m, 32)) || marketplaces.len() > 20 {
        return Err(ApiError::Validation(
            "marketplaces must be 1–20 marketplace ids (letters and digits)".into(),
        ));
    }
    if !ident_ok(n.lwa_client_id.trim(), 256) {
        return Err(ApiError::Validation("lwa_client_id is not valid".into()));
    }
    if n.lwa_client_secret.trim().is_empty() || n.lwa_client_secret.len() > 1024 {
        return Err(ApiError::Validation("lwa_client_secret is required".into()));
    }
    if n.refresh_token.trim().is_empty() || n.refresh_token.len() > 4096 {
        return Err(ApiError::Validation("refresh_token is required".into()));
    }
    let wh = master::resolve_warehouse(tx, n.warehouse.as_deref()).await?;
    let id = Uuid::now_v7().to_string();
    let secrets = Zeroizing::new(
        serde_json::to_vec(&Secrets {
            refresh_token: n.refresh_token.trim().to_owned(),
            client_secret: n.lwa_client_secret.trim().to_owned(),
        })
        .map_err(ApiError::internal)?,
    );
    let sealed = keys
        .data
        .seal(&secrets_aad(tx.tenant(), &id), &secrets)
        .map_err(ApiError::internal)?;
    let now = now_ms();
    let (tid, conn) = tx.split();
    sqlx::query(
        "INSERT INTO amazon_authorizations (tenant_id, id, selling_partner_id, marketplaces, lwa_client_id, secrets_sealed, warehouse_id, pii_recipient, pii_buyer_email, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $10)",
    )
    .bind(tid)
    .bind(&id)
    .bind(spid)
    .bind(marketplaces.join(","))
    .bind(n.lwa_client_id.trim())
    .bind(sealed)
    .bind(&wh.id)
    .bind(i64::from(n.pii_recipient))
    .bind(i64::from(n.pii_buyer_email))
    .bind(now)
    .execute(conn)
    .await
    .map_err(|e| match DbError::from(e) {
        DbError::Conflict(_) => ApiError::Conflict(format!(
            "selling partner `{spid}` is already connected; revoke the old authorization first"
        )),
        other => other.into(),
    })?;
    Ok(id)
}

type AuthTuple = (
    String,
    String,
    String,
    String,
    Vec<u8>,
    String,
    i64,
    i64,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    i64,
);

const AUTH_COLS: &str = "id, selling_partner_id, marketplaces, lwa_client_id, secrets_sealed, warehouse_id, pii_recipient, pii_buyer_email, status, revoked_reason, revoked_at, pii_purged_at, sync_watermark_ms, last_sync_at, last_sync_error, created_at";

fn from_tuple(r: AuthTuple) -> AuthRow {
    AuthRow {
        id: r.0,
        selling_partner_id: r.1,
        marketplaces: r
            .2
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect(),
        lwa_client_id: r.3,
        secrets_sealed: r.4,
        warehouse_id: r.5,
        pii_recipient: r.6 != 0,
        pii_buyer_email: r.7 != 0,
        status: r.8,
        revoked_reason: r.9,
        revoked_at: r.10,
        pii_purged_at: r.11,
        sync_watermark_ms: r.12,
        last_sync_at: r.13,
        last_sync_error: r.14,
        created_at: r.15,
    }
}

pub async fn get(tx: &mut TenantTx, id: &str) -> Result<Option<AuthRow>, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<AuthTuple> = sqlx::query_as(&format!(
        "SELECT {AUTH_COLS} FROM amazon_authorizations WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tid)
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(from_tuple))
}

/// An authorization and the tenant's keys, read in a short transaction of their own (the workers
/// then call Amazon without holding one).
pub async fn load_with_keys(
    state: &crate::state::AppState,
    tenant: wms_core::ids::TenantId,
    id: &str,
) -> Result<(AuthRow, std::sync::Arc<TenantKeys>), ApiError> {
    let mut tx = state.db.tenant_tx(tenant).await?;
    let auth = get(&mut tx, id).await?;
    let keys = state
        .keys
        .tenant(&mut tx)
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    Ok((
        auth.ok_or(ApiError::NotFound("amazon authorization"))?,
        keys,
    ))
}

pub async fn all(tx: &mut TenantTx) -> Result<Vec<AuthRow>, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<AuthTuple> = sqlx::query_as(&format!(
        "SELECT {AUTH_COLS} FROM amazon_authorizations WHERE tenant_id = $1 ORDER BY created_at, id"
    ))
    .bind(tid)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(from_tuple).collect())
}

async fn counts(tx: &mut TenantTx, id: &str) -> Result<FeedbackCounts, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT status, CAST(COUNT(*) AS BIGINT) FROM amazon_feedback WHERE tenant_id = $1 AND authorization_id = $2 GROUP BY status",
    )
    .bind(tid)
    .bind(id)
    .fetch_all(conn)
    .await?;
    let mut c = FeedbackCounts::default();
    for (status, n) in rows {
        match status.as_str() {
            "pending" => c.pending = n,
            "sent" => c.sent = n,
            "confirmed" => c.confirmed = n,
            "failed" => c.failed = n,
            "handled" => c.handled = n,
            _ => {}
        }
    }
    Ok(c)
}

pub async fn view(tx: &mut TenantTx, row: &AuthRow) -> Result<AuthorizationView, ApiError> {
    let grant = |b: bool| if b { "granted" } else { "not_granted" };
    Ok(AuthorizationView {
        id: row.id.clone(),
        selling_partner_id: row.selling_partner_id.clone(),
        marketplaces: row.marketplaces.clone(),
        lwa_client_id: row.lwa_client_id.clone(),
        warehouse_id: row.warehouse_id.clone(),
        pii: PiiScopes {
            recipient: grant(row.pii_recipient),
            buyer_email: grant(row.pii_buyer_email),
        },
        status: row.status.clone(),
        revoked_reason: row.revoked_reason.clone(),
        revoked_at: row.revoked_at.map(rfc3339),
        pii_purged_at: row.pii_purged_at.map(rfc3339),
        synced_until: row.sync_watermark_ms.map(rfc3339),
        last_sync_at: row.last_sync_at.map(rfc3339),
        last_sync_error: row.last_sync_error.clone(),
        feedback: counts(tx, &row.id).await?,
        created_at: rfc3339(row.created_at),
    })
}

/// Stop sync and feedback for an authorization; business records stay. Pending confirmations are
/// shown as failed with the reason, so a supervisor sees what Amazon was not told.
pub async fn revoke(tx: &mut TenantTx, id: &str, reason: &str) -> Result<bool, ApiError> {
    let now = now_ms();
    let (tid, conn) = tx.split();
    let n = sqlx::query(
        "UPDATE amazon_authorizations SET status = 'revoked', revoked_reason = $1, revoked_at = $2, updated_at = $2 \
         WHERE tenant_id = $3 AND id = $4 AND status = 'active'",
    )
    .bind(reason)
    .bind(now)
    .bind(tid)
    .bind(id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        sqlx::query(
            "UPDATE amazon_feedback SET status = 'failed', reason = $1, lease_until = NULL, updated_at = $2 \
             WHERE tenant_id = $3 AND authorization_id = $4 AND status IN ('pending', 'sent')",
        )
        .bind(format!("Amazon authorization withdrawn ({reason}): not sent"))
        .bind(now)
        .bind(tid)
        .bind(id)
        .execute(conn)
        .await?;
    }
    Ok(n == 1)
}

/// Erase the Amazon PII of a withdrawn authorization's orders: the sealed recipient is dropped,
/// the masked form keeps only the prefecture. Returns how many orders held PII.
pub async fn purge_pii(tx: &mut TenantTx, row: &AuthRow) -> Result<u64, ApiError> {
    if row.is_active() {
        return Err(state(
            "authorization_active",
            "revoke the authorization before purging its PII",
        ));
    }
    let now = now_ms();
    let (tid, conn) = tx.split();
    let orders: Vec<(String, String)> = sqlx::query_as(
        "SELECT o.id, o.recipient_masked FROM orders o JOIN amazon_orders a ON a.tenant_id = o.tenant_id AND a.order_id = o.id \
         WHERE o.tenant_id = $1 AND a.authorization_id = $2 AND (o.recipient_sealed IS NOT NULL OR o.recipient_masked NOT LIKE $3)",
    )
    .bind(tid)
    .bind(&row.id)
    .bind(format!("%{}%", crate::warehouse::orders::PII_PURGED))
    .fetch_all(&mut *conn)
    .await?;
    for (order_id, masked) in &orders {
        crate::warehouse::orders::erase_recipient(tx, order_id, masked, now).await?;
    }
    let (tid, conn) = tx.split();
    sqlx::query("UPDATE amazon_authorizations SET pii_purged_at = $1, updated_at = $1 WHERE tenant_id = $2 AND id = $3")
        .bind(now)
        .bind(tid)
        .bind(&row.id)
        .execute(conn)
        .await?;
    Ok(orders.len() as u64)
}

/// Keep a sync pass's outcome.
pub async fn record_sync(
    tx: &mut TenantTx,
    id: &str,
    watermark_ms: Option<i64>,
    error: Option<&str>,
) -> Result<(), ApiError> {
    let now = now_ms();
    let (tid, conn) = tx.split();
    sqlx::query(
        "UPDATE amazon_authorizations SET sync_watermark_ms = COALESCE($1, sync_watermark_ms), last_sync_at = $2, last_sync_error = $3, updated_at = $2 \
         WHERE tenant_id = $4 AND id = $5",
    )
    .bind(watermark_ms)
    .bind(now)
    .bind(error)
    .bind(tid)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) fn not_active(row: &AuthRow) -> ApiError {
    rule(
        "authorization_revoked",
        format!(
            "the Amazon authorization for {} is revoked{}",
            row.selling_partner_id,
            row.revoked_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
    )
}
