//! Amazon's official models, embedded: the static sandbox examples and the default usage plans
//! are read from them rather than restated here.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::SandboxError;

/// `models/orders-api-model/orders_2026-01-01.json` (see models/NOTICE).
pub const ORDERS_2026_01_01: &str = include_str!("../models/orders_2026-01-01.json");
/// `models/orders-api-model/ordersV0.json` (see models/NOTICE).
pub const ORDERS_V0: &str = include_str!("../models/ordersV0.json");

/// The operations the sandbox serves (plus the LWA token endpoint, for faults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Operation {
    #[serde(rename = "searchOrders")]
    SearchOrders,
    #[serde(rename = "getOrder")]
    GetOrder,
    #[serde(rename = "confirmShipment")]
    ConfirmShipment,
    /// `POST /auth/o2/token` (Login with Amazon); no usage plan, faults only.
    #[serde(rename = "lwaToken")]
    LwaToken,
}

impl Operation {
    pub const SP_API: [Operation; 3] = [
        Operation::SearchOrders,
        Operation::GetOrder,
        Operation::ConfirmShipment,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::SearchOrders => "searchOrders",
            Operation::GetOrder => "getOrder",
            Operation::ConfirmShipment => "confirmShipment",
            Operation::LwaToken => "lwaToken",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [
            Operation::SearchOrders,
            Operation::GetOrder,
            Operation::ConfirmShipment,
            Operation::LwaToken,
        ]
        .into_iter()
        .find(|o| o.name() == s)
    }

    /// (model source, path, method) of the operation.
    fn location(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Operation::SearchOrders => {
                Some((ORDERS_2026_01_01, "/orders/2026-01-01/orders", "get"))
            }
            Operation::GetOrder => Some((
                ORDERS_2026_01_01,
                "/orders/2026-01-01/orders/{orderId}",
                "get",
            )),
            Operation::ConfirmShipment => Some((
                ORDERS_V0,
                "/orders/v0/orders/{orderId}/shipmentConfirmation",
                "post",
            )),
            Operation::LwaToken => None,
        }
    }
}

/// A token-bucket usage plan: `rate` requests per second, `burst` bucket size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RatePlan {
    pub rate: f64,
    pub burst: f64,
}

/// One `x-amzn-api-sandbox.static` example: a request's parameters and the exact answer.
#[derive(Debug, Clone)]
pub struct StaticExample {
    pub operation: Operation,
    pub status: u16,
    /// `parameters` of the example request: name → `{"value": …}` as in the model.
    pub parameters: Map<String, Value>,
    pub response: Value,
}

impl StaticExample {
    /// The example's value for a parameter.
    pub fn param(&self, name: &str) -> Option<&Value> {
        self.parameters.get(name).and_then(|p| p.get("value"))
    }
}

fn parse(model: &str) -> Result<Value, SandboxError> {
    serde_json::from_str(model).map_err(|e| SandboxError::Model(e.to_string()))
}

fn operation_object(model: &Value, op: Operation) -> Result<Value, SandboxError> {
    let (_, path, method) = op
        .location()
        .ok_or_else(|| SandboxError::Model(format!("{} is not in a model", op.name())))?;
    model
        .get("paths")
        .and_then(|p| p.get(path))
        .and_then(|p| p.get(method))
        .cloned()
        .ok_or_else(|| SandboxError::Model(format!("{method} {path} missing")))
}

/// Every static example of searchOrders, getOrder (v2026-01-01) and confirmShipment (v0).
pub fn static_examples() -> Result<Vec<StaticExample>, SandboxError> {
    let mut out = Vec::new();
    for op in Operation::SP_API {
        let Some((src, _, _)) = op.location() else {
            continue;
        };
        let model = parse(src)?;
        let obj = operation_object(&model, op)?;
        let responses = obj
            .get("responses")
            .and_then(Value::as_object)
            .ok_or_else(|| SandboxError::Model(format!("{}: no responses", op.name())))?;
        for (code, resp) in responses {
            let Some(statics) = resp
                .pointer("/x-amzn-api-sandbox/static")
                .and_then(Value::as_array)
            else {
                continue;
            };
            let status: u16 = code
                .parse()
                .map_err(|_| SandboxError::Model(format!("{}: status {code}", op.name())))?;
            for ex in statics {
                let parameters = ex
                    .pointer("/request/parameters")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                out.push(StaticExample {
                    operation: op,
                    status,
                    parameters,
                    response: ex.get("response").cloned().unwrap_or(Value::Null),
                });
            }
        }
    }
    Ok(out)
}

/// The default usage plan of an operation, read from the `| rate | burst |` table of its
/// description in the model.
pub fn default_rate_plan(op: Operation) -> Result<Option<RatePlan>, SandboxError> {
    let Some((src, _, _)) = op.location() else {
        return Ok(None);
    };
    let model = parse(src)?;
    let obj = operation_object(&model, op)?;
    let description = obj
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(usage_plan_from_description(description))
}

pub(crate) fn usage_plan_from_description(description: &str) -> Option<RatePlan> {
    let mut lines = description.lines().map(str::trim);
    lines.find(|l| l.starts_with("| ----"))?;
    let row = lines.next()?;
    let cells: Vec<&str> = row
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    match cells.as_slice() {
        [rate, burst, ..] => Some(RatePlan {
            rate: rate.parse().ok()?,
            burst: burst.parse().ok()?,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_plans_come_from_the_models() {
        let plan = |op| default_rate_plan(op).ok().flatten();
        assert_eq!(
            plan(Operation::SearchOrders),
            Some(RatePlan {
                rate: 0.0056,
                burst: 20.0
            })
        );
        assert_eq!(
            plan(Operation::GetOrder),
            Some(RatePlan {
                rate: 0.5,
                burst: 30.0
            })
        );
        assert_eq!(
            plan(Operation::ConfirmShipment),
            Some(RatePlan {
                rate: 2.0,
                burst: 10.0
            })
        );
        assert_eq!(plan(Operation::LwaToken), None);
    }

    #[test]
    fn examples_are_found() {
        let exs = static_examples().unwrap_or_default();
        let count = |op, ok: bool| {
            exs.iter()
                .filter(|e| e.operation == op && (e.status < 300) == ok)
                .count()
        };
        assert!(count(Operation::SearchOrders, true) >= 3);
        assert!(count(Operation::SearchOrders, false) >= 1);
        assert!(count(Operation::GetOrder, true) >= 3);
        assert!(count(Operation::GetOrder, false) >= 1);
        assert_eq!(count(Operation::ConfirmShipment, true), 1);
        assert_eq!(count(Operation::ConfirmShipment, false), 1);
    }
}
