//! The warehouse domain on the server: master data, the stock ledger, orders and their fulfilment,
//! returns. The rules live in `wms_core` (ledger, fulfilment, allocation); this is the glue that
//! loads what a rule needs inside the tenant transaction and writes its result there.

pub mod control;
pub mod inbound;
pub mod master;
pub mod orders;
pub mod returns;
pub mod stock;

use serde::Deserialize;
use std::collections::HashMap;
use utoipa::IntoParams;

use crate::db::TenantTx;
use crate::error::ApiError;

/// Refuse a request with a stable code (422).
pub(crate) fn rule(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::Rule {
        code,
        message: message.into(),
    }
}

/// Refuse because of the resource's state (409).
pub(crate) fn state(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::State {
        code,
        message: message.into(),
    }
}

/// `YYYY-MM-DD` → date, with a clear error.
pub(crate) fn parse_date(field: &str, s: &str) -> Result<time::Date, ApiError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).map_err(|_| {
        ApiError::Validation(format!("{field} must be a date as YYYY-MM-DD, got `{s}`"))
    })
}

pub(crate) fn format_date(d: time::Date) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    d.format(&fmt).unwrap_or_default()
}

pub(crate) fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// `?status=&limit=` of the list endpoints (inbound shipments, returns, cycle counts).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only items in this status (one of the endpoint's statuses; any other value is a 422).
    pub status: Option<String>,
    /// 1–1000, default 200; newest first.
    pub limit: Option<i64>,
}

impl ListQuery {
    /// The status filter, checked against the resource's `statuses`, and the limit.
    pub(crate) fn checked(&self, statuses: &[&str]) -> Result<(Option<&str>, i64), ApiError> {
        let limit = self.limit.unwrap_or(200);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::Validation(format!(
                "limit must be between 1 and 1000, got {limit}"
            )));
        }
        match self.status.as_deref() {
            Some(s) if !statuses.contains(&s) => Err(ApiError::Validation(format!(
                "status must be one of {}, got `{}`",
                statuses.join(", "),
                s.chars().take(40).collect::<String>()
            ))),
            status => Ok((status, limit)),
        }
    }
}

/// A list endpoint's rows: `head` (a query over `{alias}` ending in `WHERE {alias}.tenant_id = $1`)
/// in `status` if given, newest first (ids are UUIDv7: id order is creation order), at most `limit`.
pub(crate) async fn list_rows<R>(
    tx: &mut TenantTx,
    head: &str,
    alias: &str,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<R>, ApiError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let filter = status.map_or_else(String::new, |_| format!(" AND {alias}.status = $3"));
    let sql = format!("{head}{filter} ORDER BY {alias}.id DESC LIMIT $2");
    let (tid, conn) = tx.split();
    let mut q = sqlx::query_as::<_, R>(&sql).bind(tid).bind(limit);
    if let Some(s) = status {
        q = q.bind(s);
    }
    Ok(q.fetch_all(conn).await?)
}

/// The row of `head` (as for [`list_rows`]) with this id, if the tenant has it.
pub(crate) async fn row_by_id<R>(
    tx: &mut TenantTx,
    head: &str,
    alias: &str,
    id: &str,
) -> Result<Option<R>, ApiError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let (tid, conn) = tx.split();
    Ok(sqlx::query_as(&format!("{head} AND {alias}.id = $2"))
        .bind(tid)
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// The lines of several parents in one query, by parent id: `sql` has `$1` for the tenant and
/// `{ids}` where the parents' ids go (`… IN ({ids})`); `split` turns a row into (parent id, line).
pub(crate) async fn lines_by_parent<R, L>(
    tx: &mut TenantTx,
    sql: &str,
    parents: &[&str],
    split: impl Fn(R) -> (String, L),
) -> Result<HashMap<String, Vec<L>>, ApiError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let mut by_parent: HashMap<String, Vec<L>> = HashMap::new();
    if parents.is_empty() {
        return Ok(by_parent);
    }
    let sql = sql.replace("{ids}", &crate::db::placeholders(2, parents.len()));
    let (tid, conn) = tx.split();
    let mut q = sqlx::query_as::<_, R>(&sql).bind(tid);
    for id in parents {
        q = q.bind(*id);
    }
    for row in q.fetch_all(conn).await? {
        let (parent, line) = split(row);
        by_parent.entry(parent).or_default().push(line);
    }
    Ok(by_parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_checks_status_and_limit() {
        let q = |status: Option<&str>, limit| ListQuery {
            status: status.map(str::to_owned),
            limit,
        };
        let ok = ["open", "done"];
        assert_eq!(q(None, None).checked(&ok).ok(), Some((None, 200)));
        assert_eq!(
            q(Some("done"), Some(1000)).checked(&ok).ok(),
            Some((Some("done"), 1000))
        );
        for bad in [
            q(Some("closed"), None),
            q(None, Some(0)),
            q(None, Some(1001)),
        ] {
            assert_eq!(
                bad.checked(&ok).err().map(|e| e.code()),
                Some("validation_failed")
            );
        }
    }
}
