//! Replaying what the station recorded while it could not (or did not yet) reach the server.
//!
//! Each row carries its idempotency key and the payload built when the action happened (a
//! dispatch's `ship_time` is when the parcel left, not when the network came back). Rows go out in
//! the order they were recorded. A transient failure (offline, throttled, 5xx) stops the replay and
//! leaves the row pending; the server honours `Idempotency-Key`, so a row sent twice — after a
//! crash between the server's commit and our delete — takes effect once. A refusal (4xx) moves the
//! row to `conflict` with the server's code: a physical fact is never dropped silently.
//!
//! An order's rows build on each other (scans, then its package, then its dispatch). Once one of
//! them is refused, the order's later rows are not sent on that broken base: they move to
//! `conflict` with [`DEPENDS_ON_CONFLICT`], kept for a supervisor like the refused row itself.
//! Other orders' rows go on.

use serde::Serialize;

use crate::api::{ApiError, Call};
use crate::cache::{Cache, OutboxRow};
use crate::session::{Session, SessionError};
use crate::station::StationError;

pub const DISPATCH: &str = "dispatch";
/// One item scan (`POST /api/v1/orders/{id}/pack`: `{barcode, lot}`).
pub const PACK: &str = "pack";
/// A package (`POST /api/v1/orders/{id}/packages`: `{box_type, weight_g}`).
pub const PACKAGE: &str = "package";

/// The conflict code of a row held back because an earlier row of its order was refused.
pub const DEPENDS_ON_CONFLICT: &str = "depends_on_conflict";
/// The server's answer while a first attempt with the same key is still in flight (or was cut off
/// between its commit and its stored response, for a minute): try again later.
const IDEMPOTENCY_IN_PROGRESS: &str = "idempotency_in_progress";

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ReplayReport {
    pub sent: usize,
    pub conflicts: usize,
    pub pending: usize,
    /// The replay stopped because the server could not be reached.
    pub offline: bool,
}

fn path_for(row: &OutboxRow) -> Option<String> {
    match row.kind.as_str() {
        DISPATCH => Some(format!("/api/v1/orders/{}/dispatch", row.order_id)),
        PACK => Some(format!("/api/v1/orders/{}/pack", row.order_id)),
        PACKAGE => Some(format!("/api/v1/orders/{}/packages", row.order_id)),
        _ => None,
    }
}

/// No answer came back (see `StationError::is_unanswered`): offline, a broken connection or a
/// TLS failure, or the server still busy with the same key. Never a refusal by the server: the
/// row stays pending.
pub(crate) fn is_unanswered(e: &ApiError) -> bool {
    e.is_offline() || matches!(e, ApiError::Tls(_)) || e.code() == IDEMPOTENCY_IN_PROGRESS
}

/// Sends the pending rows in order; `sent` is told of each row the server took.
pub async fn replay(
    session: &Session,
    cache: &Cache,
    sent: &mut (dyn FnMut(&OutboxRow) + Send),
) -> Result<ReplayReport, StationError> {
    let rows = cache.outbox_rows("pending").await?;
    let mut blocked = cache.outbox_conflict_orders().await?;
    let mut report = ReplayReport {
        pending: rows.len(),
        ..ReplayReport::default()
    };
    for row in rows {
        let path = match (blocked.contains(&row.order_id), path_for(&row)) {
            (false, Some(path)) => path,
            (depends, _) => {
                let code = if depends {
                    DEPENDS_ON_CONFLICT
                } else {
                    "unknown_action"
                };
                tracing::warn!(order = %row.order_id, kind = %row.kind, code, "a recorded action was not sent: kept as a conflict");
                cache.outbox_mark(&row.id, "conflict", Some(code)).await?;
                blocked.insert(row.order_id.clone());
                report.conflicts += 1;
                report.pending -= 1;
                continue;
            }
        };
        let result: Result<serde_json::Value, SessionError> = session
            .json(|t| {
                Call::post(path.as_str(), &row.payload)
                    .bearer(t)
                    .idempotency_key(&row.id)
            })
            .await;
        match result {
            Ok(_) => {
                cache.outbox_mark(&row.id, "done", None).await?;
                report.sent += 1;
                report.pending -= 1;
                sent(&row);
            }
            Err(SessionError::Api(e)) if e.is_transient() || is_unanswered(&e) => {
                report.offline = e.is_offline() || matches!(e, ApiError::Tls(_));
                tracing::info!(
                    code = e.code(),
                    pending = report.pending,
                    "outbox replay paused"
                );
                break;
            }
            Err(SessionError::Api(e)) => {
                tracing::warn!(order = %row.order_id, kind = %row.kind, code = e.code(), "the server refused a recorded action: kept as a conflict");
                cache
                    .outbox_mark(&row.id, "conflict", Some(e.code()))
                    .await?;
                blocked.insert(row.order_id.clone());
                report.conflicts += 1;
                report.pending -= 1;
            }
            // Not logged in / session ended / secret store trouble: keep everything pending.
            Err(e) => {
                tracing::warn!(error = %e, "outbox replay stopped");
                break;
            }
        }
    }
    Ok(report)
}
