//! Order sync: for each active authorization, `searchOrders` by a stored `lastUpdatedAfter`
//! watermark (re-reading an overlap window so nothing updated during the previous pass is missed),
//! every page, merchant-fulfilled only; each order upserted in its own transaction.

use std::time::Duration;

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use wms_amazon::model::orders_v2026::{FulfilledBy, IncludedData, Order, SearchOrdersQuery};
use wms_core::ids::TenantId;

use super::authz::{self, AuthRow};
use super::orders::{self, Imported};
use crate::error::ApiError;
use crate::state::AppState;
use crate::time::{now_ms, rfc3339};

/// What one sync pass did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SyncReport {
    pub pages: u32,
    pub seen: u32,
    pub created: u32,
    pub cancelled: u32,
    /// Cancelled at Amazon after dispatch here: a supervisor must look.
    pub flagged: u32,
    pub ignored: u32,
    /// Orders that could not be imported (kept and retried; see `problems`).
    pub problems: Vec<SyncProblem>,
    pub synced_until: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncProblem {
    pub amazon_order_id: String,
    pub reason: String,
}

fn ms_of(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn at(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn included(auth: &AuthRow) -> Vec<IncludedData> {
    let mut v = vec![IncludedData::Fulfillment];
    if auth.pii_recipient {
        v.push(IncludedData::Recipient);
    }
    if auth.pii_buyer_email {
        v.push(IncludedData::Buyer);
    }
    v
}

/// One sync pass for one authorization.
pub async fn run_once(
    state: &AppState,
    tenant: TenantId,
    auth_id: &str,
) -> Result<SyncReport, ApiError> {
    let (auth, keys) = authz::load_with_keys(state, tenant, auth_id).await?;
    if !auth.is_active() {
        return Err(authz::not_active(&auth));
    }
    let client = state
        .amazon
        .client(tenant, &auth, || authz::credentials(&keys, tenant, &auth))?;
    let settings = &state.amazon.settings;
    let overlap = i64::try_from(settings.sync_overlap_secs).unwrap_or(600) * 1000;
    let after_ms = match auth.sync_watermark_ms {
        Some(w) => w - overlap,
        None => now_ms() - i64::from(settings.sync_initial_days) * 86_400_000,
    };
    let mut report = SyncReport::default();
    let mut query = SearchOrdersQuery::last_updated_after(at(after_ms));
    query.fulfilled_by = vec![FulfilledBy::Merchant];
    query.marketplace_ids = auth.marketplaces.clone();
    query.included_data = included(&auth);
    let mut upper: Option<i64> = None;
    let mut max_seen: Option<i64> = None;
    let earlier_problems = {
        let mut tx = state.db.tenant_tx(tenant).await?;
        let p = orders::problems(&mut tx, &auth.id).await?;
        tx.commit().await?;
        p
    };
    let outcome: Result<(), wms_amazon::Error> = async {
        loop {
            let page = client.search_orders(&query).await?;
            report.pages += 1;
            if let Some(b) = page.last_updated_before {
                upper = Some(upper.map_or(ms_of(b), |u| u.min(ms_of(b))));
            }
            for order in &page.orders {
                max_seen = Some(max_seen.map_or(ms_of(order.last_updated_time), |m: i64| {
                    m.max(ms_of(order.last_updated_time))
                }));
                import_one(state, tenant, &keys, &auth, order, &mut report).await;
            }
            match page.next_token() {
                Some(t) => query.pagination_token = Some(t.to_owned()),
                None => break,
            }
        }
        // Orders that could not be imported before: try again.
        for (amazon_order_id, _) in earlier_problems {
            if report
                .problems
                .iter()
                .any(|p| p.amazon_order_id == amazon_order_id)
            {
                continue;
            }
            let order = client.get_order(&amazon_order_id, &included(&auth)).await?;
            import_one(state, tenant, &keys, &auth, &order, &mut report).await;
        }
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => {
            // The next pass starts from what Amazon said this one covered (or the newest order
            // seen); the overlap re-reads the edge.
            let watermark = upper
                .or(max_seen)
                .unwrap_or_else(now_ms)
                .max(after_ms + overlap);
            report.synced_until = Some(rfc3339(watermark));
            let mut tx = state.db.tenant_tx(tenant).await?;
            authz::record_sync(&mut tx, &auth.id, Some(watermark), None).await?;
            tx.commit().await?;
            Ok(report)
        }
        Err(e) => {
            let message = e.to_string();
            if e.is_authorization_revoked() {
                tracing::warn!(authorization = %auth.id, "Amazon refused the refresh token: authorization marked revoked");
                state.amazon.forget(tenant, &auth.id);
                let mut tx = state.db.tenant_tx(tenant).await?;
                authz::revoke(&mut tx, &auth.id, "refresh token refused by Amazon").await?;
                tx.commit().await?;
            }
            let mut tx = state.db.tenant_tx(tenant).await?;
            authz::record_sync(&mut tx, &auth.id, None, Some(&message)).await?;
            tx.commit().await?;
            Err(ApiError::Rule {
                code: "amazon_sync_failed",
                message: format!("order sync stopped: {message}"),
            })
        }
    }
}

async fn import_one(
    state: &AppState,
    tenant: TenantId,
    keys: &crate::keys::TenantKeys,
    auth: &AuthRow,
    order: &Order,
    report: &mut SyncReport,
) {
    report.seen += 1;
    let result = async {
        let mut tx = state.db.tenant_tx(tenant).await?;
        let r = orders::import(&mut tx, state.db.backend(), keys, auth, order).await?;
        if let Imported::Problem(reason) = &r {
            orders::record_problem(&mut tx, &auth.id, &order.order_id, reason).await?;
        }
        tx.commit().await?;
        Ok::<_, ApiError>(r)
    }
    .await;
    match result {
        Ok(Imported::Created) => report.created += 1,
        Ok(Imported::Cancelled) => report.cancelled += 1,
        Ok(Imported::Flagged) => report.flagged += 1,
        Ok(Imported::Ignored | Imported::Unchanged) => report.ignored += 1,
        Ok(Imported::Problem(reason)) => report.problems.push(SyncProblem {
            amazon_order_id: order.order_id.clone(),
            reason,
        }),
        Err(e) => {
            tracing::warn!(order = %order.order_id, error = %e, "importing an Amazon order failed");
            report.problems.push(SyncProblem {
                amazon_order_id: order.order_id.clone(),
                reason: e.to_string(),
            });
        }
    }
}

/// Run the sync worker until the task is dropped: every `sync_interval_secs`, every active
/// authorization of every tenant.
pub async fn run(state: AppState) {
    let interval = Duration::from_secs(state.amazon.settings.sync_interval_secs.max(5));
    loop {
        if let Err(e) = pass(&state).await {
            tracing::warn!(error = %e, "order sync pass failed");
        }
        tokio::time::sleep(interval).await;
    }
}

async fn pass(state: &AppState) -> Result<(), ApiError> {
    for tenant in state.db.list_tenants().await? {
        let auths = {
            let mut tx = state.db.tenant_tx(tenant.id).await?;
            let a = authz::all(&mut tx).await?;
            tx.commit().await?;
            a
        };
        for auth in auths.into_iter().filter(AuthRow::is_active) {
            match run_once(state, tenant.id, &auth.id).await {
                Ok(r) => {
                    tracing::info!(authorization = %auth.id, seen = r.seen, created = r.created, cancelled = r.cancelled, flagged = r.flagged, problems = r.problems.len(), "order sync pass")
                }
                Err(e) => tracing::warn!(authorization = %auth.id, error = %e, "order sync failed"),
            }
        }
    }
    Ok(())
}
