//! Fault injection per operation: for the next N calls, or with a probability.

use serde::{Deserialize, Serialize};

use crate::carriers::CarrierOperation;
use crate::models::Operation;

/// What a fault applies to: an Amazon operation or a carrier stand-in's. Written as the
/// operation's name either way (`"getOrder"`, `"yamatoBook"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FaultOperation {
    Amazon(Operation),
    Carrier(CarrierOperation),
}

impl From<Operation> for FaultOperation {
    fn from(op: Operation) -> Self {
        FaultOperation::Amazon(op)
    }
}

impl From<CarrierOperation> for FaultOperation {
    fn from(op: CarrierOperation) -> Self {
        FaultOperation::Carrier(op)
    }
}

impl FaultOperation {
    pub fn name(self) -> &'static str {
        match self {
            FaultOperation::Amazon(op) => op.name(),
            FaultOperation::Carrier(op) => op.name(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// 429 `QuotaExceeded`, whatever the bucket says.
    Throttle,
    /// 500 `InternalFailure`.
    ServerError,
    /// Sleep `delayMs` before handling the call (default 60 s: longer than a client timeout).
    /// Whether the call is still handled after the client gave up depends on the server
    /// noticing the closed connection: tests must not rely on either outcome.
    Delay,
    /// Handle the call (a confirmation IS recorded), then hold the response back for `delayMs`
    /// (default 600 s), so the client times out without knowing the effect happened.
    DropAfterEffect,
    /// SP-API: 403 as for a revoked token. LWA: 400 `invalid_grant`.
    RevokedToken,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub operation: FaultOperation,
    pub kind: FaultKind,
    /// Applies to the next `count` calls (default 1 when no probability is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Applies to each call with this probability (0..=1), until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

impl Fault {
    pub fn next(operation: impl Into<FaultOperation>, kind: FaultKind, count: u32) -> Self {
        Self {
            operation: operation.into(),
            kind,
            count: Some(count),
            probability: None,
            delay_ms: None,
        }
    }

    pub fn with_delay_ms(mut self, ms: u64) -> Self {
        self.delay_ms = Some(ms);
        self
    }

    pub fn delay(&self) -> std::time::Duration {
        let default = match self.kind {
            FaultKind::DropAfterEffect => 600_000,
            _ => 60_000,
        };
        std::time::Duration::from_millis(self.delay_ms.unwrap_or(default))
    }
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Fault>,
}

impl Faults {
    pub fn add(&mut self, mut f: Fault) -> Result<(), String> {
        if let Some(p) = f.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err("probability must be within 0..=1".into());
            }
            if f.count.is_some() {
                return Err("give either count or probability, not both".into());
            }
        } else if f.count.is_none() {
            f.count = Some(1);
        }
        self.rules.push(f);
        Ok(())
    }

    pub fn list(&self) -> Vec<Fault> {
        self.rules.clone()
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The fault that fires for this call, if any (count-based rules are consumed).
    pub fn take(
        &mut self,
        op: impl Into<FaultOperation>,
        roll: impl FnOnce() -> f64,
    ) -> Option<Fault> {
        let op = op.into();
        let idx = self.rules.iter().position(|r| r.operation == op)?;
        let rule = self.rules[idx].clone();
        match (rule.count, rule.probability) {
            (Some(n), _) => {
                if n <= 1 {
                    self.rules.remove(idx);
                } else {
                    self.rules[idx].count = Some(n - 1);
                }
                (n > 0).then_some(rule)
            }
            (None, Some(p)) => (roll() < p).then_some(rule),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_rules_are_consumed() {
        let mut f = Faults::default();
        assert!(
            f.add(Fault::next(Operation::GetOrder, FaultKind::ServerError, 2))
                .is_ok()
        );
        assert!(f.take(Operation::ConfirmShipment, || 0.0).is_none());
        assert!(f.take(Operation::GetOrder, || 0.0).is_some());
        assert!(f.take(Operation::GetOrder, || 0.0).is_some());
        assert!(f.take(Operation::GetOrder, || 0.0).is_none());
        let p = Fault {
            probability: Some(0.5),
            ..Fault::next(Operation::GetOrder, FaultKind::Throttle, 1)
        };
        assert!(f.add(p.clone()).is_err());
        assert!(f.add(Fault { count: None, ..p }).is_ok());
        assert!(f.take(Operation::GetOrder, || 0.4).is_some());
        assert!(f.take(Operation::GetOrder, || 0.6).is_none());
        assert_eq!(f.list().len(), 1);
    }

    #[test]
    fn carrier_operations_by_name() {
        let json = r#"{"operation": "sagawaBook", "kind": "serverError"}"#;
        let fault: Fault = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fault.operation, CarrierOperation::SagawaBook.into());
        let amazon: Fault =
            serde_json::from_str(r#"{"operation": "getOrder", "kind": "throttle"}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(amazon.operation, Operation::GetOrder.into());
        let mut f = Faults::default();
        assert!(f.add(fault).is_ok());
        assert!(f.take(CarrierOperation::YamatoBook, || 0.0).is_none());
        assert!(f.take(CarrierOperation::SagawaBook, || 0.0).is_some());
    }
}
