//! Retention and data-subject requests: the rules the privacy policy promises (section 8 and 11),
//! as plain functions. The server's retention job and data-request endpoints are glue around them.
//!
//! - Business data (orders, their fulfilment and recipient PII) and audit logs are kept for a
//!   per-tenant number of days, 90 by default, then deleted.
//! - The number of days is bounded: never below [`MIN_DAYS`] (a typo must not wipe last month's
//!   orders, and the audit log must cover at least an incident's investigation window) and never
//!   above [`MAX_DAYS`].
//! - A deletion or anonymisation request is due [`REQUEST_DEADLINE_DAYS`] days after verification
//!   at the latest (the server carries it out at once).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::fulfilment::{FeedbackStatusKind, OrderState};

/// The policy's default retention, in days, for business data and for audit logs.
pub const DEFAULT_DAYS: i64 = 90;
/// The shortest retention a tenant may configure.
pub const MIN_DAYS: i64 = 30;
/// The longest retention a tenant may configure (ten years).
pub const MAX_DAYS: i64 = 3650;
/// A verified deletion / anonymisation request is done within this many days.
pub const REQUEST_DEADLINE_DAYS: i64 = 30;

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetentionError {
    #[error("{what} must be between {MIN_DAYS} and {MAX_DAYS} days, not {days}")]
    OutOfRange { what: &'static str, days: i64 },
}

/// A tenant's retention settings, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RetentionPolicy {
    /// Days closed orders (with their lines, packages, labels, recipient) are kept after their
    /// last change.
    pub business_days: i64,
    /// Days audit events are kept.
    pub audit_days: i64,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            business_days: DEFAULT_DAYS,
            audit_days: DEFAULT_DAYS,
        }
    }
}

impl RetentionPolicy {
    pub fn new(business_days: i64, audit_days: i64) -> Result<Self, RetentionError> {
        for (what, days) in [("business_days", business_days), ("audit_days", audit_days)] {
            if !(MIN_DAYS..=MAX_DAYS).contains(&days) {
                return Err(RetentionError::OutOfRange { what, days });
            }
        }
        Ok(Self {
            business_days,
            audit_days,
        })
    }

    /// Closed orders last changed before this instant (epoch ms) are expired.
    #[must_use]
    pub fn business_cutoff_ms(&self, now_ms: i64) -> i64 {
        cutoff_ms(now_ms, self.business_days)
    }

    /// Audit events recorded before this instant (epoch ms) are expired.
    #[must_use]
    pub fn audit_cutoff_ms(&self, now_ms: i64) -> i64 {
        cutoff_ms(now_ms, self.audit_days)
    }
}

/// `now - days`, with `days` clamped to the allowed range: whatever is stored, nothing younger
/// than [`MIN_DAYS`] is ever expired.
#[must_use]
pub fn cutoff_ms(now_ms: i64, days: i64) -> i64 {
    now_ms.saturating_sub(days.clamp(MIN_DAYS, MAX_DAYS).saturating_mul(DAY_MS))
}

/// An order's state is final for retention: nothing more will happen to it in the warehouse.
/// (A dispatched order may still be marked delivered, but the shipment is out of our hands.)
#[must_use]
pub const fn is_closed(state: OrderState) -> bool {
    matches!(
        state,
        OrderState::Dispatched | OrderState::Delivered | OrderState::Cancelled
    )
}

/// Why an order is kept past the retention job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Still being worked on.
    Open,
    /// Changed within the retention period.
    Recent,
    /// Amazon has not (yet) accepted its shipment feedback: pending, in flight or failed and
    /// waiting for a person. Deleting it would lose an acknowledged dispatch.
    FeedbackOutstanding,
    /// A return against it is still being handled.
    ReturnOpen,
}

/// What the facts about one order say it should be: deleted, or kept and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Delete,
    Keep(Keep),
}

/// The facts the retention decision needs about one order.
#[derive(Debug, Clone)]
pub struct OrderFacts<'a> {
    pub state: OrderState,
    /// Its last change (epoch ms).
    pub updated_at_ms: i64,
    /// The feedback status of each of its packages (empty for non-Amazon orders).
    pub feedback: &'a [FeedbackStatusKind],
    pub open_return: bool,
}

/// Whether an order has expired under `policy` at `now_ms`.
#[must_use]
pub fn verdict(facts: &OrderFacts<'_>, policy: &RetentionPolicy, now_ms: i64) -> Verdict {
    if !is_closed(facts.state) {
        return Verdict::Keep(Keep::Open);
    }
    if facts.updated_at_ms >= policy.business_cutoff_ms(now_ms) {
        return Verdict::Keep(Keep::Recent);
    }
    if facts.feedback.iter().any(|f| feedback_outstanding(*f)) {
        return Verdict::Keep(Keep::FeedbackOutstanding);
    }
    if facts.open_return {
        return Verdict::Keep(Keep::ReturnOpen);
    }
    Verdict::Delete
}

/// Feedback Amazon has not settled: the order must stay until it is.
#[must_use]
pub const fn feedback_outstanding(f: FeedbackStatusKind) -> bool {
    matches!(
        f,
        FeedbackStatusKind::Pending | FeedbackStatusKind::Sent | FeedbackStatusKind::Failed
    )
}

/// When a request verified at `verified_at_ms` must be done by.
#[must_use]
pub const fn due_by_ms(verified_at_ms: i64) -> i64 {
    verified_at_ms.saturating_add(REQUEST_DEADLINE_DAYS * DAY_MS)
}

/// What a data-subject request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A copy of the order's data, recipient included.
    Export,
    /// Replace the recipient's details.
    Correct,
    /// Erase (anonymise) the recipient's details.
    Delete,
}

impl RequestKind {
    pub const ALL: [RequestKind; 3] = [Self::Export, Self::Correct, Self::Delete];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Export => "export",
            Self::Correct => "correct",
            Self::Delete => "delete",
        }
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestKind {
    type Err = crate::fulfilment::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| crate::fulfilment::UnknownName {
                what: "data request kind",
                value: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn facts(state: OrderState, age_days: i64) -> OrderFacts<'static> {
        OrderFacts {
            state,
            updated_at_ms: NOW - age_days * DAY_MS,
            feedback: &[],
            open_return: false,
        }
    }

    #[test]
    fn policy_bounds() {
        assert_eq!(RetentionPolicy::new(90, 90), Ok(RetentionPolicy::default()));
        assert!(RetentionPolicy::new(30, 3650).is_ok());
        assert_eq!(
            RetentionPolicy::new(29, 90),
            Err(RetentionError::OutOfRange {
                what: "business_days",
                days: 29
            })
        );
        assert!(RetentionPolicy::new(90, 3651).is_err());
        assert!(RetentionPolicy::new(-1, 90).is_err());
        assert!(RetentionPolicy::new(90, i64::MAX).is_err());
    }

    #[test]
    fn cutoff_never_comes_closer_than_the_minimum() {
        assert_eq!(cutoff_ms(NOW, 90), NOW - 90 * DAY_MS);
        assert_eq!(cutoff_ms(NOW, 0), NOW - MIN_DAYS * DAY_MS);
        assert_eq!(cutoff_ms(NOW, -5), NOW - MIN_DAYS * DAY_MS);
        assert_eq!(cutoff_ms(NOW, i64::MAX), NOW - MAX_DAYS * DAY_MS);
        assert_eq!(cutoff_ms(i64::MIN, 90), i64::MIN);
    }

    #[test]
    fn only_closed_expired_settled_orders_are_deleted() {
        let p = RetentionPolicy::default();
        for s in OrderState::ALL {
            let v = verdict(&facts(s, 91), &p, NOW);
            if is_closed(s) {
                assert_eq!(v, Verdict::Delete, "{s:?}");
            } else {
                assert_eq!(v, Verdict::Keep(Keep::Open), "{s:?}");
            }
        }
        assert_eq!(
            verdict(&facts(OrderState::Cancelled, 89), &p, NOW),
            Verdict::Keep(Keep::Recent)
        );
        // Exactly at the cutoff is not yet older than it.
        assert_eq!(
            verdict(&facts(OrderState::Cancelled, 90), &p, NOW),
            Verdict::Keep(Keep::Recent)
        );
        let mut f = facts(OrderState::Dispatched, 200);
        f.open_return = true;
        assert_eq!(verdict(&f, &p, NOW), Verdict::Keep(Keep::ReturnOpen));
    }

    #[test]
    fn outstanding_feedback_keeps_the_order() {
        let p = RetentionPolicy::default();
        for k in FeedbackStatusKind::ALL {
            let fb = [FeedbackStatusKind::Confirmed, k];
            let f = OrderFacts {
                feedback: &fb,
                ..facts(OrderState::Dispatched, 365)
            };
            let expected = if feedback_outstanding(k) {
                Verdict::Keep(Keep::FeedbackOutstanding)
            } else {
                Verdict::Delete
            };
            assert_eq!(verdict(&f, &p, NOW), expected, "{k:?}");
        }
        assert!(feedback_outstanding(FeedbackStatusKind::Pending));
        assert!(!feedback_outstanding(FeedbackStatusKind::Handled));
    }

    #[test]
    fn requests_are_due_thirty_days_after_verification() {
        assert_eq!(due_by_ms(NOW), NOW + 30 * DAY_MS);
        assert_eq!(due_by_ms(i64::MAX), i64::MAX);
    }

    #[test]
    fn request_kinds_round_trip() {
        for k in RequestKind::ALL {
            assert_eq!(k.as_str().parse::<RequestKind>().ok(), Some(k));
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::Value::String(k.as_str().into()))
            );
        }
        assert!("erase".parse::<RequestKind>().is_err());
    }
}
