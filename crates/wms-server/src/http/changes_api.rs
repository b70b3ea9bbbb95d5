//! `GET /api/v1/changes`: the tenant's change feed, for workstations to sync by cursor.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wms_core::wire::Problem;

use super::extract::ApiQuery;
use crate::auth::extract::{Authorized, ReadOnly, req};
use crate::error::ApiError;
use crate::time::rfc3339;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// The cursor: changes with a greater sequence number (0 or absent: from the start).
    pub after: Option<i64>,
    /// 1–1000, default 500.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Change {
    pub seq: i64,
    /// `order` or `sku`: fetch it again with `GET /api/v1/orders/{id}` / `GET /api/v1/skus?…`.
    pub entity: String,
    pub id: String,
    /// `upsert`, or `delete` (a tombstone: drop it from the cache).
    pub op: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// Pass as `after` next time (unchanged when there was nothing new).
    pub next: i64,
    /// The newest sequence number: `next == head` means caught up.
    pub head: i64,
}

#[utoipa::path(get, path = "/api/v1/changes", tag = "orders", security(("bearer" = [])), params(ChangesQuery),
    responses((status = 200, body = ChangePage), (status = 422, body = Problem)))]
pub async fn changes(
    mut auth: Authorized<req::Pack, ReadOnly>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> Result<axum::Json<ChangePage>, ApiError> {
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(500);
    if after < 0 || !(1..=1000).contains(&limit) {
        return Err(ApiError::Validation(
            "after must be ≥ 0 and limit 1–1000".into(),
        ));
    }
    let (tid, conn) = auth.tx.split();
    let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
        "SELECT seq, entity, entity_id, op, at_ms FROM changes WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(tid)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let head: Option<(i64,)> = sqlx::query_as("SELECT seq FROM change_heads WHERE tenant_id = $1")
        .bind(tid)
        .fetch_optional(conn)
        .await?;
    let next = rows.last().map_or(after, |r| r.0);
    Ok(axum::Json(ChangePage {
        changes: rows
            .into_iter()
            .map(|r| Change {
                seq: r.0,
                entity: r.1,
                id: r.2,
                op: r.3,
                at: rfc3339(r.4),
            })
            .collect(),
        next,
        head: head.map_or(0, |h| h.0),
    }))
}
