//! The encrypted local cache: SQLite (WAL, `synchronous=FULL` so a committed outbox row survives a
//! crash or power cut), schema in `migrations/cache/`.
//!
//! Every row's payload is sealed with AES-256-GCM under the installation's cache key (kept in the
//! secret store, never on disk next to the cache). The AAD binds the table and the row id, so a row
//! copied to another id or table fails to open; only ids, status and timestamps are in clear. A row
//! that fails to open is deleted and reported as [`CacheError::Tampered`] — the caller re-fetches
//! it from the server; it is never shown.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use zeroize::Zeroizing;

use crate::model::{LabelRecipient, Order, Sku};

/// Rows per multi-row statement in a sync batch (at most 4 parameters a row: far below SQLite's
/// 32,766): one statement instead of hundreds, each of which is a round trip to sqlx's SQLite
/// worker thread.
const ROWS_PER_STATEMENT: usize = 500;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;

/// The per-installation cache key (32 random bytes). Not `Clone`, not `Serialize`, zeroized on drop.
pub struct CacheKey(Zeroizing<[u8; 32]>);

impl CacheKey {
    #[must_use]
    pub fn generate() -> Self {
        Self(Zeroizing::new(rand::random()))
    }

    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = b.try_into().ok()?;
        Some(Self(Zeroizing::new(arr)))
    }

    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..]
    }
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("local cache database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("local cache schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("local cache file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The row failed authentication (edited, corrupted, or moved from another id) and was dropped.
    #[error("cached {table} row {id} failed to open (tampered or corrupt): dropped")]
    Tampered { table: &'static str, id: String },
    #[error("cache encoding: {0}")]
    Encoding(String),
}

/// Whether a write of an order may replace a local copy that has actions pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Overwrite {
    Always,
    KeepPendingLocal,
}

/// One outbox row, opened.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub seq: i64,
    /// The idempotency key.
    pub id: String,
    pub order_id: String,
    pub kind: String,
    pub state: String,
    pub created_at: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub payload: serde_json::Value,
}

/// One sync batch for [`Cache::apply`].
#[derive(Debug, Default)]
pub struct CacheBatch<'a> {
    pub orders: &'a [Order],
    pub skus: &'a [Sku],
    pub gone_orders: &'a [String],
    pub gone_skus: &'a [String],
    /// Bookkeeping written in the same transaction (the feed cursor).
    pub meta: &'a [(&'a str, &'a str)],
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheCounts {
    pub orders: i64,
    pub skus: i64,
    pub recipients: i64,
    pub outbox_pending: i64,
    pub outbox_conflicts: i64,
}

pub struct Cache {
    pool: SqlitePool,
    cipher: Aes256Gcm,
    index_key: Zeroizing<[u8; 32]>,
    path: PathBuf,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

pub(crate) fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

fn aad(table: &str, id: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(16 + table.len() + id.len());
    a.extend_from_slice(b"wms-cache/v1\0");
    a.extend_from_slice(table.as_bytes());
    a.push(0);
    a.extend_from_slice(id.as_bytes());
    a
}

impl Cache {
    /// Opens (creating if needed, mode 0600) and migrates the cache at `path`.
    pub async fn open(path: &Path, key: &CacheKey) -> Result<Self, CacheError> {
        let io = |source| CacheError::Io {
            path: path.to_path_buf(),
            source,
        };
        if !path.exists() {
            // Created here with 0600 so that SQLite's -wal / -shm files get the same mode.
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                o.mode(0o600);
            }
            o.open(path).map_err(io)?;
        }
        let url = format!("sqlite://{}", path.display());
        let opts = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("../../migrations/cache").run(&pool).await?;
        let cipher = Aes256Gcm::new_from_slice(key.as_bytes())
            .map_err(|_| CacheError::Encoding("cache key length".into()))?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
            .map_err(|_| CacheError::Encoding("cache key length".into()))?;
        mac.update(b"wms-cache/v1 barcode index");
        let index_key = Zeroizing::new(mac.finalize().into_bytes().into());
        Ok(Self {
            pool,
            cipher,
            index_key,
            path: path.to_path_buf(),
        })
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Closes the pool and deletes the database with its WAL and shared-memory files.
    pub async fn destroy(self) -> Result<(), CacheError> {
        self.pool.close().await;
        remove_files(&self.path)
    }

    fn seal(&self, table: &str, id: &str, plain: &[u8]) -> Result<Vec<u8>, CacheError> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &aad(table, id),
                },
            )
            .map_err(|_| CacheError::Encoding("seal".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    fn open_blob(&self, table: &str, id: &str, blob: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if blob.len() < 1 + NONCE_LEN + 16 || blob[0] != VERSION {
            return None;
        }
        self.cipher
            .decrypt(
                Nonce::from_slice(&blob[1..=NONCE_LEN]),
                Payload {
                    msg: &blob[1 + NONCE_LEN..],
                    aad: &aad(table, id),
                },
            )
            .ok()
            .map(Zeroizing::new)
    }

    fn seal_json<T: Serialize>(&self, table: &str, id: &str, v: &T) -> Result<Vec<u8>, CacheError> {
        let plain =
            Zeroizing::new(serde_json::to_vec(v).map_err(|e| CacheError::Encoding(e.to_string()))?);
        self.seal(table, id, &plain)
    }

    /// Opens a row's payload; on failure deletes the row and returns `Tampered`.
    async fn open_json<T: DeserializeOwned>(
        &self,
        table: &'static str,
        key_col: &str,
        id: &str,
        blob: &[u8],
    ) -> Result<T, CacheError> {
        let parsed = self
            .open_blob(table, id, blob)
            .and_then(|p| serde_json::from_slice::<T>(&p).ok());
        match parsed {
            Some(v) => Ok(v),
            None => {
                tracing::warn!(table, id, "cached row failed authentication: dropped");
                sqlx::query(&format!("DELETE FROM {table} WHERE {key_col} = ?"))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Err(CacheError::Tampered {
                    table,
                    id: id.to_owned(),
                })
            }
        }
    }

    /// Reads and opens one row's payload (`Tampered` drops the row).
    async fn fetch<T: DeserializeOwned>(
        &self,
        table: &'static str,
        key_col: &str,
        id: &str,
    ) -> Result<Option<T>, CacheError> {
        let blob: Option<Vec<u8>> =
            sqlx::query_scalar(&format!("SELECT payload FROM {table} WHERE {key_col} = ?"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        match blob {
            None => Ok(None),
            Some(b) => self.open_json(table, key_col, id, &b).await.map(Some),
        }
    }

    // ------------------------------------------------------------------ orders

    /// Stores the server's copy of an order (see [`Cache::put_orders`]).
    pub async fn put_order(&self, o: &Order) -> Result<(), CacheError> {
        self.put_orders(std::slice::from_ref(o)).await
    }

    /// Upserts the server's copies of many orders in one transaction (one fsync). An order with
    /// an action still pending in the outbox keeps its local copy: the server has not seen that
    /// action yet, and its copy would un-count a scan the packer already made here.
    pub async fn put_orders(&self, orders: &[Order]) -> Result<(), CacheError> {
        let mut tx = self.pool.begin().await?;
        self.upsert_orders(&mut tx, orders, Overwrite::KeepPendingLocal)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Stores this station's own view of an order (an action recorded here), over any copy.
    pub async fn put_local_order(&self, o: &Order) -> Result<(), CacheError> {
        let mut tx = self.pool.begin().await?;
        self.upsert_orders(&mut tx, std::slice::from_ref(o), Overwrite::Always)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn upsert_orders(
        &self,
        conn: &mut SqliteConnection,
        orders: &[Order],
        overwrite: Overwrite,
    ) -> Result<(), CacheError> {
        let now = now_ms();
        for chunk in orders.chunks(ROWS_PER_STATEMENT) {
            let sealed = chunk
                .iter()
                .map(|o| {
                    let tag = self.order_tag(&o.external_id)?;
                    Ok((o, self.seal_json("orders", &o.id, o)?, tag))
                })
                .collect::<Result<Vec<_>, CacheError>>()?;
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO orders (id, status, updated_at, payload, ext_tag) ",
            );
            q.push_values(&sealed, |mut row, (o, payload, tag)| {
                row.push_bind(&o.id)
                    .push_bind(&o.status)
                    .push_bind(now)
                    .push_bind(payload)
                    .push_bind(tag);
            });
            q.push(
                " ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, \
                 payload = excluded.payload, ext_tag = excluded.ext_tag",
            );
            if overwrite == Overwrite::KeepPendingLocal {
                q.push(
                    " WHERE orders.id NOT IN (SELECT order_id FROM outbox WHERE state = 'pending')",
                );
            }
            q.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    pub async fn order(&self, id: &str) -> Result<Option<Order>, CacheError> {
        self.fetch("orders", "id", id).await
    }

    /// The blind-index tag of a channel order id (domain-separated from barcode tags).
    fn order_tag(&self, external_id: &str) -> Result<Vec<u8>, CacheError> {
        self.blind_tag(b"order-external-id\0", external_id)
    }

    /// HMAC-SHA256 under the index key of `domain` + the trimmed value: a blind-index tag.
    fn blind_tag(&self, domain: &[u8], value: &str) -> Result<Vec<u8>, CacheError> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key[..])
            .map_err(|_| CacheError::Encoding("index key".into()))?;
        mac.update(domain);
        mac.update(value.trim().as_bytes());
        Ok(mac.finalize().into_bytes().to_vec())
    }

    /// The id of the cached order whose channel order id is `external_id`: an index lookup; only
    /// rows cached before the index existed are opened to compare.
    pub async fn order_id_by_external(
        &self,
        external_id: &str,
    ) -> Result<Option<String>, CacheError> {
        let tag = self.order_tag(external_id)?;
        // Tag matches first; a match is confirmed by opening the row. Then the untagged rows.
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM orders WHERE ext_tag = ? OR ext_tag IS NULL ORDER BY ext_tag IS NULL, id",
        )
        .bind(&tag)
        .fetch_all(&self.pool)
        .await?;
        for id in ids {
            if let Ok(Some(o)) = self.order(&id).await
                && o.external_id == external_id.trim()
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    pub async fn order_ids(&self) -> Result<Vec<String>, CacheError> {
        Ok(sqlx::query_scalar("SELECT id FROM orders ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Removes orders (and their cached recipients).
    pub async fn remove_orders(&self, ids: &[String]) -> Result<(), CacheError> {
        let mut tx = self.pool.begin().await?;
        delete_orders(&mut tx, ids).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies one sync batch — upserts, removals and bookkeeping (the change-feed cursor) — in a
    /// single transaction: a crash leaves either all of it or none, so the stored cursor never
    /// runs ahead of the rows it produced. Returns how many cached orders and SKUs were removed.
    pub async fn apply(&self, batch: &CacheBatch<'_>) -> Result<(usize, usize), CacheError> {
        let mut tx = self.pool.begin().await?;
        self.upsert_orders(&mut tx, batch.orders, Overwrite::KeepPendingLocal)
            .await?;
        self.upsert_skus(&mut tx, batch.skus).await?;
        let removed_orders = delete_orders(&mut tx, batch.gone_orders).await?;
        let removed_skus = delete_skus(&mut tx, batch.gone_skus).await?;
        for &(k, v) in batch.meta {
            sqlx::query("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)")
                .bind(k)
                .bind(v)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok((removed_orders, removed_skus))
    }

    /// Local status change: re-sealed with the new status.
    pub async fn set_order_status(&self, id: &str, status: &str) -> Result<(), CacheError> {
        if let Some(mut o) = self.order(id).await? {
            status.clone_into(&mut o.status);
            self.put_local_order(&o).await?;
        }
        Ok(())
    }

    // ------------------------------------------------------------------ recipients

    pub async fn put_recipient(
        &self,
        order_id: &str,
        r: &LabelRecipient,
    ) -> Result<(), CacheError> {
        let payload = self.seal_json("recipients", order_id, r)?;
        sqlx::query(
            "INSERT INTO recipients (order_id, updated_at, payload) VALUES (?, ?, ?) \
             ON CONFLICT (order_id) DO UPDATE SET updated_at = excluded.updated_at, payload = excluded.payload",
        )
        .bind(order_id)
        .bind(now_ms())
        .bind(payload)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn recipient(&self, order_id: &str) -> Result<Option<LabelRecipient>, CacheError> {
        self.fetch("recipients", "order_id", order_id).await
    }

    pub async fn delete_recipient(&self, order_id: &str) -> Result<(), CacheError> {
        sqlx::query("DELETE FROM recipients WHERE order_id = ?")
            .bind(order_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ------------------------------------------------------------------ SKUs

    /// Barcode tags carry no domain prefix (tags already cached stay valid).
    fn barcode_tag(&self, code: &str) -> Result<Vec<u8>, CacheError> {
        self.blind_tag(b"", code)
    }

    /// Upserts SKUs and their barcode index entries in one transaction.
    pub async fn put_skus(&self, skus: &[Sku]) -> Result<(), CacheError> {
        let mut tx = self.pool.begin().await?;
        self.upsert_skus(&mut tx, skus).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn upsert_skus(
        &self,
        conn: &mut SqliteConnection,
        skus: &[Sku],
    ) -> Result<(), CacheError> {
        let now = now_ms();
        for chunk in skus.chunks(ROWS_PER_STATEMENT) {
            let sealed = chunk
                .iter()
                .map(|s| Ok((s, self.seal_json("skus", &s.id, s)?)))
                .collect::<Result<Vec<_>, CacheError>>()?;
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO skus (id, updated_at, payload) ");
            q.push_values(&sealed, |mut row, (s, payload)| {
                row.push_bind(&s.id).push_bind(now).push_bind(payload);
            });
            q.push(
                " ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, payload = excluded.payload",
            );
            q.build().execute(&mut *conn).await?;
            // The barcode index: each SKU's entries replaced by its current codes.
            let ids: Vec<&str> = chunk.iter().map(|s| s.id.as_str()).collect();
            delete_in(conn, "barcodes", "sku_id", &ids).await?;
            let mut tags = Vec::with_capacity(chunk.len() * 2);
            for s in chunk {
                let codes = s
                    .barcodes
                    .iter()
                    .map(|b| b.code.as_str())
                    .chain(std::iter::once(s.seller_sku.as_str()));
                for code in codes {
                    tags.push((self.barcode_tag(code)?, s.id.as_str()));
                }
            }
            for part in tags.chunks(ROWS_PER_STATEMENT) {
                let mut q =
                    QueryBuilder::<Sqlite>::new("INSERT OR REPLACE INTO barcodes (tag, sku_id) ");
                q.push_values(part, |mut row, (tag, id)| {
                    row.push_bind(tag).push_bind(*id);
                });
                q.build().execute(&mut *conn).await?;
            }
        }
        Ok(())
    }

    pub async fn sku(&self, id: &str) -> Result<Option<Sku>, CacheError> {
        self.fetch("skus", "id", id).await
    }

    /// The SKU a scanned barcode (or seller SKU) names.
    pub async fn sku_by_barcode(&self, code: &str) -> Result<Option<Sku>, CacheError> {
        let id: Option<String> = sqlx::query_scalar("SELECT sku_id FROM barcodes WHERE tag = ?")
            .bind(self.barcode_tag(code)?)
            .fetch_optional(&self.pool)
            .await?;
        match id {
            None => Ok(None),
            Some(id) => self.sku(&id).await,
        }
    }

    pub async fn sku_ids(&self) -> Result<Vec<String>, CacheError> {
        Ok(sqlx::query_scalar("SELECT id FROM skus ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn remove_skus(&self, ids: &[String]) -> Result<(), CacheError> {
        let mut tx = self.pool.begin().await?;
        delete_skus(&mut tx, ids).await?;
        tx.commit().await?;
        Ok(())
    }

    // ------------------------------------------------------------------ meta

    pub async fn set_meta(&self, k: &str, v: &str) -> Result<(), CacheError> {
        sqlx::query("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)")
            .bind(k)
            .bind(v)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_meta(&self, k: &str) -> Result<(), CacheError> {
        sqlx::query("DELETE FROM meta WHERE k = ?")
            .bind(k)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn meta(&self, k: &str) -> Result<Option<String>, CacheError> {
        Ok(sqlx::query_scalar("SELECT v FROM meta WHERE k = ?")
            .bind(k)
            .fetch_optional(&self.pool)
            .await?)
    }

    // ------------------------------------------------------------------ outbox

    /// Appends an action; committed (and fsynced, `synchronous=FULL`) before this returns.
    pub async fn outbox_push(
        &self,
        id: &str,
        order_id: &str,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Result<i64, CacheError> {
        let mut tx = self.pool.begin().await?;
        let seq = self
            .insert_outbox(&mut tx, id, order_id, kind, payload)
            .await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Appends an action together with the order as it stands after it, in one transaction: a
    /// crash leaves both or neither, so a scan recorded here is never counted twice (a row
    /// without its effect on the cached order would let the packer scan the item again).
    pub async fn outbox_push_with_order(
        &self,
        id: &str,
        kind: &str,
        payload: &serde_json::Value,
        order: &Order,
    ) -> Result<i64, CacheError> {
        let mut tx = self.pool.begin().await?;
        let seq = self
            .insert_outbox(&mut tx, id, &order.id, kind, payload)
            .await?;
        self.upsert_orders(&mut tx, std::slice::from_ref(order), Overwrite::Always)
            .await?;
        tx.commit().await?;
        Ok(seq)
    }

    async fn insert_outbox(
        &self,
        conn: &mut SqliteConnection,
        id: &str,
        order_id: &str,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Result<i64, CacheError> {
        let sealed = self.seal_json("outbox", id, payload)?;
        Ok(sqlx::query_scalar(
            "INSERT INTO outbox (id, order_id, kind, state, created_at, payload) VALUES (?, ?, ?, 'pending', ?, ?) RETURNING seq",
        )
        .bind(id)
        .bind(order_id)
        .bind(kind)
        .bind(now_ms())
        .bind(sealed)
        .fetch_one(&mut *conn)
        .await?)
    }

    /// Whether an action recorded for this order is still waiting for the server.
    pub async fn outbox_pending_for(&self, order_id: &str) -> Result<bool, CacheError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE order_id = ? AND state = 'pending')",
        )
        .bind(order_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Orders with an action the server refused (or that was set aside): their later actions
    /// must not be sent on that broken base.
    pub async fn outbox_conflict_orders(
        &self,
    ) -> Result<std::collections::HashSet<String>, CacheError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT order_id FROM outbox WHERE state = 'conflict'")
                .fetch_all(&self.pool)
                .await?;
        Ok(ids.into_iter().collect())
    }

    /// Rows in `state`, oldest first. A row that fails to open is NOT dropped (it is a physical
    /// fact the station recorded): it is moved to `conflict` with code `tampered` for a supervisor.
    pub async fn outbox_rows(&self, state: &str) -> Result<Vec<OutboxRow>, CacheError> {
        let rows = sqlx::query(
            "SELECT seq, id, order_id, kind, state, created_at, attempts, last_error, payload FROM outbox WHERE state = ? ORDER BY seq",
        )
        .bind(state)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.try_get(1)?;
            let blob: Vec<u8> = r.try_get(8)?;
            let payload = self
                .open_blob("outbox", &id, &blob)
                .and_then(|p| serde_json::from_slice(&p).ok());
            let Some(payload) = payload else {
                tracing::warn!(
                    id,
                    "outbox row failed authentication: set aside as a conflict"
                );
                self.outbox_mark(&id, "conflict", Some("tampered")).await?;
                continue;
            };
            out.push(OutboxRow {
                seq: r.try_get(0)?,
                id,
                order_id: r.try_get(2)?,
                kind: r.try_get(3)?,
                state: r.try_get(4)?,
                created_at: r.try_get(5)?,
                attempts: r.try_get(6)?,
                last_error: r.try_get(7)?,
                payload,
            });
        }
        Ok(out)
    }

    /// `done` deletes the row; other states keep it with the error code.
    pub async fn outbox_mark(
        &self,
        id: &str,
        state: &str,
        error_code: Option<&str>,
    ) -> Result<(), CacheError> {
        if state == "done" {
            sqlx::query("DELETE FROM outbox WHERE id = ?")
                .bind(id)
                .execute(&self.pool)
                .await?;
        } else {
            sqlx::query(
                "UPDATE outbox SET state = ?, last_error = ?, attempts = attempts + 1 WHERE id = ?",
            )
            .bind(state)
            .bind(error_code)
            .bind(id)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    pub async fn counts(&self) -> Result<CacheCounts, CacheError> {
        let one = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(&self.pool);
        Ok(CacheCounts {
            orders: one("SELECT COUNT(*) FROM orders").await?,
            skus: one("SELECT COUNT(*) FROM skus").await?,
            recipients: one("SELECT COUNT(*) FROM recipients").await?,
            outbox_pending: one("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").await?,
            outbox_conflicts: one("SELECT COUNT(*) FROM outbox WHERE state = 'conflict'").await?,
        })
    }

    // ------------------------------------------------------------------ limits

    /// Bytes the cache's rows take: the pages in use (freed pages are reused, and the file
    /// itself only shrinks on `VACUUM`).
    pub async fn used_bytes(&self) -> Result<u64, CacheError> {
        let (pages, free, size): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT page_count FROM pragma_page_count()), \
                    (SELECT freelist_count FROM pragma_freelist_count()), \
                    (SELECT page_size FROM pragma_page_size())",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from((pages - free).max(0) * size).unwrap_or(0))
    }

    /// Evicts the least recently written orders (with their recipients) until the rows take at
    /// most `target` bytes. An order with an action in the outbox is never evicted. Returns how
    /// many orders went.
    pub async fn evict_orders_to(&self, target: u64) -> Result<usize, CacheError> {
        let mut evicted = 0;
        while self.used_bytes().await? > target {
            // A tenth of the cached orders at a time (1–500), then measure again.
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders")
                .fetch_one(&self.pool)
                .await?;
            let ids: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM orders WHERE id NOT IN (SELECT order_id FROM outbox) \
                 ORDER BY updated_at, id LIMIT ?",
            )
            .bind((count / 10).clamp(1, 500))
            .fetch_all(&self.pool)
            .await?;
            if ids.is_empty() {
                break;
            }
            let mut tx = self.pool.begin().await?;
            evicted += delete_orders(&mut tx, &ids).await?;
            tx.commit().await?;
        }
        Ok(evicted)
    }

    /// Drops the cached working set — orders, recipients, SKUs and their barcode index, and the
    /// feed cursor, so the next sync is a full load — keeping the orders (and recipients) that
    /// have an action in the outbox. Returns (orders, SKUs) dropped.
    pub async fn expire_working_set(&self, cursor_key: &str) -> Result<(usize, usize), CacheError> {
        let mut tx = self.pool.begin().await?;
        let keep = "SELECT order_id FROM outbox";
        sqlx::query(&format!(
            "DELETE FROM recipients WHERE order_id NOT IN ({keep})"
        ))
        .execute(&mut *tx)
        .await?;
        let orders = sqlx::query(&format!("DELETE FROM orders WHERE id NOT IN ({keep})"))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM barcodes")
            .execute(&mut *tx)
            .await?;
        let skus = sqlx::query("DELETE FROM skus")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM meta WHERE k = ?")
            .bind(cursor_key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((
            usize::try_from(orders).unwrap_or(usize::MAX),
            usize::try_from(skus).unwrap_or(usize::MAX),
        ))
    }

    /// Deletes cached recipients written before `cutoff_ms` (a label needing one reads it from
    /// the server again, audited there), except for orders with an action in the outbox.
    /// Returns how many.
    pub async fn purge_recipients_before(&self, cutoff_ms: i64) -> Result<usize, CacheError> {
        let n = sqlx::query(
            "DELETE FROM recipients WHERE updated_at < ? AND order_id NOT IN (SELECT order_id FROM outbox)",
        )
            .bind(cutoff_ms)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// Bytes on disk: the database plus its WAL.
    #[must_use]
    pub fn size_on_disk(&self) -> u64 {
        sibling_files(&self.path)
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// For tests and diagnostics: the raw sealed payload of a row.
    pub async fn raw_payload(&self, table: &str, id: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let key_col = if table == "recipients" {
            "order_id"
        } else {
            "id"
        };
        Ok(sqlx::query_scalar(&format!(
            "SELECT payload FROM {} WHERE {key_col} = ?",
            table_name(table)?
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// For tests and diagnostics: overwrite a row's raw payload (as an attacker with file access).
    pub async fn write_raw_payload(
        &self,
        table: &str,
        id: &str,
        payload: &[u8],
    ) -> Result<(), CacheError> {
        let key_col = if table == "recipients" {
            "order_id"
        } else {
            "id"
        };
        sqlx::query(&format!(
            "UPDATE {} SET payload = ? WHERE {key_col} = ?",
            table_name(table)?
        ))
        .bind(payload)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Checkpoints the WAL into the main file (so a scan of the database file sees every row).
    pub async fn checkpoint(&self) -> Result<(), CacheError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Deletes rows of `table` by id, with their entries in `side` (keyed by `side_col`); returns how
/// many rows of `table` were there. Table and column names are this module's constants.
async fn delete_with_side(
    conn: &mut SqliteConnection,
    ids: &[String],
    table: &'static str,
    side: &'static str,
    side_col: &'static str,
) -> Result<usize, CacheError> {
    let n = delete_in(conn, table, "id", ids).await?;
    delete_in(conn, side, side_col, ids).await?;
    Ok(n)
}

/// `DELETE FROM table WHERE col IN (…)`, [`ROWS_PER_STATEMENT`] ids a statement; rows deleted.
async fn delete_in(
    conn: &mut SqliteConnection,
    table: &'static str,
    col: &'static str,
    ids: &[impl AsRef<str>],
) -> Result<usize, CacheError> {
    let mut n = 0u64;
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::<Sqlite>::new(format!("DELETE FROM {table} WHERE {col} IN ("));
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(id.as_ref());
        }
        q.push(")");
        n += q.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Deletes orders and their recipients; returns how many orders were there.
async fn delete_orders(conn: &mut SqliteConnection, ids: &[String]) -> Result<usize, CacheError> {
    delete_with_side(conn, ids, "orders", "recipients", "order_id").await
}

/// Deletes SKUs and their barcode index entries; returns how many SKUs were there.
async fn delete_skus(conn: &mut SqliteConnection, ids: &[String]) -> Result<usize, CacheError> {
    delete_with_side(conn, ids, "skus", "barcodes", "sku_id").await
}

fn table_name(t: &str) -> Result<&'static str, CacheError> {
    match t {
        "orders" => Ok("orders"),
        "skus" => Ok("skus"),
        "recipients" => Ok("recipients"),
        "outbox" => Ok("outbox"),
        other => Err(CacheError::Encoding(format!("no table {other}"))),
    }
}

fn sibling_files(path: &Path) -> Vec<PathBuf> {
    let mut v = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        v.push(PathBuf::from(p));
    }
    v
}

/// Deletes a cache database and its side files (missing files are fine).
pub fn remove_files(path: &Path) -> Result<(), CacheError> {
    for p in sibling_files(path) {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(CacheError::Io { path: p, source }),
        }
    }
    Ok(())
}
