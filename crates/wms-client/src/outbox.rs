//! Replaying what the station recorded while it could not (or did not yet) reach the server.
//!
//! Each row carries its idempotency key and the payload built when the action happened (a
//! dispatch's `ship_time` is when the parcel left, not when the network came back). Rows go out in
//! the order they were recorded. A transient failure (offline, throttled, 5xx) stops the replay and
//! leaves the row pending; the server honours `Idempotency-Key`, so a row sent twice — after a
//! crash between the server's commit and our delete — takes effect once. A refusal (4xx) moves the
//! row to `conflict` with the server's code: a physical fact is never dropped silently.

use serde::Serialize;

use crate::api::Call;
use crate::cache::{Cache, OutboxRow};
use crate::session::{Session, SessionError};
use crate::station::StationError;

pub const DISPATCH: &str = "dispatch";
pub const PACK: &str = "pack";

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
        _ => None,
    }
}

pub async fn replay(session: &Session, cache: &Cache) -> Result<ReplayReport, StationError> {
    let rows = cache.outbox_rows("pending").await?;
    let mut report = ReplayReport {
        pending: rows.len(),
        ..ReplayReport::default()
    };
    for row in rows {
        let Some(path) = path_for(&row) else {
            cache
                .outbox_mark(&row.id, "conflict", Some("unknown_action"))
                .await?;
            report.conflicts += 1;
            report.pending -= 1;
            continue;
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
            }
            Err(SessionError::Api(e)) if e.is_transient() => {
                report.offline = e.is_offline();
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
