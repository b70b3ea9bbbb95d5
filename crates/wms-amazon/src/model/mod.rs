//! Wire types, hand-written from Amazon's models (`shared/reference/amazon-sp-api/`) and checked
//! against the models' own `x-amzn-api-sandbox` examples (tests/amazon/conformance.rs).
//!
//! Responses tolerate unknown fields (Amazon adds fields without a version bump) and only model
//! what the product uses; request bodies model every field of the schema so they round-trip.

pub mod orders_v0;
pub mod orders_v2026;

use serde::{Deserialize, Serialize};

/// One entry of Amazon's `{"errors":[…]}` (v2026 `Error`, v0 `Error`: same shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorItem {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// v2026 `ErrorList` (errors required) and v0 `ConfirmShipmentErrorResponse` (errors optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorList {
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}
