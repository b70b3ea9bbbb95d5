//! The warehouse domain on the server: master data, the stock ledger, orders and their fulfilment,
//! returns. The rules live in `wms_core` (ledger, fulfilment, allocation); this is the glue that
//! loads what a rule needs inside the tenant transaction and writes its result there.

pub mod control;
pub mod inbound;
pub mod master;
pub mod orders;
pub mod returns;
pub mod stock;

use serde::Deserialize;
use utoipa::IntoParams;

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

/// `?status=&limit=` of the list endpoints (inbound shipments, returns, cycle counts).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only items in this status (one of the endpoint's statuses; any other value is a 422).
    pub status: Option<String>,
    /// 1–1000, default 200; newest first.
    pub limit: Option<i64>,
}

impl ListQuery {
    /// The status filter, checked against the resource's `statuses`, and the limit.
    pub(crate) fn checked(&self, statuses: &[&str]) -> Result<(Option<&str>, i64), ApiError> {
        let limit = crate::listing::limit(self.limit)?;
        match self.status.as_deref() {
            Some(s) if !statuses.contains(&s) => Err(ApiError::Validation(format!(
                "status must be one of {}, got `{}`",
                statuses.join(", "),
                s.chars().take(40).collect::<String>()
            ))),
            status => Ok((status, limit)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_checks_status_and_limit() {
        let q = |status: Option<&str>, limit| ListQuery {
            status: status.map(str::to_owned),
            limit,
        };
        let ok = ["open", "done"];
        assert_eq!(q(None, None).checked(&ok).ok(), Some((None, 200)));
        assert_eq!(
            q(Some("done"), Some(1000)).checked(&ok).ok(),
            Some((Some("done"), 1000))
        );
        for bad in [
            q(Some("closed"), None),
            q(None, Some(0)),
            q(None, Some(1001)),
        ] {
            assert_eq!(
                bad.checked(&ok).err().map(|e| e.code()),
                Some("validation_failed")
            );
        }
    }
}
