//! The order fulfilment state machine and the separate Amazon shipment-feedback status.
//!
//! Why two machines: where the parcel is (picked, packed, dispatched) and whether Amazon has been told
//! (pending, confirmed, failed) move independently. A dispatched order whose confirmation failed is
//! still dispatched; folding both into one state would force "dispatched_but_feedback_failed" style
//! products of states. Both are pure functions of (state, event) so that every legal and illegal
//! transition can be listed in a table and tested, and the server's handlers cannot invent a transition.
//!
//! Order lifecycle:
//! ```text
//!   received ──allocate──▶ allocated ──start_picking──▶ picking ──pack──▶ packed ──dispatch──▶ dispatched ──deliver──▶ delivered
//!      │                      ▲
//!      └──backorder──▶ backordered ──allocate (stock arrived)──┘
//!
//!   cancel: received | allocated | backordered | picking | packed ──▶ cancelled
//! ```
//! Once dispatched the parcel is with the carrier: it can no longer be cancelled here (a return is a
//! separate flow). `delivered` and `cancelled` are terminal.
//!
//! Feedback lifecycle (one per shipment):
//! ```text
//!   not_required                          (order not from Amazon, or feedback switched off: terminal)
//!   pending ──submit──▶ sent ──confirm──▶ confirmed          (terminal)
//!   pending | sent ──fail{reason}──▶ failed{reason}
//!   failed ──retry──▶ pending
//!   sent ──retry──▶ pending                (transient error, timeout or crash while in flight: requeue)
//!   failed ──mark_handled──▶ handled        (a person resolved it outside the WMS: terminal)
//! ```
//! `sent → pending` exists because "nothing acknowledged is lost": a worker that crashed or timed out
//! with the request in flight must be able to put it back in the queue without showing it as failed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A stored name (state, status or event) that is not one of ours: a corrupt row or a newer schema.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{value}`")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
}

/// Where an order is in the warehouse.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Imported, not yet matched to stock.
    Received,
    /// Stock reserved for every line.
    Allocated,
    /// Not enough stock; waits for stock to arrive.
    Backordered,
    /// Released to a picker.
    Picking,
    /// Verified item by item and packed.
    Packed,
    /// Handed to the carrier.
    Dispatched,
    /// The carrier reports delivery.
    Delivered,
    /// Cancelled before dispatch.
    Cancelled,
}

/// Something that happens to an order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OrderEvent {
    /// Stock was reserved for every line (first time, or after a backorder when stock arrived).
    Allocate,
    /// Allocation found too little stock.
    Backorder,
    StartPicking,
    Pack,
    Dispatch,
    Deliver,
    Cancel,
}

impl OrderState {
    pub const ALL: [OrderState; 8] = [
        OrderState::Received,
        OrderState::Allocated,
        OrderState::Backordered,
        OrderState::Picking,
        OrderState::Packed,
        OrderState::Dispatched,
        OrderState::Delivered,
        OrderState::Cancelled,
    ];

    /// The database text form (same as the serde form).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderState::Received => "received",
            OrderState::Allocated => "allocated",
            OrderState::Backordered => "backordered",
            OrderState::Picking => "picking",
            OrderState::Packed => "packed",
            OrderState::Dispatched => "dispatched",
            OrderState::Delivered => "delivered",
            OrderState::Cancelled => "cancelled",
        }
    }

    /// No event leads anywhere from here.
    #[must_use]
    pub const fn is_terminal(self) -> bool {
        matches!(self, OrderState::Delivered | OrderState::Cancelled)
    }

    /// Same as [`apply`], as a method.
    pub fn apply(self, event: OrderEvent) -> Result<OrderState, TransitionError> {
        apply(self, event)
    }
}

impl OrderEvent {
    pub const ALL: [OrderEvent; 7] = [
        OrderEvent::Allocate,
        OrderEvent::Backorder,
        OrderEvent::StartPicking,
        OrderEvent::Pack,
        OrderEvent::Dispatch,
        OrderEvent::Deliver,
        OrderEvent::Cancel,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderEvent::Allocate => "allocate",
            OrderEvent::Backorder => "backorder",
            OrderEvent::StartPicking => "start_picking",
            OrderEvent::Pack => "pack",
            OrderEvent::Dispatch => "dispatch",
            OrderEvent::Deliver => "deliver",
            OrderEvent::Cancel => "cancel",
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for OrderEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderState {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderState::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "order state",
                value: s.to_owned(),
            })
    }
}

impl FromStr for OrderEvent {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderEvent::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "order event",
                value: s.to_owned(),
            })
    }
}

/// An event that is not allowed in the order's current state. Names both, so the message (and the
/// audit entry) says exactly what was attempted on what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot `{event}` an order that is `{from}`")]
pub struct TransitionError {
    pub from: OrderState,
    pub event: OrderEvent,
}

impl TransitionError {
    /// A stable machine-readable code the UI can branch on.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        "order_illegal_transition"
    }
}

/// The next state of an order, or why the event is not allowed now.
pub fn apply(state: OrderState, event: OrderEvent) -> Result<OrderState, TransitionError> {
    use OrderEvent as E;
    use OrderState as S;
    match (state, event) {
        (S::Received | S::Backordered, E::Allocate) => Ok(S::Allocated),
        (S::Received, E::Backorder) => Ok(S::Backordered),
        (S::Allocated, E::StartPicking) => Ok(S::Picking),
        (S::Picking, E::Pack) => Ok(S::Packed),
        (S::Packed, E::Dispatch) => Ok(S::Dispatched),
        (S::Dispatched, E::Deliver) => Ok(S::Delivered),
        (S::Received | S::Allocated | S::Backordered | S::Picking | S::Packed, E::Cancel) => {
            Ok(S::Cancelled)
        }
        _ => Err(TransitionError { from: state, event }),
    }
}

/// Whether Amazon has been told about a shipment. The reason of a failure travels with it so that the
/// packer and the supervisor see *why*, not just that it failed.
///
/// Serialised with an internal tag: `{"status": "failed", "reason": "..."}`, `{"status": "pending"}`.
/// In the database: the text of [`as_str`](Self::as_str) plus a nullable reason column, read back
/// with [`from_db`](Self::from_db).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FeedbackStatus {
    /// Nothing to send (order not from Amazon).
    NotRequired,
    /// Queued for the feedback worker.
    Pending,
    /// Submitted to Amazon, outcome not yet known.
    Sent,
    /// Amazon accepted it.
    Confirmed,
    /// Amazon refused it, or it could not be sent; needs a retry or a person.
    Failed { reason: String },
    /// A person resolved a failure outside the WMS (e.g. in Seller Central) and said so.
    Handled,
}

/// The fieldless form of [`FeedbackStatus`]: the database text and what errors name.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackStatusKind {
    NotRequired,
    Pending,
    Sent,
    Confirmed,
    Failed,
    Handled,
}

/// Something that happens to a shipment's feedback.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum FeedbackEvent {
    /// The worker sent the confirmation to Amazon.
    Submit,
    /// Amazon accepted it.
    Confirm,
    /// Amazon refused it, or sending is impossible (e.g. authorization withdrawn).
    Fail { reason: String },
    /// Put it back in the queue: after a failure (a person or a policy asks), or while in flight
    /// (transient error, timeout, crash recovery).
    Retry,
    /// A person resolved a failure outside the WMS.
    MarkHandled,
}

/// The fieldless form of [`FeedbackEvent`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackEventKind {
    Submit,
    Confirm,
    Fail,
    Retry,
    MarkHandled,
}

impl FeedbackStatusKind {
    pub const ALL: [FeedbackStatusKind; 6] = [
        FeedbackStatusKind::NotRequired,
        FeedbackStatusKind::Pending,
        FeedbackStatusKind::Sent,
        FeedbackStatusKind::Confirmed,
        FeedbackStatusKind::Failed,
        FeedbackStatusKind::Handled,
    ];

    /// The database text form (same as the serde tag).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            FeedbackStatusKind::NotRequired => "not_required",
            FeedbackStatusKind::Pending => "pending",
            FeedbackStatusKind::Sent => "sent",
            FeedbackStatusKind::Confirmed => "confirmed",
            FeedbackStatusKind::Failed => "failed",
            FeedbackStatusKind::Handled => "handled",
        }
    }
}

impl FeedbackEventKind {
    pub const ALL: [FeedbackEventKind; 5] = [
        FeedbackEventKind::Submit,
        FeedbackEventKind::Confirm,
        FeedbackEventKind::Fail,
        FeedbackEventKind::Retry,
        FeedbackEventKind::MarkHandled,
    ];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            FeedbackEventKind::Submit => "submit",
            FeedbackEventKind::Confirm => "confirm",
            FeedbackEventKind::Fail => "fail",
            FeedbackEventKind::Retry => "retry",
            FeedbackEventKind::MarkHandled => "mark_handled",
        }
    }
}

impl fmt::Display for FeedbackStatusKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for FeedbackEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FeedbackStatusKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FeedbackStatusKind::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "feedback status",
                value: s.to_owned(),
            })
    }
}

impl FromStr for FeedbackEventKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FeedbackEventKind::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "feedback event",
                value: s.to_owned(),
            })
    }
}

/// A stored feedback status that does not fit together: the status text and the reason column
/// disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedbackStatusError {
    #[error(transparent)]
    Unknown(#[from] UnknownName),
    #[error("a failed feedback status needs a reason")]
    MissingReason,
    #[error("only a failed feedback status has a reason, not `{status}`")]
    UnexpectedReason { status: FeedbackStatusKind },
}

impl FeedbackStatus {
    /// The status a new shipment starts with: `pending` when Amazon must be told, else `not_required`.
    #[must_use]
    pub const fn initial(requires_feedback: bool) -> Self {
        if requires_feedback {
            FeedbackStatus::Pending
        } else {
            FeedbackStatus::NotRequired
        }
    }

    #[must_use]
    pub const fn kind(&self) -> FeedbackStatusKind {
        match self {
            FeedbackStatus::NotRequired => FeedbackStatusKind::NotRequired,
            FeedbackStatus::Pending => FeedbackStatusKind::Pending,
            FeedbackStatus::Sent => FeedbackStatusKind::Sent,
            FeedbackStatus::Confirmed => FeedbackStatusKind::Confirmed,
            FeedbackStatus::Failed { .. } => FeedbackStatusKind::Failed,
            FeedbackStatus::Handled => FeedbackStatusKind::Handled,
        }
    }

    /// The database text form of the status (the reason is stored apart; see [`Self::reason`]).
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }

    /// The failure reason, for the nullable reason column.
    #[must_use]
    pub fn reason(&self) -> Option<&str> {
        match self {
            FeedbackStatus::Failed { reason } => Some(reason),
            _ => None,
        }
    }

    /// Rebuild from the database columns. Strict both ways, so a row where the two columns disagree
    /// is reported instead of silently losing or inventing a reason.
    pub fn from_db(status: &str, reason: Option<String>) -> Result<Self, FeedbackStatusError> {
        let kind: FeedbackStatusKind = status.parse()?;
        match (kind, reason) {
            (FeedbackStatusKind::Failed, Some(reason)) => Ok(FeedbackStatus::Failed { reason }),
            (FeedbackStatusKind::Failed, None) => Err(FeedbackStatusError::MissingReason),
            (status, Some(_)) => Err(FeedbackStatusError::UnexpectedReason { status }),
            (FeedbackStatusKind::NotRequired, None) => Ok(FeedbackStatus::NotRequired),
            (FeedbackStatusKind::Pending, None) => Ok(FeedbackStatus::Pending),
            (FeedbackStatusKind::Sent, None) => Ok(FeedbackStatus::Sent),
            (FeedbackStatusKind::Confirmed, None) => Ok(FeedbackStatus::Confirmed),
            (FeedbackStatusKind::Handled, None) => Ok(FeedbackStatus::Handled),
        }
    }

    /// No event leads anywhere from here.
    #[must_use]
    pub const fn is_terminal(&self) -> bool {
        matches!(
            self,
            FeedbackStatus::NotRequired | FeedbackStatus::Confirmed | FeedbackStatus::Handled
        )
    }

    /// Same as [`apply_feedback`], as a method.
    pub fn apply(&self, event: FeedbackEvent) -> Result<FeedbackStatus, FeedbackTransitionError> {
        apply_feedback(self, event)
    }
}

impl fmt::Display for FeedbackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeedbackStatus::Failed { reason } => write!(f, "failed: {reason}"),
            other => f.write_str(other.as_str()),
        }
    }
}

impl FeedbackEvent {
    #[must_use]
    pub const fn kind(&self) -> FeedbackEventKind {
        match self {
            FeedbackEvent::Submit => FeedbackEventKind::Submit,
            FeedbackEvent::Confirm => FeedbackEventKind::Confirm,
            FeedbackEvent::Fail { .. } => FeedbackEventKind::Fail,
            FeedbackEvent::Retry => FeedbackEventKind::Retry,
            FeedbackEvent::MarkHandled => FeedbackEventKind::MarkHandled,
        }
    }
}

/// A feedback event that is not allowed in the current status; names both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot `{event}` shipment feedback that is `{from}`")]
pub struct FeedbackTransitionError {
    pub from: FeedbackStatusKind,
    pub event: FeedbackEventKind,
}

impl FeedbackTransitionError {
    /// A stable machine-readable code the UI can branch on.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        "feedback_illegal_transition"
    }
}

/// The next feedback status, or why the event is not allowed now.
pub fn apply_feedback(
    status: &FeedbackStatus,
    event: FeedbackEvent,
) -> Result<FeedbackStatus, FeedbackTransitionError> {
    use FeedbackEvent as E;
    use FeedbackStatus as S;
    match (status, event) {
        (S::Pending, E::Submit) => Ok(S::Sent),
        (S::Sent, E::Confirm) => Ok(S::Confirmed),
        (S::Pending | S::Sent, E::Fail { reason }) => Ok(S::Failed { reason }),
        (S::Failed { .. } | S::Sent, E::Retry) => Ok(S::Pending),
        (S::Failed { .. }, E::MarkHandled) => Ok(S::Handled),
        (status, event) => Err(FeedbackTransitionError {
            from: status.kind(),
            event: event.kind(),
        }),
    }
}

// ---------------------------------------------------------------------------------------- packing

/// One order line as the pack check sees it. `sku` is whatever identifies a SKU to the caller (the
/// server's SKU id, or the seller SKU at a workstation): the same identity as the scanned item's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackLine<'a> {
    pub line_no: i64,
    pub sku: &'a str,
    pub quantity: i64,
    pub packed: i64,
}

/// Why a scan at the packing bench counts nothing. Codes are the server's problem codes, so a
/// workstation checking a scan against its cached order refuses with the code the server would.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackRefusal {
    #[error("the order is {0}: not open for packing")]
    NotPackable(OrderState),
    #[error("quantity must be 1–10000")]
    InvalidQuantity,
    #[error("not a known barcode or SKU")]
    UnknownBarcode,
    #[error("this item is not in the order")]
    WrongItem,
    #[error("{more} more would make {} of {quantity}", packed + more)]
    OverQuantity {
        packed: i64,
        quantity: i64,
        more: i64,
    },
    #[error("box_type must be 1–32 characters")]
    InvalidBoxType,
    #[error("weight_g must be 1–70000")]
    InvalidWeight,
    #[error("give both carrier and tracking_number, or neither")]
    LabelIncomplete,
    #[error(transparent)]
    UnknownCarrier(#[from] crate::tracking::UnknownCarrier),
    #[error(transparent)]
    Tracking(#[from] crate::tracking::TrackingError),
}

impl PackRefusal {
    /// A stable machine-readable code (the server's).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            PackRefusal::NotPackable(_) => "order_not_packable",
            PackRefusal::InvalidQuantity => "invalid_quantity",
            PackRefusal::UnknownBarcode => "unknown_barcode",
            PackRefusal::WrongItem => "wrong_item",
            PackRefusal::OverQuantity { .. } => "over_quantity",
            PackRefusal::InvalidBoxType => "validation_failed",
            PackRefusal::InvalidWeight => "invalid_weight",
            PackRefusal::LabelIncomplete => "validation_failed",
            PackRefusal::UnknownCarrier(_) => "unknown_carrier",
            PackRefusal::Tracking(e) => e.code(),
        }
    }
}

/// What one accepted scan does: the line it counts on, the line's new packed count, and whether
/// the order is now complete (then the order takes [`OrderEvent::Pack`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackStep {
    pub line_no: i64,
    pub packed: i64,
    pub quantity: i64,
    pub order_complete: bool,
}

/// The pack rule: `quantity` units of `sku` (`None`: the scan named no known SKU) scanned for an
/// order in `state` with `lines`. Checks in this order: the order is being picked, the quantity is
/// 1–10000, the scan is a known SKU, the SKU is on a line, the first line of that SKU not yet full
/// takes the units without going over. A lot, when scanned, is checked by the caller against the
/// lot allocated to [`PackStep::line_no`] (allocations are not part of this view).
pub fn check_pack(
    state: OrderState,
    lines: &[PackLine<'_>],
    sku: Option<&str>,
    quantity: i64,
) -> Result<PackStep, PackRefusal> {
    if state != OrderState::Picking {
        return Err(PackRefusal::NotPackable(state));
    }
    if !(1..=10_000).contains(&quantity) {
        return Err(PackRefusal::InvalidQuantity);
    }
    let sku = sku.ok_or(PackRefusal::UnknownBarcode)?;
    let mut candidates = lines.iter().filter(|l| l.sku == sku).peekable();
    if candidates.peek().is_none() {
        return Err(PackRefusal::WrongItem);
    }
    let mut total = 0;
    let line = loop {
        match candidates.next() {
            Some(l) if l.packed < l.quantity => break l,
            Some(l) => total += l.quantity,
            None => {
                return Err(PackRefusal::OverQuantity {
                    packed: total,
                    quantity: total,
                    more: quantity,
                });
            }
        }
    };
    let packed = line.packed + quantity;
    if packed > line.quantity {
        return Err(PackRefusal::OverQuantity {
            packed: line.packed,
            quantity: line.quantity,
            more: quantity,
        });
    }
    let order_complete = lines.iter().all(|l| {
        if l.line_no == line.line_no {
            packed >= l.quantity
        } else {
            l.packed >= l.quantity
        }
    });
    Ok(PackStep {
        line_no: line.line_no,
        packed,
        quantity: line.quantity,
        order_complete,
    })
}

/// A package as the packer records it (the wire's `NewPackage` without dimensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageInput<'a> {
    pub box_type: &'a str,
    pub weight_g: i64,
    /// With `tracking_number`: a pre-printed label scanned at the bench.
    pub carrier: Option<&'a str>,
    pub tracking_number: Option<&'a str>,
}

/// The package rule: a package is added while the order is being picked or is packed; the box
/// type is 1–32 characters (trimmed), the weight 1–70000 g; a carrier and a tracking number come
/// together, the number checked for that carrier. Returns the tracking number, if one was given.
pub fn check_package(
    state: OrderState,
    p: &PackageInput<'_>,
) -> Result<Option<crate::tracking::TrackingNumber>, PackRefusal> {
    if !matches!(state, OrderState::Picking | OrderState::Packed) {
        return Err(PackRefusal::NotPackable(state));
    }
    let box_type = p.box_type.trim();
    if box_type.is_empty() || box_type.chars().count() > 32 {
        return Err(PackRefusal::InvalidBoxType);
    }
    if !(1..=70_000).contains(&p.weight_g) {
        return Err(PackRefusal::InvalidWeight);
    }
    match (p.carrier, p.tracking_number) {
        (None, None) => Ok(None),
        (Some(c), Some(n)) => {
            let carrier: crate::tracking::Carrier = c.parse()?;
            Ok(Some(crate::tracking::TrackingNumber::new(carrier, n)?))
        }
        _ => Err(PackRefusal::LabelIncomplete),
    }
}

#[cfg(test)]
mod pack_tests {
    use super::*;

    fn line(line_no: i64, sku: &str, quantity: i64, packed: i64) -> PackLine<'_> {
        PackLine {
            line_no,
            sku,
            quantity,
            packed,
        }
    }

    #[test]
    fn a_scan_counts_on_the_first_line_not_yet_full_and_completes_the_order() {
        let lines = [line(1, "A", 2, 2), line(2, "A", 1, 0), line(3, "B", 1, 1)];
        let step = check_pack(OrderState::Picking, &lines, Some("A"), 1).unwrap();
        assert_eq!(
            step,
            PackStep {
                line_no: 2,
                packed: 1,
                quantity: 1,
                order_complete: true
            }
        );
        let lines = [line(1, "A", 2, 0), line(2, "B", 1, 0)];
        let step = check_pack(OrderState::Picking, &lines, Some("A"), 2).unwrap();
        assert_eq!(
            (step.line_no, step.packed, step.order_complete),
            (1, 2, false)
        );
    }

    #[test]
    fn refusals_carry_the_servers_codes_in_the_servers_order() {
        let lines = [line(1, "A", 2, 1), line(2, "B", 1, 1)];
        let code = |state, sku, qty| {
            check_pack(state, &lines, sku, qty)
                .map(|_| "ok")
                .unwrap_or_else(|e| e.code())
        };
        assert_eq!(code(OrderState::Packed, None, 0), "order_not_packable");
        assert_eq!(code(OrderState::Picking, None, 0), "invalid_quantity");
        assert_eq!(
            code(OrderState::Picking, Some("A"), 10_001),
            "invalid_quantity"
        );
        assert_eq!(code(OrderState::Picking, None, 1), "unknown_barcode");
        assert_eq!(code(OrderState::Picking, Some("C"), 1), "wrong_item");
        assert_eq!(code(OrderState::Picking, Some("B"), 1), "over_quantity");
        assert_eq!(code(OrderState::Picking, Some("A"), 2), "over_quantity");
        assert_eq!(code(OrderState::Picking, Some("A"), 1), "ok");
    }

    #[test]
    fn packages_while_packing_with_a_box_and_a_weight() {
        let long = "x".repeat(33);
        let code = |state, box_type, weight_g| {
            let p = PackageInput {
                box_type,
                weight_g,
                carrier: None,
                tracking_number: None,
            };
            check_package(state, &p)
                .map(|_| "ok")
                .unwrap_or_else(|e| e.code())
        };
        assert_eq!(code(OrderState::Picking, "60", 800), "ok");
        assert_eq!(code(OrderState::Packed, "60", 70_000), "ok");
        assert_eq!(code(OrderState::Allocated, "60", 800), "order_not_packable");
        assert_eq!(
            code(OrderState::Dispatched, "60", 800),
            "order_not_packable"
        );
        assert_eq!(code(OrderState::Packed, " ", 800), "validation_failed");
        assert_eq!(code(OrderState::Packed, &long, 800), "validation_failed");
        assert_eq!(code(OrderState::Packed, "60", 0), "invalid_weight");
        assert_eq!(code(OrderState::Packed, "60", 70_001), "invalid_weight");
    }

    #[test]
    fn a_pre_printed_label_names_its_carrier_and_a_valid_number() {
        let good = crate::tracking::TrackingNumber::from_serial(
            crate::tracking::Carrier::Yamato,
            44_441_375_001,
        )
        .unwrap()
        .digits();
        let check = |carrier, tracking_number| {
            let p = PackageInput {
                box_type: "60",
                weight_g: 800,
                carrier,
                tracking_number,
            };
            check_package(OrderState::Packed, &p)
        };
        let t = check(Some("yamato"), Some(&good)).unwrap().unwrap();
        assert_eq!(t.digits(), good);
        let code = |c, n| check(c, n).map(|_| "ok").unwrap_or_else(|e| e.code());
        assert_eq!(code(Some("yamato"), None), "validation_failed");
        assert_eq!(code(None, Some(good.as_str())), "validation_failed");
        assert_eq!(code(Some("fedex"), Some(good.as_str())), "unknown_carrier");
        let mut bad = good.clone();
        bad.pop();
        bad.push(if good.ends_with('0') { '1' } else { '0' });
        assert_eq!(
            code(Some("yamato"), Some(bad.as_str())),
            "tracking_check_digit_mismatch"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// Fails to compile when a state or event is added, pointing here: extend `ALL` and the tables.
    #[test]
    fn all_lists_are_complete() {
        for s in OrderState::ALL {
            match s {
                OrderState::Received
                | OrderState::Allocated
                | OrderState::Backordered
                | OrderState::Picking
                | OrderState::Packed
                | OrderState::Dispatched
                | OrderState::Delivered
                | OrderState::Cancelled => {}
            }
        }
        for e in OrderEvent::ALL {
            match e {
                OrderEvent::Allocate
                | OrderEvent::Backorder
                | OrderEvent::StartPicking
                | OrderEvent::Pack
                | OrderEvent::Dispatch
                | OrderEvent::Deliver
                | OrderEvent::Cancel => {}
            }
        }
        assert_eq!(OrderState::ALL.iter().collect::<BTreeSet<_>>().len(), 8);
        assert_eq!(OrderEvent::ALL.iter().collect::<BTreeSet<_>>().len(), 7);
        assert_eq!(
            FeedbackStatusKind::ALL
                .iter()
                .collect::<BTreeSet<_>>()
                .len(),
            6
        );
        assert_eq!(
            FeedbackEventKind::ALL.iter().collect::<BTreeSet<_>>().len(),
            5
        );
    }

    /// Every (state, event) pair with its expected outcome, written out by hand: `Some(next)` for a
    /// legal transition, `None` for a refused one. Not derived from `apply`, so a change there must be
    /// mirrored here deliberately.
    #[test]
    fn order_transition_table_covers_every_pair() {
        use OrderEvent::*;
        use OrderState::*;
        let table: &[(OrderState, OrderEvent, Option<OrderState>)] = &[
            (Received, Allocate, Some(Allocated)),
            (Received, Backorder, Some(Backordered)),
            (Received, StartPicking, None),
            (Received, Pack, None),
            (Received, Dispatch, None),
            (Received, Deliver, None),
            (Received, Cancel, Some(Cancelled)),
            (Allocated, Allocate, None),
            (Allocated, Backorder, None),
            (Allocated, StartPicking, Some(Picking)),
            (Allocated, Pack, None),
            (Allocated, Dispatch, None),
            (Allocated, Deliver, None),
            (Allocated, Cancel, Some(Cancelled)),
            (Backordered, Allocate, Some(Allocated)),
            (Backordered, Backorder, None),
            (Backordered, StartPicking, None),
            (Backordered, Pack, None),
            (Backordered, Dispatch, None),
            (Backordered, Deliver, None),
            (Backordered, Cancel, Some(Cancelled)),
            (Picking, Allocate, None),
            (Picking, Backorder, None),
            (Picking, StartPicking, None),
            (Picking, Pack, Some(Packed)),
            (Picking, Dispatch, None),
            (Picking, Deliver, None),
            (Picking, Cancel, Some(Cancelled)),
            (Packed, Allocate, None),
            (Packed, Backorder, None),
            (Packed, StartPicking, None),
            (Packed, Pack, None),
            (Packed, Dispatch, Some(Dispatched)),
            (Packed, Deliver, None),
            (Packed, Cancel, Some(Cancelled)),
            (Dispatched, Allocate, None),
            (Dispatched, Backorder, None),
            (Dispatched, StartPicking, None),
            (Dispatched, Pack, None),
            (Dispatched, Dispatch, None),
            (Dispatched, Deliver, Some(Delivered)),
            (Dispatched, Cancel, None),
            (Delivered, Allocate, None),
            (Delivered, Backorder, None),
            (Delivered, StartPicking, None),
            (Delivered, Pack, None),
            (Delivered, Dispatch, None),
            (Delivered, Deliver, None),
            (Delivered, Cancel, None),
            (Cancelled, Allocate, None),
            (Cancelled, Backorder, None),
            (Cancelled, StartPicking, None),
            (Cancelled, Pack, None),
            (Cancelled, Dispatch, None),
            (Cancelled, Deliver, None),
            (Cancelled, Cancel, None),
        ];
        let pairs: BTreeSet<_> = table.iter().map(|(s, e, _)| (*s, *e)).collect();
        assert_eq!(pairs.len(), table.len(), "a pair is listed twice");
        assert_eq!(
            pairs.len(),
            OrderState::ALL.len() * OrderEvent::ALL.len(),
            "a pair is missing"
        );
        for &(state, event, expected) in table {
            let got = apply(state, event);
            match expected {
                Some(next) => assert_eq!(got, Ok(next), "{state} + {event}"),
                None => assert_eq!(
                    got,
                    Err(TransitionError { from: state, event }),
                    "{state} + {event}"
                ),
            }
            assert_eq!(state.apply(event), got);
        }
    }

    #[test]
    fn feedback_transition_table_covers_every_pair() {
        use FeedbackEventKind as E;
        use FeedbackStatusKind as K;
        let failed = || FeedbackStatus::Failed {
            reason: "InvalidInput: carrier".into(),
        };
        let event = |e: E| match e {
            E::Submit => FeedbackEvent::Submit,
            E::Confirm => FeedbackEvent::Confirm,
            E::Fail => FeedbackEvent::Fail {
                reason: "429 exhausted".into(),
            },
            E::Retry => FeedbackEvent::Retry,
            E::MarkHandled => FeedbackEvent::MarkHandled,
        };
        let status = |k: K| match k {
            K::NotRequired => FeedbackStatus::NotRequired,
            K::Pending => FeedbackStatus::Pending,
            K::Sent => FeedbackStatus::Sent,
            K::Confirmed => FeedbackStatus::Confirmed,
            K::Failed => failed(),
            K::Handled => FeedbackStatus::Handled,
        };
        let new_failure = || {
            Some(FeedbackStatus::Failed {
                reason: "429 exhausted".into(),
            })
        };
        let table: Vec<(K, E, Option<FeedbackStatus>)> = vec![
            (K::NotRequired, E::Submit, None),
            (K::NotRequired, E::Confirm, None),
            (K::NotRequired, E::Fail, None),
            (K::NotRequired, E::Retry, None),
            (K::NotRequired, E::MarkHandled, None),
            (K::Pending, E::Submit, Some(FeedbackStatus::Sent)),
            (K::Pending, E::Confirm, None),
            (K::Pending, E::Fail, new_failure()),
            (K::Pending, E::Retry, None),
            (K::Pending, E::MarkHandled, None),
            (K::Sent, E::Submit, None),
            (K::Sent, E::Confirm, Some(FeedbackStatus::Confirmed)),
            (K::Sent, E::Fail, new_failure()),
            (K::Sent, E::Retry, Some(FeedbackStatus::Pending)),
            (K::Sent, E::MarkHandled, None),
            (K::Confirmed, E::Submit, None),
            (K::Confirmed, E::Confirm, None),
            (K::Confirmed, E::Fail, None),
            (K::Confirmed, E::Retry, None),
            (K::Confirmed, E::MarkHandled, None),
            (K::Failed, E::Submit, None),
            (K::Failed, E::Confirm, None),
            (K::Failed, E::Fail, None),
            (K::Failed, E::Retry, Some(FeedbackStatus::Pending)),
            (K::Failed, E::MarkHandled, Some(FeedbackStatus::Handled)),
            (K::Handled, E::Submit, None),
            (K::Handled, E::Confirm, None),
            (K::Handled, E::Fail, None),
            (K::Handled, E::Retry, None),
            (K::Handled, E::MarkHandled, None),
        ];
        let pairs: BTreeSet<_> = table.iter().map(|(s, e, _)| (*s, *e)).collect();
        assert_eq!(pairs.len(), table.len(), "a pair is listed twice");
        assert_eq!(
            pairs.len(),
            FeedbackStatusKind::ALL.len() * FeedbackEventKind::ALL.len(),
            "a pair is missing"
        );
        for (k, e, expected) in table {
            let got = apply_feedback(&status(k), event(e));
            match expected {
                Some(next) => assert_eq!(got, Ok(next), "{k} + {e}"),
                None => assert_eq!(
                    got,
                    Err(FeedbackTransitionError { from: k, event: e }),
                    "{k} + {e}"
                ),
            }
            assert_eq!(status(k).apply(event(e)), got);
        }
    }

    #[test]
    fn terminal_states_accept_nothing() {
        for s in OrderState::ALL {
            let any_legal = OrderEvent::ALL.iter().any(|&e| apply(s, e).is_ok());
            assert_eq!(s.is_terminal(), !any_legal, "{s}");
        }
        for k in FeedbackStatusKind::ALL {
            let s = match k {
                FeedbackStatusKind::Failed => FeedbackStatus::Failed { reason: "x".into() },
                other => FeedbackStatus::from_db(other.as_str(), None).unwrap(),
            };
            let any_legal = [
                FeedbackEvent::Submit,
                FeedbackEvent::Confirm,
                FeedbackEvent::Fail { reason: "x".into() },
                FeedbackEvent::Retry,
                FeedbackEvent::MarkHandled,
            ]
            .into_iter()
            .any(|e| apply_feedback(&s, e).is_ok());
            assert_eq!(s.is_terminal(), !any_legal, "{k}");
        }
    }

    #[test]
    fn errors_name_state_and_event() {
        let e = apply(OrderState::Backordered, OrderEvent::Dispatch).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot `dispatch` an order that is `backordered`"
        );
        assert_eq!(e.code(), "order_illegal_transition");
        let e = apply_feedback(&FeedbackStatus::Confirmed, FeedbackEvent::MarkHandled).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot `mark_handled` shipment feedback that is `confirmed`"
        );
        assert_eq!(e.code(), "feedback_illegal_transition");
    }

    #[test]
    fn text_forms_round_trip_and_match_serde() {
        for s in OrderState::ALL {
            assert_eq!(s.as_str().parse::<OrderState>(), Ok(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        for e in OrderEvent::ALL {
            assert_eq!(e.as_str().parse::<OrderEvent>(), Ok(e));
            assert_eq!(serde_json::to_string(&e).unwrap(), format!("\"{e}\""));
        }
        for k in FeedbackStatusKind::ALL {
            assert_eq!(k.as_str().parse::<FeedbackStatusKind>(), Ok(k));
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        for k in FeedbackEventKind::ALL {
            assert_eq!(k.as_str().parse::<FeedbackEventKind>(), Ok(k));
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert_eq!(
            "Received".parse::<OrderState>(),
            Err(UnknownName {
                what: "order state",
                value: "Received".into()
            })
        );
        assert!("shipped".parse::<OrderState>().is_err());
        assert!("".parse::<FeedbackStatusKind>().is_err());
    }

    #[test]
    fn feedback_status_serde_uses_a_snake_case_tag() {
        let cases = [
            (FeedbackStatus::NotRequired, r#"{"status":"not_required"}"#),
            (FeedbackStatus::Pending, r#"{"status":"pending"}"#),
            (FeedbackStatus::Sent, r#"{"status":"sent"}"#),
            (FeedbackStatus::Confirmed, r#"{"status":"confirmed"}"#),
            (
                FeedbackStatus::Failed {
                    reason: "bad carrier code".into(),
                },
                r#"{"status":"failed","reason":"bad carrier code"}"#,
            ),
            (FeedbackStatus::Handled, r#"{"status":"handled"}"#),
        ];
        for (status, json) in cases {
            assert_eq!(serde_json::to_string(&status).unwrap(), json);
            assert_eq!(
                serde_json::from_str::<FeedbackStatus>(json).unwrap(),
                status
            );
        }
        assert!(serde_json::from_str::<FeedbackStatus>(r#"{"status":"failed"}"#).is_err());
        assert_eq!(
            serde_json::to_string(&FeedbackEvent::Fail { reason: "r".into() }).unwrap(),
            r#"{"event":"fail","reason":"r"}"#
        );
        assert_eq!(
            serde_json::to_string(&FeedbackEvent::MarkHandled).unwrap(),
            r#"{"event":"mark_handled"}"#
        );
    }

    #[test]
    fn feedback_status_database_form() {
        let failed = FeedbackStatus::Failed {
            reason: "InvalidInput".into(),
        };
        assert_eq!(failed.as_str(), "failed");
        assert_eq!(failed.reason(), Some("InvalidInput"));
        assert_eq!(failed.to_string(), "failed: InvalidInput");
        assert_eq!(
            FeedbackStatus::from_db("failed", Some("InvalidInput".into())),
            Ok(failed)
        );
        assert_eq!(
            FeedbackStatus::from_db("failed", None),
            Err(FeedbackStatusError::MissingReason)
        );
        assert_eq!(
            FeedbackStatus::from_db("pending", Some("x".into())),
            Err(FeedbackStatusError::UnexpectedReason {
                status: FeedbackStatusKind::Pending
            })
        );
        assert!(matches!(
            FeedbackStatus::from_db("lost", None),
            Err(FeedbackStatusError::Unknown(_))
        ));
        for k in FeedbackStatusKind::ALL {
            let s = match k {
                FeedbackStatusKind::Failed => FeedbackStatus::Failed { reason: "r".into() },
                other => FeedbackStatus::from_db(other.as_str(), None).unwrap(),
            };
            assert_eq!(s.kind(), k);
            assert_eq!(
                FeedbackStatus::from_db(s.as_str(), s.reason().map(str::to_owned)),
                Ok(s.clone())
            );
        }
        assert_eq!(FeedbackStatus::initial(true), FeedbackStatus::Pending);
        assert_eq!(FeedbackStatus::initial(false), FeedbackStatus::NotRequired);
    }

    #[test]
    fn the_happy_paths() {
        let mut s = OrderState::Received;
        for e in [
            OrderEvent::Backorder,
            OrderEvent::Allocate,
            OrderEvent::StartPicking,
            OrderEvent::Pack,
            OrderEvent::Dispatch,
            OrderEvent::Deliver,
        ] {
            s = apply(s, e).unwrap();
        }
        assert_eq!(s, OrderState::Delivered);

        let mut f = FeedbackStatus::initial(true);
        for e in [
            FeedbackEvent::Submit,
            FeedbackEvent::Retry,
            FeedbackEvent::Submit,
            FeedbackEvent::Fail {
                reason: "throttled".into(),
            },
            FeedbackEvent::Retry,
            FeedbackEvent::Submit,
            FeedbackEvent::Confirm,
        ] {
            f = apply_feedback(&f, e).unwrap();
        }
        assert_eq!(f, FeedbackStatus::Confirmed);
    }

    fn order_event() -> impl Strategy<Value = OrderEvent> {
        proptest::sample::select(OrderEvent::ALL.to_vec())
    }

    fn feedback_event() -> impl Strategy<Value = FeedbackEvent> {
        prop_oneof![
            Just(FeedbackEvent::Submit),
            Just(FeedbackEvent::Confirm),
            "[a-z ]{0,12}".prop_map(|reason| FeedbackEvent::Fail { reason }),
            Just(FeedbackEvent::Retry),
            Just(FeedbackEvent::MarkHandled),
        ]
    }

    proptest! {
        /// Whatever happens to an order, it never leaves a terminal state, never goes back from
        /// dispatched to a warehouse state, and an illegal event leaves it where it was.
        #[test]
        fn random_order_histories_respect_the_invariants(events in proptest::collection::vec(order_event(), 0..40)) {
            let mut state = OrderState::Received;
            let mut dispatched = false;
            for e in events {
                match apply(state, e) {
                    Ok(next) => {
                        prop_assert!(!state.is_terminal());
                        if next == OrderState::Cancelled {
                            prop_assert!(!dispatched, "cancelled after dispatch");
                        }
                        state = next;
                    }
                    Err(err) => prop_assert_eq!(err, TransitionError { from: state, event: e }),
                }
                dispatched |= state == OrderState::Dispatched;
                if dispatched {
                    prop_assert!(matches!(state, OrderState::Dispatched | OrderState::Delivered));
                }
            }
        }

        /// Feedback reaches `confirmed` only through `sent`, and a failure keeps its reason.
        #[test]
        fn random_feedback_histories_respect_the_invariants(events in proptest::collection::vec(feedback_event(), 0..40)) {
            let mut status = FeedbackStatus::initial(true);
            for e in events {
                let before = status.clone();
                let reason = match &e { FeedbackEvent::Fail { reason } => Some(reason.clone()), _ => None };
                match apply_feedback(&status, e) {
                    Ok(next) => {
                        prop_assert!(!before.is_terminal());
                        if next == FeedbackStatus::Confirmed {
                            prop_assert_eq!(&before, &FeedbackStatus::Sent);
                        }
                        if let FeedbackStatus::Failed { reason: r } = &next {
                            prop_assert_eq!(Some(r.clone()), reason);
                        }
                        status = next;
                    }
                    Err(_) => prop_assert_eq!(&status, &before),
                }
            }
        }
    }
}
