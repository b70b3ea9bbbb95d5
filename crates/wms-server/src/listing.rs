//! Lists read the same way everywhere: a page of the tenant's rows newest first, one row by id,
//! and the lines of a page's rows in one query (not one per row). The SQL is the caller's
//! constant text; every value is bound.

use std::collections::HashMap;

use crate::db::TenantTx;
use crate::error::ApiError;

/// A list's size when none is asked for.
pub const DEFAULT_LIMIT: i64 = 200;
/// The most one answer lists.
pub const MAX_LIMIT: i64 = 1000;

/// `?limit=`: 1–1000, default 200.
pub fn limit(asked: Option<i64>) -> Result<i64, ApiError> {
    let limit = asked.unwrap_or(DEFAULT_LIMIT);
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::Validation(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )))
    }
}

/// Rows of `head` (a query over `{alias}` ending in `WHERE {alias}.tenant_id = $1`), only those
/// whose `column` is `value` when `filter` is given, newest first (ids are UUIDv7: id order is
/// creation order), at most `limit`.
pub async fn newest<R>(
    tx: &mut TenantTx,
    head: &str,
    alias: &str,
    filter: Option<(&'static str, &str)>,
    limit: i64,
) -> Result<Vec<R>, ApiError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let clause = filter.map_or_else(String::new, |(column, _)| {
        format!(" AND {alias}.{column} = $3")
    });
    let sql = format!("{head}{clause} ORDER BY {alias}.id DESC LIMIT $2");
    let (tid, conn) = tx.split();
    let mut q = sqlx::query_as::<_, R>(&sql).bind(tid).bind(limit);
    if let Some((_, value)) = filter {
        q = q.bind(value);
    }
    Ok(q.fetch_all(conn).await?)
}

/// The row of `head` (as for [`newest`]) with this id, if the tenant has it.
pub async fn by_id<R>(
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
pub async fn lines_by_parent<R, L>(
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
    fn limits() {
        assert_eq!(limit(None).ok(), Some(200));
        assert_eq!(limit(Some(1)).ok(), Some(1));
        assert_eq!(limit(Some(1000)).ok(), Some(1000));
        for bad in [0, -1, 1001] {
            assert_eq!(
                limit(Some(bad)).err().map(|e| e.code()),
                Some("validation_failed")
            );
        }
    }
}
