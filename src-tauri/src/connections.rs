//! The admin's Connections screen: Amazon seller authorizations (connect, sync now, revoke, purge
//! PII) with their shipment-feedback counts and queue (a failed confirmation marked handled;
//! retried with `feedback_retry`), and carrier accounts (list, connect, change — label, endpoint,
//! customer code, key rotation, sender —, disable, enable, remove). Thin commands
//! over `wms_client::connections`; the form's shape is checked here, the rules are the server's,
//! and its codes reach the UI unchanged. The secrets the admin types (LWA client secret, refresh
//! token, carrier API key) are moved into wiped-on-drop strings, left out of `Debug` and of every
//! log line, passed to the server once and never returned to the UI.

use serde::{Deserialize, Serialize};
use tauri::State;
use wms_client::connections::{
    self as conn, CarrierAccountChange, NewAuthorization, NewCarrierAccount, Sender,
};
use zeroize::Zeroizing;

use crate::error::{AppError, Result};
use crate::office::given;
use crate::{Desk, is_erasure};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackCountsView {
    pending: i64,
    sent: i64,
    confirmed: i64,
    failed: i64,
    handled: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationView {
    id: String,
    selling_partner_id: String,
    marketplaces: Vec<String>,
    lwa_client_id: String,
    warehouse_id: String,
    /// `granted` / `not_granted`.
    pii_recipient: String,
    pii_buyer_email: String,
    /// `active` or `revoked`.
    status: String,
    revoked_reason: Option<String>,
    revoked_at: Option<String>,
    pii_purged_at: Option<String>,
    synced_until: Option<String>,
    last_sync_at: Option<String>,
    last_sync_error: Option<String>,
    feedback: FeedbackCountsView,
    created_at: Option<String>,
}

impl From<conn::Authorization> for AuthorizationView {
    fn from(a: conn::Authorization) -> Self {
        Self {
            id: a.id,
            selling_partner_id: a.selling_partner_id,
            marketplaces: a.marketplaces,
            lwa_client_id: a.lwa_client_id,
            warehouse_id: a.warehouse_id,
            pii_recipient: a.pii.recipient,
            pii_buyer_email: a.pii.buyer_email,
            status: a.status,
            revoked_reason: a.revoked_reason,
            revoked_at: a.revoked_at,
            pii_purged_at: a.pii_purged_at,
            synced_until: a.synced_until,
            last_sync_at: a.last_sync_at,
            last_sync_error: a.last_sync_error,
            feedback: FeedbackCountsView {
                pending: a.feedback.pending,
                sent: a.feedback.sent,
                confirmed: a.feedback.confirmed,
                failed: a.feedback.failed,
                handled: a.feedback.handled,
            },
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncView {
    seen: u32,
    created: u32,
    cancelled: u32,
    flagged: u32,
    problems: usize,
    synced_until: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgeView {
    orders_purged: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackView {
    order_id: String,
    external_id: String,
    package_seq: i64,
    tracking_number: Option<String>,
    status: String,
    reason: Option<String>,
    attempts: i64,
    last_error: Option<String>,
    updated_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SenderView {
    name: String,
    postal_code: String,
    #[serde(default)]
    address_lines: Vec<String>,
    #[serde(default)]
    phone: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CarrierAccountView {
    carrier: String,
    mode: String,
    base_url: Option<String>,
    customer_code: Option<String>,
    range_used: Option<u64>,
    range_total: Option<u64>,
    range_warning: bool,
    sender: SenderView,
    created_at: Option<String>,
    label: Option<String>,
    enabled: bool,
    disabled_at: Option<String>,
    updated_at: Option<String>,
}

impl From<conn::CarrierAccount> for CarrierAccountView {
    fn from(a: conn::CarrierAccount) -> Self {
        Self {
            carrier: a.carrier,
            mode: a.mode,
            base_url: a.base_url,
            customer_code: a.customer_code,
            range_used: a.range_used,
            range_total: a.range_total,
            range_warning: a.range_warning,
            sender: SenderView {
                name: a.sender.name,
                postal_code: a.sender.postal_code,
                address_lines: a.sender.address_lines,
                phone: a.sender.phone,
            },
            created_at: a.created_at,
            label: a.label,
            enabled: a.enabled,
            disabled_at: a.disabled_at,
            updated_at: a.updated_at,
        }
    }
}

/// The connect form for an Amazon seller (camelCase). Its `Debug` leaves the secrets out.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AmazonConnectInput {
    selling_partner_id: String,
    #[serde(default)]
    marketplaces: Vec<String>,
    lwa_client_id: String,
    lwa_client_secret: String,
    refresh_token: String,
    #[serde(default)]
    warehouse: Option<String>,
    #[serde(default)]
    pii_recipient: bool,
    #[serde(default)]
    pii_buyer_email: bool,
}

impl std::fmt::Debug for AmazonConnectInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmazonConnectInput")
            .field("selling_partner_id", &self.selling_partner_id)
            .finish_non_exhaustive()
    }
}

fn required(field: &str, v: &str) -> Result<()> {
    if v.trim().is_empty() {
        return Err(AppError::invalid(format!("{field} is required")));
    }
    Ok(())
}

fn new_authorization(i: AmazonConnectInput) -> Result<NewAuthorization> {
    required("sellingPartnerId", &i.selling_partner_id)?;
    required("lwaClientId", &i.lwa_client_id)?;
    // Moved, not copied, into strings wiped on drop (the form's own copy is the webview's).
    let secret = Zeroizing::new(i.lwa_client_secret);
    let token = Zeroizing::new(i.refresh_token);
    required("lwaClientSecret", &secret)?;
    required("refreshToken", &token)?;
    Ok(NewAuthorization {
        selling_partner_id: i.selling_partner_id.trim().to_owned(),
        marketplaces: i
            .marketplaces
            .iter()
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty())
            .collect(),
        lwa_client_id: i.lwa_client_id.trim().to_owned(),
        lwa_client_secret: secret,
        refresh_token: token,
        warehouse: given(i.warehouse),
        pii_recipient: i.pii_recipient,
        pii_buyer_email: i.pii_buyer_email,
    })
}

/// The add-a-carrier-account form (camelCase). Its `Debug` leaves the API key out.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarrierConnectInput {
    carrier: String,
    mode: String,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    customer_code: Option<String>,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    range_first: Option<u64>,
    #[serde(default)]
    range_last: Option<u64>,
    sender: SenderView,
    #[serde(default)]
    label: Option<String>,
}

impl std::fmt::Debug for CarrierConnectInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarrierConnectInput")
            .field("carrier", &self.carrier)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// A typed secret moved into a string wiped on drop; blank is none.
fn secret(v: Option<String>) -> Option<Zeroizing<String>> {
    v.map(Zeroizing::new).filter(|k| !k.trim().is_empty())
}

fn new_carrier_account(i: CarrierConnectInput) -> Result<NewCarrierAccount> {
    let api_key = secret(i.api_key);
    let (base_url, customer_code, api_key, range_first, range_last) = match i.mode.as_str() {
        "api" => (
            given(i.base_url),
            given(i.customer_code),
            api_key,
            None,
            None,
        ),
        "self_issue" => (None, None, None, i.range_first, i.range_last),
        other => {
            return Err(AppError::invalid(format!(
                "mode: {other:?} is not api or self_issue"
            )));
        }
    };
    Ok(NewCarrierAccount {
        carrier: i.carrier.trim().to_owned(),
        mode: i.mode,
        base_url,
        customer_code,
        api_key,
        range_first,
        range_last,
        sender: sender_of(i.sender),
        label: given(i.label),
    })
}

/// The sender as typed, trimmed, its empty address lines dropped.
fn sender_of(s: SenderView) -> Sender {
    Sender {
        name: s.name.trim().to_owned(),
        postal_code: s.postal_code.trim().to_owned(),
        address_lines: s
            .address_lines
            .iter()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect(),
        phone: s.phone.trim().to_owned(),
    }
}

/// The edit form of a carrier account (camelCase): what is null or blank is left as it is, except
/// `label`, where an empty text removes it. A new `apiKey` rotates the key. Its `Debug` leaves the
/// key out.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarrierUpdateInput {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    customer_code: Option<String>,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    sender: Option<SenderView>,
    #[serde(default)]
    enabled: Option<bool>,
}

impl std::fmt::Debug for CarrierUpdateInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarrierUpdateInput")
            .field("label", &self.label)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

fn carrier_change(i: CarrierUpdateInput) -> CarrierAccountChange {
    CarrierAccountChange {
        label: i.label.map(|l| l.trim().to_owned()),
        base_url: given(i.base_url),
        customer_code: given(i.customer_code),
        api_key: secret(i.api_key),
        sender: i.sender.map(sender_of),
        enabled: i.enabled,
    }
}

/// The tenant's Amazon seller authorizations (admin).
#[tauri::command]
pub async fn amazon_authorizations(desk: State<'_, Desk>) -> Result<Vec<AuthorizationView>> {
    with_station!(desk, |s| Ok(s
        .amazon_authorizations()
        .await?
        .into_iter()
        .map(AuthorizationView::from)
        .collect()))
}

/// Connects a seller (admin, step-up). The secrets are not in the answer.
#[tauri::command]
pub async fn amazon_connect(
    desk: State<'_, Desk>,
    input: AmazonConnectInput,
) -> Result<AuthorizationView> {
    let a = new_authorization(input)?;
    with_station!(desk, |s| Ok(s.connect_amazon(&a).await?.into()))
}

/// Revokes a seller authorization (admin, step-up).
#[tauri::command]
pub async fn amazon_revoke(
    desk: State<'_, Desk>,
    id: String,
    reason: Option<String>,
) -> Result<AuthorizationView> {
    let reason = given(reason);
    with_station!(desk, |s| Ok(s
        .revoke_amazon(&id, reason.as_deref())
        .await?
        .into()))
}

/// Erases the recipient PII of a revoked authorization's orders (admin, step-up; no undo).
#[tauri::command]
pub async fn amazon_purge_pii(desk: State<'_, Desk>, id: String) -> Result<PurgeView> {
    with_station!(desk, |s| Ok(PurgeView {
        orders_purged: s.purge_amazon_pii(&id).await?.orders_purged,
    }))
}

/// One sync pass now.
#[tauri::command]
pub async fn amazon_sync(desk: State<'_, Desk>, id: String) -> Result<SyncView> {
    with_station!(desk, |s| {
        let r = s.sync_amazon(&id).await?;
        Ok(SyncView {
            seen: r.seen,
            created: r.created,
            cancelled: r.cancelled,
            flagged: r.flagged,
            problems: r.problems.len(),
            synced_until: r.synced_until,
        })
    })
}

/// The shipment-feedback queue, optionally one status, newest first.
#[tauri::command]
pub async fn amazon_feedback(
    desk: State<'_, Desk>,
    status: Option<String>,
    limit: Option<u32>,
) -> Result<Vec<FeedbackView>> {
    let status = given(status);
    with_station!(desk, |s| Ok(s
        .amazon_feedback(status.as_deref(), limit)
        .await?
        .into_iter()
        .map(|f| FeedbackView {
            status: f.status().to_owned(),
            reason: f.reason().map(str::to_owned),
            order_id: f.order_id,
            external_id: f.external_id,
            package_seq: f.package_seq,
            tracking_number: f.tracking_number,
            attempts: f.attempts,
            last_error: f.last_error,
            updated_at: f.updated_at,
        })
        .collect()))
}

/// The tenant's carrier accounts.
#[tauri::command]
pub async fn carrier_accounts(desk: State<'_, Desk>) -> Result<Vec<CarrierAccountView>> {
    with_station!(desk, |s| Ok(s
        .carrier_accounts()
        .await?
        .into_iter()
        .map(CarrierAccountView::from)
        .collect()))
}

/// Connects a carrier account (admin, step-up). The API key is not in the answer.
#[tauri::command]
pub async fn carrier_connect(
    desk: State<'_, Desk>,
    input: CarrierConnectInput,
) -> Result<CarrierAccountView> {
    let a = new_carrier_account(input)?;
    with_station!(desk, |s| Ok(s.connect_carrier(&a).await?.into()))
}

/// Changes a carrier account (admin, step-up): label, endpoint, customer code, a new API key,
/// sender, enabled. The key is not in the answer.
#[tauri::command]
pub async fn carrier_update(
    desk: State<'_, Desk>,
    carrier: String,
    input: CarrierUpdateInput,
) -> Result<CarrierAccountView> {
    let change = carrier_change(input);
    with_station!(desk, |s| Ok(s
        .update_carrier(carrier.trim(), &change)
        .await?
        .into()))
}

/// Removes a carrier account nothing was booked with (admin, step-up).
#[tauri::command]
pub async fn carrier_remove(desk: State<'_, Desk>, carrier: String) -> Result<()> {
    with_station!(desk, |s| Ok(s.remove_carrier(carrier.trim()).await?))
}

/// Marks a failed shipment confirmation handled (supervisor or admin).
#[tauri::command]
pub async fn feedback_handled(desk: State<'_, Desk>, order_id: String, seq: i64) -> Result<()> {
    with_station!(desk, |s| Ok(s.feedback_handled(&order_id, seq).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_amazon_form_keeps_its_secrets_out_of_debug() {
        let i: AmazonConnectInput = serde_json::from_value(serde_json::json!({
            "sellingPartnerId": " A3SELLER ", "marketplaces": [" A1VC38T7YXB528 ", ""],
            "lwaClientId": "amzn1.app", "lwaClientSecret": "secret-xyz",
            "refreshToken": "Atzr|token-xyz", "piiRecipient": true
        }))
        .unwrap();
        assert!(!format!("{i:?}").contains("xyz"));
        let a = new_authorization(i).unwrap();
        assert!(!format!("{a:?}").contains("xyz"));
        assert_eq!(a.selling_partner_id, "A3SELLER");
        assert_eq!(a.marketplaces, vec!["A1VC38T7YXB528".to_owned()]);
        assert_eq!(a.refresh_token.as_str(), "Atzr|token-xyz");
        assert!(a.pii_recipient && !a.pii_buyer_email);
    }

    #[test]
    fn an_empty_secret_is_refused_before_the_server() {
        let i: AmazonConnectInput = serde_json::from_value(serde_json::json!({
            "sellingPartnerId": "A3SELLER", "lwaClientId": "amzn1.app",
            "lwaClientSecret": "s", "refreshToken": "  "
        }))
        .unwrap();
        let e = new_authorization(i).unwrap_err();
        assert_eq!(e.code, "validation_failed");
        assert!(e.message.contains("refreshToken"));
    }

    #[test]
    fn a_carrier_form_sends_only_its_mode_s_fields() {
        let form = |mode: &str| {
            serde_json::from_value::<CarrierConnectInput>(serde_json::json!({
                "carrier": "yamato", "mode": mode, "baseUrl": "https://y.example",
                "customerCode": "0312345678", "apiKey": "key-xyz",
                "rangeFirst": 1000, "rangeLast": 1999,
                "sender": {"name": "倉庫", "postalCode": "135-0061",
                           "addressLines": ["東京都江東区豊洲3-3-3", " "], "phone": "03"}
            }))
            .unwrap()
        };
        let i = form("api");
        assert!(!format!("{i:?}").contains("xyz"));
        let a = new_carrier_account(i).unwrap();
        assert!(a.api_key.is_some() && a.range_first.is_none());
        assert_eq!(a.sender.address_lines.len(), 1);
        let s = new_carrier_account(form("self_issue")).unwrap();
        assert!(s.api_key.is_none() && s.base_url.is_none());
        assert_eq!((s.range_first, s.range_last), (Some(1000), Some(1999)));
        assert_eq!(
            new_carrier_account(form("fax")).unwrap_err().code,
            "validation_failed"
        );
    }

    #[test]
    fn an_edit_sends_what_was_typed_and_keeps_the_key_out_of_debug() {
        let i: CarrierUpdateInput = serde_json::from_value(serde_json::json!({
            "label": " 本社契約 ", "baseUrl": " ", "customerCode": null,
            "apiKey": "rotated-xyz", "enabled": false
        }))
        .unwrap();
        assert!(!format!("{i:?}").contains("xyz"));
        let c = carrier_change(i);
        assert!(!format!("{c:?}").contains("xyz"));
        assert_eq!(c.label.as_deref(), Some("本社契約"));
        assert!(c.base_url.is_none() && c.customer_code.is_none() && c.sender.is_none());
        assert_eq!(
            c.api_key.as_deref().map(String::as_str),
            Some("rotated-xyz")
        );
        assert_eq!(c.enabled, Some(false));
        // A blank key is no rotation; an empty label removes it.
        let blank: CarrierUpdateInput =
            serde_json::from_value(serde_json::json!({"label": "", "apiKey": "  "})).unwrap();
        let c = carrier_change(blank);
        assert!(c.api_key.is_none());
        assert_eq!(c.label.as_deref(), Some(""));
    }
}
