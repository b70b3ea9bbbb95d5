//! What the desktop app's screens do beyond sync, print and dispatch: first contact with a server
//! (the certificate fingerprint to confirm), the packing bench (order lookup by scan, item scans,
//! packages, carrier booking, label preview and void) and the supervisor's and admin's reads and
//! actions. Every call goes through the station's session (the UI never holds a token); answers
//! that change an order refresh its cached copy.

use serde::{Deserialize, Serialize};

use crate::api::{ApiClient, ApiConfig, ApiError, Call};
use crate::model::{Order, Sku};
use crate::station::{Station, StationError};
use crate::tls::Fingerprint;

pub use wms_core::ledger::MovementKind;

/// The SHA-256 fingerprint of the certificate `server` presents, for a person to confirm before
/// it is pinned (first contact). Nothing is trusted here: the connection is made against an
/// impossible pin and the certificate seen is read from the refusal.
pub async fn probe_fingerprint(server: &str) -> Result<Fingerprint, StationError> {
    let impossible = Fingerprint::parse(&"00".repeat(32))?;
    let api = ApiClient::new(&ApiConfig::new(server.to_owned(), Some(impossible)))?;
    match api.raw(Call::get("/healthz").once()).await {
        Err(ApiError::PinMismatch(m)) => Ok(m.seen),
        Err(e) => Err(e.into()),
        // Only a certificate whose hash is all zeros could get here.
        Ok(_) => Ok(impossible),
    }
}

/// What the server answers to one item scan at the bench.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PackResult {
    pub line_no: i64,
    pub sku: String,
    pub packed: i64,
    pub quantity: i64,
    pub order_complete: bool,
    /// The server could not be reached: the scan was checked against the cached order and
    /// recorded in the outbox, to be replayed when the connection is back.
    #[serde(default, skip_deserializing)]
    pub recorded_offline: bool,
}

/// A package as the packer records it (`POST /api/v1/orders/{id}/packages`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct NewPackage {
    pub box_type: String,
    pub weight_g: i64,
    /// `yamato`, `sagawa` or `japan_post`, with `tracking_number`: a pre-printed label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
}

/// The order after [`Station::add_package_noting`].
#[derive(Debug, Clone)]
pub struct PackageAdded {
    pub order: Order,
    /// The server could not be reached: the package was checked against the cached order and
    /// recorded in the outbox.
    pub recorded_offline: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BookResult {
    pub carrier: String,
    pub tracking_number: String,
    #[serde(default)]
    pub range_warning: bool,
    #[serde(default)]
    pub existing: bool,
}

/// One balance row of `GET /api/v1/stock`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StockRow {
    pub sku: String,
    pub sku_name: String,
    pub warehouse: String,
    pub location: String,
    #[serde(default)]
    pub lot: Option<String>,
    #[serde(default)]
    pub expiry: Option<String>,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
}

/// The text filters given (trimmed, empty ones left out), as query parameters.
fn text_filters<'a, const N: usize>(
    fields: [(&'a str, &Option<String>); N],
) -> Vec<(&'a str, String)> {
    fields
        .into_iter()
        .filter_map(|(k, v)| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| (k, v.to_owned()))
        })
        .collect()
}

/// Filters of a stock query (all optional).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct StockQuery {
    pub sku: Option<String>,
    pub location: Option<String>,
    pub batch: Option<String>,
    pub expiring_before: Option<String>,
    pub low_stock: Option<bool>,
    pub limit: Option<u32>,
}

/// One line of the stock ledger as `GET /api/v1/movements` lists it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MovementRow {
    /// Sorts by time: the cursor for paging backwards.
    pub id: String,
    /// RFC 3339, UTC.
    pub at: String,
    pub kind: MovementKind,
    /// The seller SKU.
    pub sku: String,
    /// Location codes; which sides a kind uses is `MovementKind::sides`.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub lot: Option<String>,
    pub quantity: i64,
    pub reason_code: String,
    pub user_id: String,
    #[serde(default)]
    pub reference: Option<String>,
}

/// Filters of a movement query (all optional); newest first.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct MovementQuery {
    pub sku: Option<String>,
    pub kind: Option<MovementKind>,
    /// Movements at or after this time (epoch milliseconds).
    pub since_ms: Option<i64>,
    /// Page backwards: movements strictly older than this movement id.
    pub before: Option<String>,
    /// 1–1000 (the server's default: 200).
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AtRiskOrder {
    pub order_id: String,
    pub amazon_order_id: String,
    pub status: String,
    pub reason: String,
    #[serde(default)]
    pub ship_by: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct FeedbackRow {
    pub order_id: String,
    pub external_id: String,
    pub package_seq: i64,
    pub feedback: serde_json::Value,
    pub attempts: i64,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct UserInfo {
    pub id: String,
    pub email: String,
    pub role: String,
    pub mfa_enrolled: bool,
    #[serde(default)]
    pub locked_until: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuditVerify {
    pub intact: bool,
    pub verified: i64,
    #[serde(default)]
    pub broken_at_seq: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A device (workstation) as an admin sees it.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DeviceView {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub active_sessions: i64,
    pub revoked: bool,
    #[serde(default)]
    pub revoked_at: Option<String>,
    pub wipe_pending: bool,
    #[serde(default)]
    pub wiped_at: Option<String>,
    #[serde(default)]
    pub printer_profile: Option<crate::device::PrinterProfile>,
    /// The release channel its updates come from (`None`: the server's default, `stable`).
    #[serde(default)]
    pub update_channel: Option<String>,
}

/// A device's release channel as an admin typed it: blank is the server's default (`None`),
/// anything else must be a channel name by the server's rule (`wms_core::release`), checked
/// before the step-up is asked for.
pub fn update_channel(
    channel: Option<&str>,
) -> Result<Option<&str>, crate::releases::ReleaseInputError> {
    match channel.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => {
            wms_core::release::check_channel(c)?;
            Ok(Some(c))
        }
        None => Ok(None),
    }
}

/// `/api/v1/devices/{id}/{action}` for a device id by the server's rule (so an id cannot reach
/// another endpoint through the path).
fn device_path(id: &str, action: &str) -> Result<String, StationError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        Ok(format!("/api/v1/devices/{id}/{action}"))
    } else {
        Err(ApiError::BadUrl(format!("device id {id:?}")).into())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Me {
    pub user_id: String,
    pub role: String,
    pub tenant: String,
    #[serde(default)]
    pub email: Option<String>,
}

fn key() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Station {
    pub(crate) async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<T, StationError> {
        // One idempotency key for the call and its retries: a lost answer is never a second scan.
        let k = key();
        Ok(self
            .session()
            .json(|t| Call::post(path, body.clone()).idempotency_key(&k).bearer(t))
            .await?)
    }

    /// A PATCH (a partial change), with one idempotency key for the call and its retries.
    pub(crate) async fn patch_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<T, StationError> {
        let k = key();
        Ok(self
            .session()
            .json(|t| {
                Call::patch(path, body.clone())
                    .idempotency_key(&k)
                    .bearer(t)
            })
            .await?)
    }

    pub(crate) async fn post_unit(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<(), StationError> {
        let k = key();
        self.session()
            .raw(|t| Call::post(path, body.clone()).idempotency_key(&k).bearer(t))
            .await?;
        Ok(())
    }

    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, StationError> {
        Ok(self
            .session()
            .json(|t| {
                query
                    .iter()
                    .fold(Call::get(path), |c, (k, v)| c.query(k, v.clone()))
                    .bearer(t)
            })
            .await?)
    }

    /// Who is logged in at this station.
    pub async fn me(&self) -> Result<Me, StationError> {
        self.get_json("/api/v1/me", &[]).await
    }

    /// The order a scanned code names: its id, or its channel order id (an Amazon order id) among
    /// the cached orders. Fresh from the server when reachable (someone may have changed it).
    pub async fn find_order(&self, code: &str) -> Result<Order, StationError> {
        let code = code.trim();
        if code.is_empty() || code.len() > 128 {
            return Err(StationError::OrderNotFound(
                code.chars().take(128).collect(),
            ));
        }
        let id = match self.cached_order_id(code).await? {
            Some(id) => id,
            None => {
                // Released to packing since the last sync? One delta brings it.
                match self.sync(&mut |_| {}).await {
                    Ok(_) => {}
                    Err(e) if e.is_offline() => {}
                    Err(e) => return Err(e),
                }
                self.cached_order_id(code)
                    .await?
                    .unwrap_or_else(|| code.to_owned())
            }
        };
        // Found unreachable moments ago: the cached order, without waiting for the server again.
        if self.recently_offline()
            && let Ok(Some(o)) = self.cache().order(&id).await
        {
            return Ok(o);
        }
        match self.fetch_order(&id).await {
            Ok(o) => Ok(o),
            Err(e) if e.is_offline() => match self.cache().order(&id).await {
                Ok(Some(o)) => Ok(o),
                _ => Err(StationError::OrderUnavailable(id)),
            },
            Err(e) if matches!(e.code(), "not_found" | "bad_request" | "validation_failed") => {
                Err(StationError::OrderNotFound(code.to_owned()))
            }
            Err(e) => Err(e),
        }
    }

    /// The cached order whose id or channel order id is `code`.
    async fn cached_order_id(&self, code: &str) -> Result<Option<String>, StationError> {
        // An order id is a key lookup; a channel order id one through the blind index.
        if let Ok(Some(o)) = self.cache().order(code).await {
            return Ok(Some(o.id));
        }
        Ok(self.cache().order_id_by_external(code).await?)
    }

    /// One item scanned at the bench. A wrong item, one too many or a lot not allocated here is
    /// refused by the server and counts nothing; the refreshed order is returned otherwise.
    ///
    /// When the server cannot be reached (or this order's earlier offline actions have not
    /// reached it yet), the scan is checked against the cached order with the server's rule and
    /// recorded in the outbox ([`PackResult::recorded_offline`]); a lot cannot be checked then.
    pub async fn scan_item(
        &self,
        order_id: &str,
        barcode: &str,
        lot: Option<&str>,
    ) -> Result<(PackResult, Order), StationError> {
        // One key for the call and its offline record: if the call did reach the server and only
        // its answer was lost, the replayed record is the same request, not a second scan.
        let k = key();
        let body = serde_json::json!({ "barcode": barcode.trim(), "lot": lot });
        if self.order_in_step(order_id).await? {
            let path = format!("/api/v1/orders/{order_id}/pack");
            match self.post_or_record::<PackResult>(&path, &body, &k).await {
                Ok(r) => return Ok((r, self.fetch_order(order_id).await?)),
                Err(e) if e.is_unanswered() => {}
                Err(e) => return Err(e),
            }
        }
        self.record_scan(order_id, &k, &body, barcode, lot).await
    }

    /// A package (box type, weight) for a fully packed order; recorded in the outbox as a scan
    /// is when the server cannot be reached.
    pub async fn add_package(
        &self,
        order_id: &str,
        box_type: &str,
        weight_g: i64,
    ) -> Result<Order, StationError> {
        let p = NewPackage {
            box_type: box_type.to_owned(),
            weight_g,
            ..NewPackage::default()
        };
        self.add_package_with(order_id, &p).await
    }

    /// A package, with the carrier and tracking number of a pre-printed label scanned at the
    /// bench if there is one (offline, that number is what the dispatch's label scan matches).
    pub async fn add_package_with(
        &self,
        order_id: &str,
        p: &NewPackage,
    ) -> Result<Order, StationError> {
        Ok(self.add_package_noting(order_id, p).await?.order)
    }

    /// [`Station::add_package_with`], also saying whether the package was recorded offline (the
    /// desktop tells the packer, as it does for a scan's [`PackResult::recorded_offline`]).
    pub async fn add_package_noting(
        &self,
        order_id: &str,
        p: &NewPackage,
    ) -> Result<PackageAdded, StationError> {
        let k = key();
        // Strings and a number: serialising cannot fail.
        let body = serde_json::to_value(p).unwrap_or_default();
        if self.order_in_step(order_id).await? {
            let path = format!("/api/v1/orders/{order_id}/packages");
            match self
                .post_or_record::<serde_json::Value>(&path, &body, &k)
                .await
            {
                Ok(_) => {
                    return Ok(PackageAdded {
                        order: self.fetch_order(order_id).await?,
                        recorded_offline: false,
                    });
                }
                Err(e) if e.is_unanswered() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(PackageAdded {
            order: self.record_package(order_id, &k, &body, p).await?,
            recorded_offline: true,
        })
    }

    /// Books the package's label with the carrier (on the server, which holds the account).
    pub async fn book(
        &self,
        order_id: &str,
        seq: i64,
        carrier: &str,
    ) -> Result<(BookResult, Order), StationError> {
        let path = format!("/api/v1/orders/{order_id}/packages/{seq}/book");
        let r: BookResult = self
            .post_json(&path, serde_json::json!({ "carrier": carrier }))
            .await?;
        Ok((r, self.fetch_order(order_id).await?))
    }

    /// The booked label as a PNG for the screen (not a print: not counted).
    pub async fn label_preview(&self, order_id: &str, seq: i64) -> Result<Vec<u8>, StationError> {
        let path = format!("/api/v1/orders/{order_id}/packages/{seq}/label");
        let r = self
            .session()
            .raw(|t| Call::get(path.as_str()).query("format", "png").bearer(t))
            .await?;
        Ok(r.body)
    }

    /// Voids a booked label (before dispatch) with the reason; the package can be booked again.
    pub async fn void_label(
        &self,
        order_id: &str,
        seq: i64,
        reason: &str,
    ) -> Result<Order, StationError> {
        let path = format!("/api/v1/orders/{order_id}/packages/{seq}/void");
        self.post_unit(&path, serde_json::json!({ "reason": reason }))
            .await?;
        self.fetch_order(order_id).await
    }

    /// Stock balances by SKU, location, lot or expiry.
    pub async fn stock(&self, q: &StockQuery) -> Result<Vec<StockRow>, StationError> {
        let mut query = text_filters([
            ("sku", &q.sku),
            ("location", &q.location),
            ("batch", &q.batch),
            ("expiring_before", &q.expiring_before),
        ]);
        if q.low_stock == Some(true) {
            query.push(("low_stock", "true".to_owned()));
        }
        if let Some(l) = q.limit {
            query.push(("limit", l.to_string()));
        }
        self.get_json("/api/v1/stock", &query).await
    }

    /// The stock ledger, newest first: by SKU, kind and time, paged backwards with `before`.
    pub async fn movements(&self, q: &MovementQuery) -> Result<Vec<MovementRow>, StationError> {
        let mut query = text_filters([("sku", &q.sku), ("before", &q.before)]);
        if let Some(k) = q.kind {
            query.push(("kind", k.as_str().to_owned()));
        }
        if let Some(ms) = q.since_ms {
            query.push(("since_ms", ms.to_string()));
        }
        if let Some(l) = q.limit {
            query.push(("limit", l.to_string()));
        }
        self.get_json("/api/v1/movements", &query).await
    }

    /// Amazon orders at risk of Amazon's automatic cancellation.
    pub async fn at_risk(&self) -> Result<Vec<AtRiskOrder>, StationError> {
        self.get_json("/api/v1/amazon/at-risk", &[]).await
    }

    /// Shipment feedback rows in one status (`failed`, `pending`, …).
    pub async fn feedback(&self, status: &str) -> Result<Vec<FeedbackRow>, StationError> {
        self.get_json("/api/v1/amazon/feedback", &[("status", status.to_owned())])
            .await
    }

    /// Sends a failed shipment confirmation again.
    pub async fn feedback_retry(&self, order_id: &str, seq: i64) -> Result<(), StationError> {
        let path = format!("/api/v1/orders/{order_id}/packages/{seq}/feedback/retry");
        self.post_unit(&path, serde_json::Value::Null).await
    }

    /// Marks a failed shipment confirmation handled (dealt with at Amazon by hand).
    pub async fn feedback_handled(&self, order_id: &str, seq: i64) -> Result<(), StationError> {
        let path = format!(
            "/api/v1/orders/{}/packages/{seq}/feedback/handled",
            crate::office::segment(order_id)
        );
        self.post_unit(&path, serde_json::Value::Null).await
    }

    pub async fn users(&self) -> Result<Vec<UserInfo>, StationError> {
        self.get_json("/api/v1/users", &[]).await
    }

    /// A fresh TOTP for the high-risk actions that follow (step-up).
    pub async fn step_up(&self, totp: &str) -> Result<(), StationError> {
        let _: serde_json::Value = self
            .post_json(
                "/api/v1/auth/mfa/verify",
                serde_json::json!({ "code": totp.trim() }),
            )
            .await?;
        Ok(())
    }

    /// Resets a user's MFA (admin, after a step-up).
    pub async fn mfa_reset(&self, user_id: &str) -> Result<(), StationError> {
        let path = format!("/api/v1/users/{user_id}/mfa/reset");
        self.post_unit(&path, serde_json::Value::Null).await
    }

    /// The tenant's devices (admin).
    pub async fn devices(&self) -> Result<Vec<DeviceView>, StationError> {
        self.get_json("/api/v1/devices", &[]).await
    }

    /// Revokes a device: its sessions end and it can no longer log in (admin).
    pub async fn device_revoke(&self, id: &str, reason: &str) -> Result<(), StationError> {
        let path = format!("/api/v1/devices/{id}/revoke");
        self.post_unit(&path, serde_json::json!({ "reason": reason }))
            .await
    }

    /// Asks a device to erase its cache and keys at its next contact (admin, step-up).
    pub async fn device_wipe(&self, id: &str, reason: &str) -> Result<(), StationError> {
        let path = format!("/api/v1/devices/{id}/wipe");
        self.post_unit(&path, serde_json::json!({ "reason": reason }))
            .await
    }

    /// Sets a device's printers centrally (admin).
    pub async fn set_device_printer_profile(
        &self,
        id: &str,
        profile: &crate::device::PrinterProfile,
    ) -> Result<(), StationError> {
        let path = format!("/api/v1/devices/{id}/printer-profile");
        let body = serde_json::to_value(profile).unwrap_or_default();
        self.session()
            .raw(|t| Call::put(path.as_str(), body.clone()).bearer(t))
            .await?;
        Ok(())
    }

    /// Puts a device on a release channel, `None` back on the server's default (admin, step-up:
    /// `step_up_required`). The answer is the device as the server now has it.
    pub async fn set_device_update_channel(
        &self,
        id: &str,
        channel: Option<&str>,
    ) -> Result<DeviceView, StationError> {
        let path = device_path(id, "update-channel")?;
        let channel = update_channel(channel)
            .map_err(|e| ApiError::BadUrl(format!("update channel: {e}")))?;
        let body = serde_json::json!({ "channel": channel });
        let k = key();
        Ok(self
            .session()
            .json(|t| {
                Call::put(path.as_str(), body.clone())
                    .idempotency_key(&k)
                    .bearer(t)
            })
            .await?)
    }

    /// Checks the tenant's audit hash chain.
    pub async fn audit_verify(&self) -> Result<AuditVerify, StationError> {
        self.get_json("/api/v1/audit/verify", &[]).await
    }

    /// The SKUs of an order's lines from the cache (barcodes, names), where known.
    pub async fn line_skus(&self, order: &Order) -> Vec<Option<Sku>> {
        let mut out = Vec::with_capacity(order.lines.len());
        for line in &order.lines {
            out.push(self.cache().sku_by_barcode(&line.sku).await.ok().flatten());
        }
        out
    }
}
