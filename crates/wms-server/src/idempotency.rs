//! `Idempotency-Key` on every mutating request: a replay returns the first response and changes
//! nothing.
//!
//! How it stays exactly-once in effect: the middleware fingerprints the request (method, path,
//! body) and hands it to the handler's tenant transaction, which *claims* the key by inserting a row
//! in the same transaction as the effect. If the transaction commits, the key is spent together
//! with the effect; if it rolls back, neither happened and a retry runs again. After the handler,
//! the middleware stores the response (sealed: it may hold PII or tokens) on the claimed row.
//! A concurrent duplicate either sees the committed row (replay) or collides on the key (409, retry).

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use wms_core::seal::Aad;

use crate::db::{DbError, TenantTx};
use crate::error::ApiError;
use crate::keys::TenantKeys;
use crate::state::AppState;
use crate::time::now_ms;

pub const HEADER: &str = "idempotency-key";
/// A claimed key whose response was never stored (crash after commit) is reported as such after this.
const IN_PROGRESS_GRACE_MS: i64 = 60_000;

/// The request's key and fingerprint, placed in request extensions by the middleware.
#[derive(Clone, Debug)]
pub struct IdemRequest {
    pub key: String,
    pub fingerprint: Vec<u8>,
    slot: Arc<Mutex<Option<Claim>>>,
}

/// A key claimed inside a transaction; moved to the request's slot once that transaction commits.
#[derive(Clone, Debug)]
pub struct Claim {
    pub tenant: wms_core::ids::TenantId,
    pub principal: String,
    pub key: String,
}

/// Marks a response that is itself a replay (not to be stored again).
#[derive(Clone, Copy, Debug)]
struct Replayed;

#[derive(Serialize, Deserialize)]
struct StoredResponse {
    status: u16,
    content_type: Option<String>,
    body: String,
}

fn aad<'a>(tenant: wms_core::ids::TenantId, row: &'a str) -> Aad<'a> {
    Aad {
        tenant,
        table: "idempotency_keys",
        column: "response",
        row,
    }
}

fn valid_key(k: &str) -> bool {
    (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic())
}

/// Middleware: on POST/PUT/PATCH/DELETE with an `Idempotency-Key`, fingerprint the request, let the
/// handler claim the key in its transaction, then store the response on the claimed key.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mutating = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let key = req
        .headers()
        .get(HEADER)
        .map(|v| v.to_str().map(str::to_owned));
    let key = match (mutating, key) {
        (true, Some(Ok(k))) if valid_key(&k) => k,
        (true, Some(_)) => {
            return ApiError::BadRequest(
                "Idempotency-Key must be 1–255 visible ASCII characters".into(),
            )
            .into_response();
        }
        _ => return next.run(req).await,
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, state.settings.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return ApiError::PayloadTooLarge.into_response(),
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update([0]);
    h.update(parts.uri.path().as_bytes());
    h.update([0]);
    h.update(parts.uri.query().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(&bytes);
    let slot = Arc::new(Mutex::new(None));
    let idem = IdemRequest {
        key,
        fingerprint: h.finalize().to_vec(),
        slot: slot.clone(),
    };
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(idem);
    let resp = next.run(req).await;
    if resp.extensions().get::<Replayed>().is_some() {
        return resp;
    }
    let claim = slot.lock().ok().and_then(|mut s| s.take());
    match claim {
        Some(claim) => store(&state, claim, resp).await,
        None => resp,
    }
}

async fn store(state: &AppState, claim: Claim, resp: Response) -> Response {
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let stored = StoredResponse {
        status: parts.status.as_u16(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    if let Err(e) = save(state, &claim, &stored).await {
        // The effect is committed and the key claimed; a replay will answer "outcome recorded,
        // response lost" rather than run the request again.
        tracing::error!(error = %e, "could not store the response of an idempotent request");
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn save(state: &AppState, claim: &Claim, stored: &StoredResponse) -> Result<(), ApiError> {
    let mut tx = state.db.tenant_tx(claim.tenant).await?;
    let keys = state
        .keys
        .tenant(&mut tx)
        .await
        .map_err(ApiError::internal)?;
    let row = format!("{}\0{}", claim.principal, claim.key);
    let json = serde_json::to_vec(stored).map_err(ApiError::internal)?;
    let sealed = keys
        .data
        .seal(&aad(claim.tenant, &row), &json)
        .map_err(ApiError::internal)?;
    let (tid, conn) = tx.split();
    sqlx::query("UPDATE idempotency_keys SET status = $1, response_sealed = $2 WHERE tenant_id = $3 AND principal = $4 AND idem_key = $5")
        .bind(i64::from(stored.status))
        .bind(sealed)
        .bind(tid)
        .bind(&claim.principal)
        .bind(&claim.key)
        .execute(conn)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Inside a handler's transaction: replay the stored response, or claim the key for this request.
/// `Ok(Some(response))` means "answer with this and do nothing else".
pub async fn claim(
    tx: &mut TenantTx,
    keys: &TenantKeys,
    principal: &str,
    req: &IdemRequest,
) -> Result<Option<Response>, ApiError> {
    let tenant = tx.tenant();
    let (tid, conn) = tx.split();
    let existing: Option<(Vec<u8>, Option<i64>, Option<Vec<u8>>, i64)> = sqlx::query_as(
        "SELECT request_hash, status, response_sealed, created_at FROM idempotency_keys WHERE tenant_id = $1 AND principal = $2 AND idem_key = $3",
    )
    .bind(tid)
    .bind(principal)
    .bind(&req.key)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((hash, status, sealed, created)) = existing {
        if hash != req.fingerprint {
            return Err(ApiError::IdempotencyKeyReused);
        }
        return match (status, sealed) {
            (Some(_), Some(sealed)) => {
                let row = format!("{principal}\0{}", req.key);
                let json = keys.data.open(&aad(tenant, &row), &sealed).map_err(ApiError::internal)?;
                let stored: StoredResponse = serde_json::from_slice(&json).map_err(ApiError::internal)?;
                Ok(Some(replay(stored)))
            }
            _ if now_ms() - created < IN_PROGRESS_GRACE_MS => Err(ApiError::IdempotencyInProgress),
            _ => Err(ApiError::Conflict("this request was already applied, but its response was lost; read the resource to see its state".into())),
        };
    }
    sqlx::query("INSERT INTO idempotency_keys (tenant_id, principal, idem_key, request_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(tid)
        .bind(principal)
        .bind(&req.key)
        .bind(&req.fingerprint)
        .bind(now_ms())
        .execute(&mut *conn)
        .await
        .map_err(|e| match DbError::from(e) {
            DbError::Conflict(_) => ApiError::IdempotencyInProgress,
            other => other.into(),
        })?;
    tx.on_commit_claim(
        req.slot.clone(),
        Claim {
            tenant,
            principal: principal.to_owned(),
            key: req.key.clone(),
        },
    );
    Ok(None)
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut headers = HeaderMap::new();
    if let Some(ct) = stored
        .content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        headers.insert(header::CONTENT_TYPE, ct);
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    let mut resp = (status, headers, Bytes::from(stored.body)).into_response();
    resp.extensions_mut().insert(Replayed);
    resp
}

/// Used by `TenantTx::commit`: hand a committed claim to the waiting middleware.
pub(crate) fn fulfil(slot: &Arc<Mutex<Option<Claim>>>, claim: Claim) {
    if let Ok(mut s) = slot.lock() {
        *s = Some(claim);
    }
}
