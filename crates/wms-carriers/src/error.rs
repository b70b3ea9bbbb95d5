//! Errors. Messages never carry credentials, and never request or response bodies (addresses and
//! phone numbers are PII): a carrier's field errors are kept as field + reason.

use std::fmt;

use wms_core::label::LabelError;
use wms_core::tracking::{Carrier, TrackingError, TrackingNumber};

/// One refused field: `field` names it in the wire form's terms (`consignee.address1`), `reason`
/// says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Timeout,
    Connect,
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Timeout => "timeout",
            TransportKind::Connect => "connect",
            TransportKind::Other => "other",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Refused before anything was sent: the label this booking would print breaks a carrier rule
    /// (`LabelModel::validate`: postal code, Sagawa's 16 full-width characters, COD only with
    /// コレクト…). Nothing was booked.
    #[error("refused before booking: {0}")]
    Label(#[from] LabelError),
    /// Refused before anything was sent by a rule of the adapter (a time slot the carrier does not
    /// offer, package weight or size, an empty void reason). Nothing was booked or voided.
    #[error("refused before sending: {0}")]
    Invalid(FieldError),
    /// The carrier refused the request's content (HTTP 400/422), field by field.
    #[error("{carrier} refused the request: {}", join(.errors))]
    Rejected {
        carrier: Carrier,
        errors: Vec<FieldError>,
    },
    /// The idempotency key was already used for a different booking.
    #[error("{carrier}: idempotency key already used for a different booking")]
    IdempotencyConflict { carrier: Carrier },
    /// The request is valid but the shipment's state forbids it (void after pickup).
    #[error("{carrier} refused {operation}: {reason}")]
    Conflict {
        carrier: Carrier,
        operation: &'static str,
        reason: String,
    },
    /// API key or customer code refused (401/403).
    #[error("{carrier} refused the credentials (HTTP {status})")]
    Auth { carrier: Carrier, status: u16 },
    #[error("{carrier} does not know tracking number {tracking}")]
    NotFound {
        carrier: Carrier,
        tracking: TrackingNumber,
    },
    /// Any other error status (5xx, 429 after the retries).
    #[error("{carrier} {operation} answered HTTP {status} after {attempts} attempt(s)")]
    Status {
        carrier: Carrier,
        operation: &'static str,
        status: u16,
        attempts: u32,
    },
    /// Connection failure or timeout, after the retries.
    #[error("{carrier} {operation}: transport error after {attempts} attempt(s): {kind}")]
    Transport {
        carrier: Carrier,
        operation: &'static str,
        attempts: u32,
        kind: TransportKind,
    },
    /// A 2xx body that does not have the expected shape. Position only (the body holds PII).
    #[error("{carrier} {operation}: undecodable response at line {line} column {column}")]
    Decode {
        carrier: Carrier,
        operation: &'static str,
        line: usize,
        column: usize,
    },
    /// The carrier returned something the WMS must not accept: an invalid tracking number, the
    /// wrong number of packages.
    #[error("{carrier} {operation}: unusable response: {reason}")]
    BadResponse {
        carrier: Carrier,
        operation: &'static str,
        reason: String,
    },
    #[error("the carrier returned an invalid tracking number: {0}")]
    Tracking(#[from] TrackingError),
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// True when the request was refused locally and never sent.
    pub fn is_local_refusal(&self) -> bool {
        matches!(self, Error::Label(_) | Error::Invalid(_))
    }

    /// The refused fields, whoever refused them.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Error::Rejected { errors, .. } => errors.clone(),
            Error::Invalid(e) => vec![e.clone()],
            _ => Vec::new(),
        }
    }
}
