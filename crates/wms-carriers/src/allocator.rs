//! Self-issue mode: the carrier allocates the shipper a range of serials and the shipper prints its
//! own labels, numbering them from the range.
//!
//! Pure logic over a plain state value; persisting the state (and issuing under a lock or in the
//! same transaction as the label) is the caller's. Never reusing a number follows from the shape:
//! [`RangeState::issue`] returns the number *and* the state to store next, and the next state's
//! `next` is always past the number issued.
//!
//! Sagawa never issues numbers starting with 110 or 119; a range that crosses such a block skips
//! it rather than issuing into it.

use wms_core::tracking::{self, Carrier, TrackingError, TrackingNumber};

/// Usage from which [`RangeState::issue`] warns: the contract needs a new range soon.
pub const WARN_PERCENT: u64 = 90;

/// A carrier-allocated range and how far it is used. `next > last` means exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RangeState {
    pub carrier: Carrier,
    /// The first serial of the range (11 digits at most).
    pub first: u64,
    /// The serial the next number is made from.
    pub next: u64,
    /// The last serial of the range, inclusive.
    pub last: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("empty range: first serial {first} is after last serial {last}")]
    Empty { first: u64, last: u64 },
    #[error("serial {serial} does not fit in 11 digits")]
    OutOfRange { serial: u64 },
    #[error("the next serial {next} is outside the range {first}..={last}")]
    Inconsistent { first: u64, next: u64, last: u64 },
    #[error("the {carrier} range {first}..={last} is exhausted: ask the carrier for a new range")]
    Exhausted {
        carrier: Carrier,
        first: u64,
        last: u64,
    },
    #[error(transparent)]
    Tracking(#[from] TrackingError),
}

/// The range is nearly used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageWarning {
    /// Serials consumed (issued or skipped), this one included.
    pub used: u64,
    pub total: u64,
}

impl UsageWarning {
    pub fn percent(&self) -> u64 {
        // `used <= total` and `total >= 1`; u128 rules out overflow.
        u64::try_from(u128::from(self.used) * 100 / u128::from(self.total.max(1))).unwrap_or(100)
    }
}

/// One issued number and what to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issued {
    pub tracking: TrackingNumber,
    /// Store this before using the number (or in the same transaction).
    pub state: RangeState,
    /// Set once usage reaches [`WARN_PERCENT`] %.
    pub warning: Option<UsageWarning>,
}

impl RangeState {
    /// A fresh range `first..=last` (serials, without check digits).
    pub fn new(carrier: Carrier, first: u64, last: u64) -> Result<Self, RangeError> {
        Self {
            carrier,
            first,
            next: first,
            last,
        }
        .checked()
    }

    /// Checks a state read back from storage.
    pub fn checked(self) -> Result<Self, RangeError> {
        let Self {
            first, next, last, ..
        } = self;
        if first > last {
            return Err(RangeError::Empty { first, last });
        }
        if last > tracking::SERIAL_MAX {
            return Err(RangeError::OutOfRange { serial: last });
        }
        if next < first || next > last.saturating_add(1) {
            return Err(RangeError::Inconsistent { first, next, last });
        }
        Ok(self)
    }

    /// Serials in the range.
    pub fn total(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Serials consumed so far (issued or skipped).
    pub fn used(&self) -> u64 {
        self.next.saturating_sub(self.first).min(self.total())
    }

    pub fn is_exhausted(&self) -> bool {
        self.next > self.last
    }

    /// The next number: `next` serial plus its check digit, skipping serials the carrier never
    /// issues. Refuses when the range is used up.
    pub fn issue(self) -> Result<Issued, RangeError> {
        let state = self.checked()?;
        let mut serial = state.next;
        loop {
            if serial > state.last {
                return Err(RangeError::Exhausted {
                    carrier: state.carrier,
                    first: state.first,
                    last: state.last,
                });
            }
            match TrackingNumber::from_serial(state.carrier, serial) {
                Ok(tracking) => {
                    let next = RangeState {
                        next: serial + 1,
                        ..state
                    };
                    let (used, total) = (next.used(), next.total());
                    let warning = (u128::from(used) * 100
                        >= u128::from(total) * u128::from(WARN_PERCENT))
                    .then_some(UsageWarning { used, total });
                    return Ok(Issued {
                        tracking,
                        state: next,
                        warning,
                    });
                }
                Err(TrackingError::ForbiddenPrefix { .. }) => {
                    // Forbidden prefixes are three digits of an 11-digit serial: jump to the
                    // start of the next 10^8 block.
                    serial = (serial / 100_000_000 + 1) * 100_000_000;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}
