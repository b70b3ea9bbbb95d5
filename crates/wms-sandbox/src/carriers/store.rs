//! The stand-ins' state changes (bookings, idempotency, voids, the test clock, serial counters),
//! as methods of [`Control`] so that HTTP handlers and in-process tests share them.

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::rules::{Booking, Service};
use super::*;
use crate::control::Control;
use crate::error::SandboxError;

/// What a booking call did.
pub(crate) enum BookOutcome {
    Created(Vec<CarrierBooking>),
    Replayed(Vec<CarrierBooking>),
    KeyReused,
}

/// What a void call did.
pub(crate) enum VoidOutcome {
    Voided,
    NotFound,
    PickedUp,
}

pub(super) fn body_hash(body: &Value) -> String {
    // serde_json's maps are sorted: the text of a Value is canonical.
    hex::encode(Sha256::digest(body.to_string().as_bytes()))
}

pub(super) fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// The 12-digit number of a serial: the serial and its mod-7 check digit.
pub(super) fn number(serial: u64) -> String {
    format!("{serial:011}{}", serial % 7)
}

pub(super) fn forbidden(kind: CarrierKind, serial: u64) -> bool {
    kind == CarrierKind::Sagawa && {
        let digits = format!("{serial:011}");
        digits.starts_with("110") || digits.starts_with("119")
    }
}

/// Sorting codes have no public algorithm; the stand-in derives a stable, plausible one from the
/// postal code (Yamato 仕分コード `NN-NNN-NN`, Sagawa branch code `NNNN`).
pub(super) fn sorting_code(kind: CarrierKind, postal: &str) -> String {
    let n: u64 = postal.parse().unwrap_or(0);
    match kind {
        CarrierKind::Yamato => format!(
            "{:02}-{:03}-{:02}",
            n / 100_000 % 100,
            n / 100 % 1000,
            n % 100
        ),
        CarrierKind::Sagawa => format!("{:04}", (n / 10_000) * 7 % 10_000),
    }
}

impl CarrierState {
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + time::Duration::seconds(self.clock_offset_seconds)
    }

    pub(super) fn customer(&self, kind: CarrierKind, code: &str) -> Option<&CarrierCustomer> {
        self.customers
            .iter()
            .find(|c| c.carrier == kind && c.customer_code == code)
    }

    pub(super) fn next_number(&mut self, kind: CarrierKind) -> Result<String, SandboxError> {
        let mut serial = *self.next_serial.get(&kind).unwrap_or(&kind.first_serial());
        while forbidden(kind, serial) {
            serial = (serial / 100_000_000 + 1) * 100_000_000;
        }
        if serial > 99_999_999_999 {
            return Err(SandboxError::Invalid(format!(
                "the {} serial counter is exhausted",
                kind.name()
            )));
        }
        self.next_serial.insert(kind, serial + 1);
        Ok(number(serial))
    }

    pub(super) fn milestones(&self, b: &CarrierBooking) -> Vec<(&'static str, OffsetDateTime)> {
        if b.voided.is_some() {
            return Vec::new();
        }
        let now = self.now();
        let m = self.milestones;
        [
            ("picked_up", m.picked_up_minutes),
            ("in_transit", m.in_transit_minutes),
            ("delivered", m.delivered_minutes),
        ]
        .into_iter()
        .map(|(code, minutes)| (code, b.booked_at + time::Duration::minutes(minutes)))
        .filter(|(_, at)| *at <= now)
        .collect()
    }
}

/// `POST /_sandbox/carriers/customers`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CarrierCustomerRegistration {
    pub carrier: CarrierKind,
    pub customer_code: String,
    pub api_key: String,
}

impl std::fmt::Debug for CarrierCustomerRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarrierCustomerRegistration")
            .field("carrier", &self.carrier)
            .field("customer_code", &self.customer_code)
            .finish_non_exhaustive()
    }
}

/// What the control API shows of a customer (no key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CarrierCustomerView {
    pub carrier: CarrierKind,
    pub customer_code: String,
}

/// `POST /_sandbox/carriers/clock`: advance by minutes, or set.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockChange {
    #[serde(default)]
    pub advance_minutes: Option<i64>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub now: Option<OffsetDateTime>,
}

impl Control {
    /// Registers (or replaces the key of) a carrier customer.
    pub fn register_carrier_customer(
        &self,
        reg: CarrierCustomerRegistration,
    ) -> Result<CarrierCustomerView, SandboxError> {
        if reg.customer_code.trim().is_empty() || reg.api_key.is_empty() {
            return Err(SandboxError::Invalid(
                "customerCode and apiKey are required".into(),
            ));
        }
        let view = CarrierCustomerView {
            carrier: reg.carrier,
            customer_code: reg.customer_code.clone(),
        };
        self.mutate(|st| {
            let c = &mut st.carriers;
            c.customers
                .retain(|x| !(x.carrier == reg.carrier && x.customer_code == reg.customer_code));
            c.customers.push(CarrierCustomer {
                carrier: reg.carrier,
                customer_code: reg.customer_code,
                api_key: reg.api_key,
            });
            Ok(view)
        })
    }

    pub fn carrier_customers(&self) -> Vec<CarrierCustomerView> {
        self.read(|st| {
            st.carriers
                .customers
                .iter()
                .map(|c| CarrierCustomerView {
                    carrier: c.carrier,
                    customer_code: c.customer_code.clone(),
                })
                .collect()
        })
    }

    /// Every booked package, oldest first.
    pub fn carrier_bookings(&self) -> Vec<CarrierBooking> {
        self.read(|st| st.carriers.bookings.clone())
    }

    /// Every call that reached a carrier stand-in, oldest first.
    pub fn carrier_calls(&self) -> Vec<CarrierCall> {
        self.read(|st| st.carriers.calls.clone())
    }

    /// The carriers' test clock.
    pub fn carrier_clock(&self) -> OffsetDateTime {
        self.read(|st| st.carriers.now())
    }

    pub fn advance_carrier_clock(&self, minutes: i64) -> Result<OffsetDateTime, SandboxError> {
        self.change_carrier_clock(ClockChange {
            advance_minutes: Some(minutes),
            now: None,
        })
    }

    pub fn change_carrier_clock(
        &self,
        change: ClockChange,
    ) -> Result<OffsetDateTime, SandboxError> {
        self.mutate(|st| {
            let c = &mut st.carriers;
            match change {
                ClockChange {
                    advance_minutes: Some(m),
                    now: None,
                } => {
                    c.clock_offset_seconds = m
                        .checked_mul(60)
                        .and_then(|s| c.clock_offset_seconds.checked_add(s))
                        .ok_or_else(|| SandboxError::Invalid("clock out of range".into()))?;
                }
                ClockChange {
                    advance_minutes: None,
                    now: Some(at),
                } => {
                    let offset = at - OffsetDateTime::now_utc();
                    c.clock_offset_seconds = offset.whole_seconds();
                }
                _ => {
                    return Err(SandboxError::Invalid(
                        "give either advanceMinutes or now".into(),
                    ));
                }
            }
            Ok(c.now())
        })
    }

    pub fn carrier_milestones(&self) -> MilestoneTimes {
        self.read(|st| st.carriers.milestones)
    }

    pub fn set_carrier_milestones(&self, m: MilestoneTimes) -> Result<(), SandboxError> {
        if !(0 <= m.picked_up_minutes
            && m.picked_up_minutes <= m.in_transit_minutes
            && m.in_transit_minutes <= m.delivered_minutes)
        {
            return Err(SandboxError::Invalid(
                "need 0 <= pickedUpMinutes <= inTransitMinutes <= deliveredMinutes".into(),
            ));
        }
        self.mutate(|st| {
            st.carriers.milestones = m;
            Ok(())
        })
    }

    /// Where the carrier's serial counter continues (e.g. just below Sagawa's 110 block).
    pub fn set_carrier_next_serial(
        &self,
        carrier: CarrierKind,
        serial: u64,
    ) -> Result<(), SandboxError> {
        if serial > 99_999_999_999 {
            return Err(SandboxError::Invalid("a serial has 11 digits".into()));
        }
        self.mutate(|st| {
            st.carriers.next_serial.insert(carrier, serial);
            Ok(())
        })
    }

    pub(super) fn carrier_book(
        &self,
        kind: CarrierKind,
        customer_code: &str,
        key: &str,
        body: &Value,
        booking: &Booking,
    ) -> Result<BookOutcome, SandboxError> {
        let hash = body_hash(body);
        self.mutate(|st| {
            let c = &mut st.carriers;
            if let Some(rec) = c
                .idempotency
                .iter()
                .find(|r| r.carrier == kind && r.customer_code == customer_code && r.key == key)
            {
                if rec.body_sha256 != hash {
                    return Ok(BookOutcome::KeyReused);
                }
                let id = rec.shipment_id.clone();
                let packages = c
                    .bookings
                    .iter()
                    .filter(|b| b.carrier == kind && b.shipment_id == id)
                    .cloned()
                    .collect();
                return Ok(BookOutcome::Replayed(packages));
            }
            c.next_shipment += 1;
            let prefix = match kind {
                CarrierKind::Yamato => "Y",
                CarrierKind::Sagawa => "S",
            };
            let shipment_id = format!("{prefix}{:08}", c.next_shipment);
            let now = c.now();
            let total = booking.packages.len();
            let mut created = Vec::with_capacity(total);
            for i in 0..total {
                created.push(CarrierBooking {
                    carrier: kind,
                    customer_code: customer_code.to_owned(),
                    shipment_id: shipment_id.clone(),
                    tracking_number: c.next_number(kind)?,
                    sorting_code: sorting_code(kind, &booking.consignee.postal),
                    piece_index: i + 1,
                    piece_total: total,
                    idempotency_key: key.to_owned(),
                    booked_at: now,
                    service: booking
                        .service
                        .map(Service::name)
                        .unwrap_or_default()
                        .to_owned(),
                    cod_amount_yen: booking.cod,
                    request: body.clone(),
                    voided: None,
                });
            }
            c.bookings.extend(created.iter().cloned());
            c.idempotency.push(IdempotencyRecord {
                carrier: kind,
                customer_code: customer_code.to_owned(),
                key: key.to_owned(),
                body_sha256: hash,
                shipment_id,
            });
            Ok(BookOutcome::Created(created))
        })
    }

    pub(super) fn carrier_void(
        &self,
        kind: CarrierKind,
        customer_code: &str,
        tracking: &str,
        reason: &str,
    ) -> Result<VoidOutcome, SandboxError> {
        self.mutate(|st| {
            let c = &mut st.carriers;
            let now = c.now();
            let picked_up_after = time::Duration::minutes(c.milestones.picked_up_minutes);
            let Some(b) = c.bookings.iter_mut().find(|b| {
                b.carrier == kind
                    && b.customer_code == customer_code
                    && b.tracking_number == tracking
            }) else {
                return Ok(VoidOutcome::NotFound);
            };
            if b.voided.is_some() {
                return Ok(VoidOutcome::Voided);
            }
            if now >= b.booked_at + picked_up_after {
                return Ok(VoidOutcome::PickedUp);
            }
            b.voided = Some(VoidRecord {
                at: now,
                reason: reason.to_owned(),
            });
            Ok(VoidOutcome::Voided)
        })
    }

    pub(super) fn carrier_track(
        &self,
        kind: CarrierKind,
        customer_code: &str,
        tracking: &str,
    ) -> Option<Vec<(&'static str, OffsetDateTime)>> {
        self.read(|st| {
            let c = &st.carriers;
            c.bookings
                .iter()
                .find(|b| {
                    b.carrier == kind
                        && b.customer_code == customer_code
                        && b.tracking_number == tracking
                })
                .map(|b| c.milestones(b))
        })
    }

    pub(super) fn record_carrier_call(&self, call: CarrierCall) {
        let r = self.mutate(|st| {
            let seq = st.next_seq();
            st.carriers.calls.push(CarrierCall { seq, ..call });
            Ok(())
        });
        if let Err(e) = r {
            tracing::error!(error = %e, "cannot record a carrier call");
        }
    }

    /// The customer the request's credentials belong to.
    pub(super) fn carrier_auth(
        &self,
        kind: CarrierKind,
        headers: &HeaderMap,
    ) -> Option<CarrierCustomer> {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        self.read(|st| match kind {
            CarrierKind::Yamato => {
                let key = h("authorization")?.strip_prefix("Bearer ")?;
                st.carriers
                    .customers
                    .iter()
                    .find(|c| c.carrier == kind && ct_eq(&c.api_key, key))
                    .cloned()
            }
            CarrierKind::Sagawa => {
                let (key, code) = (h("x-api-key")?, h("x-customer-code")?);
                st.carriers
                    .customer(kind, code)
                    .filter(|c| ct_eq(&c.api_key, key))
                    .cloned()
            }
        })
    }
}
