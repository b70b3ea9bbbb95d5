//! Yamato Transport (宅急便) over HTTP+JSON.
//!
//! Yamato has no public JSON API (B2 Cloud's API is for contract holders, without a public spec).
//! The wire shapes here are **the project's own**, modelled on the field set of the B2 CSV layout
//! ("B2 送り状発行データレイアウト", see `shared/reference/carriers-and-labels.md`): 送り状種別 as
//! `invoiceType` (0 発払, 2 コレクト, 5 着払), クール区分 as `coolType` (0, 1 frozen, 2 chilled),
//! dates `YYYY/MM/DD`, 配達時間帯 codes, 請求先顧客コード as `billingCustomerCode`, the number left
//! blank on input and returned. A production adapter (B2 Cloud, or an aggregator) maps to the
//! same trait.
//!
//! - `POST {base}/v1/shipments` (`Authorization: Bearer KEY`, `Idempotency-Key`) → 201, or 200 for
//!   a repeated key: `{"shipmentId", "packages": [{"trackingNumber", "sortingCode"}]}`
//! - `POST {base}/v1/shipments/{trackingNumber}/void` `{"reason"}` → 200
//! - `GET {base}/v1/tracking/{trackingNumber}` → `{"trackingNumber", "events": [{"code", "at"}]}`
//!   with `code` one of `picked_up`, `in_transit`, `delivered`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use wms_core::label::{CoolType, Party, ServiceType, slash_date};
use wms_core::tracking::{Carrier as CarrierId, TrackingNumber};

use crate::config::CarrierConfig;
use crate::error::Error;
use crate::http::{AuthStyle, Engine, to_json};
use crate::model::{Booking, BookingRequest, Milestone, MilestoneKind};
use crate::{BoxFuture, Carrier};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ShipmentRequest<'a> {
    billing_customer_code: &'a str,
    invoice_type: &'static str,
    cool_type: &'static str,
    ship_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_time: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cod_amount: Option<u32>,
    consignee: WireParty<'a>,
    shipper: WireParty<'a>,
    item_name: &'a str,
    order_reference: &'a str,
    packages: Vec<WirePackage>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireParty<'a> {
    postal_code: &'a str,
    address: &'a [String],
    name: &'a str,
    phone: &'a str,
}

impl<'a> From<&'a Party> for WireParty<'a> {
    fn from(p: &'a Party) -> Self {
        Self {
            postal_code: &p.postal_code,
            address: &p.address_lines,
            name: &p.name,
            phone: &p.phone,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WirePackage {
    weight_grams: u32,
    size_cm: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShipmentResponse {
    shipment_id: String,
    packages: Vec<PackageResponse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackageResponse {
    tracking_number: String,
    sorting_code: String,
}

#[derive(Deserialize)]
struct TrackingResponse {
    events: Vec<TrackingEvent>,
}

#[derive(Deserialize)]
struct TrackingEvent {
    code: String,
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
}

/// The Yamato adapter.
#[derive(Debug)]
pub struct Yamato {
    engine: Engine,
}

impl Yamato {
    pub fn new(config: CarrierConfig) -> Result<Self, Error> {
        Ok(Self {
            engine: Engine::new(CarrierId::Yamato, config, AuthStyle::Bearer)?,
        })
    }
}

/// The B2 field set of a request.
fn shipment(request: &BookingRequest, billing_customer_code: &str) -> Result<Vec<u8>, Error> {
    to_json(&ShipmentRequest {
        billing_customer_code,
        invoice_type: match request.service {
            ServiceType::Prepaid => "0",
            ServiceType::Cod => "2",
            ServiceType::Collect => "5",
        },
        cool_type: match request.cool {
            CoolType::Normal => "0",
            CoolType::Frozen => "1",
            CoolType::Chilled => "2",
        },
        ship_date: slash_date(request.ship_date),
        delivery_date: request.delivery_date.map(slash_date),
        delivery_time: request.time_slot.map(|s| s.code()),
        cod_amount: request.cod_amount_yen,
        consignee: (&request.recipient).into(),
        shipper: (&request.sender).into(),
        item_name: &request.item_description,
        order_reference: &request.order_reference,
        packages: request
            .packages
            .iter()
            .map(|p| WirePackage {
                weight_grams: p.weight_grams,
                size_cm: p.size_cm,
            })
            .collect(),
    })
}

impl Carrier for Yamato {
    fn carrier(&self) -> CarrierId {
        CarrierId::Yamato
    }

    fn book<'a>(&'a self, request: &'a BookingRequest) -> BoxFuture<'a, Result<Booking, Error>> {
        Box::pin(self.engine.book(
            request,
            &["v1", "shipments"],
            shipment,
            |r: ShipmentResponse| {
                let packages = r.packages.into_iter();
                let packages = packages.map(|p| (p.tracking_number, p.sorting_code));
                (r.shipment_id, packages.collect())
            },
        ))
    }

    fn void<'a>(
        &'a self,
        tracking: TrackingNumber,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let digits = tracking.digits();
            let path = ["v1", "shipments", &digits, "void"];
            self.engine.void(&path, tracking, reason).await
        })
    }

    fn track(&self, tracking: TrackingNumber) -> BoxFuture<'_, Result<Vec<Milestone>, Error>> {
        Box::pin(async move {
            let digits = tracking.digits();
            let events =
                |r: TrackingResponse| r.events.into_iter().map(|e| (e.code, e.at)).collect();
            let kind = |code: &str| match code {
                "picked_up" => Some(MilestoneKind::PickedUp),
                "in_transit" => Some(MilestoneKind::InTransit),
                "delivered" => Some(MilestoneKind::Delivered),
                _ => None,
            };
            let path = ["v1", "tracking", &digits];
            self.engine.milestones(&path, tracking, events, kind).await
        })
    }
}
