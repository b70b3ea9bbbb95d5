//! Token buckets per (selling partner, operation), as Amazon applies its usage plans.

use std::collections::HashMap;
use std::time::Instant;

use crate::models::{Operation, RatePlan};

struct Bucket {
    plan: RatePlan,
    tokens: f64,
    at: Instant,
}

#[derive(Default)]
pub struct Buckets {
    map: HashMap<(String, Operation), Bucket>,
}

impl Buckets {
    /// Takes one token; `false` means throttled. A changed plan starts from a full bucket.
    pub fn try_take(&mut self, seller: &str, op: Operation, plan: RatePlan, now: Instant) -> bool {
        let b = self.map.entry((seller.to_owned(), op)).or_insert(Bucket {
            plan,
            tokens: plan.burst,
            at: now,
        });
        if b.plan != plan {
            *b = Bucket {
                plan,
                tokens: plan.burst,
                at: now,
            };
        }
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * plan.rate).min(plan.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_rate() {
        let mut b = Buckets::default();
        let plan = RatePlan {
            rate: 2.0,
            burst: 10.0,
        };
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(b.try_take("S", Operation::ConfirmShipment, plan, t0));
        }
        assert!(!b.try_take("S", Operation::ConfirmShipment, plan, t0));
        assert!(b.try_take("T", Operation::ConfirmShipment, plan, t0));
        assert!(b.try_take("S", Operation::GetOrder, plan, t0));
        let t1 = t0 + Duration::from_millis(500);
        assert!(b.try_take("S", Operation::ConfirmShipment, plan, t1));
        assert!(!b.try_take("S", Operation::ConfirmShipment, plan, t1));
    }
}
