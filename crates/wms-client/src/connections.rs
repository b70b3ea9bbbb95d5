//! The admin's connections: Amazon seller authorizations (connect, sync now, revoke, purge the
//! recipient PII of a revoked one), the shipment-feedback queue, and carrier accounts (connect,
//! list, change — label, endpoint, customer code, key rotation, sender —, disable, enable,
//! remove). Connecting, changing, revoking, removing and purging need a fresh MFA step-up
//! (`step_up_required` otherwise); the server checks every rule and its codes
//! (`validation_failed`, `conflict`, `already_revoked`, `authorization_active`,
//! `authorization_revoked`, `amazon_sync_failed`, `invalid_range`, `carrier_not_api`,
//! `carrier_account_in_use`, `not_found`) reach the caller unchanged.
//!
//! The secrets an admin types (an LWA client secret, a refresh token, a carrier API key) are held
//! in [`Zeroizing`] strings, left out of `Debug` and of the traces, and sent to the server in one
//! request, which seals them and never returns them. (The request's JSON body is a plain
//! `serde_json::Value`, which cannot be wiped: it lives for that one call.) The views below tolerate fields they do not know and default the ones
//! an older server does not send.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::api::Call;
use crate::office::segment;
use crate::station::{Station, StationError};

/// Which personal data the seller granted the application (`granted` / `not_granted`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct PiiScopes {
    #[serde(default)]
    pub recipient: String,
    #[serde(default)]
    pub buyer_email: String,
}

/// Per status, how many package confirmations an authorization has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct FeedbackCounts {
    #[serde(default)]
    pub pending: i64,
    #[serde(default)]
    pub sent: i64,
    #[serde(default)]
    pub confirmed: i64,
    #[serde(default)]
    pub failed: i64,
    #[serde(default)]
    pub handled: i64,
}

/// An Amazon seller authorization as `GET /api/v1/amazon/authorizations` shows it (no secrets).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Authorization {
    pub id: String,
    pub selling_partner_id: String,
    #[serde(default)]
    pub marketplaces: Vec<String>,
    #[serde(default)]
    pub lwa_client_id: String,
    #[serde(default)]
    pub warehouse_id: String,
    #[serde(default)]
    pub pii: PiiScopes,
    /// `active` or `revoked`.
    pub status: String,
    #[serde(default)]
    pub revoked_reason: Option<String>,
    #[serde(default)]
    pub revoked_at: Option<String>,
    #[serde(default)]
    pub pii_purged_at: Option<String>,
    #[serde(default)]
    pub synced_until: Option<String>,
    #[serde(default)]
    pub last_sync_at: Option<String>,
    #[serde(default)]
    pub last_sync_error: Option<String>,
    #[serde(default)]
    pub feedback: FeedbackCounts,
    #[serde(default)]
    pub created_at: Option<String>,
}

/// A seller authorization to record (`POST /api/v1/amazon/authorizations`). Not `Clone`: the
/// secrets exist once, and are wiped when it is dropped.
pub struct NewAuthorization {
    pub selling_partner_id: String,
    /// Empty: the server's default marketplace (amazon.co.jp).
    pub marketplaces: Vec<String>,
    pub lwa_client_id: String,
    pub lwa_client_secret: Zeroizing<String>,
    pub refresh_token: Zeroizing<String>,
    /// A warehouse code (the tenant's only warehouse when `None`).
    pub warehouse: Option<String>,
    pub pii_recipient: bool,
    pub pii_buyer_email: bool,
}

impl std::fmt::Debug for NewAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAuthorization")
            .field("selling_partner_id", &self.selling_partner_id)
            .field("marketplaces", &self.marketplaces)
            .field("lwa_client_secret", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl NewAuthorization {
    fn body(&self) -> Value {
        json!({
            "selling_partner_id": self.selling_partner_id,
            "marketplaces": self.marketplaces,
            "lwa_client_id": self.lwa_client_id,
            "lwa_client_secret": self.lwa_client_secret.as_str(),
            "refresh_token": self.refresh_token.as_str(),
            "warehouse": self.warehouse,
            "pii_recipient": self.pii_recipient,
            "pii_buyer_email": self.pii_buyer_email,
        })
    }
}

/// What one sync pass did (`POST …/{id}/sync`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct SyncReport {
    #[serde(default)]
    pub pages: u32,
    #[serde(default)]
    pub seen: u32,
    #[serde(default)]
    pub created: u32,
    #[serde(default)]
    pub cancelled: u32,
    /// Cancelled at Amazon after dispatch here: a supervisor must look.
    #[serde(default)]
    pub flagged: u32,
    #[serde(default)]
    pub ignored: u32,
    /// Orders that could not be imported (`amazon_order_id`, `reason`), kept as the server wrote
    /// them.
    #[serde(default)]
    pub problems: Vec<Value>,
    #[serde(default)]
    pub synced_until: Option<String>,
}

/// What purging a revoked authorization's PII erased.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
pub struct PurgeReport {
    #[serde(default)]
    pub orders_purged: u64,
}

/// A package confirmation in the shipment-feedback queue (`GET /api/v1/amazon/feedback`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FeedbackRow {
    pub order_id: String,
    #[serde(default)]
    pub external_id: String,
    #[serde(default)]
    pub package_seq: i64,
    #[serde(default)]
    pub tracking_number: Option<String>,
    /// `{"status": "failed", "reason": "…"}`, `{"status": "pending"}`, …: kept as written, so a
    /// status a newer server adds is not a parse error.
    #[serde(default)]
    pub feedback: Value,
    #[serde(default)]
    pub attempts: i64,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

impl FeedbackRow {
    /// The status's name (`pending`, `failed`, …), empty if the server sent none.
    #[must_use]
    pub fn status(&self) -> &str {
        self.feedback
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// Why it failed (`failed` only).
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        self.feedback.get("reason").and_then(Value::as_str)
    }
}

/// The shipper printed on labels.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Sender {
    pub name: String,
    /// `NNN-NNNN`.
    pub postal_code: String,
    #[serde(default)]
    pub address_lines: Vec<String>,
    #[serde(default)]
    pub phone: String,
}

/// A connected carrier account as `GET /api/v1/carriers/accounts` shows it (no API key).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CarrierAccount {
    /// `yamato` or `sagawa`.
    pub carrier: String,
    /// `api` or `self_issue`.
    pub mode: String,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub customer_code: Option<String>,
    /// Self-issue: serials used of the range, and whether it is at 90 % or more.
    #[serde(default)]
    pub range_used: Option<u64>,
    #[serde(default)]
    pub range_total: Option<u64>,
    #[serde(default)]
    pub range_warning: bool,
    #[serde(default)]
    pub sender: Sender,
    #[serde(default)]
    pub created_at: Option<String>,
    /// The admin's name for the account.
    #[serde(default)]
    pub label: Option<String>,
    /// False once disabled (no new labels); an older server, which cannot disable, sends none.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(default)]
    pub disabled_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

fn enabled_by_default() -> bool {
    true
}

/// A change to a carrier account (`PATCH /api/v1/carriers/accounts/{carrier}`): only what is
/// `Some` is sent. A new `api_key` rotates the key. Not `Clone`: the key exists once.
#[derive(Default)]
pub struct CarrierAccountChange {
    /// Empty removes the label.
    pub label: Option<String>,
    pub base_url: Option<String>,
    pub customer_code: Option<String>,
    pub api_key: Option<Zeroizing<String>>,
    pub sender: Option<Sender>,
    pub enabled: Option<bool>,
}

impl std::fmt::Debug for CarrierAccountChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarrierAccountChange")
            .field("label", &self.label)
            .field("enabled", &self.enabled)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl CarrierAccountChange {
    fn body(&self) -> Value {
        let fields = [
            ("label", self.label.as_deref().map(Value::from)),
            ("base_url", self.base_url.as_deref().map(Value::from)),
            (
                "customer_code",
                self.customer_code.as_deref().map(Value::from),
            ),
            (
                "api_key",
                self.api_key.as_deref().map(|k| Value::from(k.as_str())),
            ),
            ("sender", self.sender.as_ref().map(|s| json!(s))),
            ("enabled", self.enabled.map(Value::from)),
        ];
        with_given(json!({}), fields)
    }
}

/// `v` with the fields that are given (`Some`) set: the server tells an absent field from a null.
fn with_given<const N: usize>(mut v: Value, fields: [(&str, Option<Value>); N]) -> Value {
    for (k, val) in fields {
        if let Some(val) = val {
            v[k] = val;
        }
    }
    v
}

fn carrier_path(carrier: &str) -> String {
    format!("/api/v1/carriers/accounts/{}", segment(carrier))
}

/// A carrier account to connect (`POST /api/v1/carriers/accounts`): `api` mode takes the base
/// URL, customer code and API key; `self_issue` the allocated serial range. Not `Clone`.
pub struct NewCarrierAccount {
    pub carrier: String,
    pub mode: String,
    pub base_url: Option<String>,
    pub customer_code: Option<String>,
    pub api_key: Option<Zeroizing<String>>,
    pub range_first: Option<u64>,
    pub range_last: Option<u64>,
    pub sender: Sender,
    /// A name for the account (「本社契約」).
    pub label: Option<String>,
}

impl std::fmt::Debug for NewCarrierAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCarrierAccount")
            .field("carrier", &self.carrier)
            .field("mode", &self.mode)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl NewCarrierAccount {
    fn body(&self) -> Value {
        let v = json!({
            "carrier": self.carrier,
            "mode": self.mode,
            "sender": self.sender,
        });
        let fields = [
            ("base_url", self.base_url.as_deref().map(Value::from)),
            (
                "customer_code",
                self.customer_code.as_deref().map(Value::from),
            ),
            (
                "api_key",
                self.api_key.as_deref().map(|k| Value::from(k.as_str())),
            ),
            ("range_first", self.range_first.map(Value::from)),
            ("range_last", self.range_last.map(Value::from)),
            ("label", self.label.as_deref().map(Value::from)),
        ];
        with_given(v, fields)
    }
}

impl Station {
    /// The tenant's Amazon seller authorizations (admin).
    pub async fn amazon_authorizations(&self) -> Result<Vec<Authorization>, StationError> {
        self.get_json("/api/v1/amazon/authorizations", &[]).await
    }

    /// Records a seller authorization (admin, after a step-up). The secrets go to the server in
    /// this one request and are not kept here.
    #[tracing::instrument(skip_all)]
    pub async fn connect_amazon(
        &self,
        a: &NewAuthorization,
    ) -> Result<Authorization, StationError> {
        self.post_json("/api/v1/amazon/authorizations", a.body())
            .await
    }

    /// Revokes an authorization (admin, after a step-up): no more orders are read, no more
    /// feedback sent. `already_revoked` if it was.
    pub async fn revoke_amazon(
        &self,
        id: &str,
        reason: Option<&str>,
    ) -> Result<Authorization, StationError> {
        let path = format!("/api/v1/amazon/authorizations/{}/revoke", segment(id));
        self.post_json(&path, json!({ "reason": reason })).await
    }

    /// Erases the recipient PII of a revoked authorization's orders (admin, after a step-up; no
    /// undo). `authorization_active` while it is not revoked.
    pub async fn purge_amazon_pii(&self, id: &str) -> Result<PurgeReport, StationError> {
        let path = format!("/api/v1/amazon/authorizations/{}/purge-pii", segment(id));
        self.post_json(&path, json!({})).await
    }

    /// One sync pass now (supervisor or admin). `authorization_revoked`, `amazon_sync_failed`.
    pub async fn sync_amazon(&self, id: &str) -> Result<SyncReport, StationError> {
        let path = format!("/api/v1/amazon/authorizations/{}/sync", segment(id));
        self.post_json(&path, json!({})).await
    }

    /// The shipment-feedback queue, newest first, optionally one status (`pending`, `sent`,
    /// `confirmed`, `failed`, `handled`); `limit` 1–500 (the server's default is 100).
    pub async fn amazon_feedback(
        &self,
        status: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<FeedbackRow>, StationError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(s) = status {
            query.push(("status", s.to_owned()));
        }
        if let Some(l) = limit {
            query.push(("limit", l.to_string()));
        }
        self.get_json("/api/v1/amazon/feedback", &query).await
    }

    /// The tenant's carrier accounts (supervisor or admin).
    pub async fn carrier_accounts(&self) -> Result<Vec<CarrierAccount>, StationError> {
        self.get_json("/api/v1/carriers/accounts", &[]).await
    }

    /// Connects a carrier account (admin, after a step-up); `conflict` if that carrier is already
    /// connected.
    #[tracing::instrument(skip_all)]
    pub async fn connect_carrier(
        &self,
        a: &NewCarrierAccount,
    ) -> Result<CarrierAccount, StationError> {
        self.post_json("/api/v1/carriers/accounts", a.body()).await
    }

    /// Changes a carrier account (admin, after a step-up): its label, endpoint, customer code,
    /// key (rotated), printed sender, or enabled. `carrier_not_api` for API settings of a
    /// self-issue account; `not_found` for a carrier the tenant has no account with.
    #[tracing::instrument(skip_all)]
    pub async fn update_carrier(
        &self,
        carrier: &str,
        change: &CarrierAccountChange,
    ) -> Result<CarrierAccount, StationError> {
        self.patch_json(&carrier_path(carrier), change.body()).await
    }

    /// Removes a carrier account nothing was booked with (admin, after a step-up);
    /// `carrier_account_in_use` once labels were booked with it (disable it instead).
    pub async fn remove_carrier(&self, carrier: &str) -> Result<(), StationError> {
        let path = carrier_path(carrier);
        let key = uuid::Uuid::now_v7().to_string();
        self.session()
            .raw(|t| {
                Call {
                    method: reqwest::Method::DELETE,
                    ..Call::get(path.as_str())
                }
                .idempotency_key(&key)
                .bearer(t)
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Sender {
        Sender {
            name: "ジリアン物流".into(),
            postal_code: "135-0061".into(),
            address_lines: vec!["東京都江東区豊洲3-3-3".into()],
            phone: "03-1234-5678".into(),
        }
    }

    #[test]
    fn an_authorization_reads_as_the_server_writes_it() {
        let a: Authorization = serde_json::from_str(
            r#"{"id":"a1","selling_partner_id":"A3SELLER","marketplaces":["A1VC38T7YXB528"],
                "lwa_client_id":"amzn1.app","warehouse_id":"w1",
                "pii":{"recipient":"granted","buyer_email":"not_granted"},"status":"active",
                "revoked_reason":null,"revoked_at":null,"pii_purged_at":null,"synced_until":null,
                "last_sync_at":"2026-11-29T10:00:00Z","last_sync_error":null,
                "feedback":{"pending":1,"sent":0,"confirmed":3,"failed":2,"handled":0},
                "created_at":"2026-11-01T00:00:00Z","a_future_field":true}"#,
        )
        .unwrap();
        assert_eq!(a.pii.recipient, "granted");
        assert_eq!(a.feedback.failed, 2);
        assert_eq!(a.last_sync_at.as_deref(), Some("2026-11-29T10:00:00Z"));
        // An older server's answer without the counts and scopes.
        let b: Authorization =
            serde_json::from_str(r#"{"id":"a2","selling_partner_id":"S","status":"revoked"}"#)
                .unwrap();
        assert_eq!(b.feedback, FeedbackCounts::default());
        assert!(b.marketplaces.is_empty() && b.pii.recipient.is_empty());
    }

    #[test]
    fn secrets_are_sent_but_never_debug_printed() {
        let a = NewAuthorization {
            selling_partner_id: "A3SELLER".into(),
            marketplaces: vec![],
            lwa_client_id: "amzn1.app".into(),
            lwa_client_secret: Zeroizing::new("client-secret-xyz".into()),
            refresh_token: Zeroizing::new("Atzr|refresh-xyz".into()),
            warehouse: None,
            pii_recipient: true,
            pii_buyer_email: false,
        };
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("xyz"), "{dbg}");
        let body = a.body();
        assert_eq!(body["refresh_token"], "Atzr|refresh-xyz");
        assert_eq!(body["lwa_client_secret"], "client-secret-xyz");
        assert_eq!(body["pii_recipient"], true);

        let c = NewCarrierAccount {
            carrier: "yamato".into(),
            mode: "api".into(),
            base_url: Some("https://carrier.example".into()),
            customer_code: Some("0312345678".into()),
            api_key: Some(Zeroizing::new("key-xyz".into())),
            range_first: None,
            range_last: None,
            sender: sender(),
            label: None,
        };
        assert!(!format!("{c:?}").contains("xyz"));
        let body = c.body();
        assert_eq!(body["api_key"], "key-xyz");
        assert!(body.get("range_first").is_none());
    }

    #[test]
    fn a_self_issue_account_sends_its_range_only() {
        let c = NewCarrierAccount {
            carrier: "sagawa".into(),
            mode: "self_issue".into(),
            base_url: None,
            customer_code: None,
            api_key: None,
            range_first: Some(100_000),
            range_last: Some(199_999),
            sender: sender(),
            label: Some("佐川 自社発番".into()),
        };
        let body = c.body();
        assert_eq!(body["range_first"], 100_000);
        assert!(body.get("api_key").is_none() && body.get("base_url").is_none());
        assert_eq!(body["sender"]["address_lines"][0], "東京都江東区豊洲3-3-3");
        assert_eq!(body["label"], "佐川 自社発番");
    }

    #[test]
    fn a_change_sends_only_what_changes_and_never_prints_the_key() {
        let c = CarrierAccountChange {
            api_key: Some(Zeroizing::new("rotated-xyz".into())),
            enabled: Some(false),
            ..CarrierAccountChange::default()
        };
        assert!(!format!("{c:?}").contains("xyz"));
        assert_eq!(
            c.body(),
            json!({"api_key": "rotated-xyz", "enabled": false})
        );
        let s = CarrierAccountChange {
            label: Some(String::new()),
            sender: Some(sender()),
            ..CarrierAccountChange::default()
        };
        let body = s.body();
        assert_eq!(body["label"], "");
        assert_eq!(body["sender"]["postal_code"], "135-0061");
        assert!(body.get("enabled").is_none() && body.get("api_key").is_none());
        assert_eq!(carrier_path("sagawa"), "/api/v1/carriers/accounts/sagawa");
        assert_eq!(carrier_path("a/b"), "/api/v1/carriers/accounts/a%2Fb");
    }

    #[test]
    fn accounts_and_feedback_rows_read_tolerantly() {
        let a: CarrierAccount = serde_json::from_str(
            r#"{"carrier":"sagawa","mode":"self_issue","base_url":null,"customer_code":null,
                "range_used":95,"range_total":100,"range_warning":true,
                "sender":{"name":"X","postal_code":"135-0061","address_lines":["a"],"phone":"1"},
                "created_at":"2026-11-29T00:00:00Z"}"#,
        )
        .unwrap();
        assert!(a.range_warning);
        assert_eq!((a.range_used, a.range_total), (Some(95), Some(100)));
        assert!(a.enabled, "an older server's account is enabled");
        let d: CarrierAccount = serde_json::from_str(
            r#"{"carrier":"yamato","mode":"api","label":"本社契約","enabled":false,
                "disabled_at":"2026-11-29T00:00:00Z","updated_at":"2026-11-29T00:00:00Z"}"#,
        )
        .unwrap();
        assert!(!d.enabled && d.label.as_deref() == Some("本社契約"));
        let f: FeedbackRow = serde_json::from_str(
            r#"{"order_id":"o1","external_id":"250-1","package_seq":1,"tracking_number":null,
                "feedback":{"status":"failed","reason":"InvalidTrackingNumber"},"attempts":3,
                "last_error":null,"amazon_request_id":"r","updated_at":"2026-11-29T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            (f.status(), f.reason()),
            ("failed", Some("InvalidTrackingNumber"))
        );
        let r: SyncReport = serde_json::from_str(
            r#"{"pages":1,"seen":2,"created":2,"cancelled":0,"flagged":0,"ignored":0,
                "problems":[],"synced_until":"2026-11-29T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(r.created, 2);
    }
}
