//! Loading the station's working set into the cache.
//!
//! The sync engine consumes a [`ChangeSource`]: batches of upserts and tombstones, with a cursor.
//! Today's source, [`ListSnapshot`], walks the existing list endpoints (orders by status with
//! paging, each order's detail, all SKUs) and ends with a *complete snapshot* marker, so whatever
//! the cache holds that the snapshot did not name is treated as a tombstone. When the server grows
//! a change feed per tenant and warehouse (with tombstones and a cursor), a `FeedSource` yields
//! the same batches with explicit tombstones and `snapshot_complete: false`, the engine stores its
//! cursor in `meta`, and nothing else here changes.

use std::collections::HashSet;

use serde::Serialize;

use crate::api::Call;
use crate::cache::Cache;
use crate::model::{Order, OrderSummary, Sku};
use crate::outbox::ReplayReport;
use crate::session::Session;
use crate::station::StationError;

/// Progress, for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    Started,
    Skus { loaded: usize },
    OrdersListed { listed: usize },
    Orders { loaded: usize, total: usize },
    Removed { orders: usize, skus: usize },
    Finished(SyncReport),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub orders: usize,
    pub skus: usize,
    pub removed_orders: usize,
    pub removed_skus: usize,
    pub outbox: ReplayReport,
}

#[derive(Debug, Clone)]
pub enum Change {
    Order(Order),
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
}

/// Where changes come from.
#[allow(async_fn_in_trait)]
pub trait ChangeSource {
    /// The next batch, or `None` when caught up.
    async fn next_batch(&mut self) -> Result<Option<ChangeBatch>, StationError>;
}

enum Phase {
    Skus {
        after: Option<String>,
    },
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
}

const SKU_PAGE: usize = 1000;
const ORDER_PAGE: usize = 500;
const DETAIL_BATCH: usize = 50;

impl<'a> ListSnapshot<'a> {
    #[must_use]
    pub fn new(session: &'a Session, statuses: &[String]) -> Self {
        Self {
            session,
            statuses: statuses.to_vec(),
            phase: Phase::Skus { after: None },
            ids: Vec::new(),
            next_detail: 0,
        }
    }
}

impl ChangeSource for ListSnapshot<'_> {
    async fn next_batch(&mut self) -> Result<Option<ChangeBatch>, StationError> {
        loop {
            match &mut self.phase {
                Phase::Skus { after } => {
                    let after_q = after.clone();
                    let page: Vec<Sku> = self
                        .session
                        .json(|t| {
                            let mut c = Call::get("/api/v1/skus")
                                .query("limit", SKU_PAGE.to_string())
                                .bearer(t);
                            if let Some(a) = &after_q {
                                c = c.query("after", a.clone());
                            }
                            c
                        })
                        .await?;
                    self.phase = if page.len() < SKU_PAGE {
                        Phase::List {
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
                Phase::List { status, before } => {
                    let Some(st) = self.statuses.get(*status).cloned() else {
                        self.phase = Phase::Details;
                        continue;
                    };
                    let before_q = before.clone();
                    let page: Vec<OrderSummary> = self
                        .session
                        .json(|t| {
                            let mut c = Call::get("/api/v1/orders")
                                .query("status", st.clone())
                                .query("limit", ORDER_PAGE.to_string())
                                .bearer(t);
                            if let Some(b) = &before_q {
                                c = c.query("before", b.clone());
                            }
                            c
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
                            ..ChangeBatch::default()
                        }));
                    }
                    let end = (self.next_detail + DETAIL_BATCH).min(self.ids.len());
                    let mut changes = Vec::with_capacity(end - self.next_detail);
                    for id in &self.ids[self.next_detail..end] {
                        let path = format!("/api/v1/orders/{id}");
                        match self
                            .session
                            .json::<Order, _>(|t| Call::get(path.as_str()).bearer(t))
                            .await
                        {
                            Ok(o) => changes.push(Change::Order(o)),
                            // Gone between the list and the detail read.
                            Err(crate::session::SessionError::Api(e))
                                if e.status() == Some(404) =>
                            {
                                changes.push(Change::OrderGone(id.clone()));
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                    self.next_detail = end;
                    return Ok(Some(ChangeBatch {
                        changes,
                        orders_total: Some(self.ids.len()),
                        ..ChangeBatch::default()
                    }));
                }
                Phase::Done => return Ok(None),
            }
        }
    }
}

/// Applies a source's batches to the cache, reporting progress.
pub async fn run(
    cache: &Cache,
    mut source: impl ChangeSource,
    progress: &mut (dyn FnMut(&SyncEvent) + Send),
) -> Result<SyncReport, StationError> {
    progress(&SyncEvent::Started);
    let mut report = SyncReport::default();
    let mut seen_orders = HashSet::new();
    let mut seen_skus = HashSet::new();
    // Orders with an action still waiting in the outbox keep their local state until it is sent.
    let queued: HashSet<String> = cache
        .outbox_rows("pending")
        .await?
        .into_iter()
        .map(|r| r.order_id)
        .collect();
    while let Some(batch) = source.next_batch().await? {
        let mut orders = Vec::new();
        let mut skus = Vec::new();
        let mut gone_orders = Vec::new();
        let mut gone_skus = Vec::new();
        for c in batch.changes {
            match c {
                Change::Order(o) => {
                    seen_orders.insert(o.id.clone());
                    if !queued.contains(&o.id) {
                        orders.push(o);
                    }
                }
                Change::Sku(s) => {
                    seen_skus.insert(s.id.clone());
                    skus.push(s);
                }
                Change::OrderGone(id) => gone_orders.push(id),
                Change::SkuGone(id) => gone_skus.push(id),
            }
        }
        if !skus.is_empty() {
            cache.put_skus(&skus).await?;
            report.skus += skus.len();
            progress(&SyncEvent::Skus {
                loaded: report.skus,
            });
        }
        if !orders.is_empty() {
            cache.put_orders(&orders).await?;
            report.orders += orders.len();
            progress(&SyncEvent::Orders {
                loaded: report.orders,
                total: batch.orders_total.unwrap_or(report.orders),
            });
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
        if !gone_orders.is_empty() || !gone_skus.is_empty() {
            cache.remove_orders(&gone_orders).await?;
            cache.remove_skus(&gone_skus).await?;
            report.removed_orders += gone_orders.len();
            report.removed_skus += gone_skus.len();
            progress(&SyncEvent::Removed {
                orders: gone_orders.len(),
                skus: gone_skus.len(),
            });
        }
        if let Some(cursor) = batch.cursor {
            cache.set_meta("sync_cursor", &cursor).await?;
        }
    }
    progress(&SyncEvent::Finished(report.clone()));
    Ok(report)
}
