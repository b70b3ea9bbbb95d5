//! The sandbox's shared core: persisted state, usage plans, faults, printer switch. The HTTP
//! control endpoints and in-process tests both go through these methods.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::error::SandboxError;
use crate::faults::{Fault, FaultOperation, Faults};
use crate::generate::{GenerateOrders, generate};
use crate::models::{Operation, RatePlan, StaticExample};
use crate::orders;
use crate::rate::Buckets;
use crate::state::{
    self, ConfirmationRecord, IssuedToken, PersistedState, PrintJob, Seller, SellerView, Settings,
    StoredOrder,
};

/// `POST /_sandbox/amazon/sellers`: a selling partner and the LWA credentials it accepts.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SellerRegistration {
    pub selling_partner_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
    /// Default: amazon.co.jp only.
    #[serde(default)]
    pub marketplace_ids: Vec<String>,
    /// Whether the restricted (PII) role is granted.
    #[serde(default)]
    pub pii_granted: bool,
}

impl std::fmt::Debug for SellerRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SellerRegistration")
            .field("selling_partner_id", &self.selling_partner_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// `PUT /_sandbox/settings`: fields left out are unchanged.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsPatch {
    #[serde(default)]
    pub access_token_lifetime_secs: Option<u64>,
    #[serde(default)]
    pub search_lag_secs: Option<u64>,
}

/// Why the SP-API refused an access token (all answered 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Missing,
    Invalid,
    Expired,
    Revoked,
}

/// The LWA stand-in's answer to a refresh-token grant.
#[derive(Debug)]
pub enum LwaOutcome {
    Issued {
        access_token: String,
        expires_in: u64,
    },
    /// (status, `error`, `error_description`)
    Refused(u16, &'static str, &'static str),
}

pub struct Control {
    data_dir: PathBuf,
    defaults: Settings,
    state: Mutex<PersistedState>,
    examples: Vec<StaticExample>,
    default_plans: BTreeMap<Operation, RatePlan>,
    buckets: Mutex<Buckets>,
    faults: Mutex<Faults>,
    printer_online: tokio::sync::watch::Sender<bool>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind: keep serving it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn token_key(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

impl Control {
    pub(crate) fn open(data_dir: &Path, defaults: Settings) -> Result<Self, SandboxError> {
        std::fs::create_dir_all(data_dir).map_err(SandboxError::io(data_dir))?;
        let printer_dir = data_dir.join("printer");
        std::fs::create_dir_all(&printer_dir).map_err(SandboxError::io(&printer_dir))?;
        let state = state::load(data_dir, defaults)?;
        let mut default_plans = BTreeMap::new();
        for op in Operation::SP_API {
            if let Some(p) = crate::models::default_rate_plan(op)? {
                default_plans.insert(op, p);
            }
        }
        Ok(Self {
            data_dir: data_dir.to_owned(),
            defaults,
            state: Mutex::new(state),
            examples: crate::models::static_examples()?,
            default_plans,
            buckets: Mutex::new(Buckets::default()),
            faults: Mutex::new(Faults::default()),
            printer_online: tokio::sync::watch::Sender::new(true),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Applies `f` to the state and persists the result before returning.
    pub(crate) fn mutate<R>(
        &self,
        f: impl FnOnce(&mut PersistedState) -> Result<R, SandboxError>,
    ) -> Result<R, SandboxError> {
        let mut st = lock(&self.state);
        let r = f(&mut st)?;
        state::save(&self.data_dir, &st)?;
        Ok(r)
    }

    pub(crate) fn read<R>(&self, f: impl FnOnce(&PersistedState) -> R) -> R {
        f(&lock(&self.state))
    }

    // ------------------------------------------------------------------ sellers

    pub fn register_seller(&self, reg: SellerRegistration) -> Result<SellerView, SandboxError> {
        if reg.selling_partner_id.trim().is_empty()
            || reg.client_id.is_empty()
            || reg.client_secret.is_empty()
            || reg.refresh_token.is_empty()
        {
            return Err(SandboxError::Invalid(
                "sellingPartnerId, clientId, clientSecret and refreshToken are required".into(),
            ));
        }
        let marketplace_ids = if reg.marketplace_ids.is_empty() {
            vec![crate::generate::MARKETPLACE_JP.to_owned()]
        } else {
            reg.marketplace_ids
        };
        let seller = Seller {
            selling_partner_id: reg.selling_partner_id,
            client_id: reg.client_id,
            client_secret: reg.client_secret,
            refresh_token: reg.refresh_token,
            marketplace_ids,
            pii_granted: reg.pii_granted,
            revoked: false,
        };
        let view = SellerView::from(&seller);
        self.mutate(|st| {
            st.sellers.insert(seller.selling_partner_id.clone(), seller);
            Ok(())
        })?;
        tracing::info!(seller = %view.selling_partner_id, pii = view.pii_granted, "seller registered");
        Ok(view)
    }

    pub fn sellers(&self) -> Vec<SellerView> {
        self.read(|st| st.sellers.values().map(SellerView::from).collect())
    }

    /// The seller withdraws the authorization: LWA answers `invalid_grant`, and the access
    /// tokens already issued stop working.
    pub fn revoke_seller(&self, seller: &str) -> Result<(), SandboxError> {
        self.mutate(|st| {
            let s = st
                .sellers
                .get_mut(seller)
                .ok_or_else(|| SandboxError::UnknownSeller(seller.to_owned()))?;
            s.revoked = true;
            st.access_tokens
                .retain(|_, t| t.selling_partner_id != seller);
            Ok(())
        })
    }

    /// Makes every access token of the seller expire now (to test refresh on 403).
    pub fn expire_access_tokens(&self, seller: &str) -> Result<usize, SandboxError> {
        let now = OffsetDateTime::now_utc();
        self.mutate(|st| {
            let mut n = 0;
            for t in st.access_tokens.values_mut() {
                if t.selling_partner_id == seller {
                    t.expires_at = now - time::Duration::seconds(1);
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    pub fn set_pii_granted(&self, seller: &str, granted: bool) -> Result<(), SandboxError> {
        self.mutate(|st| {
            st.sellers
                .get_mut(seller)
                .ok_or_else(|| SandboxError::UnknownSeller(seller.to_owned()))?
                .pii_granted = granted;
            Ok(())
        })
    }

    // ------------------------------------------------------------------- orders

    /// Adds (or replaces) orders in the v2026-01-01 `Order` shape. Returns their ids.
    pub fn seed_orders(
        &self,
        seller: &str,
        orders: Vec<Value>,
    ) -> Result<Vec<String>, SandboxError> {
        let mut checked = Vec::with_capacity(orders.len());
        for mut o in orders {
            let id = orders::normalise_seeded(&mut o).map_err(SandboxError::Invalid)?;
            checked.push((id, o));
        }
        self.mutate(|st| {
            if !st.sellers.contains_key(seller) {
                return Err(SandboxError::UnknownSeller(seller.to_owned()));
            }
            let mut ids = Vec::with_capacity(checked.len());
            for (id, order) in checked {
                st.orders.insert(
                    id.clone(),
                    StoredOrder {
                        selling_partner_id: seller.to_owned(),
                        order,
                    },
                );
                ids.push(id);
            }
            Ok(ids)
        })
    }

    /// Generates and stores realistic Japanese MFN orders. Returns their ids.
    pub fn generate_orders(
        &self,
        seller: &str,
        req: &GenerateOrders,
    ) -> Result<Vec<String>, SandboxError> {
        let now = OffsetDateTime::now_utc();
        let (taken, lag) = self.read(|st| {
            (
                st.orders.keys().cloned().collect::<BTreeSet<_>>(),
                st.settings.search_lag_secs,
            )
        });
        let lag = time::Duration::seconds(i64::try_from(lag).unwrap_or(i64::MAX));
        let orders = generate(req, now, lag, &taken).map_err(SandboxError::Invalid)?;
        self.seed_orders(seller, orders)
    }

    /// Amazon cancels the order: status CANCELLED, `lastUpdatedTime` now.
    pub fn cancel_order(&self, seller: &str, order_id: &str) -> Result<Value, SandboxError> {
        let now = OffsetDateTime::now_utc();
        self.mutate(|st| {
            let o = st
                .orders
                .get_mut(order_id)
                .filter(|o| o.selling_partner_id == seller)
                .ok_or_else(|| SandboxError::UnknownOrder(order_id.to_owned()))?;
            orders::cancel(&mut o.order, now).map_err(SandboxError::Invalid)?;
            Ok(o.order.clone())
        })
    }

    /// The complete stored order (all blocks, PII included), as the sandbox holds it.
    pub fn order(&self, seller: &str, order_id: &str) -> Option<Value> {
        self.read(|st| {
            st.orders
                .get(order_id)
                .filter(|o| o.selling_partner_id == seller)
                .map(|o| o.order.clone())
        })
    }

    pub fn order_ids(&self, seller: &str) -> Vec<String> {
        self.read(|st| {
            st.orders
                .iter()
                .filter(|(_, o)| o.selling_partner_id == seller)
                .map(|(id, _)| id.clone())
                .collect()
        })
    }

    /// Every confirmShipment call received, oldest first.
    pub fn confirmations(&self) -> Vec<ConfirmationRecord> {
        self.read(|st| st.confirmations.clone())
    }

    // ----------------------------------------------------- plans, faults, settings

    pub fn settings(&self) -> Settings {
        self.read(|st| st.settings)
    }

    pub fn update_settings(&self, patch: SettingsPatch) -> Result<Settings, SandboxError> {
        self.mutate(|st| {
            if let Some(v) = patch.access_token_lifetime_secs {
                st.settings.access_token_lifetime_secs = v;
            }
            if let Some(v) = patch.search_lag_secs {
                st.settings.search_lag_secs = v;
            }
            Ok(st.settings)
        })
    }

    /// The plan in force: the override if set, else the model's default.
    pub fn rate_plan(&self, op: Operation) -> Option<RatePlan> {
        self.read(|st| st.rate_plans.get(op.name()).copied())
            .or_else(|| self.default_plans.get(&op).copied())
    }

    pub fn rate_plans(&self) -> BTreeMap<String, RatePlan> {
        Operation::SP_API
            .into_iter()
            .filter_map(|op| Some((op.name().to_owned(), self.rate_plan(op)?)))
            .collect()
    }

    pub fn set_rate_plan(&self, op: Operation, plan: RatePlan) -> Result<(), SandboxError> {
        let valid =
            plan.rate.is_finite() && plan.rate > 0.0 && plan.burst.is_finite() && plan.burst >= 1.0;
        if !valid || op == Operation::LwaToken {
            return Err(SandboxError::Invalid(
                "a plan needs rate > 0 and burst >= 1, for an SP-API operation".into(),
            ));
        }
        self.mutate(|st| {
            st.rate_plans.insert(op.name().to_owned(), plan);
            Ok(())
        })
    }

    pub fn add_fault(&self, fault: Fault) -> Result<(), SandboxError> {
        lock(&self.faults).add(fault).map_err(SandboxError::Invalid)
    }

    pub fn faults(&self) -> Vec<Fault> {
        lock(&self.faults).list()
    }

    pub fn clear_faults(&self) {
        lock(&self.faults).clear();
    }

    pub(crate) fn take_fault(&self, op: impl Into<FaultOperation>) -> Option<Fault> {
        lock(&self.faults).take(op, rand::random::<f64>)
    }

    /// One token from the (seller, operation) bucket; `false` = throttled.
    pub(crate) fn take_rate(&self, seller: &str, op: Operation) -> bool {
        match self.rate_plan(op) {
            Some(plan) => lock(&self.buckets).try_take(seller, op, plan, Instant::now()),
            None => true,
        }
    }

    pub fn examples(&self) -> &[StaticExample] {
        &self.examples
    }

    // ---------------------------------------------------------------- LWA, auth

    pub(crate) fn lwa_refresh(
        &self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
    ) -> Result<LwaOutcome, SandboxError> {
        const BAD_CLIENT: LwaOutcome =
            LwaOutcome::Refused(401, "invalid_client", "Client authentication failed");
        const BAD_GRANT: LwaOutcome = LwaOutcome::Refused(
            400,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
        );
        let now = OffsetDateTime::now_utc();
        self.mutate(|st| {
            let app: Vec<&Seller> = st
                .sellers
                .values()
                .filter(|s| s.client_id == client_id)
                .collect();
            if app.is_empty() || !app.iter().any(|s| ct_eq(&s.client_secret, client_secret)) {
                return Ok(BAD_CLIENT);
            }
            let Some(seller) = app.iter().find(|s| {
                ct_eq(&s.refresh_token, refresh_token) && ct_eq(&s.client_secret, client_secret)
            }) else {
                return Ok(BAD_GRANT);
            };
            if seller.revoked {
                return Ok(BAD_GRANT);
            }
            let spid = seller.selling_partner_id.clone();
            let lifetime = st.settings.access_token_lifetime_secs;
            let access_token = format!("Atza|{}", uuid::Uuid::new_v4().simple());
            st.access_tokens.retain(|_, t| t.expires_at > now);
            st.access_tokens.insert(
                token_key(&access_token),
                IssuedToken {
                    selling_partner_id: spid,
                    expires_at: now
                        + time::Duration::seconds(i64::try_from(lifetime).unwrap_or(i64::MAX / 2)),
                },
            );
            Ok(LwaOutcome::Issued {
                access_token,
                expires_in: lifetime,
            })
        })
    }

    /// The seller an `x-amz-access-token` belongs to.
    pub(crate) fn authenticate(&self, token: Option<&str>) -> Result<Seller, TokenRefusal> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(TokenRefusal::Missing)?;
        let now = OffsetDateTime::now_utc();
        self.read(|st| {
            let issued = st
                .access_tokens
                .get(&token_key(token))
                .ok_or(TokenRefusal::Invalid)?;
            if issued.expires_at <= now {
                return Err(TokenRefusal::Expired);
            }
            let seller = st
                .sellers
                .get(&issued.selling_partner_id)
                .ok_or(TokenRefusal::Invalid)?;
            if seller.revoked {
                return Err(TokenRefusal::Revoked);
            }
            Ok(seller.clone())
        })
    }

    // ---------------------------------------------------------------- SP-API data

    pub(crate) fn with_orders<R>(&self, f: impl FnOnce(&BTreeMap<String, StoredOrder>) -> R) -> R {
        self.read(|st| f(&st.orders))
    }

    /// Validates and applies a confirmation, then records the call, all under one lock so the
    /// log and the orders agree. Returns the rejection, if any.
    pub(crate) fn confirm_shipment(
        &self,
        seller: &str,
        order_id: &str,
        body: &Value,
        request_id: &str,
        response_dropped: bool,
    ) -> Result<Result<(), orders::Rejection>, SandboxError> {
        let now = OffsetDateTime::now_utc();
        self.mutate(|st| {
            let outcome = match st
                .orders
                .get_mut(order_id)
                .filter(|o| o.selling_partner_id == seller)
            {
                None => Err(orders::Rejection {
                    status: 404,
                    code: "NotFound",
                    message: format!("Order {order_id} was not found for this seller"),
                    details: None,
                }),
                Some(stored) => orders::validate_confirmation(&stored.order, body).map(|c| {
                    orders::apply_confirmation(&mut stored.order, &c, now);
                }),
            };
            let errors = match &outcome {
                Ok(()) => Vec::new(),
                Err(r) => vec![rejection_json(r)],
            };
            let status = match &outcome {
                Ok(()) => 204,
                Err(r) => r.status,
            };
            let seq = st.next_seq();
            st.confirmations.push(ConfirmationRecord {
                seq,
                received_at: now,
                selling_partner_id: Some(seller.to_owned()),
                order_id: order_id.to_owned(),
                body: body.clone(),
                status,
                errors,
                request_id: request_id.to_owned(),
                static_example: false,
                response_dropped: response_dropped && outcome.is_ok(),
            });
            Ok(outcome)
        })
    }

    /// Logs a confirmShipment call that never reached the order logic (auth, throttling,
    /// faults, static examples, unparseable bodies).
    pub(crate) fn record_confirmation(&self, rec: ConfirmationRecord) -> Result<(), SandboxError> {
        self.mutate(|st| {
            let seq = st.next_seq();
            st.confirmations.push(ConfirmationRecord { seq, ..rec });
            Ok(())
        })
    }

    // ------------------------------------------------------------------ printer

    pub fn set_printer_online(&self, online: bool) {
        self.printer_online.send_replace(online);
    }

    pub fn printer_online(&self) -> bool {
        *self.printer_online.borrow()
    }

    pub(crate) fn printer_online_watch(&self) -> tokio::sync::watch::Receiver<bool> {
        self.printer_online.subscribe()
    }

    pub fn printer_jobs(&self) -> Vec<PrintJob> {
        self.read(|st| st.printer_jobs.clone())
    }

    pub fn printer_job_bytes(&self, id: &str) -> Result<Vec<u8>, SandboxError> {
        let job = self
            .read(|st| st.printer_jobs.iter().find(|j| j.id == id).cloned())
            .ok_or_else(|| SandboxError::UnknownJob(id.to_owned()))?;
        let path = self.data_dir.join("printer").join(&job.file);
        std::fs::read(&path).map_err(SandboxError::io(path))
    }

    pub(crate) fn save_print_job(
        &self,
        peer: &str,
        bytes: &[u8],
    ) -> Result<PrintJob, SandboxError> {
        let now = OffsetDateTime::now_utc();
        self.mutate(|st| {
            let seq = st.next_seq();
            let id = format!("job-{seq:06}");
            let file = format!("{id}.bin");
            let path = self.data_dir.join("printer").join(&file);
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, bytes).map_err(SandboxError::io(&tmp))?;
            std::fs::rename(&tmp, &path).map_err(SandboxError::io(&path))?;
            let job = PrintJob {
                id,
                seq,
                received_at: now,
                peer: peer.to_owned(),
                size: bytes.len() as u64,
                sha256: hex::encode(Sha256::digest(bytes)),
                file,
            };
            st.printer_jobs.push(job.clone());
            Ok(job)
        })
    }

    // -------------------------------------------------------------------- reset

    /// Forgets sellers, orders, confirmations, tokens, print jobs, plans, faults and settings.
    pub fn reset(&self) -> Result<(), SandboxError> {
        lock(&self.faults).clear();
        lock(&self.buckets).clear();
        self.set_printer_online(true);
        let defaults = self.defaults;
        self.mutate(|st| {
            for j in &st.printer_jobs {
                let _ = std::fs::remove_file(self.data_dir.join("printer").join(&j.file));
            }
            *st = PersistedState {
                settings: defaults,
                ..PersistedState::default()
            };
            Ok(())
        })
    }
}

pub(crate) fn rejection_json(r: &orders::Rejection) -> Value {
    let mut e = serde_json::json!({"code": r.code, "message": r.message});
    if let (Some(d), Some(o)) = (&r.details, e.as_object_mut()) {
        o.insert("details".into(), Value::String(d.clone()));
    }
    e
}
