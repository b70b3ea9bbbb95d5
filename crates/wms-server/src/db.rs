//! Storage: one portable-SQL implementation over sqlx's `Any` driver, two backends (SQLite, the
//! embedded default, and PostgreSQL). Queries use `$N` placeholders, which both backends accept;
//! ids are UUID text, times are epoch milliseconds, integers are BIGINT, so every value decodes the
//! same way from either backend.
//!
//! [`TenantTx`] is the only door to tenant data: it is a transaction that knows its tenant, and on
//! PostgreSQL it has set `app.tenant_id` (transaction-local) so that row-level security hides every
//! other tenant's rows even from a query that forgot its `WHERE tenant_id = …`.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Executor, Transaction};
use std::str::FromStr;
use std::time::Duration;
use wms_core::ids::TenantId;

use crate::config::Settings;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Tables the application role may only read and append to.
const APPEND_ONLY_TABLES: &[&str] = &["audit_events", "stock_movements"];

/// Tables the application role may only read: the audit chain's retention anchor is written only
/// by `prune_audit_events` (migrations/postgres/0011_retention.sql), which runs as the owner.
const READ_ONLY_TABLES: &[&str] = &["audit_anchors"];

/// Functions the application role may call (owner-defined, `SECURITY DEFINER`).
const APP_FUNCTIONS: &[&str] = &["prune_audit_events(bigint)"];

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlx(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid database configuration: {0}")]
    Config(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.kind() == sqlx::error::ErrorKind::UniqueViolation
        {
            return DbError::Conflict("a record with the same key already exists".into());
        }
        DbError::Sqlx(e)
    }
}

/// `$first, $first+1, …` (`n` of them), for an `IN (…)` list whose values are bound in order.
#[must_use]
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// The database. Its own methods take a pooled connection: never call them while holding a
/// [`TenantTx`] (a request holding one connection and waiting for a second can deadlock the pool
/// under load); query through the transaction instead.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer. Queueing writers here, in FIFO order, before they take a pooled
    /// connection keeps SQLite's busy handler (sleep-and-retry, with second-long stalls) out of the
    /// picture and never lets waiting writers hold every pooled connection.
    write_lock: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
}

fn sqlite_url(settings: &Settings) -> String {
    format!("sqlite://{}?mode=rwc", settings.sqlite_path().display())
}

impl Db {
    /// Apply migrations (as the owner role on PostgreSQL), then connect as the application role.
    pub async fn open(settings: &Settings) -> Result<Self, DbError> {
        migrate(settings).await?;
        Self::connect(settings).await
    }

    /// Connect without migrating (the schema must be current).
    pub async fn connect(settings: &Settings) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let (url, backend, max) = match &settings.database_url {
            Some(url) if settings.is_postgres() => (url.clone(), Backend::Postgres, 32),
            Some(other) => {
                return Err(DbError::Config(format!(
                    "unsupported database URL scheme in `{}`",
                    redact_url(other)
                )));
            }
            None => (sqlite_url(settings), Backend::Sqlite, 8),
        };
        let opts = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL is persistent (set at migration); these are per connection.
                        // A 64 MiB page cache (SQLite's default is 2 MiB): with less, a large
                        // transaction or a query over ~100,000 balance rows re-reads pages from
                        // the file and WAL one `pread` at a time (a bulk load of 75,000 SKUs spent
                        // most of its time there).
                        // `optimize=0x10002` refreshes the planner's statistics where they are stale
                        // (bounded by analysis_limit): without statistics SQLite picks join orders
                        // that scan every stock balance of the tenant.
                        conn.execute(
                            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA synchronous = NORMAL; \
                             PRAGMA cache_size = -65536; \
                             PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        let write_lock =
            (backend == Backend::Sqlite).then(|| std::sync::Arc::new(tokio::sync::Mutex::new(())));
        Ok(Self {
            pool,
            backend,
            write_lock,
        })
    }

    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn begin(
        &self,
    ) -> Result<
        (
            Transaction<'static, Any>,
            Option<tokio::sync::OwnedMutexGuard<()>>,
        ),
        DbError,
    > {
        let guard = match &self.write_lock {
            // Bounded like the pool's acquire: a stuck writer surfaces as an error, not a hang.
            Some(lock) => Some(
                tokio::time::timeout(Duration::from_secs(30), lock.clone().lock_owned())
                    .await
                    .map_err(|_| DbError::Sqlx(sqlx::Error::PoolTimedOut))?,
            ),
            None => None,
        };
        let tx = match self.backend {
            // Take SQLite's single write lock up front: a deferred transaction that reads and then
            // writes fails with SQLITE_BUSY_SNAPSHOT when another writer committed in between.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok((tx, guard))
    }

    /// A read-only transaction scoped to one tenant: a consistent snapshot that does not wait for
    /// writers. SQLite: a deferred `BEGIN` under WAL, outside the writer queue (writing in it could
    /// fail with `SQLITE_BUSY_SNAPSHOT`, so nothing may); PostgreSQL: `READ ONLY`, which the server
    /// enforces.
    pub(crate) async fn tenant_read_tx(&self, tenant: TenantId) -> Result<TenantTx, DbError> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN DEFERRED").await?,
            Backend::Postgres => self.pool.begin_with("BEGIN READ ONLY").await?,
        };
        self.scoped(tx, tenant, None).await
    }

    /// A transaction scoped to one tenant. Crate-private: handlers get one only from the
    /// authorisation extractor; the CLI and the login flow after resolving the tenant.
    pub(crate) async fn tenant_tx(&self, tenant: TenantId) -> Result<TenantTx, DbError> {
        let (tx, write_guard) = self.begin().await?;
        self.scoped(tx, tenant, write_guard).await
    }

    /// Scope an open transaction to a tenant (PostgreSQL: `app.tenant_id` for row-level security).
    async fn scoped(
        &self,
        mut tx: Transaction<'static, Any>,
        tenant: TenantId,
        write_guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    ) -> Result<TenantTx, DbError> {
        let tenant_s = tenant.to_string();
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                .bind(&tenant_s)
                .execute(&mut *tx)
                .await?;
        }
        Ok(TenantTx {
            tx,
            tenant,
            tenant_s,
            claim: None,
            changes: Vec::new(),
            changed_set: std::collections::HashSet::new(),
            _write_guard: write_guard,
        })
    }

    /// Create a tenant's directory row and return a transaction scoped to it, so that the tenant,
    /// its keys and its first audit event commit together or not at all.
    pub(crate) async fn new_tenant_tx(
        &self,
        name: &str,
        demo: bool,
        now_ms: i64,
    ) -> Result<TenantTx, DbError> {
        let tenant = TenantId::new();
        let mut tx = self.tenant_tx(tenant).await?;
        let (tid, conn) = tx.split();
        sqlx::query("INSERT INTO tenants (id, name, demo, created_at) VALUES ($1, $2, $3, $4)")
            .bind(tid)
            .bind(name)
            .bind(i64::from(demo))
            .bind(now_ms)
            .execute(conn)
            .await
            .map_err(|e| match DbError::from(e) {
                DbError::Conflict(_) => {
                    DbError::Conflict(format!("a tenant named `{name}` already exists"))
                }
                other => other,
            })?;
        Ok(tx)
    }

    /// Look a tenant up by name (the tenant directory is not tenant-owned).
    pub async fn find_tenant(&self, name: &str) -> Result<Option<TenantRecord>, DbError> {
        let row: Option<(String, String, i64)> =
            sqlx::query_as("SELECT id, name, demo FROM tenants WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        row.map(TenantRecord::try_from).transpose()
    }

    pub async fn list_tenants(&self) -> Result<Vec<TenantRecord>, DbError> {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT id, name, demo FROM tenants ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(TenantRecord::try_from).collect()
    }

    /// For tests and tools that must look beneath the application (e.g. to tamper on purpose).
    #[doc(hidden)]
    #[must_use]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[derive(Debug, Clone)]
pub struct TenantRecord {
    pub id: TenantId,
    pub name: String,
    pub demo: bool,
}

impl TryFrom<(String, String, i64)> for TenantRecord {
    type Error = DbError;
    fn try_from((id, name, demo): (String, String, i64)) -> Result<Self, DbError> {
        let id = id
            .parse()
            .map_err(|_| DbError::Corrupt(format!("tenant id `{id}` is not a UUID")))?;
        Ok(Self {
            id,
            name,
            demo: demo == 1,
        })
    }
}

/// A transaction that can only see one tenant's data.
pub struct TenantTx {
    tx: Transaction<'static, Any>,
    tenant: TenantId,
    tenant_s: String,
    /// An idempotency key claimed in this transaction, handed over when (and only if) it commits.
    claim: Option<(IdemSlot, crate::idempotency::Claim)>,
    /// Entities changed (`upsert`) or deleted (`delete`) in this transaction, written to the
    /// change feed at commit.
    changes: Vec<(&'static str, String, &'static str)>,
    changed_set: std::collections::HashSet<(&'static str, String)>,
    /// SQLite only: this process's turn as the writer. Declared last, so it is released only after
    /// the transaction above has been committed or rolled back.
    _write_guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

type IdemSlot = std::sync::Arc<std::sync::Mutex<Option<crate::idempotency::Claim>>>;

impl TenantTx {
    #[must_use]
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The tenant id as bound in queries.
    #[must_use]
    pub fn tid(&self) -> &str {
        &self.tenant_s
    }

    /// The tenant's name, read in this transaction.
    pub async fn tenant_name(&mut self) -> Result<String, DbError> {
        let (tid, conn) = self.split();
        let (name,): (String,) = sqlx::query_as("SELECT name FROM tenants WHERE id = $1")
            .bind(tid)
            .fetch_one(conn)
            .await?;
        Ok(name)
    }

    /// The connection, for queries. Every query must still filter by `tenant_id = tx.tid()`:
    /// row-level security on PostgreSQL is the second wall, not the first.
    pub fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    /// The tenant id string and the connection at once (both are needed in most queries).
    pub fn split(&mut self) -> (&str, &mut AnyConnection) {
        (&self.tenant_s, &mut self.tx)
    }

    /// Record that an entity (`order`, `sku`) changed: it enters the tenant's change feed, in
    /// commit order, when this transaction commits.
    pub(crate) fn changed(&mut self, entity: &'static str, id: &str) {
        // A set beside the list: a bulk load changes tens of thousands of entities in one
        // transaction, and a linear search here made it quadratic.
        if self.changed_set.insert((entity, id.to_owned())) {
            self.changes.push((entity, id.to_owned(), "upsert"));
        }
    }

    /// Record that an entity was deleted (retention): a tombstone in the change feed, so that
    /// workstations drop it from their caches.
    pub(crate) fn deleted(&mut self, entity: &'static str, id: &str) {
        self.changed_set.insert((entity, id.to_owned()));
        match self
            .changes
            .iter_mut()
            .find(|(e, i, _)| *e == entity && i == id)
        {
            Some(c) => c.2 = "delete",
            None => self.changes.push((entity, id.to_owned(), "delete")),
        }
    }

    /// Number the recorded changes and write them. The head row is updated last thing before the
    /// commit, so on PostgreSQL its row lock (which orders concurrent writers' feed entries in
    /// commit order) is held only for the commit itself.
    async fn flush_changes(&mut self) -> Result<(), DbError> {
        if self.changes.is_empty() {
            return Ok(());
        }
        let n = i64::try_from(self.changes.len()).unwrap_or(i64::MAX);
        let now = crate::time::now_ms();
        let (head,): (i64,) = sqlx::query_as(
            "INSERT INTO change_heads (tenant_id, seq) VALUES ($1, $2) \
             ON CONFLICT (tenant_id) DO UPDATE SET seq = change_heads.seq + excluded.seq RETURNING seq",
        )
        .bind(&self.tenant_s)
        .bind(n)
        .fetch_one(&mut *self.tx)
        .await?;
        for (i, (entity, id, op)) in self.changes.iter().enumerate() {
            sqlx::query(
                "INSERT INTO changes (tenant_id, seq, entity, entity_id, op, at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&self.tenant_s)
            .bind(head - n + 1 + i64::try_from(i).unwrap_or(0))
            .bind(*entity)
            .bind(id)
            .bind(*op)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    pub async fn commit(mut self) -> Result<(), DbError> {
        self.flush_changes().await?;
        self.tx.commit().await?;
        if let Some((slot, claim)) = self.claim {
            crate::idempotency::fulfil(&slot, claim);
        }
        Ok(())
    }

    pub(crate) fn on_commit_claim(&mut self, slot: IdemSlot, claim: crate::idempotency::Claim) {
        self.claim = Some((slot, claim));
    }
}

/// Apply the backend's migrations; on PostgreSQL as the owner role, then grant the application
/// role exactly what it needs (it owns nothing, and may only append to the audit log).
pub async fn migrate(settings: &Settings) -> Result<(), DbError> {
    sqlx::any::install_default_drivers();
    if settings.is_postgres() {
        let app_url = settings.database_url.clone().unwrap_or_default();
        let owner_url = settings
            .database_owner_url
            .clone()
            .unwrap_or_else(|| app_url.clone());
        let owner_opts =
            sqlx::postgres::PgConnectOptions::from_str(&owner_url)?.disable_statement_logging();
        let mut conn = sqlx::postgres::PgConnection::connect_with(&owner_opts).await?;
        POSTGRES_MIGRATIONS.run(&mut conn).await?;
        let app_opts = sqlx::postgres::PgConnectOptions::from_str(&app_url)?;
        let app_user = app_opts.get_username().to_owned();
        if app_user != owner_opts.get_username() {
            grant_app_role(&mut conn, &app_user).await?;
        }
        conn.close().await?;
    } else {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            DbError::Config(format!(
                "cannot create data directory {}: {e}",
                settings.data_dir.display()
            ))
        })?;
        let opts = sqlx::sqlite::SqliteConnectOptions::from_str(&sqlite_url(settings))?
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .foreign_keys(true)
            .disable_statement_logging();
        let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&opts).await?;
        SQLITE_MIGRATIONS.run(&mut conn).await?;
        conn.close().await?;
        restrict_permissions(&settings.sqlite_path());
    }
    Ok(())
}

async fn grant_app_role(
    conn: &mut sqlx::postgres::PgConnection,
    app_user: &str,
) -> Result<(), DbError> {
    let role = quote_ident(app_user);
    let tables: Vec<(String,)> = sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")
        .fetch_all(&mut *conn)
        .await?;
    for (table,) in tables {
        let t = quote_ident(&table);
        // Identifiers cannot be bound as parameters; both are quoted with quote_ident.
        conn.execute(format!("REVOKE ALL ON {t} FROM {role}").as_str())
            .await?;
        let grant = if table == "_sqlx_migrations" {
            continue;
        } else if APPEND_ONLY_TABLES.contains(&table.as_str()) {
            "SELECT, INSERT"
        } else if READ_ONLY_TABLES.contains(&table.as_str()) {
            "SELECT"
        } else {
            "SELECT, INSERT, UPDATE, DELETE"
        };
        conn.execute(format!("GRANT {grant} ON {t} TO {role}").as_str())
            .await?;
    }
    for f in APP_FUNCTIONS {
        // Constant signatures from this file; the role is quoted.
        conn.execute(format!("GRANT EXECUTE ON FUNCTION {f} TO {role}").as_str())
            .await?;
    }
    conn.execute(format!("GRANT USAGE ON SCHEMA public TO {role}").as_str())
        .await?;
    Ok(())
}

/// Double-quote a PostgreSQL identifier.
fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Never print a database password.
#[must_use]
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            let user = creds.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(path = %path.display(), error = %e, "cannot restrict database file permissions");
    }
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &std::path::Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://wms_app:s3cret@127.0.0.1:5432/wms"),
            "postgres://wms_app:***@127.0.0.1:5432/wms"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
