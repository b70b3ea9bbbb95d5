//! Stock ledger rules: what a stock movement may do, the balances it produces, and allocation of
//! stock lots to an order line (FEFO / FIFO).
//!
//! Why a pure model: the server keeps the ledger in a database, but the rules ("never negative",
//! "never reserve what is not there") must be one piece of code that can be tested to exhaustion.
//! The server loads the balances a movement touches ([`Balances::from_entries`]), applies the
//! movement here, and writes the result in the same transaction.
//!
//! # One rule for every movement: `from` loses, `to` gains
//! Every movement moves `quantity` (always > 0) of one SKU and batch out of `from` and/or into `to`.
//! Which sides a kind uses is fixed ([`MovementKind::sides`]):
//!
//! | kind | from | to | on hand | reserved |
//! | --- | --- | --- | --- | --- |
//! | receive, return | – | required | `to` += q | – |
//! | putaway, move | required | required, ≠ from | `from` −= q, `to` += q | – (only unreserved stock moves) |
//! | adjust, count | exactly one of the two | | `from` −= q **or** `to` += q | – |
//! | reserve | required | – | – | `from` += q (needs q available) |
//! | unreserve | required | – | – | `from` −= q (needs q reserved) |
//! | pick | required | required, ≠ from | `from` −= q, `to` += q | `from` −= q, `to` += q |
//! | ship | required | – | `from` −= q | `from` −= q |
//! | dispose | required | – | `from` −= q | – (only unreserved stock) |
//!
//! **Adjust (and count) take their sign from the side**, not from a signed quantity or a direction
//! field: an adjustment *to* a location adds found stock, one *from* a location writes stock off.
//! This keeps the single rule above true for every kind (a report can sum `to` minus `from` without
//! knowing kinds), keeps `quantity > 0` universal, and needs no field that is meaningless for the
//! other ten kinds. `count` is the same shape as `adjust`, kept apart so cycle-count variances can be
//! reported separately; [`Balances::count_movement`] builds one from a counted quantity.
//!
//! **Reservations follow the stock**: `pick` consumes the reservation at the bin and re-creates it at
//! the destination (a tote or packing location), so picked stock stays committed to its order; `ship`
//! consumes it there. Stock that is not reserved cannot be shipped, and reserved stock cannot be
//! moved, adjusted down or disposed of: unreserve first. With these rules "reserved never exceeds on
//! hand" and "nothing is ever negative" hold after every accepted movement.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, Duration};
use utoipa::ToSchema;

/// What a stock movement is for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    /// Goods arrive from a supplier (into a receiving location).
    Receive,
    /// From receiving into a storage bin.
    Putaway,
    /// Between two bins.
    Move,
    /// A correction: found stock (`to`) or written off (`from`). Needs a reason code.
    Adjust,
    /// A cycle-count variance, same shape as `adjust`. Needs a reason code.
    Count,
    /// Commit stock at a location to an order.
    Reserve,
    /// Release a commitment.
    Unreserve,
    /// Take reserved stock from a bin to a tote or packing location; stays reserved.
    Pick,
    /// Reserved stock leaves the warehouse with the carrier.
    Ship,
    /// A customer return arrives.
    Return,
    /// Destroyed or otherwise removed (damaged, expired). Needs a reason code.
    Dispose,
}

/// Which location fields a kind uses. See the module docs for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sides {
    /// `to` only.
    ToOnly,
    /// `from` only.
    FromOnly,
    /// Both, and they differ.
    Both,
    /// Exactly one; the side gives the sign (`to` adds, `from` removes).
    ExactlyOne,
}

impl MovementKind {
    pub const ALL: [MovementKind; 11] = [
        MovementKind::Receive,
        MovementKind::Putaway,
        MovementKind::Move,
        MovementKind::Adjust,
        MovementKind::Count,
        MovementKind::Reserve,
        MovementKind::Unreserve,
        MovementKind::Pick,
        MovementKind::Ship,
        MovementKind::Return,
        MovementKind::Dispose,
    ];

    /// The database text form (same as the serde form).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            MovementKind::Receive => "receive",
            MovementKind::Putaway => "putaway",
            MovementKind::Move => "move",
            MovementKind::Adjust => "adjust",
            MovementKind::Count => "count",
            MovementKind::Reserve => "reserve",
            MovementKind::Unreserve => "unreserve",
            MovementKind::Pick => "pick",
            MovementKind::Ship => "ship",
            MovementKind::Return => "return",
            MovementKind::Dispose => "dispose",
        }
    }

    #[must_use]
    pub const fn sides(self) -> Sides {
        match self {
            MovementKind::Receive | MovementKind::Return => Sides::ToOnly,
            MovementKind::Putaway | MovementKind::Move | MovementKind::Pick => Sides::Both,
            MovementKind::Adjust | MovementKind::Count => Sides::ExactlyOne,
            MovementKind::Reserve
            | MovementKind::Unreserve
            | MovementKind::Ship
            | MovementKind::Dispose => Sides::FromOnly,
        }
    }

    /// Kinds that change stock without a document behind them must say why (audit, shrinkage
    /// reports); the others are explained by their receipt, order or return.
    #[must_use]
    pub const fn needs_reason(self) -> bool {
        matches!(
            self,
            MovementKind::Adjust | MovementKind::Count | MovementKind::Dispose
        )
    }
}

impl fmt::Display for MovementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown movement kind `{0}`")]
pub struct UnknownMovementKind(pub String);

impl FromStr for MovementKind {
    type Err = UnknownMovementKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MovementKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownMovementKind(s.to_owned()))
    }
}

/// One line of the stock ledger. Plain data: [`Balances::apply`] decides whether it is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Movement {
    pub sku: String,
    /// The location stock leaves (or, for reserve/unreserve, where it is held).
    pub from: Option<String>,
    /// The location stock arrives at.
    pub to: Option<String>,
    /// Lot / batch code for lot-tracked SKUs.
    pub batch: Option<String>,
    /// Always > 0; the direction is given by `from`/`to`.
    pub quantity: i64,
    pub kind: MovementKind,
    /// Why; required (non-empty) for adjust, count and dispose.
    pub reason_code: String,
}

/// Where stock of one SKU and batch sits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub struct StockKey {
    pub sku: String,
    pub location: String,
    pub batch: Option<String>,
}

impl StockKey {
    #[must_use]
    pub fn new(sku: &str, location: &str, batch: Option<&str>) -> Self {
        StockKey {
            sku: sku.to_owned(),
            location: location.to_owned(),
            batch: batch.map(str::to_owned),
        }
    }
}

impl fmt::Display for StockKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.sku, self.location)?;
        if let Some(b) = &self.batch {
            write!(f, " (batch {b})")?;
        }
        Ok(())
    }
}

/// Quantities at one [`StockKey`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    pub on_hand: i64,
    /// Committed to orders; never more than `on_hand`.
    pub reserved: i64,
}

impl Balance {
    /// What can still be reserved, moved or disposed of.
    #[must_use]
    pub const fn available(&self) -> i64 {
        self.on_hand - self.reserved
    }

    const fn is_zero(&self) -> bool {
        self.on_hand == 0 && self.reserved == 0
    }

    const fn is_valid(&self) -> bool {
        self.on_hand >= 0 && self.reserved >= 0 && self.reserved <= self.on_hand
    }
}

/// Why a movement was refused. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("quantity must be positive, got {quantity}")]
    NonPositiveQuantity { quantity: i64 },
    #[error("a movement needs a SKU")]
    EmptySku,
    #[error("location codes must not be empty")]
    EmptyLocation,
    #[error("a batch, when given, must not be empty")]
    EmptyBatch,
    #[error("a {kind} movement needs a from location")]
    MissingFrom { kind: MovementKind },
    #[error("a {kind} movement needs a to location")]
    MissingTo { kind: MovementKind },
    #[error("a {kind} movement has no from location")]
    UnexpectedFrom { kind: MovementKind },
    #[error("a {kind} movement has no to location")]
    UnexpectedTo { kind: MovementKind },
    #[error("a {kind} movement needs exactly one of from (stock written off) or to (stock found)")]
    NeedsExactlyOneSide { kind: MovementKind },
    #[error("a {kind} movement goes between two different locations, both are {location}")]
    SameLocation {
        kind: MovementKind,
        location: String,
    },
    #[error("a {kind} movement needs a reason code")]
    MissingReason { kind: MovementKind },
    #[error("only {available} of {key} available (on hand minus reserved), {requested} requested")]
    InsufficientAvailable {
        key: StockKey,
        available: i64,
        requested: i64,
    },
    #[error("only {reserved} of {key} reserved, {requested} requested")]
    InsufficientReserved {
        key: StockKey,
        reserved: i64,
        requested: i64,
    },
    #[error("quantity of {key} would overflow")]
    Overflow { key: StockKey },
    #[error("a count cannot be negative, got {counted} for {key}")]
    NegativeCount { key: StockKey, counted: i64 },
    #[error("invalid balance for {key}: on hand {on_hand}, reserved {reserved}")]
    InvalidBalance {
        key: StockKey,
        on_hand: i64,
        reserved: i64,
    },
}

impl LedgerError {
    /// A stable machine-readable code the UI can branch on (message text may change).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            LedgerError::NonPositiveQuantity { .. } => "ledger_non_positive_quantity",
            LedgerError::EmptySku => "ledger_empty_sku",
            LedgerError::EmptyLocation => "ledger_empty_location",
            LedgerError::EmptyBatch => "ledger_empty_batch",
            LedgerError::MissingFrom { .. } => "ledger_missing_from",
            LedgerError::MissingTo { .. } => "ledger_missing_to",
            LedgerError::UnexpectedFrom { .. } => "ledger_unexpected_from",
            LedgerError::UnexpectedTo { .. } => "ledger_unexpected_to",
            LedgerError::NeedsExactlyOneSide { .. } => "ledger_needs_exactly_one_side",
            LedgerError::SameLocation { .. } => "ledger_same_location",
            LedgerError::MissingReason { .. } => "ledger_missing_reason",
            LedgerError::InsufficientAvailable { .. } => "ledger_insufficient_available",
            LedgerError::InsufficientReserved { .. } => "ledger_insufficient_reserved",
            LedgerError::Overflow { .. } => "ledger_overflow",
            LedgerError::NegativeCount { .. } => "ledger_negative_count",
            LedgerError::InvalidBalance { .. } => "ledger_invalid_balance",
        }
    }
}

/// A change to one key's balance, computed from a movement before anything is written.
pub struct Delta {
    pub key: StockKey,
    pub on_hand: i64,
    pub reserved: i64,
}

/// Check the shape of a movement (everything that does not depend on balances) and return the
/// per-location changes it asks for.
pub fn deltas(m: &Movement) -> Result<Vec<Delta>, LedgerError> {
    let q = m.quantity;
    if q <= 0 {
        return Err(LedgerError::NonPositiveQuantity { quantity: q });
    }
    if m.sku.is_empty() {
        return Err(LedgerError::EmptySku);
    }
    if m.from.as_deref() == Some("") || m.to.as_deref() == Some("") {
        return Err(LedgerError::EmptyLocation);
    }
    if m.batch.as_deref() == Some("") {
        return Err(LedgerError::EmptyBatch);
    }
    let kind = m.kind;
    let (from, to) = match (kind.sides(), m.from.as_deref(), m.to.as_deref()) {
        (Sides::ToOnly, Some(_), _) => return Err(LedgerError::UnexpectedFrom { kind }),
        (Sides::ToOnly, None, None) => return Err(LedgerError::MissingTo { kind }),
        (Sides::FromOnly, _, Some(_)) => return Err(LedgerError::UnexpectedTo { kind }),
        (Sides::FromOnly, None, None) => return Err(LedgerError::MissingFrom { kind }),
        (Sides::Both, None, _) => return Err(LedgerError::MissingFrom { kind }),
        (Sides::Both, Some(_), None) => return Err(LedgerError::MissingTo { kind }),
        (Sides::Both, Some(f), Some(t)) if f == t => {
            return Err(LedgerError::SameLocation {
                kind,
                location: f.to_owned(),
            });
        }
        (Sides::ExactlyOne, Some(_), Some(_)) | (Sides::ExactlyOne, None, None) => {
            return Err(LedgerError::NeedsExactlyOneSide { kind });
        }
        (_, from, to) => (from, to),
    };
    if kind.needs_reason() && m.reason_code.trim().is_empty() {
        return Err(LedgerError::MissingReason { kind });
    }
    let key = |location: &str| StockKey::new(&m.sku, location, m.batch.as_deref());
    // How on-hand and reserved change at `from` and at `to`, per unit, by kind.
    let (from_change, to_change) = match kind {
        MovementKind::Receive | MovementKind::Return => ((0, 0), (1, 0)),
        MovementKind::Putaway | MovementKind::Move | MovementKind::Adjust | MovementKind::Count => {
            ((-1, 0), (1, 0))
        }
        MovementKind::Dispose => ((-1, 0), (0, 0)),
        MovementKind::Reserve => ((0, 1), (0, 0)),
        MovementKind::Unreserve => ((0, -1), (0, 0)),
        MovementKind::Pick => ((-1, -1), (1, 1)),
        MovementKind::Ship => ((-1, -1), (0, 0)),
    };
    let mut out = Vec::with_capacity(2);
    if let Some(f) = from {
        out.push(Delta {
            key: key(f),
            on_hand: from_change.0 * q,
            reserved: from_change.1 * q,
        });
    }
    if let Some(t) = to {
        out.push(Delta {
            key: key(t),
            on_hand: to_change.0 * q,
            reserved: to_change.1 * q,
        });
    }
    Ok(out)
}

/// On-hand and reserved quantities per (SKU, location, batch).
///
/// Only valid balances can be in here (`0 ≤ reserved ≤ on_hand`): it is built empty or from
/// validated entries, and changed only by [`apply`](Self::apply). Keys whose balance returns to zero
/// are dropped, so two ledgers with the same stock compare equal whatever their history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Balances {
    entries: BTreeMap<StockKey, Balance>,
}

impl Balances {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Load balances (e.g. the rows a movement touches), refusing any that break the invariants.
    /// A key given twice keeps the last value.
    pub fn from_entries(
        entries: impl IntoIterator<Item = (StockKey, Balance)>,
    ) -> Result<Self, LedgerError> {
        let mut map = BTreeMap::new();
        for (key, balance) in entries {
            if !balance.is_valid() {
                return Err(LedgerError::InvalidBalance {
                    key,
                    on_hand: balance.on_hand,
                    reserved: balance.reserved,
                });
            }
            if balance.is_zero() {
                map.remove(&key);
            } else {
                map.insert(key, balance);
            }
        }
        Ok(Balances { entries: map })
    }

    /// The balance at a key; zero when nothing is there.
    #[must_use]
    pub fn get(&self, key: &StockKey) -> Balance {
        self.entries.get(key).copied().unwrap_or_default()
    }

    /// Non-zero balances, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&StockKey, &Balance)> {
        self.entries.iter()
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Apply one movement. Everything is checked before anything is written: on error the balances
    /// are exactly as before.
    pub fn apply(&mut self, m: &Movement) -> Result<(), LedgerError> {
        let changes = self.check(m)?;
        for (key, balance) in changes {
            if balance.is_zero() {
                self.entries.remove(&key);
            } else {
                self.entries.insert(key, balance);
            }
        }
        Ok(())
    }

    /// Whether [`apply`](Self::apply) would accept the movement, without applying it.
    pub fn check(&self, m: &Movement) -> Result<Vec<(StockKey, Balance)>, LedgerError> {
        let requested = m.quantity;
        let mut out = Vec::with_capacity(2);
        // `deltas` never returns the same key twice (from ≠ to is checked), so each new balance can be
        // computed from the current one independently.
        for d in deltas(m)? {
            let old = self.get(&d.key);
            let (Some(on_hand), Some(reserved)) = (
                old.on_hand.checked_add(d.on_hand),
                old.reserved.checked_add(d.reserved),
            ) else {
                return Err(LedgerError::Overflow { key: d.key });
            };
            if reserved < 0 {
                return Err(LedgerError::InsufficientReserved {
                    key: d.key,
                    reserved: old.reserved,
                    requested,
                });
            }
            if reserved > on_hand {
                return Err(LedgerError::InsufficientAvailable {
                    key: d.key,
                    available: old.available(),
                    requested,
                });
            }
            out.push((d.key, Balance { on_hand, reserved }));
        }
        Ok(out)
    }

    /// The `count` movement that brings the on-hand quantity at `key` to `counted`, or `None` when the
    /// count matches. Applying it may still fail when the count is below what is reserved: those
    /// reservations must be released (re-allocated) first, which is a decision for a person.
    pub fn count_movement(
        &self,
        key: &StockKey,
        counted: i64,
        reason_code: &str,
    ) -> Result<Option<Movement>, LedgerError> {
        if counted < 0 {
            return Err(LedgerError::NegativeCount {
                key: key.clone(),
                counted,
            });
        }
        let on_hand = self.get(key).on_hand;
        let (from, to, quantity) = match counted.cmp(&on_hand) {
            std::cmp::Ordering::Equal => return Ok(None),
            std::cmp::Ordering::Less => (Some(key.location.clone()), None, on_hand - counted),
            std::cmp::Ordering::Greater => (None, Some(key.location.clone()), counted - on_hand),
        };
        Ok(Some(Movement {
            sku: key.sku.clone(),
            from,
            to,
            batch: key.batch.clone(),
            quantity,
            kind: MovementKind::Count,
            reason_code: reason_code.to_owned(),
        }))
    }
}

/// Balances recomputed from a whole ledger by summing each movement's deltas. The sum does not
/// depend on the order of the movements, so it needs no global sequence; it is what
/// `wms-server stock verify` compares the stored balances with. Keys that sum to zero are omitted.
pub fn recompute<'a>(
    movements: impl IntoIterator<Item = &'a Movement>,
) -> Result<BTreeMap<StockKey, Balance>, LedgerError> {
    let mut out: BTreeMap<StockKey, Balance> = BTreeMap::new();
    for m in movements {
        for d in deltas(m)? {
            let b = out.entry(d.key).or_default();
            b.on_hand += d.on_hand;
            b.reserved += d.reserved;
        }
    }
    out.retain(|_, b| !b.is_zero());
    Ok(out)
}

/// Stock of one SKU that an order line could be allocated from: one (location, batch) with what is
/// available there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockLot {
    pub location: String,
    pub batch: Option<String>,
    /// Best-before / expiry date; `None` for stock that does not expire (not lot-tracked).
    pub expiry: Option<Date>,
    /// When the stock was received, for FIFO.
    pub received: Date,
    /// On hand minus reserved.
    pub available: i64,
}

/// One lot chosen by an allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationLine {
    /// Index into the candidates given to [`allocate_fefo`].
    pub candidate: usize,
    pub location: String,
    pub batch: Option<String>,
    pub expiry: Option<Date>,
    pub quantity: i64,
}

/// The result of an allocation: lots in the order they should be picked, and what could not be
/// covered (zero when fully allocated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allocation {
    pub lines: Vec<AllocationLine>,
    pub shortfall: i64,
}

impl Allocation {
    /// Total quantity allocated.
    #[must_use]
    pub fn allocated(&self) -> i64 {
        self.lines.iter().map(|l| l.quantity).sum()
    }

    #[must_use]
    pub const fn is_complete(&self) -> bool {
        self.shortfall == 0
    }

    /// The `reserve` movements that commit this allocation in the ledger.
    #[must_use]
    pub fn reserve_movements(&self, sku: &str, reason_code: &str) -> Vec<Movement> {
        self.lines
            .iter()
            .map(|l| Movement {
                sku: sku.to_owned(),
                from: Some(l.location.clone()),
                to: None,
                batch: l.batch.clone(),
                quantity: l.quantity,
                kind: MovementKind::Reserve,
                reason_code: reason_code.to_owned(),
            })
            .collect()
    }
}

/// The earliest expiry a lot may have to be allocated for a shipment on `ship_date`: the buyer
/// must get at least `min_shelf_life_days` of shelf life. `None` when the date would be past the
/// calendar's end, in which case no expiring lot qualifies.
#[must_use]
pub fn earliest_acceptable_expiry(ship_date: Date, min_shelf_life_days: u32) -> Option<Date> {
    ship_date.checked_add(Duration::days(i64::from(min_shelf_life_days)))
}

/// Whether a lot may be allocated at all: it has stock, and if it expires, not before
/// `ship_date + min_shelf_life_days` (a lot expiring exactly on that day is acceptable).
#[must_use]
pub fn is_eligible(lot: &StockLot, ship_date: Date, min_shelf_life_days: u32) -> bool {
    lot.available > 0
        && match lot.expiry {
            None => true,
            Some(expiry) => earliest_acceptable_expiry(ship_date, min_shelf_life_days)
                .is_some_and(|min| expiry >= min),
        }
}

/// The order in which eligible lots are used: expiring lots first, earliest expiry first (FEFO);
/// then lots without expiry, oldest receipt first (FIFO). Ties go to the earlier receipt, then to
/// location and batch, so the result does not depend on the order of the candidates.
fn pick_order(lot: &StockLot) -> (bool, Option<Date>, Date, &str, Option<&str>) {
    (
        lot.expiry.is_none(),
        lot.expiry,
        lot.received,
        &lot.location,
        lot.batch.as_deref(),
    )
}

/// Allocate `qty` of one SKU from `candidates`: FEFO by expiry for lot-tracked stock, FIFO by
/// receipt otherwise (see `pick_order`), skipping lots that expire before `ship_date +
/// min_shelf_life_days` and lots with nothing available. Takes each lot whole before the next, so
/// at most one lot (the last) is split. Whatever cannot be covered is the `shortfall`; the caller
/// decides between a partial allocation and a backorder. A `qty` of zero or less allocates nothing.
#[must_use]
pub fn allocate_fefo(
    candidates: &[StockLot],
    qty: i64,
    ship_date: Date,
    min_shelf_life_days: u32,
) -> Allocation {
    let mut eligible: Vec<usize> = (0..candidates.len())
        .filter(|&i| is_eligible(&candidates[i], ship_date, min_shelf_life_days))
        .collect();
    eligible.sort_by(|&a, &b| pick_order(&candidates[a]).cmp(&pick_order(&candidates[b])));
    let mut remaining = qty.max(0);
    let mut lines = Vec::new();
    for i in eligible {
        if remaining == 0 {
            break;
        }
        let lot = &candidates[i];
        let take = remaining.min(lot.available);
        remaining -= take;
        lines.push(AllocationLine {
            candidate: i,
            location: lot.location.clone(),
            batch: lot.batch.clone(),
            expiry: lot.expiry,
            quantity: take,
        });
    }
    Allocation {
        lines,
        shortfall: remaining,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn mv(kind: MovementKind, from: Option<&str>, to: Option<&str>, quantity: i64) -> Movement {
        Movement {
            sku: "SKU-1".into(),
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
            batch: None,
            quantity,
            kind,
            reason_code: "R".into(),
        }
    }

    fn key(location: &str) -> StockKey {
        StockKey::new("SKU-1", location, None)
    }

    fn bal(on_hand: i64, reserved: i64) -> Balance {
        Balance { on_hand, reserved }
    }

    /// A ledger with 10 on hand at BIN-A, 4 of them reserved.
    fn stocked() -> Balances {
        Balances::from_entries([(key("BIN-A"), bal(10, 4))]).unwrap()
    }

    use MovementKind::*;

    #[test]
    fn kinds_parse_print_and_serialise() {
        for k in MovementKind::ALL {
            assert_eq!(k.as_str().parse::<MovementKind>(), Ok(k));
            assert_eq!(serde_json::to_string(&k).unwrap(), format!("\"{k}\""));
        }
        assert_eq!(serde_json::to_string(&Return).unwrap(), "\"return\"");
        assert!("Return".parse::<MovementKind>().is_err());
    }

    /// The sides and reason rule per kind, written out (mirrors the module-doc table).
    #[test]
    fn sides_and_reasons_per_kind() {
        let table = [
            (Receive, Sides::ToOnly, false),
            (Putaway, Sides::Both, false),
            (Move, Sides::Both, false),
            (Adjust, Sides::ExactlyOne, true),
            (Count, Sides::ExactlyOne, true),
            (Reserve, Sides::FromOnly, false),
            (Unreserve, Sides::FromOnly, false),
            (Pick, Sides::Both, false),
            (Ship, Sides::FromOnly, false),
            (Return, Sides::ToOnly, false),
            (Dispose, Sides::FromOnly, true),
        ];
        assert_eq!(table.len(), MovementKind::ALL.len());
        for (k, sides, reason) in table {
            assert_eq!(k.sides(), sides, "{k}");
            assert_eq!(k.needs_reason(), reason, "{k}");
        }
    }

    /// Every kind against every combination of from/to presence, on a ledger with enough stock
    /// everywhere, with the expected verdict written out.
    #[test]
    fn location_rules_for_every_kind() {
        use LedgerError as L;
        let f = Some("BIN-A");
        let t = Some("BIN-B");
        /// (kind, from, to, expected error or `None` for accepted)
        type Case<'a> = (
            MovementKind,
            Option<&'a str>,
            Option<&'a str>,
            Option<LedgerError>,
        );
        let cases: Vec<Case> = vec![
            (Receive, None, t, None),
            (Receive, f, t, Some(L::UnexpectedFrom { kind: Receive })),
            (Receive, f, None, Some(L::UnexpectedFrom { kind: Receive })),
            (Receive, None, None, Some(L::MissingTo { kind: Receive })),
            (Return, None, t, None),
            (Return, f, None, Some(L::UnexpectedFrom { kind: Return })),
            (Return, None, None, Some(L::MissingTo { kind: Return })),
            (Putaway, f, t, None),
            (Putaway, None, t, Some(L::MissingFrom { kind: Putaway })),
            (Putaway, f, None, Some(L::MissingTo { kind: Putaway })),
            (Putaway, None, None, Some(L::MissingFrom { kind: Putaway })),
            (
                Putaway,
                f,
                f,
                Some(L::SameLocation {
                    kind: Putaway,
                    location: "BIN-A".into(),
                }),
            ),
            (Move, f, t, None),
            (
                Move,
                f,
                f,
                Some(L::SameLocation {
                    kind: Move,
                    location: "BIN-A".into(),
                }),
            ),
            (Move, None, t, Some(L::MissingFrom { kind: Move })),
            (Pick, f, t, None),
            (Pick, f, None, Some(L::MissingTo { kind: Pick })),
            (
                Pick,
                f,
                f,
                Some(L::SameLocation {
                    kind: Pick,
                    location: "BIN-A".into(),
                }),
            ),
            (Adjust, f, None, None),
            (Adjust, None, t, None),
            (Adjust, f, t, Some(L::NeedsExactlyOneSide { kind: Adjust })),
            (
                Adjust,
                None,
                None,
                Some(L::NeedsExactlyOneSide { kind: Adjust }),
            ),
            (Count, f, None, None),
            (Count, None, t, None),
            (Count, f, t, Some(L::NeedsExactlyOneSide { kind: Count })),
            (
                Count,
                None,
                None,
                Some(L::NeedsExactlyOneSide { kind: Count }),
            ),
            (Reserve, f, None, None),
            (Reserve, None, t, Some(L::UnexpectedTo { kind: Reserve })),
            (Reserve, f, t, Some(L::UnexpectedTo { kind: Reserve })),
            (Reserve, None, None, Some(L::MissingFrom { kind: Reserve })),
            (Unreserve, f, None, None),
            (
                Unreserve,
                None,
                None,
                Some(L::MissingFrom { kind: Unreserve }),
            ),
            (Ship, f, None, None),
            (Ship, f, t, Some(L::UnexpectedTo { kind: Ship })),
            (Ship, None, None, Some(L::MissingFrom { kind: Ship })),
            (Dispose, f, None, None),
            (Dispose, None, t, Some(L::UnexpectedTo { kind: Dispose })),
            (Dispose, None, None, Some(L::MissingFrom { kind: Dispose })),
        ];
        for (kind, from, to, expected) in cases {
            let mut b =
                Balances::from_entries([(key("BIN-A"), bal(10, 5)), (key("BIN-B"), bal(10, 5))])
                    .unwrap();
            let before = b.clone();
            let got = b.apply(&mv(kind, from, to, 1));
            match expected {
                None => assert_eq!(got, Ok(()), "{kind} {from:?} -> {to:?}"),
                Some(e) => {
                    assert_eq!(got, Err(e), "{kind} {from:?} -> {to:?}");
                    assert_eq!(b, before);
                }
            }
        }
    }

    #[test]
    fn field_validation() {
        let mut b = stocked();
        let before = b.clone();
        for q in [0, -1, i64::MIN] {
            assert_eq!(
                b.apply(&mv(Receive, None, Some("X"), q)),
                Err(LedgerError::NonPositiveQuantity { quantity: q })
            );
        }
        let mut m = mv(Receive, None, Some("X"), 1);
        m.sku = String::new();
        assert_eq!(b.apply(&m), Err(LedgerError::EmptySku));
        assert_eq!(
            b.apply(&mv(Receive, None, Some(""), 1)),
            Err(LedgerError::EmptyLocation)
        );
        let mut m = mv(Receive, None, Some("X"), 1);
        m.batch = Some(String::new());
        assert_eq!(b.apply(&m), Err(LedgerError::EmptyBatch));
        for kind in [Adjust, Count, Dispose] {
            let mut m = mv(kind, Some("BIN-A"), None, 1);
            m.reason_code = "  ".into();
            assert_eq!(b.apply(&m), Err(LedgerError::MissingReason { kind }));
        }
        // Kinds explained by a document do not need a reason.
        let mut m = mv(Receive, None, Some("X"), 1);
        m.reason_code = String::new();
        assert_eq!(b.clone().apply(&m), Ok(()));
        assert_eq!(b, before);
    }

    #[test]
    fn each_kind_changes_balances_as_documented() {
        // (kind, from, to, qty, expected BIN-A, expected BIN-B) starting from A = 10/4, B = 0/0.
        let cases = [
            (Receive, None, Some("BIN-B"), 3, bal(10, 4), bal(3, 0)),
            (Return, None, Some("BIN-A"), 2, bal(12, 4), bal(0, 0)),
            (
                Putaway,
                Some("BIN-A"),
                Some("BIN-B"),
                6,
                bal(4, 4),
                bal(6, 0),
            ),
            (Move, Some("BIN-A"), Some("BIN-B"), 1, bal(9, 4), bal(1, 0)),
            (Adjust, Some("BIN-A"), None, 6, bal(4, 4), bal(0, 0)),
            (Adjust, None, Some("BIN-A"), 5, bal(15, 4), bal(0, 0)),
            (Count, Some("BIN-A"), None, 2, bal(8, 4), bal(0, 0)),
            (Count, None, Some("BIN-B"), 2, bal(10, 4), bal(2, 0)),
            (Reserve, Some("BIN-A"), None, 6, bal(10, 10), bal(0, 0)),
            (Unreserve, Some("BIN-A"), None, 4, bal(10, 0), bal(0, 0)),
            (Pick, Some("BIN-A"), Some("BIN-B"), 3, bal(7, 1), bal(3, 3)),
            (Ship, Some("BIN-A"), None, 4, bal(6, 0), bal(0, 0)),
            (Dispose, Some("BIN-A"), None, 6, bal(4, 4), bal(0, 0)),
        ];
        for (kind, from, to, q, a, b_) in cases {
            let mut b = stocked();
            b.apply(&mv(kind, from, to, q)).unwrap();
            assert_eq!(b.get(&key("BIN-A")), a, "{kind}");
            assert_eq!(b.get(&key("BIN-B")), b_, "{kind}");
        }
    }

    #[test]
    fn limits_are_enforced_and_nothing_changes_on_refusal() {
        use LedgerError as L;
        let a = || key("BIN-A");
        // A = 10 on hand, 4 reserved, 6 available.
        let cases = [
            (
                mv(Reserve, Some("BIN-A"), None, 7),
                L::InsufficientAvailable {
                    key: a(),
                    available: 6,
                    requested: 7,
                },
            ),
            (
                mv(Unreserve, Some("BIN-A"), None, 5),
                L::InsufficientReserved {
                    key: a(),
                    reserved: 4,
                    requested: 5,
                },
            ),
            (
                mv(Move, Some("BIN-A"), Some("BIN-B"), 7),
                L::InsufficientAvailable {
                    key: a(),
                    available: 6,
                    requested: 7,
                },
            ),
            (
                mv(Putaway, Some("BIN-A"), Some("BIN-B"), 11),
                L::InsufficientAvailable {
                    key: a(),
                    available: 6,
                    requested: 11,
                },
            ),
            (
                mv(Adjust, Some("BIN-A"), None, 7),
                L::InsufficientAvailable {
                    key: a(),
                    available: 6,
                    requested: 7,
                },
            ),
            (
                mv(Count, Some("BIN-A"), None, 7),
                L::InsufficientAvailable {
                    key: a(),
                    available: 6,
                    requested: 7,
                },
            ),
            (
                mv(Dispose, Some("BIN-A"), None, 7),
                L::InsufficientAvailable {
                    key: a(),
                    available: 6,
                    requested: 7,
                },
            ),
            (
                mv(Pick, Some("BIN-A"), Some("TOTE"), 5),
                L::InsufficientReserved {
                    key: a(),
                    reserved: 4,
                    requested: 5,
                },
            ),
            (
                mv(Ship, Some("BIN-A"), None, 5),
                L::InsufficientReserved {
                    key: a(),
                    reserved: 4,
                    requested: 5,
                },
            ),
            (
                mv(Ship, Some("EMPTY"), None, 1),
                L::InsufficientReserved {
                    key: key("EMPTY"),
                    reserved: 0,
                    requested: 1,
                },
            ),
            (
                mv(Move, Some("EMPTY"), Some("BIN-A"), 1),
                L::InsufficientAvailable {
                    key: key("EMPTY"),
                    available: 0,
                    requested: 1,
                },
            ),
            (
                mv(Receive, None, Some("BIN-A"), i64::MAX),
                L::Overflow { key: a() },
            ),
        ];
        for (m, err) in cases {
            let mut b = stocked();
            let before = b.clone();
            assert_eq!(b.apply(&m), Err(err.clone()), "{m:?}");
            assert_eq!(b, before);
            assert_eq!(b.check(&m), Err(err));
        }
    }

    #[test]
    fn a_refused_second_side_leaves_the_first_side_untouched() {
        // Move into a location whose balance would overflow: `from` is fine, `to` is not.
        let mut b =
            Balances::from_entries([(key("BIN-A"), bal(5, 0)), (key("BIN-B"), bal(i64::MAX, 0))])
                .unwrap();
        let before = b.clone();
        assert_eq!(
            b.apply(&mv(Move, Some("BIN-A"), Some("BIN-B"), 1)),
            Err(LedgerError::Overflow { key: key("BIN-B") })
        );
        assert_eq!(b, before);
    }

    #[test]
    fn batches_are_separate_balances() {
        let mut b = Balances::new();
        let mut m = mv(Receive, None, Some("BIN-A"), 5);
        m.batch = Some("L1".into());
        b.apply(&m).unwrap();
        let mut ship = mv(Reserve, Some("BIN-A"), None, 1);
        assert!(b.apply(&ship).is_err(), "no un-batched stock there");
        ship.batch = Some("L1".into());
        b.apply(&ship).unwrap();
        assert_eq!(
            b.get(&StockKey::new("SKU-1", "BIN-A", Some("L1"))),
            bal(5, 1)
        );
        assert_eq!(b.get(&key("BIN-A")), bal(0, 0));
    }

    #[test]
    fn zero_balances_disappear() {
        let mut b = stocked();
        b.apply(&mv(Unreserve, Some("BIN-A"), None, 4)).unwrap();
        b.apply(&mv(Dispose, Some("BIN-A"), None, 10)).unwrap();
        assert!(b.is_empty());
        assert_eq!(b, Balances::new());
    }

    #[test]
    fn the_whole_outbound_flow() {
        let mut b = Balances::new();
        b.apply(&mv(Receive, None, Some("DOCK"), 10)).unwrap();
        b.apply(&mv(Putaway, Some("DOCK"), Some("BIN-A"), 10))
            .unwrap();
        b.apply(&mv(Reserve, Some("BIN-A"), None, 3)).unwrap();
        assert_eq!(b.get(&key("BIN-A")).available(), 7);
        b.apply(&mv(Pick, Some("BIN-A"), Some("PACK-1"), 3))
            .unwrap();
        assert_eq!(b.get(&key("PACK-1")), bal(3, 3));
        // Picked stock is still committed: it cannot be moved away or disposed of.
        assert!(
            b.check(&mv(Move, Some("PACK-1"), Some("BIN-A"), 1))
                .is_err()
        );
        b.apply(&mv(Ship, Some("PACK-1"), None, 3)).unwrap();
        assert_eq!(
            b.iter()
                .map(|(k, v)| (k.location.as_str(), *v))
                .collect::<Vec<_>>(),
            vec![("BIN-A", bal(7, 0))]
        );
    }

    #[test]
    fn loading_balances_validates_them() {
        for (on_hand, reserved) in [(-1, 0), (1, -1), (1, 2)] {
            assert_eq!(
                Balances::from_entries([(key("X"), bal(on_hand, reserved))]),
                Err(LedgerError::InvalidBalance {
                    key: key("X"),
                    on_hand,
                    reserved
                })
            );
        }
        let b = Balances::from_entries([(key("X"), bal(0, 0)), (key("Y"), bal(2, 2))]).unwrap();
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn count_movements_bring_on_hand_to_the_count() {
        let b = stocked();
        assert_eq!(b.count_movement(&key("BIN-A"), 10, "CC"), Ok(None));
        for counted in [12, 7, 4] {
            let m = b
                .count_movement(&key("BIN-A"), counted, "CC")
                .unwrap()
                .unwrap();
            assert_eq!(m.kind, Count);
            let mut after = b.clone();
            after.apply(&m).unwrap();
            assert_eq!(after.get(&key("BIN-A")).on_hand, counted);
        }
        // Counting below what is reserved needs the reservations released first.
        let m = b.count_movement(&key("BIN-A"), 3, "CC").unwrap().unwrap();
        assert!(matches!(
            b.clone().apply(&m),
            Err(LedgerError::InsufficientAvailable { .. })
        ));
        // A count in an empty location creates stock.
        let m = b.count_movement(&key("NEW"), 2, "CC").unwrap().unwrap();
        assert_eq!(
            (m.from, m.to.as_deref(), m.quantity),
            (None, Some("NEW"), 2)
        );
        assert_eq!(
            b.count_movement(&key("BIN-A"), -1, "CC"),
            Err(LedgerError::NegativeCount {
                key: key("BIN-A"),
                counted: -1
            })
        );
    }

    #[test]
    fn error_codes_are_distinct() {
        let k = key("X");
        let errors = [
            LedgerError::NonPositiveQuantity { quantity: 0 },
            LedgerError::EmptySku,
            LedgerError::EmptyLocation,
            LedgerError::EmptyBatch,
            LedgerError::MissingFrom { kind: Move },
            LedgerError::MissingTo { kind: Move },
            LedgerError::UnexpectedFrom { kind: Move },
            LedgerError::UnexpectedTo { kind: Move },
            LedgerError::NeedsExactlyOneSide { kind: Adjust },
            LedgerError::SameLocation {
                kind: Move,
                location: "X".into(),
            },
            LedgerError::MissingReason { kind: Adjust },
            LedgerError::InsufficientAvailable {
                key: k.clone(),
                available: 0,
                requested: 1,
            },
            LedgerError::InsufficientReserved {
                key: k.clone(),
                reserved: 0,
                requested: 1,
            },
            LedgerError::Overflow { key: k.clone() },
            LedgerError::NegativeCount {
                key: k.clone(),
                counted: -1,
            },
            LedgerError::InvalidBalance {
                key: k,
                on_hand: -1,
                reserved: 0,
            },
        ];
        let codes: std::collections::BTreeSet<_> = errors.iter().map(LedgerError::code).collect();
        assert_eq!(codes.len(), errors.len());
        assert_eq!(
            LedgerError::InsufficientAvailable {
                key: StockKey::new("S", "B", Some("L1")),
                available: 2,
                requested: 3
            }
            .to_string(),
            "only 2 of S at B (batch L1) available (on hand minus reserved), 3 requested"
        );
    }

    #[test]
    fn movement_serde() {
        let m = mv(Adjust, None, Some("BIN-A"), 2);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"sku":"SKU-1","from":null,"to":"BIN-A","batch":null,"quantity":2,"kind":"adjust","reason_code":"R"}"#
        );
        assert_eq!(serde_json::from_str::<Movement>(&json).unwrap(), m);
    }

    // ---- allocation ----

    fn lot(location: &str, expiry: Option<Date>, received: Date, available: i64) -> StockLot {
        StockLot {
            location: location.into(),
            batch: expiry.map(|e| format!("L{e}")),
            expiry,
            received,
            available,
        }
    }

    fn picked(a: &Allocation) -> Vec<(&str, i64)> {
        a.lines
            .iter()
            .map(|l| (l.location.as_str(), l.quantity))
            .collect()
    }

    const SHIP: Date = date!(2025 - 06 - 01);

    #[test]
    fn fefo_takes_the_earliest_expiry_first() {
        let lots = [
            lot(
                "LATE",
                Some(date!(2026 - 01 - 01)),
                date!(2025 - 01 - 01),
                10,
            ),
            lot(
                "EARLY",
                Some(date!(2025 - 09 - 01)),
                date!(2025 - 03 - 01),
                4,
            ),
            lot("MID", Some(date!(2025 - 12 - 01)), date!(2025 - 02 - 01), 5),
        ];
        let a = allocate_fefo(&lots, 7, SHIP, 30);
        assert_eq!(picked(&a), vec![("EARLY", 4), ("MID", 3)]);
        assert_eq!(a.lines[0].candidate, 1);
        assert_eq!(a.shortfall, 0);
        assert!(a.is_complete());
        assert_eq!(a.allocated(), 7);
    }

    #[test]
    fn lots_too_close_to_expiry_are_never_allocated() {
        let lots = [
            lot(
                "EXPIRED",
                Some(date!(2025 - 05 - 01)),
                date!(2025 - 01 - 01),
                10,
            ),
            lot(
                "SHORT",
                Some(date!(2025 - 06 - 30)),
                date!(2025 - 01 - 01),
                10,
            ),
            lot(
                "EDGE",
                Some(date!(2025 - 07 - 01)),
                date!(2025 - 01 - 01),
                2,
            ),
            lot(
                "GOOD",
                Some(date!(2025 - 08 - 01)),
                date!(2025 - 01 - 01),
                3,
            ),
        ];
        // 30 days after 2025-06-01 is 2025-07-01: EDGE expires exactly then and is acceptable.
        let a = allocate_fefo(&lots, 10, SHIP, 30);
        assert_eq!(picked(&a), vec![("EDGE", 2), ("GOOD", 3)]);
        assert_eq!(a.shortfall, 5);
        assert!(!a.is_complete());
        // With no shelf-life requirement, a lot expiring on the ship date itself is acceptable...
        let a = allocate_fefo(&lots, 1, date!(2025 - 06 - 30), 0);
        assert_eq!(picked(&a), vec![("SHORT", 1)]);
        // ...but never one that has already expired.
        let a = allocate_fefo(&lots, 100, date!(2025 - 07 - 02), 0);
        assert_eq!(picked(&a), vec![("GOOD", 3)]);
        assert_eq!(a.shortfall, 97);
    }

    #[test]
    fn fifo_by_receipt_when_stock_does_not_expire() {
        let lots = [
            lot("NEW", None, date!(2025 - 05 - 01), 10),
            lot("OLD", None, date!(2025 - 01 - 01), 3),
            lot("MID", None, date!(2025 - 03 - 01), 3),
        ];
        let a = allocate_fefo(&lots, 8, SHIP, 365);
        assert_eq!(picked(&a), vec![("OLD", 3), ("MID", 3), ("NEW", 2)]);
    }

    #[test]
    fn expiring_stock_goes_before_non_expiring_and_ties_are_deterministic() {
        let lots = [
            lot("FOREVER", None, date!(2024 - 01 - 01), 5),
            lot("B", Some(date!(2026 - 01 - 01)), date!(2025 - 01 - 01), 1),
            lot("A", Some(date!(2026 - 01 - 01)), date!(2025 - 01 - 01), 1),
            lot(
                "EARLIER-RECEIPT",
                Some(date!(2026 - 01 - 01)),
                date!(2024 - 12 - 01),
                1,
            ),
        ];
        let a = allocate_fefo(&lots, 4, SHIP, 0);
        assert_eq!(
            picked(&a),
            vec![("EARLIER-RECEIPT", 1), ("A", 1), ("B", 1), ("FOREVER", 1)]
        );
        let mut reversed = lots.clone();
        reversed.reverse();
        assert_eq!(picked(&allocate_fefo(&reversed, 4, SHIP, 0)), picked(&a));
    }

    #[test]
    fn nothing_to_allocate() {
        let lots = [
            lot("A", None, SHIP, 5),
            lot("EMPTY", None, date!(2020 - 01 - 01), 0),
            lot("NEG", None, date!(2020 - 01 - 01), -3),
        ];
        assert_eq!(allocate_fefo(&lots, 0, SHIP, 0), Allocation::default());
        assert_eq!(allocate_fefo(&lots, -4, SHIP, 0), Allocation::default());
        assert_eq!(
            allocate_fefo(&[], 3, SHIP, 0),
            Allocation {
                lines: vec![],
                shortfall: 3
            }
        );
        // Lots with nothing available are skipped.
        assert_eq!(picked(&allocate_fefo(&lots, 2, SHIP, 0)), vec![("A", 2)]);
    }

    #[test]
    fn shelf_life_past_the_calendar_excludes_expiring_lots() {
        let lots = [lot("E", Some(Date::MAX), SHIP, 1), lot("N", None, SHIP, 1)];
        let a = allocate_fefo(&lots, 2, Date::MAX, 1);
        assert_eq!(picked(&a), vec![("N", 1)]);
        assert_eq!(earliest_acceptable_expiry(Date::MAX, 1), None);
    }

    #[test]
    fn an_allocation_becomes_reserve_movements_the_ledger_accepts() {
        let lots = [
            lot(
                "BIN-1",
                Some(date!(2025 - 09 - 01)),
                date!(2025 - 01 - 01),
                4,
            ),
            lot(
                "BIN-2",
                Some(date!(2025 - 10 - 01)),
                date!(2025 - 01 - 01),
                4,
            ),
        ];
        let mut b = Balances::new();
        for l in &lots {
            let mut m = mv(Receive, None, Some(&l.location), l.available);
            m.batch = l.batch.clone();
            b.apply(&m).unwrap();
        }
        let a = allocate_fefo(&lots, 6, SHIP, 30);
        for m in a.reserve_movements("SKU-1", "order 123") {
            b.apply(&m).unwrap();
        }
        assert_eq!(
            b.get(&StockKey::new("SKU-1", "BIN-1", lots[0].batch.as_deref())),
            bal(4, 4)
        );
        assert_eq!(
            b.get(&StockKey::new("SKU-1", "BIN-2", lots[1].batch.as_deref())),
            bal(4, 2)
        );
    }

    // ---- properties ----

    const SKUS: [&str; 2] = ["S1", "S2"];
    const LOCATIONS: [&str; 3] = ["L1", "L2", "L3"];

    fn location() -> impl Strategy<Value = String> {
        proptest::sample::select(LOCATIONS.to_vec()).prop_map(str::to_owned)
    }

    /// Mostly well-formed movements (so that many are accepted and balances build up), with some
    /// malformed ones mixed in: wrong sides, same location, bad quantities, missing reasons.
    fn movement() -> impl Strategy<Value = Movement> {
        // Weighted so that stock builds up and reservations exist often enough for pick and ship
        // to be accepted regularly, not just refused.
        let kind = prop_oneof![
            4 => Just(Receive),
            1 => Just(Return),
            2 => Just(Putaway),
            2 => Just(Move),
            1 => Just(Adjust),
            1 => Just(Count),
            4 => Just(Reserve),
            1 => Just(Unreserve),
            3 => Just(Pick),
            3 => Just(Ship),
            1 => Just(Dispose),
        ];
        let sku = proptest::sample::select(SKUS.to_vec()).prop_map(str::to_owned);
        let batch = prop_oneof![3 => Just(None), 1 => Just(Some("B1".to_owned()))];
        let quantity = prop_oneof![8 => 1i64..6, 1 => -2i64..=0];
        let reason = prop_oneof![9 => Just("R".to_owned()), 1 => Just(String::new())];
        let well_formed = prop_oneof![4 => Just(true), 1 => Just(false)];
        let sides = (
            well_formed,
            any::<bool>(),
            location(),
            location(),
            proptest::option::of(location()),
            proptest::option::of(location()),
        );
        (kind, sku, batch, quantity, reason, sides).prop_map(
            |(kind, sku, batch, quantity, reason_code, (well_formed, take_from, a, b, rf, rt))| {
                let (from, to) = if well_formed {
                    match kind.sides() {
                        Sides::ToOnly => (None, Some(b)),
                        Sides::FromOnly => (Some(a), None),
                        Sides::Both => (Some(a), Some(b)),
                        Sides::ExactlyOne if take_from => (Some(a), None),
                        Sides::ExactlyOne => (None, Some(b)),
                    }
                } else {
                    (rf, rt)
                };
                Movement {
                    sku,
                    from,
                    to,
                    batch,
                    quantity,
                    kind,
                    reason_code,
                }
            },
        )
    }

    /// An independent recomputation from accepted movements: plain sums per key, no validation,
    /// with the effect of each kind written out again rather than reusing `deltas`.
    fn recompute(accepted: &[Movement]) -> BTreeMap<StockKey, (i64, i64)> {
        let mut sums: BTreeMap<StockKey, (i64, i64)> = BTreeMap::new();
        for m in accepted {
            let q = m.quantity;
            let mut add = |loc: &Option<String>, on_hand: i64, reserved: i64| {
                if let Some(loc) = loc {
                    let e = sums
                        .entry(StockKey::new(&m.sku, loc, m.batch.as_deref()))
                        .or_default();
                    e.0 += on_hand;
                    e.1 += reserved;
                }
            };
            match m.kind {
                Receive | Return => add(&m.to, q, 0),
                Putaway | Move | Adjust | Count => {
                    add(&m.from, -q, 0);
                    add(&m.to, q, 0);
                }
                Reserve => add(&m.from, 0, q),
                Unreserve => add(&m.from, 0, -q),
                Pick => {
                    add(&m.from, -q, -q);
                    add(&m.to, q, q);
                }
                Ship => add(&m.from, -q, -q),
                Dispose => add(&m.from, -q, 0),
            }
        }
        sums.retain(|_, v| *v != (0, 0));
        sums
    }

    fn lot_strategy() -> impl Strategy<Value = StockLot> {
        let day = |lo: i32, hi: i32| (lo..hi).prop_map(|d| SHIP + Duration::days(i64::from(d)));
        (
            location(),
            proptest::option::of(day(-30, 120)),
            day(-200, 0),
            -2i64..20,
        )
            .prop_map(|(location, expiry, received, available)| StockLot {
                location,
                batch: expiry.map(|e| format!("B{e}")),
                expiry,
                received,
                available,
            })
    }

    proptest! {
        #[test]
        fn ledger_matches_a_recomputation_and_never_goes_negative(
            movements in proptest::collection::vec(movement(), 0..120)
        ) {
            let mut balances = Balances::new();
            let mut accepted = Vec::new();
            for m in &movements {
                let before = balances.clone();
                let before_text = format!("{before:?}");
                match balances.apply(m) {
                    Ok(()) => accepted.push(m.clone()),
                    Err(_) => {
                        prop_assert_eq!(&balances, &before);
                        prop_assert_eq!(format!("{balances:?}"), before_text);
                    }
                }
                for (k, b) in balances.iter() {
                    prop_assert!(b.on_hand >= 0, "{} on hand {}", k, b.on_hand);
                    prop_assert!(b.reserved >= 0, "{} reserved {}", k, b.reserved);
                    prop_assert!(b.reserved <= b.on_hand, "{} reserved {} > on hand {}", k, b.reserved, b.on_hand);
                    prop_assert!(b.available() >= 0);
                    prop_assert!(*b != Balance::default());
                }
            }
            let ours: BTreeMap<StockKey, (i64, i64)> =
                balances.iter().map(|(k, b)| (k.clone(), (b.on_hand, b.reserved))).collect();
            prop_assert_eq!(&ours, &recompute(&accepted));
            // The public, order-independent recomputation agrees too, whatever the order.
            let mut reversed = accepted.clone();
            reversed.reverse();
            let public: BTreeMap<StockKey, (i64, i64)> = super::recompute(&reversed)
                .map_err(|e| TestCaseError::fail(e.to_string()))?
                .into_iter()
                .map(|(k, b)| (k, (b.on_hand, b.reserved)))
                .collect();
            prop_assert_eq!(ours, public);
        }

        #[test]
        fn check_agrees_with_apply(
            setup in proptest::collection::vec(movement(), 0..40),
            probe in movement(),
        ) {
            let mut balances = Balances::new();
            for m in &setup {
                let _ = balances.apply(m);
            }
            let checked = balances.check(&probe);
            let mut applied = balances.clone();
            let result = applied.apply(&probe);
            prop_assert_eq!(checked.is_ok(), result.is_ok());
            if let Err(e) = checked {
                prop_assert_eq!(result, Err(e));
            }
        }

        #[test]
        fn allocation_is_sound(
            lots in proptest::collection::vec(lot_strategy(), 0..12),
            qty in -3i64..80,
            min_shelf in 0u32..60,
        ) {
            let a = allocate_fefo(&lots, qty, SHIP, min_shelf);
            let wanted = qty.max(0);
            // Never over-allocates: not more than asked, not more than a lot has.
            prop_assert!(a.shortfall >= 0);
            prop_assert_eq!(a.allocated() + a.shortfall, wanted);
            let mut used = vec![0i64; lots.len()];
            for l in &a.lines {
                let lot = &lots[l.candidate];
                prop_assert!(l.quantity > 0);
                prop_assert!(l.quantity <= lot.available);
                prop_assert_eq!(used[l.candidate], 0, "lot used twice");
                used[l.candidate] = l.quantity;
                prop_assert_eq!((&l.location, &l.batch, l.expiry), (&lot.location, &lot.batch, lot.expiry));
                // Never an ineligible lot.
                prop_assert!(lot.available > 0);
                if let Some(expiry) = lot.expiry {
                    prop_assert!(expiry >= SHIP + Duration::days(i64::from(min_shelf)));
                }
            }
            let eligible_total: i64 = lots.iter().filter(|l| is_eligible(l, SHIP, min_shelf)).map(|l| l.available).sum();
            prop_assert_eq!(a.shortfall, (wanted - eligible_total).max(0));
            // Earliest expiry first: a lot is only touched once every eligible lot that expires
            // strictly earlier is used up, and expiring lots go before non-expiring ones.
            for l in &a.lines {
                let this = &lots[l.candidate];
                for (j, other) in lots.iter().enumerate() {
                    if !is_eligible(other, SHIP, min_shelf) {
                        continue;
                    }
                    let earlier = match (other.expiry, this.expiry) {
                        (Some(o), Some(t)) => o < t,
                        (Some(_), None) => true,
                        (None, Some(_)) => false,
                        (None, None) => other.received < this.received,
                    };
                    if earlier {
                        prop_assert_eq!(used[j], other.available, "skipped an earlier lot {:?} for {:?}", other, this);
                    }
                }
            }
            // At most the last line is a partial lot.
            for l in a.lines.iter().rev().skip(1) {
                prop_assert_eq!(l.quantity, lots[l.candidate].available);
            }
        }
    }
}
