//! What a booking asks for and what the carrier gives back, independent of any carrier's wire form.
//!
//! The label vocabulary (service 発払/着払/コレクト, クール区分, time slots, parties) is wms-core's
//! label model's, so that a booking and the label printed for it cannot disagree: every booked
//! package turns into a [`LabelModel`] with [`Booking::label`].

use time::{Date, OffsetDateTime};
use wms_core::label::{CoolType, LabelModel, Party, Piece, ServiceType, TimeSlot};
use wms_core::tracking::{self, TrackingNumber};

use crate::error::{Error, FieldError};

/// One parcel of a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageSpec {
    pub weight_grams: u32,
    /// サイズ: length + width + height in centimetres, as the carriers measure size classes.
    pub size_cm: u32,
}

/// The key that makes a booking safe to retry: the carrier answers a repeated key with the
/// booking it already made (same tracking numbers) instead of booking again.
///
/// 1 to 64 characters of `[A-Za-z0-9_.:-]`, e.g. the package's id in the WMS. Derive it from
/// something stable (the shipment), never from the attempt, or a retry books twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 64;

    pub fn new(key: impl Into<String>) -> Result<Self, FieldError> {
        let key = key.into();
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
        if key.is_empty() || key.len() > Self::MAX_LEN || !key.chars().all(ok_char) {
            return Err(FieldError::new(
                "idempotencyKey",
                "1 to 64 characters of A-Z a-z 0-9 _ . : -",
            ));
        }
        Ok(Self(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Everything needed to book one shipment (one or more packages to one recipient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingRequest {
    pub idempotency_key: IdempotencyKey,
    pub service: ServiceType,
    /// Only with [`ServiceType::Cod`] (コレクト), and required with it.
    pub cod_amount_yen: Option<u32>,
    pub cool: CoolType,
    pub ship_date: Date,
    pub delivery_date: Option<Date>,
    pub time_slot: Option<TimeSlot>,
    pub recipient: Party,
    pub sender: Party,
    pub item_description: String,
    /// The Amazon order id (or the WMS's reference), printed on the label.
    pub order_reference: String,
    /// At least one.
    pub packages: Vec<PackageSpec>,
}

/// One booked package: what the carrier allocated for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedPackage {
    /// Checked with `wms_core::tracking` (check digit, the carrier's prefixes) before it is returned.
    pub tracking: TrackingNumber,
    /// Yamato 仕分コード / Sagawa branch code, exactly as the carrier returned it (never computed).
    pub sorting_code: String,
    pub piece: Piece,
}

/// A booked shipment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub carrier: tracking::Carrier,
    /// The carrier's id for the whole shipment.
    pub shipment_id: String,
    /// In the order of [`BookingRequest::packages`].
    pub packages: Vec<BookedPackage>,
}

impl Booking {
    /// The label of package `index` (0-based), for wms-core's renderers. `None` past the end.
    pub fn label(&self, request: &BookingRequest, index: usize) -> Option<LabelModel> {
        self.packages
            .get(index)
            .map(|p| label_model(request, p.tracking, p.piece, Some(p.sorting_code.clone())))
    }

    /// Every package's label, in order.
    pub fn labels(&self, request: &BookingRequest) -> Vec<LabelModel> {
        (0..self.packages.len())
            .filter_map(|i| self.label(request, i))
            .collect()
    }
}

/// The label a request prints with a given number: the same function serves the local checks
/// before booking and the labels after, so what was checked is what is printed.
pub(crate) fn label_model(
    request: &BookingRequest,
    tracking: TrackingNumber,
    piece: Piece,
    sorting_code: Option<String>,
) -> LabelModel {
    LabelModel {
        tracking,
        service: request.service,
        cod_amount_yen: request.cod_amount_yen,
        cool: request.cool,
        ship_date: request.ship_date,
        delivery_date: request.delivery_date,
        time_slot: request.time_slot.map(|s| s.code().to_owned()),
        sender: request.sender.clone(),
        recipient: request.recipient.clone(),
        item_description: request.item_description.clone(),
        piece,
        sorting_code,
        order_reference: request.order_reference.clone(),
    }
}

/// A step of a parcel's journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MilestoneKind {
    /// 集荷: the driver picked it up.
    PickedUp,
    /// 輸送中.
    InTransit,
    /// 配達完了.
    Delivered,
}

impl MilestoneKind {
    #[must_use]
    pub const fn japanese(self) -> &'static str {
        match self {
            MilestoneKind::PickedUp => "集荷",
            MilestoneKind::InTransit => "輸送中",
            MilestoneKind::Delivered => "配達完了",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Milestone {
    pub kind: MilestoneKind,
    pub at: OffsetDateTime,
}

/// Why a booking is voided (free text, kept by the carrier).
pub(crate) fn check_void_reason(reason: &str) -> Result<(), Error> {
    if reason.trim().is_empty() {
        return Err(Error::Invalid(FieldError::new(
            "reason",
            "a void needs a reason",
        )));
    }
    if reason.chars().count() > 200 || reason.chars().any(char::is_control) {
        return Err(Error::Invalid(FieldError::new(
            "reason",
            "at most 200 characters on one line",
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys() {
        assert!(IdempotencyKey::new("pkg-018f2c.1:a_B").is_ok());
        for bad in ["", "with space", "日本", &"x".repeat(65)] {
            assert!(IdempotencyKey::new(bad).is_err(), "{bad:?}");
        }
    }
}
