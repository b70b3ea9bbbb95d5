//! Loading the station's working set into the cache.
//!
//! The sync engine consumes a [`ChangeSource`]: batches of upserts and tombstones, with a cursor.
//! The first load is a [`ListSnapshot`]: it reads the change feed's head first, then walks the
//! list endpoints (all SKUs, then whole orders by status a page at a time — from an older server,
//! the order list and each order's detail) and ends with a
//! *complete snapshot* marker — whatever the cache holds that the snapshot did not name is gone —
//! and with the head it read as the cursor. Every later sync is a [`FeedSource`]: the tenant's
//! change feed (`GET /api/v1/changes?after=CURSOR`) page by page; each changed order is fetched
//! again and kept only while it is in the station's working set (an order that was dispatched,
//! cancelled or delivered leaves the cache), a `delete` is a tombstone. Each batch is applied
//! together with its cursor in one cache transaction, so a crash or a cut connection resumes
//! from the last applied page: nothing is skipped, nothing applied twice. The next batch is read
//! from the server while the current one is written.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::api::Call;
use crate::cache::{Cache, CacheBatch};
use crate::model::{Order, OrderSummary, Sku};
use crate::outbox::ReplayReport;
use crate::session::{Session, SessionError};
use crate::station::StationError;

/// Progress, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    Started,
    Skus {
        loaded: usize,
    },
    OrdersListed {
        listed: usize,
    },
    Orders {
        loaded: usize,
        total: usize,
    },
    Removed {
        orders: usize,
        skus: usize,
    },
    /// A change-feed page applied: the cursor now stands at `cursor` of `head`.
    Feed {
        cursor: i64,
        head: i64,
    },
    Finished(SyncReport),
}

/// The meta key of the change-feed cursor (committed with the rows each page produced).
pub const FEED_CURSOR: &str = "feed_cursor";

/// A full load (snapshot) or a delta from the change feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    #[default]
    Full,
    Delta,
}

impl SyncMode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::Full => "full load",
            SyncMode::Delta => "delta",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub mode: SyncMode,
    /// Orders written to the cache (in the working set).
    pub orders: usize,
    pub skus: usize,
    /// Cached orders and SKUs deleted (gone, tombstoned, or out of the working set).
    pub removed_orders: usize,
    pub removed_skus: usize,
    /// Order details read from the server (`GET /api/v1/orders/{id}`).
    pub fetched_orders: usize,
    /// Change-feed entries read.
    pub changes: usize,
    /// The stored cursor after this sync (`None`: the server has no change feed).
    pub cursor: Option<i64>,
    /// The feed's head as last seen.
    pub head: Option<i64>,
    pub outbox: ReplayReport,
    /// The cached working set had outlived its TTL and was dropped before this (full) load.
    pub expired: bool,
    /// Orders evicted afterwards to keep the cache under its size cap.
    pub evicted_orders: usize,
}

#[derive(Debug, Clone)]
pub enum Change {
    Order(Box<Order>),
    Sku(Sku),
    OrderGone(String),
    SkuGone(String),
}

#[derive(Debug, Clone, Default)]
pub struct ChangeBatch {
    pub changes: Vec<Change>,
    /// Where to resume (a feed's cursor); `None` for a snapshot.
    pub cursor: Option<String>,
    /// With the last batch of a full snapshot: everything not named is gone.
    pub snapshot_complete: bool,
    /// Orders known to exist so far out of how many (progress only).
    pub orders_total: Option<usize>,
    /// Order details read from the server for this batch.
    pub fetched_orders: usize,
    /// Change-feed entries this batch covers.
    pub changes_read: usize,
    /// The feed's head when this batch was read.
    pub head: Option<i64>,
}

/// Where changes come from.
#[allow(async_fn_in_trait)]
pub trait ChangeSource {
    /// The next batch, or `None` when caught up.
    async fn next_batch(&mut self) -> Result<Option<ChangeBatch>, StationError>;

    /// Full load or delta (for the report).
    fn mode(&self) -> SyncMode {
        SyncMode::Full
    }
}

enum Phase {
    Skus {
        after: Option<String>,
    },
    /// Whole orders, a page at a time (`GET /api/v1/orders/views`).
    Views {
        status: usize,
        before: Option<String>,
    },
    /// A server without the views endpoint: ids from the list, then each order's detail.
    List {
        status: usize,
        before: Option<String>,
    },
    Details,
    Done,
}

/// A full snapshot from the list endpoints.
pub struct ListSnapshot<'a> {
    session: &'a Session,
    statuses: Vec<String>,
    phase: Phase,
    ids: Vec<String>,
    next_detail: usize,
    end_cursor: Option<i64>,
}

const SKU_PAGE: usize = 1000;
const ORDER_PAGE: usize = 500;
/// Whole orders per page of `GET /api/v1/orders/views`.
const VIEW_PAGE: usize = 200;
const DETAIL_BATCH: usize = 200;
/// Order details in flight at once: enough to hide the round trip, few enough not to crowd out
/// the other stations' requests on the server.
const DETAIL_CONCURRENCY: usize = 8;

/// Each order's detail (`GET /api/v1/orders/{id}`), [`DETAIL_CONCURRENCY`] at a time, in the
/// order asked; `None` for an order the server no longer has (404).
///
/// A queue of named futures rather than a stream of closures: the closures' borrowed arguments
/// made the caller's future `Send` only for one lifetime, which the desktop shell's async
/// commands (`Send` for every lifetime) cannot use.
async fn order_details(
    session: &Session,
    ids: &[String],
) -> Result<Vec<(String, Option<Order>)>, SessionError> {
    use futures_util::stream::{FuturesOrdered, StreamExt};
    let mut out = Vec::with_capacity(ids.len());
    let mut pending = ids.iter();
    let mut in_flight = FuturesOrdered::new();
    loop {
        while in_flight.len() < DETAIL_CONCURRENCY
            && let Some(id) = pending.next()
        {
            in_flight.push_back(order_detail(session, id));
        }
        match in_flight.next().await {
            Some(read) => out.push(read?),
            None => return Ok(out),
        }
    }
}

async fn order_detail(
    session: &Session,
    id: &str,
) -> Result<(String, Option<Order>), SessionError> {
    let path = format!("/api/v1/orders/{id}");
    match session
        .json::<Order, _>(|t| Call::get(path.as_str()).bearer(t))
        .await
    {
        Ok(o) => Ok((id.to_owned(), Some(o))),
        Err(SessionError::Api(e)) if e.status() == Some(404) => Ok((id.to_owned(), None)),
        Err(e) => Err(e),
    }
}

/// One page of an order listing by status, newest first, before the order id `before`.
fn status_page(path: &str, status: &str, limit: usize, before: Option<&str>) -> Call {
    let c = Call::get(path)
        .query("status", status)
        .query("limit", limit.to_string());
    match before {
        Some(b) => c.query("before", b),
        None => c,
    }
}

/// One page of the SKU list (by seller SKU, after `after`).
async fn sku_page(session: &Session, after: Option<&str>) -> Result<Vec<Sku>, SessionError> {
    session
        .json(|t| {
            let mut c = Call::get("/api/v1/skus")
                .query("limit", SKU_PAGE.to_string())
                .bearer(t);
            if let Some(a) = after {
                c = c.query("after", a);
            }
            c
        })
        .await
}

impl<'a> ListSnapshot<'a> {
    #[must_use]
    pub fn new(session: &'a Session, statuses: &[String]) -> Self {
        Self {
            session,
            statuses: statuses.to_vec(),
            phase: Phase::Skus { after: None },
            ids: Vec::new(),
            next_detail: 0,
            end_cursor: None,
        }
    }

    /// Stores `cursor` (the feed head read *before* the snapshot started) with the snapshot's
    /// last batch, so the next sync continues from the feed: anything that changed while the
    /// snapshot was being read is at most fetched again.
    #[must_use]
    pub fn ending_at(mut self, cursor: Option<i64>) -> Self {
        self.end_cursor = cursor;
        self
    }
}

impl ChangeSource for ListSnapshot<'_> {
    async fn next_batch(&mut self) -> Result<Option<ChangeBatch>, StationError> {
        loop {
            match &mut self.phase {
                Phase::Skus { after } => {
                    let page = sku_page(self.session, after.as_deref()).await?;
                    self.phase = if page.len() < SKU_PAGE {
                        Phase::Views {
                            status: 0,
                            before: None,
                        }
                    } else {
                        Phase::Skus {
                            after: page.last().map(|s| s.seller_sku.clone()),
                        }
                    };
                    if !page.is_empty() {
                        return Ok(Some(ChangeBatch {
                            changes: page.into_iter().map(Change::Sku).collect(),
                            ..ChangeBatch::default()
                        }));
                    }
                }
                Phase::Views { status, before } => {
                    let Some(st) = self.statuses.get(*status).cloned() else {
                        self.phase = Phase::Details;
                        continue;
                    };
                    let before_q = before.clone();
                    let page: Vec<Order> = match self
                        .session
                        .json(|t| {
                            status_page("/api/v1/orders/views", &st, VIEW_PAGE, before_q.as_deref())
                                .bearer(t)
                        })
                        .await
                    {
                        Ok(page) => page,
                        // An older server: list the ids, then read each order.
                        Err(SessionError::Api(e))
                            if e.status() == Some(404) && self.ids.is_empty() =>
                        {
                            self.phase = Phase::List {
                                status: 0,
                                before: None,
                            };
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    };
                    let next_status = *status + 1;
                    self.phase = match page.last() {
                        Some(last) if page.len() >= VIEW_PAGE => Phase::Views {
                            status: *status,
                            before: Some(last.id.clone()),
                        },
                        _ => Phase::Views {
                            status: next_status,
                            before: None,
                        },
                    };
                    self.ids.extend(page.iter().map(|o| o.id.clone()));
                    // Already read whole: the details phase has nothing left to fetch for these.
                    self.next_detail = self.ids.len();
                    if !page.is_empty() {
                        return Ok(Some(ChangeBatch {
                            orders_total: Some(self.ids.len()),
                            fetched_orders: page.len(),
                            changes: page
                                .into_iter()
                                .map(|o| Change::Order(Box::new(o)))
                                .collect(),
                            ..ChangeBatch::default()
                        }));
                    }
                }
                Phase::List { status, before } => {
                    let Some(st) = self.statuses.get(*status).cloned() else {
                        self.phase = Phase::Details;
                        continue;
                    };
                    let before_q = before.clone();
                    let page: Vec<OrderSummary> = self
                        .session
                        .json(|t| {
                            status_page("/api/v1/orders", &st, ORDER_PAGE, before_q.as_deref())
                                .bearer(t)
                        })
                        .await?;
                    let next_status = *status + 1;
                    let last = page.last().map(|o| o.id.clone());
                    self.ids.extend(page.iter().map(|o| o.id.clone()));
                    self.phase = if page.len() < ORDER_PAGE {
                        Phase::List {
                            status: next_status,
                            before: None,
                        }
                    } else {
                        Phase::List {
                            status: *status,
                            before: last,
                        }
                    };
                }
                Phase::Details => {
                    if self.next_detail >= self.ids.len() {
                        self.phase = Phase::Done;
                        return Ok(Some(ChangeBatch {
                            snapshot_complete: true,
                            orders_total: Some(self.ids.len()),
                            cursor: self.end_cursor.map(|c| c.to_string()),
                            head: self.end_cursor,
                            ..ChangeBatch::default()
                        }));
                    }
                    let end = (self.next_detail + DETAIL_BATCH).min(self.ids.len());
                    let changes = order_details(self.session, &self.ids[self.next_detail..end])
                        .await?
                        .into_iter()
                        .map(|(id, order)| match order {
                            Some(o) => Change::Order(Box::new(o)),
                            // Gone between the list and the detail read.
                            None => Change::OrderGone(id),
                        })
                        .collect();
                    let fetched = end - self.next_detail;
                    self.next_detail = end;
                    return Ok(Some(ChangeBatch {
                        changes,
                        orders_total: Some(self.ids.len()),
                        fetched_orders: fetched,
                        ..ChangeBatch::default()
                    }));
                }
                Phase::Done => return Ok(None),
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct FeedEntry {
    seq: i64,
    entity: String,
    id: String,
    op: String,
}

#[derive(Debug, Deserialize)]
struct FeedPage {
    changes: Vec<FeedEntry>,
    next: i64,
    head: i64,
}

/// Default change-feed page size (the server allows 1–1000).
pub const FEED_PAGE: usize = 500;

async fn feed_page(session: &Session, after: i64, limit: usize) -> Result<FeedPage, SessionError> {
    session
        .json(|t| {
            Call::get("/api/v1/changes")
                .query("after", after.to_string())
                .query("limit", limit.clamp(1, 1000).to_string())
                .bearer(t)
        })
        .await
}

/// The feed's current head (read before a full load), or `None` when the server has no change
/// feed (an older server: every sync is then a full load).
pub async fn feed_head(session: &Session) -> Result<Option<i64>, StationError> {
    match feed_page(session, 0, 1).await {
        Ok(p) => Ok(Some(p.head)),
        Err(SessionError::Api(e)) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Deltas from the tenant's change feed, page by page from a stored cursor.
pub struct FeedSource<'a> {
    session: &'a Session,
    working_set: HashSet<String>,
    after: i64,
    limit: usize,
    done: bool,
}

impl<'a> FeedSource<'a> {
    /// Changes after `cursor`, `limit` per page (1–1000); orders outside `working_set` statuses
    /// are removed from the cache.
    #[must_use]
    pub fn new(session: &'a Session, working_set: &[String], cursor: i64, limit: usize) -> Self {
        Self {
            session,
            working_set: working_set.iter().cloned().collect(),
            after: cursor,
            limit: limit.clamp(1, 1000),
            done: false,
        }
    }

    /// Where the next page starts.
    #[must_use]
    pub fn cursor(&self) -> i64 {
        self.after
    }

    /// The named SKUs, read from the SKU list (the server has no single-SKU read): the list is
    /// paged until every wanted id has been seen.
    async fn fetch_skus(&self, wanted: &HashSet<String>) -> Result<Vec<Sku>, StationError> {
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = sku_page(self.session, after.as_deref()).await?;
            let full = page.len() >= SKU_PAGE;
            after = page.last().map(|s| s.seller_sku.clone());
            found.extend(page.into_iter().filter(|s| wanted.contains(&s.id)));
            if !full || found.len() >= wanted.len() {
                return Ok(found);
            }
        }
    }
}

impl ChangeSource for FeedSource<'_> {
    fn mode(&self) -> SyncMode {
        SyncMode::Delta
    }

    async fn next_batch(&mut self) -> Result<Option<ChangeBatch>, StationError> {
        if self.done {
            return Ok(None);
        }
        let page = feed_page(self.session, self.after, self.limit).await?;
        if page.head < self.after {
            // The server's feed is behind our cursor: another database (restored, or a
            // different server behind the same address). Only a full load is trustworthy.
            return Err(StationError::FeedBehind {
                cursor: self.after,
                head: page.head,
            });
        }
        if page.changes.is_empty() {
            self.done = true;
            return Ok(None);
        }
        let read = page.changes.len();
        // The last word on each entity in this page, in feed order.
        let mut last: HashMap<(String, String), (i64, String)> = HashMap::new();
        for c in page.changes {
            last.insert((c.entity, c.id), (c.seq, c.op));
        }
        let mut entries: Vec<_> = last.into_iter().collect();
        entries.sort_by_key(|(_, (seq, _))| *seq);

        // Orders are read again (several at once) and applied in feed order with the rest.
        let to_read: Vec<String> = entries
            .iter()
            .filter(|((entity, _), (_, op))| entity == "order" && op != "delete")
            .map(|((_, id), _)| id.clone())
            .collect();
        let fetched = to_read.len();
        let mut details: HashMap<String, Option<Order>> = order_details(self.session, &to_read)
            .await?
            .into_iter()
            .collect();
        let mut changes = Vec::new();
        let mut skus_wanted = HashSet::new();
        for ((entity, id), (_, op)) in entries {
            match (entity.as_str(), op.as_str()) {
                ("order", "delete") => changes.push(Change::OrderGone(id)),
                ("order", _) => match details.remove(&id).flatten() {
                    Some(o) if self.working_set.contains(&o.status) => {
                        changes.push(Change::Order(Box::new(o)));
                    }
                    // Dispatched, cancelled, delivered, not yet released — or gone: not ours now.
                    _ => changes.push(Change::OrderGone(id)),
                },
                ("sku", "delete") => changes.push(Change::SkuGone(id)),
                ("sku", _) => {
                    skus_wanted.insert(id);
                }
                (other, _) => tracing::debug!(entity = other, "change feed: unknown entity"),
            }
        }
        if !skus_wanted.is_empty() {
            let found = self.fetch_skus(&skus_wanted).await?;
            for s in &found {
                skus_wanted.remove(&s.id);
            }
            changes.extend(found.into_iter().map(Change::Sku));
            changes.extend(skus_wanted.into_iter().map(Change::SkuGone));
        }
        self.after = page.next;
        if page.next >= page.head {
            self.done = true;
        }
        Ok(Some(ChangeBatch {
            changes,
            cursor: Some(page.next.to_string()),
            snapshot_complete: false,
            orders_total: None,
            fetched_orders: fetched,
            changes_read: read,
            head: Some(page.head),
        }))
    }
}

/// Applies a source's batches to the cache, reporting progress. Each batch — its rows, its
/// removals and its cursor — is one cache transaction.
pub async fn run(
    cache: &Cache,
    mut source: impl ChangeSource,
    progress: &mut (dyn FnMut(&SyncEvent) + Send),
) -> Result<SyncReport, StationError> {
    progress(&SyncEvent::Started);
    let mut report = SyncReport {
        mode: source.mode(),
        cursor: cache.meta(FEED_CURSOR).await?.and_then(|c| c.parse().ok()),
        ..SyncReport::default()
    };
    let mut seen_orders = HashSet::new();
    let mut seen_skus = HashSet::new();
    // Orders with an action still waiting in the outbox keep their local state until it is sent.
    let queued: HashSet<String> = cache
        .outbox_rows("pending")
        .await?
        .into_iter()
        .map(|r| r.order_id)
        .collect();
    let mut next = source.next_batch().await?;
    while let Some(batch) = next {
        let mut orders = Vec::new();
        let mut skus = Vec::new();
        let mut gone_orders = Vec::new();
        let mut gone_skus = Vec::new();
        for c in batch.changes {
            match c {
                Change::Order(o) => {
                    seen_orders.insert(o.id.clone());
                    if !queued.contains(&o.id) {
                        orders.push(*o);
                    }
                }
                Change::Sku(s) => {
                    seen_skus.insert(s.id.clone());
                    skus.push(s);
                }
                Change::OrderGone(id) => {
                    if !queued.contains(&id) {
                        gone_orders.push(id);
                    }
                }
                Change::SkuGone(id) => gone_skus.push(id),
            }
        }
        if batch.snapshot_complete {
            progress(&SyncEvent::OrdersListed {
                listed: seen_orders.len(),
            });
            gone_orders.extend(
                cache
                    .order_ids()
                    .await?
                    .into_iter()
                    .filter(|id| !seen_orders.contains(id) && !queued.contains(id)),
            );
            gone_skus.extend(
                cache
                    .sku_ids()
                    .await?
                    .into_iter()
                    .filter(|id| !seen_skus.contains(id)),
            );
        }
        let meta: Vec<(&str, &str)> = batch
            .cursor
            .as_deref()
            .map(|c| (FEED_CURSOR, c))
            .into_iter()
            .collect();
        // Written while the next batch is read (a failed write wins over what was read).
        let cache_batch = CacheBatch {
            orders: &orders,
            skus: &skus,
            gone_orders: &gone_orders,
            gone_skus: &gone_skus,
            meta: &meta,
        };
        let (applied, read) = tokio::join!(cache.apply(&cache_batch), source.next_batch());
        let (removed_orders, removed_skus) = applied?;
        next = read?;
        report.fetched_orders += batch.fetched_orders;
        report.changes += batch.changes_read;
        if !skus.is_empty() {
            report.skus += skus.len();
            progress(&SyncEvent::Skus {
                loaded: report.skus,
            });
        }
        if !orders.is_empty() {
            report.orders += orders.len();
            progress(&SyncEvent::Orders {
                loaded: report.orders,
                total: batch.orders_total.unwrap_or(report.orders),
            });
        }
        if removed_orders > 0 || removed_skus > 0 {
            report.removed_orders += removed_orders;
            report.removed_skus += removed_skus;
            progress(&SyncEvent::Removed {
                orders: removed_orders,
                skus: removed_skus,
            });
        }
        if let Some(cursor) = batch.cursor.as_deref().and_then(|c| c.parse().ok()) {
            report.cursor = Some(cursor);
            report.head = batch.head.or(Some(cursor));
            progress(&SyncEvent::Feed {
                cursor,
                head: report.head.unwrap_or(cursor),
            });
        }
    }
    progress(&SyncEvent::Finished(report.clone()));
    Ok(report)
}
