//! Time as the store keeps it: milliseconds since the Unix epoch, UTC.

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

/// RFC 3339 in UTC with exactly three fractional digits, so that the text of two
/// times sorts as the times do (a variable-width fraction would put `.99Z` after `.995Z`).
const RFC3339_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

#[must_use]
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

#[must_use]
pub fn now_secs() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 text of a stored time (for API responses).
#[must_use]
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(RFC3339_MILLIS).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(1_700_000_000_120), "2023-11-14T22:13:20.120Z");
        // The text sorts as the times do.
        assert!(rfc3339(1_700_000_000_995) > rfc3339(1_700_000_000_990));
        let parsed = time::OffsetDateTime::parse(
            &rfc3339(1_700_000_000_120),
            &time::format_description::well_known::Rfc3339,
        );
        assert_eq!(parsed.map(|t| t.unix_timestamp()).ok(), Some(1_700_000_000));
        assert!(now_ms() > 1_700_000_000_000);
    }
}
