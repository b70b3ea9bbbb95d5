//! The warehouse domain on the server: master data, the stock ledger, orders and their fulfilment,
//! returns. The rules live in `wms_core` (ledger, fulfilment, allocation); this is the glue that
//! loads what a rule needs inside the tenant transaction and writes its result there.

pub mod control;
pub mod inbound;
pub mod master;
pub mod orders;
pub mod returns;
pub mod stock;

use crate::error::ApiError;

/// Refuse a request with a stable code (422).
pub(crate) fn rule(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::Rule {
        code,
        message: message.into(),
    }
}

/// Refuse because of the resource's state (409).
pub(crate) fn state(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::State {
        code,
        message: message.into(),
    }
}

/// `YYYY-MM-DD` → date, with a clear error.
pub(crate) fn parse_date(field: &str, s: &str) -> Result<time::Date, ApiError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &fmt).map_err(|_| {
        ApiError::Validation(format!("{field} must be a date as YYYY-MM-DD, got `{s}`"))
    })
}

pub(crate) fn format_date(d: time::Date) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    d.format(&fmt).unwrap_or_default()
}

pub(crate) fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}
