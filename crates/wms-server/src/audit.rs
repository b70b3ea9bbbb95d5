//! Appending to and verifying each tenant's audit chain (the hashing rules are in `wms_core::audit`).

use wms_core::audit::{
    Anchor, AuditAction, AuditEvent, ChainError, ChainVerifier, GENESIS, Outcome, StoredLink,
    link_hash,
};
use wms_core::wire::AuditEntry;

use crate::db::{Backend, DbError, TenantTx};
use crate::keys::{KeyError, TenantKeys};
use crate::time::{now_ms, rfc3339};

/// What to record. `actor` is a user id, `cli`, `system` or `anonymous`.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub actor: String,
    pub action: AuditAction,
    pub outcome: Outcome,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

impl NewEvent {
    #[must_use]
    pub fn new(actor: impl Into<String>, action: AuditAction, outcome: Outcome) -> Self {
        Self {
            actor: actor.into(),
            action,
            outcome,
            target: None,
            ip: None,
            detail: None,
        }
    }
    #[must_use]
    pub fn target(mut self, t: impl Into<String>) -> Self {
        self.target = Some(t.into());
        self
    }
    #[must_use]
    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }
    #[must_use]
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

impl From<sqlx::Error> for AuditError {
    fn from(e: sqlx::Error) -> Self {
        AuditError::Db(e.into())
    }
}

/// Append one event to the tenant's chain, inside the caller's transaction (so the event commits
/// with the effect it records, or not at all). Appends are serialised per tenant by locking the
/// chain head (SQLite's single writer does the same).
pub async fn append(
    tx: &mut TenantTx,
    backend: Backend,
    keys: &TenantKeys,
    ev: NewEvent,
) -> Result<i64, AuditError> {
    let key = keys.audit_key()?;
    let tenant = tx.tenant();
    let (tid, conn) = tx.split();
    let lock = match backend {
        Backend::Postgres => "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1 FOR UPDATE",
        Backend::Sqlite => "SELECT seq, hash FROM audit_heads WHERE tenant_id = $1",
    };
    let head: Option<(i64, Vec<u8>)> = sqlx::query_as(lock)
        .bind(tid)
        .fetch_optional(&mut *conn)
        .await?;
    let (prev_seq, prev_hash) = head.clone().unwrap_or((0, GENESIS.to_vec()));
    let event = AuditEvent {
        seq: prev_seq + 1,
        at_ms: now_ms(),
        actor: ev.actor,
        action: ev.action,
        target: ev.target,
        ip: ev.ip,
        outcome: ev.outcome,
        detail: ev.detail,
    };
    let hash = link_hash(key.expose(), tenant, &prev_hash, &event).to_vec();
    sqlx::query(
        "INSERT INTO audit_events (tenant_id, seq, at_ms, actor, action, target, ip, outcome, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tid)
    .bind(event.seq)
    .bind(event.at_ms)
    .bind(&event.actor)
    .bind(event.action.as_str())
    .bind(&event.target)
    .bind(&event.ip)
    .bind(event.outcome.as_str())
    .bind(&event.detail)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    let q = if head.is_some() {
        "UPDATE audit_heads SET seq = $2, hash = $3 WHERE tenant_id = $1"
    } else {
        "INSERT INTO audit_heads (tenant_id, seq, hash) VALUES ($1, $2, $3)"
    };
    sqlx::query(q)
        .bind(tid)
        .bind(event.seq)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(event.seq)
}

type Row = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Vec<u8>,
    Vec<u8>,
);
const COLS: &str = "seq, at_ms, actor, action, target, ip, outcome, detail, prev_hash, hash";

fn to_link(r: Row) -> Result<StoredLink, ChainError> {
    let (seq, at_ms, actor, action, target, ip, outcome, detail, prev_hash, hash) = r;
    // An unknown action or outcome text is tampering too: report it as a broken link.
    let action = AuditAction::parse(&action).ok_or(ChainError::HashMismatch { seq })?;
    let outcome = Outcome::parse(&outcome).ok_or(ChainError::HashMismatch { seq })?;
    Ok(StoredLink {
        event: AuditEvent {
            seq,
            at_ms,
            actor,
            action,
            target,
            ip,
            outcome,
            detail,
        },
        prev_hash,
        hash,
    })
}

#[derive(Debug)]
pub struct VerifyReport {
    pub verified: i64,
    /// The last event retention removed: verification started after it.
    pub anchor_seq: Option<i64>,
    pub head_seq: i64,
    pub broken: Option<ChainError>,
}

/// The last event retention removed from a tenant's chain, if any.
pub async fn anchor(tx: &mut TenantTx) -> Result<Option<Anchor>, AuditError> {
    let (tid, conn) = tx.split();
    let row: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, hash FROM audit_anchors WHERE tenant_id = $1")
            .bind(tid)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(seq, hash)| Anchor { seq, hash }))
}

/// Walk the chain in pages, from the genesis or from the retention anchor, and report the first
/// broken link. The head must match the last event too, so truncating the newest events is
/// detected.
pub async fn verify(tx: &mut TenantTx, keys: &TenantKeys) -> Result<VerifyReport, AuditError> {
    let key = keys.audit_key()?;
    let tenant = tx.tenant();
    let anchor = anchor(tx).await?;
    let anchor_seq = anchor.as_ref().map(|a| a.seq);
    let mut verifier = match &anchor {
        Some(a) => ChainVerifier::resume(key.expose(), tenant, a),
        None => ChainVerifier::new(key.expose(), tenant),
    };
    let (tid, conn) = tx.split();
    let head: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, hash FROM audit_heads WHERE tenant_id = $1")
            .bind(tid)
            .fetch_optional(&mut *conn)
            .await?;
    let head_seq = head.as_ref().map_or(0, |h| h.0);
    let mut after = verifier.last_seq();
    loop {
        let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLS} FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT 1000"))
            .bind(tid)
            .bind(after)
            .fetch_all(&mut *conn)
            .await?;
        if rows.is_empty() {
            break;
        }
        for r in rows {
            let link = match to_link(r) {
                Ok(l) => l,
                Err(e) => {
                    return Ok(VerifyReport {
                        verified: verifier.verified(),
                        anchor_seq,
                        head_seq,
                        broken: Some(e),
                    });
                }
            };
            after = link.event.seq;
            if let Err(e) = verifier.push(&link) {
                return Ok(VerifyReport {
                    verified: verifier.verified(),
                    anchor_seq,
                    head_seq,
                    broken: Some(e),
                });
            }
        }
    }
    let broken = match head {
        Some((seq, hash)) if seq != verifier.last_seq() || hash != verifier.last_hash() => {
            Some(ChainError::Gap {
                seq: verifier.last_seq() + 1,
                expected: seq,
            })
        }
        None if verifier.last_seq() > 0 => Some(ChainError::Gap {
            seq: verifier.last_seq(),
            expected: 0,
        }),
        _ => None,
    };
    Ok(VerifyReport {
        verified: verifier.verified(),
        anchor_seq,
        head_seq,
        broken,
    })
}

/// A page of events, newest first.
pub async fn list(
    tx: &mut TenantTx,
    before: Option<i64>,
    limit: i64,
) -> Result<(Vec<AuditEntry>, Option<i64>), AuditError> {
    let (tid, conn) = tx.split();
    let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLS} FROM audit_events WHERE tenant_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"))
        .bind(tid)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit + 1)
        .fetch_all(conn)
        .await?;
    let more = rows.len() as i64 > limit;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows.into_iter().take(limit as usize) {
        let seq = r.0;
        let (action, outcome) = (AuditAction::parse(&r.3), Outcome::parse(&r.6));
        let (Some(action), Some(outcome)) = (action, outcome) else {
            return Err(AuditError::Db(DbError::Corrupt(format!(
                "audit event {seq} has an unknown action or outcome"
            ))));
        };
        out.push(AuditEntry {
            seq,
            at: rfc3339(r.1),
            actor: r.2,
            action,
            target: r.4,
            ip: r.5,
            outcome,
            detail: r.7,
        });
    }
    let next = if more {
        out.last().map(|e| e.seq)
    } else {
        None
    };
    Ok((out, next))
}
