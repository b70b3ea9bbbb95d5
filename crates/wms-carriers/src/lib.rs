//! Carrier adapters for Jilian WMS: book a shipment (tracking numbers, sorting codes, label data),
//! void a package, read its tracking milestones; and the self-issue allocator for shippers that
//! number their own labels from a carrier-allocated range.
//!
//! - [`Carrier`]: the one trait the server programs against (object-safe: `Arc<dyn Carrier>`).
//! - [`Yamato`] and [`Sagawa`]: HTTP+JSON adapters (rustls, TLS 1.2+, optional pinned CA) with
//!   credentials in a [`Secret`], retries with backoff, typed [`Error`]s. The wire shapes are the
//!   project's own (neither carrier publishes a JSON API); see each module.
//! - Local validation first: a booking the carrier would refuse (by the rules
//!   `shared/reference/carriers-and-labels.md` gives) fails with a clear error and is never sent.
//! - [`allocator`]: pure self-issue numbering (`RangeState::issue`), persistence is the caller's.

pub mod allocator;
pub mod config;
pub mod error;
mod http;
pub mod model;
pub mod sagawa;
pub mod secret;
mod validate;
pub mod yamato;

use std::future::Future;
use std::pin::Pin;

use wms_core::tracking::{self, TrackingNumber};

pub use allocator::{Issued, RangeError, RangeState, UsageWarning};
pub use config::{CarrierConfig, CarrierRules, Credentials, PackageLimits, RetryPolicy, TlsTrust};
pub use error::{Error, FieldError, TransportKind};
pub use model::{
    BookedPackage, Booking, BookingRequest, IdempotencyKey, Milestone, MilestoneKind, PackageSpec,
};
pub use sagawa::Sagawa;
pub use secret::Secret;
pub use yamato::Yamato;

/// A boxed future, so that [`Carrier`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One carrier's system, as the WMS uses it.
pub trait Carrier: Send + Sync {
    /// Whose numbers this adapter books.
    fn carrier(&self) -> tracking::Carrier;

    /// Books a shipment. Safe to call again with the same request after any failure: the
    /// request's idempotency key makes the carrier answer with the booking it already made.
    /// Returns a validated tracking number and the sorting code per package, in request order.
    fn book<'a>(&'a self, request: &'a BookingRequest) -> BoxFuture<'a, Result<Booking, Error>>;

    /// Voids a booked package (before pickup). Voiding a voided package succeeds.
    fn void<'a>(
        &'a self,
        tracking: TrackingNumber,
        reason: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>>;

    /// The milestones so far (集荷 → 輸送中 → 配達完了), oldest first; empty before pickup.
    fn track(&self, tracking: TrackingNumber) -> BoxFuture<'_, Result<Vec<Milestone>, Error>>;
}
