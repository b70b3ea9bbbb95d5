//! Client-side token buckets per (selling partner, operation), mirroring Amazon's usage plans
//! so that a backlog is sent at the allowed rate instead of discovering it through 429s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The operations this client calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    SearchOrders,
    GetOrder,
    ConfirmShipment,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::SearchOrders => "searchOrders",
            Operation::GetOrder => "getOrder",
            Operation::ConfirmShipment => "confirmShipment",
        }
    }
}

/// A usage plan: sustained requests per second and burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatePlan {
    pub rate: f64,
    pub burst: f64,
}

/// The plans to seed buckets with (defaults: the models' documented usage plans).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatePlans {
    pub search_orders: RatePlan,
    pub get_order: RatePlan,
    pub confirm_shipment: RatePlan,
}

impl Default for RatePlans {
    fn default() -> Self {
        Self {
            search_orders: RatePlan {
                rate: 0.0056,
                burst: 20.0,
            },
            get_order: RatePlan {
                rate: 0.5,
                burst: 30.0,
            },
            confirm_shipment: RatePlan {
                rate: 2.0,
                burst: 10.0,
            },
        }
    }
}

impl RatePlans {
    pub fn get(&self, op: Operation) -> RatePlan {
        match op {
            Operation::SearchOrders => self.search_orders,
            Operation::GetOrder => self.get_order,
            Operation::ConfirmShipment => self.confirm_shipment,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    /// May go negative: callers reserve a token and then wait for it, so waiters queue fairly.
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.updated = now;
    }
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    plans: RatePlans,
    buckets: Mutex<HashMap<(String, Operation), Bucket>>,
}

impl RateLimiter {
    pub fn new(plans: RatePlans) -> Self {
        Self {
            plans,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Reserves one token and returns how long to wait before using it.
    pub fn reserve(&self, seller: &str, op: Operation) -> Duration {
        self.reserve_at(seller, op, Instant::now())
    }

    fn reserve_at(&self, seller: &str, op: Operation, now: Instant) -> Duration {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let plan = self.plans.get(op);
        let b = buckets.entry((seller.to_owned(), op)).or_insert(Bucket {
            rate: plan.rate,
            burst: plan.burst,
            tokens: plan.burst,
            updated: now,
        });
        b.refill(now);
        b.tokens -= 1.0;
        if b.tokens >= 0.0 || b.rate <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((-b.tokens / b.rate).min(86_400.0))
        }
    }

    /// Waits for a token (the lock is never held across the sleep).
    pub async fn acquire(&self, seller: &str, op: Operation) {
        let wait = self.reserve(seller, op);
        if !wait.is_zero() {
            tracing::debug!(
                operation = op.name(),
                wait_ms = wait.as_millis() as u64,
                "rate limit wait"
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Applies the account's real rate from `x-amzn-RateLimit-Limit` (burst unchanged).
    pub fn update_rate(&self, seller: &str, op: Operation, rate: f64) {
        if !(rate.is_finite() && rate > 0.0) {
            return;
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = buckets.get_mut(&(seller.to_owned(), op)) {
            b.refill(now);
            b.rate = rate;
        }
    }

    /// After a 429 Amazon's bucket is empty: empty ours too so other callers slow down.
    pub fn drain(&self, seller: &str, op: Operation) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = buckets.get_mut(&(seller.to_owned(), op)) {
            b.refill(now);
            b.tokens = b.tokens.min(0.0);
        }
    }

    /// The current rate for a bucket (tests, metrics).
    pub fn rate(&self, seller: &str, op: Operation) -> Option<f64> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.get(&(seller.to_owned(), op)).map(|b| b.rate)
    }
}

/// Parses `x-amzn-RateLimit-Limit` (a decimal requests-per-second value).
pub fn parse_rate_limit_header(v: &str) -> Option<f64> {
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && *r > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_plans() {
        let p = RatePlans::default();
        assert_eq!(
            p.get(Operation::ConfirmShipment),
            RatePlan {
                rate: 2.0,
                burst: 10.0
            }
        );
        assert_eq!(
            p.get(Operation::SearchOrders),
            RatePlan {
                rate: 0.0056,
                burst: 20.0
            }
        );
        assert_eq!(
            p.get(Operation::GetOrder),
            RatePlan {
                rate: 0.5,
                burst: 30.0
            }
        );
    }

    #[test]
    fn burst_then_rate_per_seller_and_operation() {
        let rl = RateLimiter::new(RatePlans::default());
        let t0 = Instant::now();
        let cs = Operation::ConfirmShipment;
        for _ in 0..10 {
            assert_eq!(rl.reserve_at("S1", cs, t0), Duration::ZERO);
        }
        // 11th waits half a second at 2/s, the 12th one second.
        assert_eq!(rl.reserve_at("S1", cs, t0), Duration::from_millis(500));
        assert_eq!(rl.reserve_at("S1", cs, t0), Duration::from_secs(1));
        // Other seller and other operation have their own buckets.
        assert_eq!(rl.reserve_at("S2", cs, t0), Duration::ZERO);
        assert_eq!(rl.reserve_at("S1", Operation::GetOrder, t0), Duration::ZERO);
        // One second later two tokens came back; the debt was two.
        assert_eq!(
            rl.reserve_at("S1", cs, t0 + Duration::from_secs(1)),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn header_updates_rate() {
        let rl = RateLimiter::new(RatePlans::default());
        let t0 = Instant::now();
        for _ in 0..10 {
            rl.reserve_at("S1", Operation::ConfirmShipment, t0);
        }
        rl.update_rate(
            "S1",
            Operation::ConfirmShipment,
            parse_rate_limit_header(" 10.0 ").expect("rate"),
        );
        assert_eq!(rl.rate("S1", Operation::ConfirmShipment), Some(10.0));
        let wait = rl.reserve_at("S1", Operation::ConfirmShipment, t0);
        assert!(
            wait.abs_diff(Duration::from_millis(100)) < Duration::from_millis(2),
            "{wait:?}"
        );
        assert_eq!(parse_rate_limit_header("abc"), None);
        assert_eq!(parse_rate_limit_header("0"), None);
    }
}
