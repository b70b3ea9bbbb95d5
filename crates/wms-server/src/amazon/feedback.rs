//! Shipment feedback: the transactional outbox and its worker.
//!
//! Dispatch writes one `amazon_feedback` row per package in the dispatch transaction, so an
//! acknowledged dispatch always has its confirmation queued. The worker claims due rows (status
//! `sent` with a lease, committed *before* the call), calls `confirmShipment`, and records the outcome.
//! After a crash between the call and the record, the lease expires and the row is sent again with
//! the same `packageReferenceId`: at Amazon that edits the same package, so the effect happens once.
//! An "already fulfilled / package not found" answer is checked against `getOrder` (PACKAGES): if
//! Amazon already has our tracking number, it counts as confirmed.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;
use wms_amazon::model::orders_v0::{
    ConfirmShipmentOrderItem, ConfirmShipmentRequest, PackageDetail, ShipDate,
};
use wms_amazon::model::orders_v2026::IncludedData;
use wms_core::fulfilment::{FeedbackEvent, FeedbackStatus};
use wms_core::ids::TenantId;

use super::AmazonRuntime;
use super::authz::{self, AuthRow};
use crate::db::TenantTx;
use crate::error::ApiError;
use crate::state::AppState;
use crate::time::now_ms;
use crate::warehouse::orders::{self, AmazonOrderInfo, PackageView};
use crate::warehouse::{rule, state as state_err};

/// Queue the confirmations of a dispatched Amazon order (called inside the dispatch transaction).
/// Refuses (and so refuses the dispatch) when Amazon could not be told: a package without carrier
/// and tracking number, or a multi-package order whose packages do not say what they hold.
pub async fn enqueue(
    tx: &mut TenantTx,
    amazon: &AmazonRuntime,
    order_id: &str,
    info: &AmazonOrderInfo,
    ship_ms: i64,
) -> Result<(), ApiError> {
    let lines: Vec<(i64, i64, Option<String>)> = {
        let (tid, conn) = tx.split();
        sqlx::query_as(
            "SELECT line_no, quantity, marketplace_item_id FROM order_lines WHERE tenant_id = $1 AND order_id = $2 ORDER BY line_no",
        )
        .bind(tid)
        .bind(order_id)
        .fetch_all(conn)
        .await?
    };
    let packages = orders::packages_of(tx, order_id).await?;
    let ship_date = ShipDate::from_datetime(
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ship_ms) * 1_000_000)
            .map_err(ApiError::internal)?,
    );
    let tracked = packages
        .iter()
        .map(|p| match (&p.carrier, &p.tracking_number) {
            (Some(carrier), Some(tracking)) => Ok((p.seq, carrier, tracking)),
            _ => Err(rule(
                "package_without_tracking",
                format!(
                    "package {} has no carrier and tracking number: Amazon needs them for the shipment confirmation",
                    p.seq
                ),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let contents = package_contents(&lines, &packages)?;
    let now = now_ms();
    for (seq, carrier, tracking) in tracked {
        let (carrier_code, carrier_name) = match amazon.carrier_code(&info.marketplace_id, carrier)
        {
            Some(code) => (code, None),
            None => ("Other".to_owned(), Some(carrier.clone())),
        };
        let items = contents.get(&seq).cloned().unwrap_or_default();
        let request = ConfirmShipmentRequest {
            package_detail: PackageDetail {
                package_reference_id: seq.to_string(),
                carrier_code,
                carrier_name,
                shipping_method: None,
                tracking_number: tracking.clone(),
                ship_date: ship_date.clone(),
                ship_from_supply_source_id: None,
                order_items: items,
            },
            cod_collection_method: None,
            marketplace_id: info.marketplace_id.clone(),
        };
        request
            .package_detail
            .validate()
            .map_err(|m| rule("invalid_shipment_confirmation", m))?;
        let json = serde_json::to_string(&request).map_err(ApiError::internal)?;
        let (tid, conn) = tx.split();
        sqlx::query(
            "INSERT INTO amazon_feedback (tenant_id, order_id, package_seq, authorization_id, amazon_order_id, request_json, status, next_attempt_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $7)",
        )
        .bind(tid)
        .bind(order_id)
        .bind(seq)
        .bind(&info.authorization_id)
        .bind(&info.amazon_order_id)
        .bind(json)
        .bind(now)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Which Amazon order items (and how many) each package carries. One package: everything. Several:
/// each package must list its items, and together they must cover every line exactly.
fn package_contents(
    lines: &[(i64, i64, Option<String>)],
    packages: &[PackageView],
) -> Result<BTreeMap<i64, Vec<ConfirmShipmentOrderItem>>, ApiError> {
    let item_id = |line_no: i64| -> Result<String, ApiError> {
        lines
            .iter()
            .find(|l| l.0 == line_no)
            .and_then(|l| l.2.clone())
            .ok_or_else(|| {
                rule(
                    "line_without_order_item",
                    format!("line {line_no} has no Amazon order item id"),
                )
            })
    };
    let qty =
        |q: i64| u32::try_from(q).map_err(|_| ApiError::Validation("quantity out of range".into()));
    let mut out = BTreeMap::new();
    if let [only] = packages
        && only.items.is_empty()
    {
        let mut items = Vec::new();
        for l in lines {
            items.push(ConfirmShipmentOrderItem {
                order_item_id: item_id(l.0)?,
                quantity: qty(l.1)?,
                transparency_codes: None,
            });
        }
        out.insert(only.seq, items);
        return Ok(out);
    }
    let mut covered: BTreeMap<i64, i64> = BTreeMap::new();
    for p in packages {
        if p.items.is_empty() {
            return Err(rule(
                "package_contents_missing",
                format!(
                    "this Amazon order ships in {} packages: say which items package {} holds",
                    packages.len(),
                    p.seq
                ),
            ));
        }
        let mut items = Vec::new();
        for i in &p.items {
            *covered.entry(i.line_no).or_default() += i.quantity;
            items.push(ConfirmShipmentOrderItem {
                order_item_id: item_id(i.line_no)?,
                quantity: qty(i.quantity)?,
                transparency_codes: None,
            });
        }
        out.insert(p.seq, items);
    }
    for l in lines {
        let c = covered.get(&l.0).copied().unwrap_or(0);
        if c != l.1 {
            return Err(rule(
                "package_contents_incomplete",
                format!("line {} has {} units but the packages hold {c}", l.0, l.1),
            ));
        }
    }
    Ok(out)
}

/// A supervisor's action on one package's feedback: `retry` (failed → pending) or `handled`.
pub async fn act(
    tx: &mut TenantTx,
    order_id: &str,
    seq: i64,
    event: FeedbackEvent,
) -> Result<FeedbackStatus, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT status, reason FROM amazon_feedback WHERE tenant_id = $1 AND order_id = $2 AND package_seq = $3",
    )
    .bind(tid)
    .bind(order_id)
    .bind(seq)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((status, reason)) = row else {
        return Err(ApiError::NotFound("shipment feedback"));
    };
    let current = FeedbackStatus::from_db(&status, reason).map_err(ApiError::internal)?;
    let next = current
        .apply(event)
        .map_err(|e| state_err(e.code(), e.to_string()))?;
    let now = now_ms();
    let n = sqlx::query(
        "UPDATE amazon_feedback SET status = $1, reason = $2, next_attempt_at = $3, attempts = 0, lease_until = NULL, updated_at = $3 \
         WHERE tenant_id = $4 AND order_id = $5 AND package_seq = $6 AND status = $7",
    )
    .bind(next.as_str())
    .bind(next.reason())
    .bind(now)
    .bind(tid)
    .bind(order_id)
    .bind(seq)
    .bind(&status)
    .execute(conn)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(ApiError::Conflict(
            "the feedback changed meanwhile; reload and retry".into(),
        ));
    }
    tx.changed("order", order_id);
    Ok(next)
}

/// One row of the feedback queue, as supervisors see it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FeedbackRow {
    pub order_id: String,
    pub external_id: String,
    pub package_seq: i64,
    pub tracking_number: Option<String>,
    #[schema(value_type = Object)]
    pub feedback: FeedbackStatus,
    pub attempts: i64,
    /// The last transient error (throttling, timeout…) while still retrying.
    pub last_error: Option<String>,
    /// Amazon's `x-amzn-RequestId` of the last answer.
    pub amazon_request_id: Option<String>,
    pub updated_at: String,
}

type FeedbackTuple = (
    String,
    String,
    i64,
    Option<String>,
    String,
    Option<String>,
    i64,
    Option<String>,
    Option<String>,
    i64,
);

/// The feedback queue, newest first, optionally one status only.
pub async fn list(
    tx: &mut TenantTx,
    status: Option<&str>,
    limit: i64,
) -> Result<Vec<FeedbackRow>, ApiError> {
    let (tid, conn) = tx.split();
    let base = "SELECT f.order_id, o.external_id, f.package_seq, p.tracking_number, f.status, f.reason, f.attempts, f.last_error, f.last_request_id, f.updated_at \
         FROM amazon_feedback f JOIN orders o ON o.tenant_id = f.tenant_id AND o.id = f.order_id \
         JOIN packages p ON p.tenant_id = f.tenant_id AND p.order_id = f.order_id AND p.seq = f.package_seq WHERE f.tenant_id = $1";
    let rows: Vec<FeedbackTuple> = match status {
        Some(s) => {
            sqlx::query_as(&format!(
                "{base} AND f.status = $2 ORDER BY f.updated_at DESC, f.order_id LIMIT $3"
            ))
            .bind(tid)
            .bind(s)
            .bind(limit)
            .fetch_all(conn)
            .await?
        }
        None => {
            sqlx::query_as(&format!(
                "{base} ORDER BY f.updated_at DESC, f.order_id LIMIT $2"
            ))
            .bind(tid)
            .bind(limit)
            .fetch_all(conn)
            .await?
        }
    };
    rows.into_iter()
        .map(|r| {
            Ok(FeedbackRow {
                order_id: r.0,
                external_id: r.1,
                package_seq: r.2,
                tracking_number: r.3,
                feedback: FeedbackStatus::from_db(&r.4, r.5).map_err(ApiError::internal)?,
                attempts: r.6,
                last_error: r.7,
                amazon_request_id: r.8,
                updated_at: crate::time::rfc3339(r.9),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The worker.

/// A claimed confirmation.
#[derive(Debug, Clone)]
struct Claimed {
    order_id: String,
    seq: i64,
    auth_id: String,
    amazon_order_id: String,
    request_json: String,
    attempts: i64,
}

/// How one call ended.
enum Outcome {
    Confirmed {
        request_id: Option<String>,
    },
    /// Transient: back to the queue after a backoff.
    Retry {
        error: String,
    },
    Failed {
        reason: String,
        request_id: Option<String>,
    },
    /// Amazon refused the refresh token as revoked.
    Revoked,
}

const CLAIM_BATCH: i64 = 50;

/// Run the feedback worker until the task is dropped. It sleeps until the earliest retry is due,
/// a dispatch rings the bell, or the idle poll elapses (which also picks up work queued by another
/// server process sharing the database).
pub async fn run(state: AppState) {
    let idle = Duration::from_millis(state.amazon.settings.feedback_poll_ms.max(50));
    loop {
        let wait = match pass(&state).await {
            // Work was found: look again at once (the buckets pace the calls).
            Ok((n, _)) if n > 0 => continue,
            Ok((_, Some(due))) => {
                Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0)).min(idle)
            }
            Ok((_, None)) => idle,
            Err(e) => {
                tracing::warn!(error = %e, "feedback worker pass failed");
                idle
            }
        };
        tokio::select! {
            () = state.amazon.feedback_bell.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// One pass over every tenant: claim due rows, send them (authorizations in parallel, each
/// authorization's rows in order), record the outcomes. Returns how many rows were handled and
/// when the next queued row falls due.
pub async fn pass(state: &AppState) -> Result<(usize, Option<i64>), ApiError> {
    let mut handled = 0;
    let mut next_due: Option<i64> = None;
    for tenant in state.db.list_tenants().await? {
        let (n, due) = tenant_pass(state, tenant.id).await?;
        handled += n;
        next_due = match (next_due, due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok((handled, next_due))
}

async fn tenant_pass(state: &AppState, tenant: TenantId) -> Result<(usize, Option<i64>), ApiError> {
    let (claimed, next_due) = claim(state, tenant).await?;
    if claimed.is_empty() {
        return Ok((0, next_due));
    }
    let n = claimed.len();
    let mut by_auth: BTreeMap<String, Vec<Claimed>> = BTreeMap::new();
    for c in claimed {
        by_auth.entry(c.auth_id.clone()).or_default().push(c);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (auth_id, rows) in by_auth {
        let state = state.clone();
        tasks.spawn(async move {
            if let Err(e) = send_for_authorization(&state, tenant, &auth_id, rows).await {
                tracing::warn!(error = %e, authorization = %auth_id, "feedback batch failed");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok((n, next_due))
}

async fn claim(
    state: &AppState,
    tenant: TenantId,
) -> Result<(Vec<Claimed>, Option<i64>), ApiError> {
    let now = now_ms();
    let lease = i64::try_from(state.amazon.settings.feedback_lease_secs)
        .unwrap_or(300)
        .saturating_mul(1000);
    let mut tx = state.db.tenant_tx(tenant).await?;
    let due = "((status = 'pending' AND next_attempt_at <= $2) OR (status = 'sent' AND lease_until < $2))";
    let candidates: Vec<(String, i64, String, String, String, i64)> = {
        let (tid, conn) = tx.split();
        sqlx::query_as(&format!(
            "SELECT order_id, package_seq, authorization_id, amazon_order_id, request_json, attempts FROM amazon_feedback \
             WHERE tenant_id = $1 AND {due} ORDER BY next_attempt_at, order_id, package_seq LIMIT $3"
        ))
        .bind(tid)
        .bind(now)
        .bind(CLAIM_BATCH)
        .fetch_all(conn)
        .await?
    };
    let mut out = Vec::with_capacity(candidates.len());
    for c in candidates {
        let (tid, conn) = tx.split();
        // Conditional on still being due: a concurrent worker (another server process) that took
        // it first makes this update a no-op.
        let n = sqlx::query(&format!(
            "UPDATE amazon_feedback SET status = 'sent', attempts = attempts + 1, lease_until = $3, updated_at = $2 \
             WHERE tenant_id = $1 AND order_id = $4 AND package_seq = $5 AND {due}"
        ))
        .bind(tid)
        .bind(now)
        .bind(now + lease)
        .bind(&c.0)
        .bind(c.1)
        .execute(conn)
        .await?
        .rows_affected();
        if n == 1 {
            out.push(Claimed {
                order_id: c.0,
                seq: c.1,
                auth_id: c.2,
                amazon_order_id: c.3,
                request_json: c.4,
                attempts: c.5 + 1,
            });
        }
    }
    // When the next row not claimed now falls due (a retry's backoff, a lease held elsewhere).
    let (next_due,): (Option<i64>,) = {
        let (tid, conn) = tx.split();
        sqlx::query_as(
            "SELECT MIN(CASE WHEN status = 'pending' THEN next_attempt_at ELSE lease_until END) FROM amazon_feedback \
             WHERE tenant_id = $1 AND status IN ('pending', 'sent')",
        )
        .bind(tid)
        .fetch_one(conn)
        .await?
    };
    tx.commit().await?;
    Ok((out, next_due))
}

async fn send_for_authorization(
    state: &AppState,
    tenant: TenantId,
    auth_id: &str,
    rows: Vec<Claimed>,
) -> Result<(), ApiError> {
    let (auth, keys) = authz::load_with_keys(state, tenant, auth_id).await?;
    if !auth.is_active() {
        for row in &rows {
            record(
                state,
                tenant,
                row,
                Outcome::Failed {
                    reason: format!(
                        "Amazon authorization withdrawn ({}): not sent",
                        auth.revoked_reason.as_deref().unwrap_or("revoked")
                    ),
                    request_id: None,
                },
            )
            .await?;
        }
        return Ok(());
    }
    let client = state
        .amazon
        .client(tenant, &auth, || authz::credentials(&keys, tenant, &auth))?;
    for (i, row) in rows.iter().enumerate() {
        let outcome = send_one(&client, row).await;
        let revoked = matches!(outcome, Outcome::Revoked);
        record(state, tenant, row, outcome).await?;
        if revoked {
            // The rest of the batch goes back to the queue first, so the revocation below marks
            // every unsent confirmation failed with its reason.
            for rest in &rows[i + 1..] {
                let error = "not sent: Amazon refused the authorization".to_owned();
                record(state, tenant, rest, Outcome::Retry { error }).await?;
            }
            revoke_after_refusal(state, tenant, &auth).await?;
            break;
        }
    }
    Ok(())
}

async fn revoke_after_refusal(
    state: &AppState,
    tenant: TenantId,
    auth: &AuthRow,
) -> Result<(), ApiError> {
    tracing::warn!(authorization = %auth.id, selling_partner = %auth.selling_partner_id, "Amazon refused the refresh token: authorization marked revoked, sync and feedback stopped");
    state.amazon.forget(tenant, &auth.id);
    let mut tx = state.db.tenant_tx(tenant).await?;
    authz::revoke(&mut tx, &auth.id, "refresh token refused by Amazon").await?;
    tx.commit().await?;
    Ok(())
}

/// Does Amazon's answer say the package or order is already shipped / not updatable?
fn looks_already_fulfilled(e: &wms_amazon::ApiError) -> bool {
    e.has_code("PackageToUpdateNotFound")
        || e.errors.iter().any(|i| {
            let m = i.message.to_ascii_lowercase();
            m.contains("already") && (m.contains("fulfil") || m.contains("ship"))
        })
}

fn describe(e: &wms_amazon::ApiError) -> String {
    let msgs: Vec<String> = e
        .errors
        .iter()
        .map(|i| format!("{}: {}", i.code, i.message))
        .collect();
    format!("Amazon answered {}: {}", e.status, msgs.join("; "))
}

async fn send_one(client: &wms_amazon::Client, row: &Claimed) -> Outcome {
    let request: ConfirmShipmentRequest = match serde_json::from_str(&row.request_json) {
        Ok(r) => r,
        Err(_) => {
            return Outcome::Failed {
                reason: "stored confirmation is unreadable".into(),
                request_id: None,
            };
        }
    };
    match client
        .confirm_shipment(&row.amazon_order_id, &request)
        .await
    {
        Ok(()) => Outcome::Confirmed { request_id: None },
        Err(e) if e.is_authorization_revoked() => Outcome::Revoked,
        Err(wms_amazon::Error::Api(api)) if api.is_retryable() => Outcome::Retry {
            error: describe(&api),
        },
        Err(wms_amazon::Error::Api(api)) if looks_already_fulfilled(&api) => {
            already_there(client, row, &request, &api).await
        }
        Err(wms_amazon::Error::Api(api)) => Outcome::Failed {
            reason: describe(&api),
            request_id: api.request_id.clone(),
        },
        Err(e @ (wms_amazon::Error::Transport { .. } | wms_amazon::Error::Auth(_))) => {
            Outcome::Retry {
                error: e.to_string(),
            }
        }
        Err(e) => Outcome::Failed {
            reason: e.to_string(),
            request_id: None,
        },
    }
}

/// Amazon says "already fulfilled": confirmed if Amazon has a package with our tracking number.
async fn already_there(
    client: &wms_amazon::Client,
    row: &Claimed,
    request: &ConfirmShipmentRequest,
    refusal: &wms_amazon::ApiError,
) -> Outcome {
    match client
        .get_order(&row.amazon_order_id, &[IncludedData::Packages])
        .await
    {
        Ok(order) => {
            let ours = &request.package_detail.tracking_number;
            let found = order
                .packages
                .unwrap_or_default()
                .iter()
                .any(|p| p.tracking_number.as_deref() == Some(ours.as_str()));
            if found {
                Outcome::Confirmed {
                    request_id: refusal.request_id.clone(),
                }
            } else {
                Outcome::Failed {
                    reason: describe(refusal),
                    request_id: refusal.request_id.clone(),
                }
            }
        }
        Err(e) => Outcome::Retry {
            error: format!(
                "{}; checking the order's packages failed: {e}",
                describe(refusal)
            ),
        },
    }
}

async fn record(
    state: &AppState,
    tenant: TenantId,
    row: &Claimed,
    outcome: Outcome,
) -> Result<(), ApiError> {
    let now = now_ms();
    let max_attempts = state.amazon.settings.feedback_max_attempts;
    let sent = FeedbackStatus::Sent;
    let (next, last_error, request_id, next_attempt) = match outcome {
        Outcome::Confirmed { request_id } => {
            (sent.apply(FeedbackEvent::Confirm), None, request_id, now)
        }
        Outcome::Retry { error } if row.attempts >= max_attempts => (
            sent.apply(FeedbackEvent::Fail {
                reason: format!("gave up after {} attempts: {error}", row.attempts),
            }),
            Some(error),
            None,
            now,
        ),
        Outcome::Retry { error } => {
            // 1 s, 2 s, 4 s … capped at 15 minutes.
            let shift = u32::try_from(row.attempts.clamp(1, 11) - 1).unwrap_or(0);
            let backoff = (1000_i64 << shift).min(15 * 60 * 1000);
            (
                sent.apply(FeedbackEvent::Retry),
                Some(error),
                None,
                now + backoff,
            )
        }
        Outcome::Failed { reason, request_id } => (
            sent.apply(FeedbackEvent::Fail { reason }),
            None,
            request_id,
            now,
        ),
        Outcome::Revoked => (
            sent.apply(FeedbackEvent::Retry),
            Some("Amazon refused the refresh token".to_owned()),
            None,
            now,
        ),
    };
    let next = next.map_err(ApiError::internal)?;
    let mut tx = state.db.tenant_tx(tenant).await?;
    let (tid, conn) = tx.split();
    sqlx::query(
        "UPDATE amazon_feedback SET status = $1, reason = $2, last_error = COALESCE($3, last_error), last_request_id = COALESCE($4, last_request_id), \
         next_attempt_at = $5, lease_until = NULL, updated_at = $6, confirmed_at = CASE WHEN $1 = 'confirmed' THEN $6 ELSE confirmed_at END \
         WHERE tenant_id = $7 AND order_id = $8 AND package_seq = $9 AND status = 'sent'",
    )
    .bind(next.as_str())
    .bind(next.reason())
    .bind(last_error)
    .bind(request_id)
    .bind(next_attempt)
    .bind(now)
    .bind(tid)
    .bind(&row.order_id)
    .bind(row.seq)
    .execute(conn)
    .await?;
    tx.changed("order", &row.order_id);
    tx.commit().await?;
    if matches!(next, FeedbackStatus::Failed { .. }) {
        tracing::warn!(order = %row.order_id, package = row.seq, "shipment feedback failed: shown to supervisors");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::orders::PackageItem;

    fn pkg(seq: i64, items: &[(i64, i64)]) -> PackageView {
        PackageView {
            seq,
            box_type: "60".into(),
            weight_g: 100,
            length_mm: None,
            width_mm: None,
            height_mm: None,
            carrier: Some("yamato".into()),
            tracking_number: Some("444413758703".into()),
            items: items
                .iter()
                .map(|&(line_no, quantity)| PackageItem { line_no, quantity })
                .collect(),
            feedback: FeedbackStatus::NotRequired,
        }
    }

    fn lines() -> Vec<(i64, i64, Option<String>)> {
        vec![(1, 2, Some("item-a".into())), (2, 1, Some("item-b".into()))]
    }

    fn code(e: ApiError) -> &'static str {
        match e {
            ApiError::Rule { code, .. } => code,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn one_package_carries_every_line() {
        let c = package_contents(&lines(), &[pkg(1, &[])]).unwrap_or_default();
        let items = &c[&1];
        assert_eq!(items.len(), 2);
        assert_eq!(
            (items[0].order_item_id.as_str(), items[0].quantity),
            ("item-a", 2)
        );
        assert_eq!(
            (items[1].order_item_id.as_str(), items[1].quantity),
            ("item-b", 1)
        );
    }

    #[test]
    fn several_packages_must_say_what_they_hold_and_cover_every_unit() {
        let split = [pkg(1, &[(1, 2)]), pkg(2, &[(2, 1)])];
        let c = package_contents(&lines(), &split).unwrap_or_default();
        assert_eq!(c[&1][0].order_item_id, "item-a");
        assert_eq!(c[&2][0].order_item_id, "item-b");
        let silent = [pkg(1, &[]), pkg(2, &[])];
        assert_eq!(
            package_contents(&lines(), &silent).map_err(code).err(),
            Some("package_contents_missing")
        );
        let short = [pkg(1, &[(1, 1)]), pkg(2, &[(2, 1)])];
        assert_eq!(
            package_contents(&lines(), &short).map_err(code).err(),
            Some("package_contents_incomplete")
        );
        let no_item_id = vec![(1, 2, None)];
        assert_eq!(
            package_contents(&no_item_id, &[pkg(1, &[])])
                .map_err(code)
                .err(),
            Some("line_without_order_item")
        );
    }

    #[test]
    fn already_fulfilled_answers_are_recognised_loosely() {
        let err = |code: &str, message: &str| wms_amazon::ApiError {
            operation: "confirmShipment",
            status: 400,
            errors: vec![wms_amazon::model::ErrorItem {
                code: code.into(),
                message: message.into(),
                details: None,
            }],
            request_id: None,
        };
        assert!(looks_already_fulfilled(&err(
            "PackageToUpdateNotFound",
            "x"
        )));
        assert!(looks_already_fulfilled(&err(
            "InvalidInput",
            "The order is already fulfilled"
        )));
        assert!(!looks_already_fulfilled(&err(
            "InvalidInput",
            "OrderItemId is invalid"
        )));
    }
}
