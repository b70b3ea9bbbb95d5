//! Carriers on the server: one account per carrier and tenant (the carrier's API, or a
//! carrier-allocated number range issued here), booking a package's label, printing it (ZPL, PDF,
//! PNG; reprints counted and audited), voiding it, and the tracking poller that marks orders
//! delivered. The carriers' protocols are `wms-carriers`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wms_carriers::{BookingRequest, IdempotencyKey, MilestoneKind, PackageSpec};
use wms_core::fulfilment::{OrderEvent, OrderState};
use wms_core::ids::TenantId;
use wms_core::label::{CoolType, LabelModel, Party, ServiceType, TimeSlot};
use wms_core::seal::Aad;
use wms_core::tracking::{Carrier, TrackingNumber};

use crate::db::{Backend, TenantTx};
use crate::error::ApiError;
use crate::keys::TenantKeys;
use crate::state::AppState;
use crate::time::{now_ms, rfc3339};
use crate::warehouse::orders::{self, Recipient};
use crate::warehouse::{rule, state as state_err};

/// An admin connecting a carrier account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCarrierAccount {
    /// `yamato` or `sagawa`.
    pub carrier: String,
    /// `api` (book through the carrier's system) or `self_issue` (a number range the carrier
    /// allocated; labels are numbered here).
    pub mode: String,
    /// API mode: the carrier endpoint.
    #[serde(default)]
    pub base_url: Option<String>,
    /// API mode: 顧客コード / お客様コード.
    #[serde(default)]
    pub customer_code: Option<String>,
    /// API mode: secret, sealed at rest, never returned.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Self-issue mode: the allocated serial range (11 digits at most, without check digits).
    #[serde(default)]
    pub range_first: Option<u64>,
    #[serde(default)]
    pub range_last: Option<u64>,
    /// The shipper printed on labels (the warehouse's business address).
    #[schema(value_type = Object)]
    pub sender: Party,
    /// A name for the account (「本社契約」), at most 80 characters.
    #[serde(default)]
    pub label: Option<String>,
}

impl std::fmt::Debug for NewCarrierAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCarrierAccount")
            .field("carrier", &self.carrier)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CarrierAccountView {
    pub carrier: String,
    pub mode: String,
    pub base_url: Option<String>,
    pub customer_code: Option<String>,
    /// Self-issue: serials used of the range, and whether it is at 90 % or more.
    pub range_used: Option<u64>,
    pub range_total: Option<u64>,
    pub range_warning: bool,
    #[schema(value_type = Object)]
    pub sender: Party,
    pub created_at: String,
    /// The admin's name for the account.
    pub label: Option<String>,
    /// False once disabled: no new label is booked with it (its packages keep theirs).
    pub enabled: bool,
    pub disabled_at: Option<String>,
    pub updated_at: String,
}

/// An admin changing a carrier account (`PATCH /api/v1/carriers/accounts/{carrier}`): only the
/// fields given change. The mode and a self-issue range are not editable (the range's issued
/// numbers are its history).
#[derive(Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarrierAccountPatch {
    /// A name for the account, at most 80 characters; empty removes it.
    #[serde(default)]
    pub label: Option<String>,
    /// API mode: the carrier endpoint (https).
    #[serde(default)]
    pub base_url: Option<String>,
    /// API mode: 顧客コード / お客様コード.
    #[serde(default)]
    pub customer_code: Option<String>,
    /// API mode: a new API key (rotation), sealed at rest, never returned.
    #[serde(default)]
    pub api_key: Option<String>,
    /// The shipper printed on labels from now on (booked labels keep theirs).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sender: Option<Party>,
    /// False disables the account (no new bookings), true enables it again.
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl std::fmt::Debug for CarrierAccountPatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarrierAccountPatch")
            .field("label", &self.label)
            .field("enabled", &self.enabled)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// What a patch changed, for the audit events (never a value of a secret).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AccountChanges {
    /// The names of the settings changed (`api_key` when the key was rotated).
    pub fields: Vec<&'static str>,
    /// `Some(false)`: disabled by this patch; `Some(true)`: enabled again.
    pub enabled: Option<bool>,
}

struct AccountRow {
    carrier: Carrier,
    mode: String,
    base_url: Option<String>,
    customer_code: Option<String>,
    api_key_sealed: Option<Vec<u8>>,
    range: Option<wms_carriers::allocator::RangeState>,
    sender: Party,
    created_at: i64,
    label: Option<String>,
    disabled_at: Option<i64>,
    updated_at: i64,
}

type AccountTuple = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    i64,
    Option<String>,
    Option<i64>,
    i64,
);

fn key_aad(tenant: TenantId, carrier: &str) -> Aad<'_> {
    Aad {
        tenant,
        table: "carrier_accounts",
        column: "api_key",
        row: carrier,
    }
}

fn label_aad(tenant: TenantId, row: &str) -> Aad<'_> {
    Aad {
        tenant,
        table: "packages",
        column: "label",
        row,
    }
}

fn parse_carrier(s: &str) -> Result<Carrier, ApiError> {
    match s.parse::<Carrier>() {
        Ok(c @ (Carrier::Yamato | Carrier::Sagawa)) => Ok(c),
        _ => Err(rule(
            "unknown_carrier",
            format!("carrier must be yamato or sagawa, not `{s}`"),
        )),
    }
}

fn to_i64(v: u64) -> Result<i64, ApiError> {
    i64::try_from(v).map_err(|_| ApiError::Validation("number out of range".into()))
}

fn check_sender(sender: &Party) -> Result<(), ApiError> {
    if sender.name.trim().is_empty() || sender.address_lines.is_empty() {
        return Err(ApiError::Validation(
            "sender needs a name and an address".into(),
        ));
    }
    Ok(())
}

fn check_base_url(url: &str) -> Result<(), ApiError> {
    if !url.starts_with("https://") {
        return Err(ApiError::Validation("base_url must be https".into()));
    }
    Ok(())
}

/// A label as stored: trimmed, `None` when empty, at most 80 characters, no control characters.
fn check_label(label: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(l) = label.map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    if l.chars().count() > 80 || l.chars().any(char::is_control) {
        return Err(ApiError::Validation(
            "label has at most 80 characters and no control characters".into(),
        ));
    }
    Ok(Some(l.to_owned()))
}

fn seal_key(
    keys: &TenantKeys,
    tenant: TenantId,
    carrier: Carrier,
    key: &str,
) -> Result<Vec<u8>, ApiError> {
    keys.data
        .seal(&key_aad(tenant, carrier.as_str()), key.trim().as_bytes())
        .map_err(ApiError::internal)
}

pub async fn create_account(
    tx: &mut TenantTx,
    keys: &TenantKeys,
    n: NewCarrierAccount,
) -> Result<CarrierAccountView, ApiError> {
    let carrier = parse_carrier(&n.carrier)?;
    check_sender(&n.sender)?;
    let label = check_label(n.label.as_deref())?;
    let (sealed, range) = match n.mode.as_str() {
        "api" => {
            let (Some(url), Some(code), Some(key)) = (&n.base_url, &n.customer_code, &n.api_key)
            else {
                return Err(ApiError::Validation(
                    "api mode needs base_url, customer_code and api_key".into(),
                ));
            };
            check_base_url(url)?;
            if code.trim().is_empty() || key.trim().is_empty() {
                return Err(ApiError::Validation(
                    "customer_code and api_key are required".into(),
                ));
            }
            (Some(seal_key(keys, tx.tenant(), carrier, key)?), None)
        }
        "self_issue" => {
            let (Some(first), Some(last)) = (n.range_first, n.range_last) else {
                return Err(ApiError::Validation(
                    "self_issue mode needs range_first and range_last".into(),
                ));
            };
            let range = wms_carriers::allocator::RangeState::new(carrier, first, last)
                .map_err(|e| rule("invalid_range", e.to_string()))?;
            (None, Some(range))
        }
        other => {
            return Err(ApiError::Validation(format!(
                "mode must be api or self_issue, not `{other}`"
            )));
        }
    };
    let now = now_ms();
    let sender = serde_json::to_string(&n.sender).map_err(ApiError::internal)?;
    let (tid, conn) = tx.split();
    sqlx::query(
        "INSERT INTO carrier_accounts (tenant_id, carrier, mode, base_url, customer_code, api_key_sealed, range_first, range_next, range_last, sender_json, created_at, updated_at, label) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)",
    )
    .bind(tid)
    .bind(carrier.as_str())
    .bind(&n.mode)
    .bind(n.base_url.as_deref().filter(|_| n.mode == "api"))
    .bind(n.customer_code.as_deref().filter(|_| n.mode == "api"))
    .bind(sealed)
    .bind(range.map(|r| to_i64(r.first)).transpose()?)
    .bind(range.map(|r| to_i64(r.next)).transpose()?)
    .bind(range.map(|r| to_i64(r.last)).transpose()?)
    .bind(sender)
    .bind(now)
    .bind(label)
    .execute(conn)
    .await
    .map_err(|e| match crate::db::DbError::from(e) {
        crate::db::DbError::Conflict(_) => ApiError::Conflict(format!(
            "a {} account is already connected",
            carrier.as_str()
        )),
        other => other.into(),
    })?;
    let row = account(tx, carrier)
        .await?
        .ok_or(ApiError::NotFound("carrier account"))?;
    Ok(view(&row))
}

fn view(r: &AccountRow) -> CarrierAccountView {
    CarrierAccountView {
        carrier: r.carrier.as_str().to_owned(),
        mode: r.mode.clone(),
        base_url: r.base_url.clone(),
        customer_code: r.customer_code.clone(),
        range_used: r.range.map(|s| s.used()),
        range_total: r.range.map(|s| s.total()),
        range_warning: r
            .range
            .is_some_and(|s| s.used() * 100 >= s.total() * wms_carriers::allocator::WARN_PERCENT),
        sender: r.sender.clone(),
        created_at: rfc3339(r.created_at),
        label: r.label.clone(),
        enabled: r.disabled_at.is_none(),
        disabled_at: r.disabled_at.map(rfc3339),
        updated_at: rfc3339(r.updated_at),
    }
}

const ACCOUNT_COLS: &str = "carrier, mode, base_url, customer_code, api_key_sealed, range_first, range_next, range_last, sender_json, created_at, label, disabled_at, updated_at";

fn account_from(r: AccountTuple) -> Result<AccountRow, ApiError> {
    let carrier = parse_carrier(&r.0)?;
    let range = match (r.5, r.6, r.7) {
        (Some(f), Some(n), Some(l)) => Some(wms_carriers::allocator::RangeState {
            carrier,
            first: u64::try_from(f).map_err(ApiError::internal)?,
            next: u64::try_from(n).map_err(ApiError::internal)?,
            last: u64::try_from(l).map_err(ApiError::internal)?,
        }),
        _ => None,
    };
    Ok(AccountRow {
        carrier,
        mode: r.1,
        base_url: r.2,
        customer_code: r.3,
        api_key_sealed: r.4,
        range,
        sender: serde_json::from_str(&r.8).map_err(ApiError::internal)?,
        created_at: r.9,
        label: r.10,
        disabled_at: r.11,
        updated_at: r.12,
    })
}

async fn account(tx: &mut TenantTx, carrier: Carrier) -> Result<Option<AccountRow>, ApiError> {
    account_with(tx, carrier, "").await
}

/// The account, its row locked on PostgreSQL until the transaction ends (SQLite's write
/// transaction is already exclusive).
async fn account_locked(
    tx: &mut TenantTx,
    backend: Backend,
    carrier: Carrier,
) -> Result<Option<AccountRow>, ApiError> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    account_with(tx, carrier, lock).await
}

async fn account_with(
    tx: &mut TenantTx,
    carrier: Carrier,
    lock: &str,
) -> Result<Option<AccountRow>, ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<AccountTuple> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLS} FROM carrier_accounts WHERE tenant_id = $1 AND carrier = $2{lock}"
    ))
    .bind(tid)
    .bind(carrier.as_str())
    .fetch_optional(conn)
    .await?;
    row.map(account_from).transpose()
}

pub async fn list_accounts(tx: &mut TenantTx) -> Result<Vec<CarrierAccountView>, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<AccountTuple> = sqlx::query_as(&format!(
        "SELECT {ACCOUNT_COLS} FROM carrier_accounts WHERE tenant_id = $1 ORDER BY carrier"
    ))
    .bind(tid)
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| account_from(r).map(|a| view(&a)))
        .collect()
}

/// A path's carrier as an account of this tenant: an unknown carrier and another tenant's
/// account are both 404 (an id that is not there, not a rule broken).
async fn existing(
    tx: &mut TenantTx,
    backend: Backend,
    carrier: &str,
) -> Result<AccountRow, ApiError> {
    let Ok(carrier) = parse_carrier(carrier) else {
        return Err(ApiError::NotFound("carrier account"));
    };
    account_locked(tx, backend, carrier)
        .await?
        .ok_or(ApiError::NotFound("carrier account"))
}

/// Change an account: the label, the API endpoint, customer code and key (rotation: sealed as on
/// create, never returned), the printed sender, enabled or disabled. Checked in full before
/// anything is written; a self-issue account has no API settings (`carrier_not_api`).
pub async fn update_account(
    tx: &mut TenantTx,
    backend: Backend,
    keys: &TenantKeys,
    carrier: &str,
    p: CarrierAccountPatch,
) -> Result<(CarrierAccountView, AccountChanges), ApiError> {
    let nothing = p.label.is_none()
        && p.base_url.is_none()
        && p.customer_code.is_none()
        && p.api_key.is_none()
        && p.sender.is_none()
        && p.enabled.is_none();
    if nothing {
        return Err(ApiError::Validation(
            "nothing to change: give label, base_url, customer_code, api_key, sender or enabled"
                .into(),
        ));
    }
    let mut a = existing(tx, backend, carrier).await?;
    let api_fields = p.base_url.is_some() || p.customer_code.is_some() || p.api_key.is_some();
    if api_fields && a.mode != "api" {
        return Err(state_err(
            "carrier_not_api",
            "this carrier account issues numbers locally: it has no endpoint, customer code or key",
        ));
    }
    let mut changes = AccountChanges::default();
    if let Some(label) = &p.label {
        let label = check_label(Some(label))?;
        if label != a.label {
            a.label = label;
            changes.fields.push("label");
        }
    }
    if let Some(url) = &p.base_url {
        let url = url.trim();
        check_base_url(url)?;
        if a.base_url.as_deref() != Some(url) {
            a.base_url = Some(url.to_owned());
            changes.fields.push("base_url");
        }
    }
    if let Some(code) = &p.customer_code {
        let code = code.trim();
        if code.is_empty() {
            return Err(ApiError::Validation("customer_code is required".into()));
        }
        if a.customer_code.as_deref() != Some(code) {
            a.customer_code = Some(code.to_owned());
            changes.fields.push("customer_code");
        }
    }
    if let Some(key) = &p.api_key {
        if key.trim().is_empty() {
            return Err(ApiError::Validation("api_key must not be empty".into()));
        }
        // Always a rotation, even to the same key: nothing compares the old one.
        a.api_key_sealed = Some(seal_key(keys, tx.tenant(), a.carrier, key)?);
        changes.fields.push("api_key");
    }
    if let Some(sender) = p.sender {
        check_sender(&sender)?;
        if sender != a.sender {
            a.sender = sender;
            changes.fields.push("sender");
        }
    }
    let now = now_ms();
    match (p.enabled, a.disabled_at) {
        (Some(false), None) => {
            a.disabled_at = Some(now);
            changes.enabled = Some(false);
        }
        (Some(true), Some(_)) => {
            a.disabled_at = None;
            changes.enabled = Some(true);
        }
        _ => {}
    }
    if changes == AccountChanges::default() {
        return Ok((view(&a), changes));
    }
    a.updated_at = now;
    let sender = serde_json::to_string(&a.sender).map_err(ApiError::internal)?;
    let (tid, conn) = tx.split();
    sqlx::query(
        "UPDATE carrier_accounts SET label = $1, base_url = $2, customer_code = $3, api_key_sealed = $4, sender_json = $5, disabled_at = $6, updated_at = $7 \
         WHERE tenant_id = $8 AND carrier = $9",
    )
    .bind(&a.label)
    .bind(&a.base_url)
    .bind(&a.customer_code)
    .bind(&a.api_key_sealed)
    .bind(sender)
    .bind(a.disabled_at)
    .bind(a.updated_at)
    .bind(tid)
    .bind(a.carrier.as_str())
    .execute(conn)
    .await?;
    Ok((view(&a), changes))
}

/// Remove an account that never booked anything. Once a label was booked, a number issued or a
/// label voided with it, it is history (the packages keep their labels and tracking, which is
/// still polled with it): `carrier_account_in_use`, disable it instead.
pub async fn remove_account(
    tx: &mut TenantTx,
    backend: Backend,
    carrier: &str,
) -> Result<CarrierAccountView, ApiError> {
    let a = existing(tx, backend, carrier).await?;
    let (tid, conn) = tx.split();
    let (used,): (i64,) = sqlx::query_as(
        "SELECT CAST((SELECT COUNT(*) FROM packages WHERE tenant_id = $1 AND carrier = $2 AND booked_at IS NOT NULL) \
                   + (SELECT COUNT(*) FROM issued_tracking_numbers WHERE tenant_id = $1 AND carrier = $2) \
                   + (SELECT COUNT(*) FROM package_voids WHERE tenant_id = $1 AND carrier = $2) AS BIGINT)",
    )
    .bind(tid)
    .bind(a.carrier.as_str())
    .fetch_one(&mut *conn)
    .await?;
    if used > 0 {
        return Err(state_err(
            "carrier_account_in_use",
            format!(
                "labels were booked with the {} account: disable it instead (its packages keep their labels and tracking)",
                a.carrier.as_str()
            ),
        ));
    }
    sqlx::query("DELETE FROM carrier_accounts WHERE tenant_id = $1 AND carrier = $2")
        .bind(tid)
        .bind(a.carrier.as_str())
        .execute(conn)
        .await?;
    Ok(view(&a))
}

/// A disabled account books nothing new (`carrier_disabled`).
fn refuse_disabled(a: &AccountRow) -> Result<(), ApiError> {
    if a.disabled_at.is_some() {
        return Err(rule(
            "carrier_disabled",
            format!(
                "the {} account is disabled: an admin enables it again in Connections",
                a.carrier.as_str()
            ),
        ));
    }
    Ok(())
}

/// The adapter of an API-mode account.
fn adapter(
    state: &AppState,
    keys: &TenantKeys,
    tenant: TenantId,
    a: &AccountRow,
) -> Result<Box<dyn wms_carriers::Carrier>, ApiError> {
    let (Some(url), Some(code), Some(sealed)) = (&a.base_url, &a.customer_code, &a.api_key_sealed)
    else {
        return Err(state_err(
            "carrier_not_api",
            "this carrier account issues numbers locally",
        ));
    };
    let key = keys
        .data
        .open_string(&key_aad(tenant, a.carrier.as_str()), sealed)
        .map_err(ApiError::internal)?;
    let rules = match a.carrier {
        Carrier::Sagawa => wms_carriers::CarrierRules::sagawa(),
        _ => wms_carriers::CarrierRules::yamato(),
    };
    let mut config = wms_carriers::CarrierConfig::new(
        url.clone(),
        wms_carriers::Credentials {
            api_key: wms_carriers::Secret::new(key),
            customer_code: code.clone(),
        },
        rules,
    );
    config.tls = state.carrier_trust.clone();
    config.request_timeout = Duration::from_millis(state.settings.carriers.request_timeout_ms);
    let boxed: Box<dyn wms_carriers::Carrier> = match a.carrier {
        Carrier::Sagawa => Box::new(wms_carriers::Sagawa::new(config).map_err(carrier_error)?),
        _ => Box::new(wms_carriers::Yamato::new(config).map_err(carrier_error)?),
    };
    Ok(boxed)
}

/// Carrier errors as problems: what the packer can fix is 422 with the carrier's words; the
/// carrier being unreachable or refusing the credentials is 409 `carrier_unavailable` (retry later).
fn carrier_error(e: wms_carriers::Error) -> ApiError {
    use wms_carriers::Error as E;
    match &e {
        E::Label(_) | E::Invalid(_) | E::Rejected { .. } => rule("carrier_refused", e.to_string()),
        E::Conflict { .. } | E::IdempotencyConflict { .. } => {
            state_err("carrier_conflict", e.to_string())
        }
        E::NotFound { .. } => rule("carrier_not_found", e.to_string()),
        _ => state_err("carrier_unavailable", e.to_string()),
    }
}

/// What a packer asks for when booking a package's label.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookRequest {
    /// `yamato` or `sagawa`.
    pub carrier: String,
    /// `prepaid` (発払, default), `collect` (着払) or `cod` (コレクト, with `cod_amount_yen`).
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub cod_amount_yen: Option<u32>,
    /// `normal` (default), `chilled`, `frozen`.
    #[serde(default)]
    pub cool: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub delivery_date: Option<String>,
    /// `0812`, `1416`, …
    #[serde(default)]
    pub time_slot: Option<String>,
    /// Printed as 品名; default: the order's item names.
    #[serde(default)]
    pub item_description: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BookResult {
    pub carrier: String,
    pub tracking_number: String,
    pub sorting_code: Option<String>,
    /// Self-issue: the range is at 90 % or more.
    pub range_warning: bool,
    /// True when the package was already booked (nothing new was booked).
    pub existing: bool,
}

fn enum_from<T: for<'de> Deserialize<'de>>(field: &str, v: &str) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(v.to_owned()))
        .map_err(|_| ApiError::Validation(format!("{field} `{v}` is not valid")))
}

/// What the booking needs, read in one short transaction.
struct Prepared {
    account: AccountRow,
    request: BookingRequest,
    existing: Option<(String, String, Option<String>)>,
}

async fn prepare(
    tx: &mut TenantTx,
    backend: Backend,
    keys: &TenantKeys,
    order_id: &str,
    seq: i64,
    b: &BookRequest,
) -> Result<Prepared, ApiError> {
    let carrier = parse_carrier(&b.carrier)?;
    let account = account(tx, carrier).await?.ok_or_else(|| {
        rule(
            "carrier_not_connected",
            format!(
                "no {} account: an admin connects one first",
                carrier.as_str()
            ),
        )
    })?;
    let order = orders::view(tx, backend, keys, order_id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    if !matches!(order.status, OrderState::Picking | OrderState::Packed) {
        return Err(state_err(
            "order_not_packable",
            format!(
                "order {} is {}: labels are booked while packing",
                order.external_id, order.status
            ),
        ));
    }
    let package = order
        .packages
        .iter()
        .find(|p| p.seq == seq)
        .ok_or(ApiError::NotFound("package"))?;
    let existing = package
        .tracking_number
        .clone()
        .zip(package.carrier.clone())
        .map(|(t, c)| (c, t, None));
    // A package booked before the account was disabled still answers with its booking.
    if existing.is_none() {
        refuse_disabled(&account)?;
    }
    let Some(r) = order.recipient.clone() else {
        return Err(rule(
            "recipient_pii_missing",
            format!(
                "order {} has no recipient address on record ({}): no label can be made",
                order.external_id, order.recipient_pii
            ),
        ));
    };
    let service: ServiceType = enum_from("service", b.service.as_deref().unwrap_or("prepaid"))?;
    let cool: CoolType = enum_from("cool", b.cool.as_deref().unwrap_or("normal"))?;
    let time_slot = match &b.time_slot {
        Some(code) => Some(TimeSlot::from_code(code).ok_or_else(|| {
            rule(
                "invalid_time_slot",
                format!("`{code}` is not a delivery time-slot code"),
            )
        })?),
        None => None,
    };
    let delivery_date = b
        .delivery_date
        .as_deref()
        .map(|d| crate::warehouse::parse_date("delivery_date", d))
        .transpose()?;
    let description = b.item_description.clone().unwrap_or_else(|| {
        order
            .lines
            .iter()
            .map(|l| l.name.clone())
            .collect::<Vec<_>>()
            .join("・")
            .chars()
            .take(30)
            .collect()
    });
    // A voided label is booked again under a new key (the carrier would answer the old key with
    // the voided number).
    let voids: (i64,) = {
        let (tid, conn) = tx.split();
        sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM package_voids WHERE tenant_id = $1 AND order_id = $2 AND package_seq = $3",
        )
        .bind(tid)
        .bind(order_id)
        .bind(seq)
        .fetch_one(conn)
        .await?
    };
    let size_cm = [package.length_mm, package.width_mm, package.height_mm]
        .into_iter()
        .map(|v| v.unwrap_or(0))
        .sum::<i64>()
        .div_euclid(10);
    let request = BookingRequest {
        idempotency_key: IdempotencyKey::new(format!("pkg-{order_id}-{seq}-v{}", voids.0))
            .map_err(|e| ApiError::Validation(e.to_string()))?,
        service,
        cod_amount_yen: b.cod_amount_yen,
        cool,
        ship_date: crate::warehouse::today(),
        delivery_date,
        time_slot,
        recipient: party_of(&r),
        sender: account.sender.clone(),
        item_description: description,
        order_reference: order.external_id.clone(),
        packages: vec![PackageSpec {
            weight_grams: u32::try_from(package.weight_g).unwrap_or(u32::MAX),
            size_cm: u32::try_from(size_cm.max(1)).unwrap_or(u32::MAX),
        }],
    };
    Ok(Prepared {
        account,
        request,
        existing,
    })
}

/// The label of a self-issued number: no carrier sorting code (the carrier sorts at pickup).
fn self_issued_label(r: &BookingRequest, tracking: TrackingNumber) -> LabelModel {
    LabelModel {
        tracking,
        service: r.service,
        cod_amount_yen: r.cod_amount_yen,
        cool: r.cool,
        ship_date: r.ship_date,
        delivery_date: r.delivery_date,
        time_slot: r.time_slot.map(|s| s.code().to_owned()),
        sender: r.sender.clone(),
        recipient: r.recipient.clone(),
        item_description: r.item_description.clone(),
        piece: wms_core::label::Piece { index: 1, total: 1 },
        sorting_code: None,
        order_reference: r.order_reference.clone(),
    }
}

fn party_of(r: &Recipient) -> Party {
    let mut lines = vec![format!("{}{}{}", r.prefecture, r.city, r.address1)];
    if let Some(a2) = r.address2.as_ref().filter(|a| !a.trim().is_empty()) {
        lines.push(a2.clone());
    }
    Party {
        name: r.name.clone(),
        postal_code: r.postal_code.clone(),
        address_lines: lines,
        phone: r.phone.clone().unwrap_or_default(),
    }
}

/// Book the label of one package. The order is read (and the recipient opened: an audited PII
/// use) in a first short transaction; the carrier is called with no transaction open (its
/// idempotency key makes a retry return the same number); the result is stored in a second one.
/// Self-issue numbers are taken and recorded in one transaction. A package already booked
/// answers with its booking.
pub async fn book(
    state: &AppState,
    tenant: TenantId,
    actor: &str,
    order_id: &str,
    seq: i64,
    b: &BookRequest,
) -> Result<BookResult, ApiError> {
    let backend = state.db.backend();
    let mut tx = state.db.tenant_tx(tenant).await?;
    let keys = state
        .keys
        .tenant(&mut tx)
        .await
        .map_err(ApiError::internal)?;
    let p = prepare(&mut tx, backend, &keys, order_id, seq, b).await?;
    if let Some((carrier, tracking, _)) = p.existing {
        tx.commit().await?;
        return Ok(BookResult {
            carrier,
            tracking_number: tracking,
            sorting_code: None,
            range_warning: false,
            existing: true,
        });
    }
    crate::audit::append(
        &mut tx,
        backend,
        &keys,
        crate::audit::NewEvent::new(
            actor,
            wms_core::audit::AuditAction::PiiRead,
            wms_core::audit::Outcome::Success,
        )
        .target(format!("order:{order_id}"))
        .detail(format!(
            "recipient sent to {} for a label",
            p.account.carrier.as_str()
        )),
    )
    .await
    .map_err(ApiError::internal)?;
    let (tracking, sorting, warning, label) = if p.account.mode == "self_issue" {
        // Same transaction: the number, its record and the package's label commit together.
        let range = p.account.range.ok_or(ApiError::NotFound("number range"))?;
        let issued = range
            .issue()
            .map_err(|e| rule("range_exhausted", e.to_string()))?;
        record_issue(&mut tx, range, &issued, Some((order_id, seq))).await?;
        let label = self_issued_label(&p.request, issued.tracking);
        label
            .validate()
            .map_err(|e| rule("carrier_refused", e.to_string()))?;
        (issued.tracking, None, issued.warning.is_some(), label)
    } else {
        tx.commit().await?;
        let adapter = adapter(state, &keys, tenant, &p.account)?;
        let booking = adapter.book(&p.request).await.map_err(carrier_error)?;
        let label = booking
            .label(&p.request, 0)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("booking without a package")))?;
        let pkg = booking
            .packages
            .first()
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("booking without a package")))?;
        tx = state.db.tenant_tx(tenant).await?;
        (pkg.tracking, Some(pkg.sorting_code.clone()), false, label)
    };
    let row = format!("{order_id}:{seq}");
    let sealed = keys
        .data
        .seal(
            &label_aad(tenant, &row),
            &serde_json::to_vec(&label).map_err(ApiError::internal)?,
        )
        .map_err(ApiError::internal)?;
    let (tid, conn) = tx.split();
    // Only an unbooked package takes the number (a concurrent booking of the same package got the
    // same number from the carrier, or an earlier self-issued one stays).
    let n = sqlx::query(
        "UPDATE packages SET carrier = $1, tracking_number = $2, sorting_code = $3, label_sealed = $4, booked_at = $5 \
         WHERE tenant_id = $6 AND order_id = $7 AND seq = $8 AND tracking_number IS NULL",
    )
    .bind(tracking.carrier().as_str())
    .bind(tracking.digits())
    .bind(&sorting)
    .bind(sealed)
    .bind(now_ms())
    .bind(tid)
    .bind(order_id)
    .bind(seq)
    .execute(conn)
    .await?
    .rows_affected();
    tx.changed("order", order_id);
    tx.commit().await?;
    if n == 0 {
        return Err(ApiError::Conflict(
            "the package was booked meanwhile; reload the order".into(),
        ));
    }
    if warning {
        tracing::warn!(
            carrier = tracking.carrier().as_str(),
            "self-issue number range at 90 % or more: ask the carrier for a new range"
        );
    }
    Ok(BookResult {
        carrier: tracking.carrier().as_str().to_owned(),
        tracking_number: tracking.digits(),
        sorting_code: sorting,
        range_warning: warning,
        existing: false,
    })
}

/// Store the range's next state and the issued number (same transaction as its use).
async fn record_issue(
    tx: &mut TenantTx,
    before: wms_carriers::allocator::RangeState,
    issued: &wms_carriers::allocator::Issued,
    package: Option<(&str, i64)>,
) -> Result<(), ApiError> {
    let (tid, conn) = tx.split();
    // Conditional on the state read: two packers issuing at once cannot both take a number from
    // the same `next` (on SQLite the transaction is already exclusive; on PostgreSQL the second
    // update waits for the first and then matches nothing).
    let n = sqlx::query(
        "UPDATE carrier_accounts SET range_next = $1, updated_at = $2 WHERE tenant_id = $3 AND carrier = $4 AND range_next = $5",
    )
    .bind(to_i64(issued.state.next)?)
    .bind(now_ms())
    .bind(tid)
    .bind(before.carrier.as_str())
    .bind(to_i64(before.next)?)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(ApiError::Conflict(
            "another packer took this number at the same moment; retry".into(),
        ));
    }
    sqlx::query(
        "INSERT INTO issued_tracking_numbers (tenant_id, carrier, tracking_number, order_id, package_seq, issued_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tid)
    .bind(before.carrier.as_str())
    .bind(issued.tracking.digits())
    .bind(package.map(|p| p.0))
    .bind(package.map(|p| p.1))
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Take one number from a self-issue range (for stations that print offline from a pre-issued
/// block, and for tests of the range under concurrency). Retries a lost race a few times.
pub async fn issue_self_number(
    state: &AppState,
    tenant: TenantId,
    carrier: Carrier,
) -> Result<TrackingNumber, ApiError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut tx = state.db.tenant_tx(tenant).await?;
        let account = account_locked(&mut tx, state.db.backend(), carrier)
            .await?
            .ok_or(ApiError::NotFound("carrier account"))?;
        refuse_disabled(&account)?;
        let range = account.range.ok_or_else(|| {
            state_err(
                "carrier_not_self_issue",
                "this carrier account books through the carrier",
            )
        })?;
        let issued = range
            .issue()
            .map_err(|e| rule("range_exhausted", e.to_string()))?;
        match record_issue(&mut tx, range, &issued, None).await {
            Ok(()) => {
                tx.commit().await?;
                return Ok(issued.tracking);
            }
            Err(ApiError::Conflict(_)) if attempt < 5 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The label model of a booked package and how many times it has been printed, this time
/// included when `print` (a preview is not a print).
pub async fn label(
    tx: &mut TenantTx,
    keys: &TenantKeys,
    order_id: &str,
    seq: i64,
    print: bool,
) -> Result<(LabelModel, i64), ApiError> {
    let (tid, conn) = tx.split();
    let row: Option<(Option<Vec<u8>>, i64)> = sqlx::query_as(
        "SELECT label_sealed, prints FROM packages WHERE tenant_id = $1 AND order_id = $2 AND seq = $3",
    )
    .bind(tid)
    .bind(order_id)
    .bind(seq)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((sealed, prints)) = row else {
        return Err(ApiError::NotFound("package"));
    };
    let Some(sealed) = sealed else {
        return Err(rule(
            "label_not_booked",
            "this package has no booked label: book it first",
        ));
    };
    if print {
        sqlx::query("UPDATE packages SET prints = prints + 1 WHERE tenant_id = $1 AND order_id = $2 AND seq = $3")
            .bind(tid)
            .bind(order_id)
            .bind(seq)
            .execute(conn)
            .await?;
    }
    let row_id = format!("{order_id}:{seq}");
    let json = keys
        .data
        .open(&label_aad(tx.tenant(), &row_id), &sealed)
        .map_err(ApiError::internal)?;
    Ok((
        serde_json::from_slice(&json).map_err(ApiError::internal)?,
        prints + i64::from(print),
    ))
}

/// Void a booked label before dispatch; the number is recorded as voided with the reason.
pub async fn void(
    state: &AppState,
    tenant: TenantId,
    actor: &str,
    order_id: &str,
    seq: i64,
    reason: &str,
) -> Result<(), ApiError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(ApiError::Validation(
            "a reason of 1–200 characters is required".into(),
        ));
    }
    let backend = state.db.backend();
    let mut tx = state.db.tenant_tx(tenant).await?;
    let keys = state
        .keys
        .tenant(&mut tx)
        .await
        .map_err(ApiError::internal)?;
    let order = orders::view(&mut tx, backend, &keys, order_id, false)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    if !matches!(order.status, OrderState::Picking | OrderState::Packed) {
        return Err(state_err(
            "order_not_packable",
            format!(
                "order {} is {}: a label is voided before dispatch",
                order.external_id, order.status
            ),
        ));
    }
    let p = order
        .packages
        .iter()
        .find(|p| p.seq == seq)
        .ok_or(ApiError::NotFound("package"))?;
    let (Some(carrier), Some(number)) = (p.carrier.clone(), p.tracking_number.clone()) else {
        return Err(rule(
            "label_not_booked",
            "this package has no label to void",
        ));
    };
    let carrier_kind = parse_carrier(&carrier)?;
    let account = account(&mut tx, carrier_kind).await?;
    tx.commit().await?;
    if let Some(a) = account.as_ref().filter(|a| a.mode == "api") {
        let tracking = TrackingNumber::new(carrier_kind, &number)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?;
        adapter(state, &keys, tenant, a)?
            .void(tracking, reason)
            .await
            .map_err(carrier_error)?;
    }
    let mut tx = state.db.tenant_tx(tenant).await?;
    let now = now_ms();
    {
        let (tid, conn) = tx.split();
        sqlx::query(
            "INSERT INTO package_voids (tenant_id, order_id, package_seq, carrier, tracking_number, reason, actor, voided_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(tid)
        .bind(order_id)
        .bind(seq)
        .bind(&carrier)
        .bind(&number)
        .bind(reason)
        .bind(actor)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "UPDATE packages SET carrier = NULL, tracking_number = NULL, sorting_code = NULL, label_sealed = NULL, booked_at = NULL, prints = 0 \
             WHERE tenant_id = $1 AND order_id = $2 AND seq = $3",
        )
        .bind(tid)
        .bind(order_id)
        .bind(seq)
        .execute(conn)
        .await?;
    }
    crate::audit::append(
        &mut tx,
        backend,
        &keys,
        crate::audit::NewEvent::new(
            actor,
            wms_core::audit::AuditAction::LabelVoided,
            wms_core::audit::Outcome::Success,
        )
        .target(format!("order:{order_id}"))
        .detail(format!("package {seq}, {carrier} {number}: {reason}")),
    )
    .await
    .map_err(ApiError::internal)?;
    tx.changed("order", order_id);
    tx.commit().await?;
    Ok(())
}

/// One tracking pass: every dispatched, not yet delivered order with API-booked packages; the
/// milestones are recorded and an order whose every package is delivered becomes `delivered`.
/// Returns how many orders became delivered.
pub async fn poll_tracking(state: &AppState) -> Result<usize, ApiError> {
    let mut delivered = 0;
    for t in state.db.list_tenants().await? {
        let mut tx = state.db.tenant_tx(t.id).await?;
        let keys = state
            .keys
            .tenant(&mut tx)
            .await
            .map_err(ApiError::internal)?;
        let accounts: Vec<AccountRow> = {
            let (tid, conn) = tx.split();
            let rows: Vec<AccountTuple> = sqlx::query_as(&format!(
                "SELECT {ACCOUNT_COLS} FROM carrier_accounts WHERE tenant_id = $1 AND mode = 'api'"
            ))
            .bind(tid)
            .fetch_all(conn)
            .await?;
            rows.into_iter()
                .map(account_from)
                .collect::<Result<_, _>>()?
        };
        let packages: Vec<(String, i64, String, String)> = {
            let (tid, conn) = tx.split();
            sqlx::query_as(
                "SELECT p.order_id, p.seq, p.carrier, p.tracking_number FROM packages p JOIN orders o ON o.tenant_id = p.tenant_id AND o.id = p.order_id \
                 WHERE p.tenant_id = $1 AND o.status = 'dispatched' AND p.tracking_number IS NOT NULL AND p.booked_at IS NOT NULL ORDER BY p.order_id, p.seq LIMIT 500",
            )
            .bind(tid)
            .fetch_all(conn)
            .await?
        };
        tx.commit().await?;
        let mut done: std::collections::BTreeMap<String, bool> = std::collections::BTreeMap::new();
        for (order_id, seq, carrier, number) in packages {
            let Some(a) = accounts.iter().find(|a| a.carrier.as_str() == carrier) else {
                continue;
            };
            let kind = a.carrier;
            let tracking = match TrackingNumber::new(kind, &number) {
                Ok(t) => t,
                Err(_) => continue,
            };
            let milestones = match adapter(state, &keys, t.id, a)?.track(tracking).await {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "tracking poll failed");
                    done.insert(order_id.clone(), false);
                    continue;
                }
            };
            let mut tx = state.db.tenant_tx(t.id).await?;
            let (tid, conn) = tx.split();
            for m in &milestones {
                let kind = match m.kind {
                    MilestoneKind::PickedUp => "picked_up",
                    MilestoneKind::InTransit => "in_transit",
                    MilestoneKind::Delivered => "delivered",
                };
                sqlx::query(
                    "INSERT INTO tracking_events (tenant_id, order_id, package_seq, kind, at_ms) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (tenant_id, order_id, package_seq, kind) DO NOTHING",
                )
                .bind(tid)
                .bind(&order_id)
                .bind(seq)
                .bind(kind)
                .bind((m.at.unix_timestamp_nanos() / 1_000_000) as i64)
                .execute(&mut *conn)
                .await?;
            }
            tx.commit().await?;
            let is_delivered = milestones
                .iter()
                .any(|m| m.kind == MilestoneKind::Delivered);
            let entry = done.entry(order_id).or_insert(true);
            *entry = *entry && is_delivered;
        }
        for (order_id, all_delivered) in done {
            if !all_delivered {
                continue;
            }
            let mut tx = state.db.tenant_tx(t.id).await?;
            let (tid, conn) = tx.split();
            let to = OrderState::Dispatched
                .apply(OrderEvent::Deliver)
                .map_err(|e| ApiError::internal(anyhow::anyhow!("{e}")))?;
            let n = sqlx::query(
                "UPDATE orders SET status = $1, version = version + 1, updated_at = $2 WHERE tenant_id = $3 AND id = $4 AND status = 'dispatched'",
            )
            .bind(to.as_str())
            .bind(now_ms())
            .bind(tid)
            .bind(&order_id)
            .execute(conn)
            .await?
            .rows_affected();
            tx.changed("order", &order_id);
            tx.commit().await?;
            delivered += usize::try_from(n).unwrap_or(0);
        }
    }
    Ok(delivered)
}

/// Run the tracking poller until the task is dropped.
pub async fn run_poller(state: AppState) {
    let every = Duration::from_secs(state.settings.carriers.poll_secs.max(5));
    loop {
        tokio::time::sleep(every).await;
        match poll_tracking(&state).await {
            Ok(n) if n > 0 => tracing::info!(delivered = n, "tracking poll"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "tracking poll failed"),
        }
    }
}

/// The milestones recorded for an order's packages.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrackingEvent {
    pub package_seq: i64,
    /// `picked_up`, `in_transit`, `delivered`.
    pub kind: String,
    pub at: String,
}

pub async fn events(tx: &mut TenantTx, order_id: &str) -> Result<Vec<TrackingEvent>, ApiError> {
    let (tid, conn) = tx.split();
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT package_seq, kind, at_ms FROM tracking_events WHERE tenant_id = $1 AND order_id = $2 ORDER BY package_seq, at_ms",
    )
    .bind(tid)
    .bind(order_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TrackingEvent {
            package_seq: r.0,
            kind: r.1,
            at: rfc3339(r.2),
        })
        .collect())
}

/// The packing slip (納品書) of an order: its lines without prices, the recipient (opened: the
/// caller audits the PII use) and, as sender, the shipper of the tenant's carrier account.
pub async fn packing_slip(
    tx: &mut TenantTx,
    backend: Backend,
    keys: &TenantKeys,
    order_id: &str,
) -> Result<wms_core::label::PackingSlip, ApiError> {
    let order = orders::view(tx, backend, keys, order_id, true)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let Some(r) = order.recipient.as_ref() else {
        return Err(rule(
            "recipient_pii_missing",
            format!(
                "order {} has no recipient address on record ({}): no packing slip can be made",
                order.external_id, order.recipient_pii
            ),
        ));
    };
    let sender = {
        let (tid, conn) = tx.split();
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT sender_json FROM carrier_accounts WHERE tenant_id = $1 ORDER BY carrier DESC LIMIT 1",
        )
        .bind(tid)
        .fetch_optional(conn)
        .await?;
        let Some((json,)) = row else {
            return Err(rule(
                "sender_missing",
                "no shipper address on record: an admin connects a carrier account first (its sender is printed)",
            ));
        };
        serde_json::from_str::<Party>(&json).map_err(ApiError::internal)?
    };
    let slip = wms_core::label::PackingSlip {
        order_reference: order.external_id.clone(),
        ship_date: crate::warehouse::today(),
        recipient: party_of(r),
        sender,
        items: order
            .lines
            .iter()
            .map(|l| wms_core::label::SlipItem {
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: u32::try_from(l.quantity).unwrap_or(u32::MAX),
                unit_price_yen: None,
            })
            .collect(),
        show_prices: false,
    };
    slip.validate()
        .map_err(|e| rule("slip_invalid", e.to_string()))?;
    Ok(slip)
}
