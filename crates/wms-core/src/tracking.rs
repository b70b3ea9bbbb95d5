//! Japanese domestic carrier tracking numbers (Yamato 宅急便, Sagawa 飛脚宅配便, Japan Post ゆうパック).
//!
//! Why this exists: a tracking number goes to Amazon in the shipment confirmation and is printed on the
//! label. A misscanned or mistyped number that slips through reaches the buyer as a dead link, so
//! every number is checked here before anything else sees it, and a [`TrackingNumber`] can only exist
//! once it has passed the checks (the fields are private; every constructor validates).
//!
//! The rules (`shared/reference/carriers-and-labels.md`):
//! - 12 digits; the last is a check digit = the first 11 digits read as one number, mod 7 ("7DR").
//!   The same rule for all three carriers. A valid check digit is therefore 0–6.
//! - Consecutive labels: the 11-digit serial increments, the check digit is recomputed.
//! - Sagawa never issues numbers starting with `110` or `119`.
//! - Courier labels carry the number as NW-7 (Codabar) with start/stop characters A–D, which a
//!   scanner may or may not transmit: scanned input strips one leading and one trailing `[A-Da-d]`.
//!
//! Out of scope here (not 12-digit domestic parcels): Japan Post registered mail (11 digits, the
//! first 10 mod 7) and international UPU S10 numbers (`AA123456789JP`).
//!
//! # What mod 7 can and cannot detect
//! A change of the serial by `delta` goes unnoticed exactly when `delta ≡ 0 (mod 7)`.
//! - One digit of the serial changed from `a` to `b` at weight `10^k`: `delta = (b - a)·10^k`.
//!   7 is prime and does not divide 10, so this is `≡ 0` only when `7 | (b - a)`, i.e. the pairs
//!   0↔7, 1↔8 and 2↔9 are **not** detected; every other single-digit substitution is.
//! - The check digit itself changed: always detected (another 0–6 value mismatches, 7–9 is impossible).
//! - Two adjacent serial digits `a`,`b` swapped: `delta = 9·(a - b)·10^k ≡ 2·(a - b)·10^k`, which is
//!   `≡ 0` only when `|a - b| = 7`: the same three pairs slip through.
//!
//! The property tests check exactly these guarantees, including that the blind spots are real (so a
//! future "improvement" of the rule that diverges from the carriers' would be noticed).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Number of digits in a domestic tracking number, check digit included.
pub const LENGTH: usize = 12;
/// The largest 11-digit serial.
pub const SERIAL_MAX: u64 = 99_999_999_999;
const MODULUS: u64 = 7;

/// A contracted carrier. The text form (`yamato`, `sagawa`, `japan_post`) is the one stored and sent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Carrier {
    Yamato,
    Sagawa,
    JapanPost,
}

impl Carrier {
    pub const ALL: [Carrier; 3] = [Carrier::Yamato, Carrier::Sagawa, Carrier::JapanPost];

    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Carrier::Yamato => "yamato",
            Carrier::Sagawa => "sagawa",
            Carrier::JapanPost => "japan_post",
        }
    }

    /// Leading digits this carrier never issues: a number starting with one is a misread or a number
    /// of another carrier, and must not be sent to Amazon under this carrier's name.
    #[must_use]
    pub const fn forbidden_prefixes(self) -> &'static [&'static str] {
        match self {
            Carrier::Sagawa => &["110", "119"],
            Carrier::Yamato | Carrier::JapanPost => &[],
        }
    }
}

impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown carrier `{0}` (expected yamato, sagawa or japan_post)")]
pub struct UnknownCarrier(pub String);

impl FromStr for Carrier {
    type Err = UnknownCarrier;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "yamato" => Ok(Carrier::Yamato),
            "sagawa" => Ok(Carrier::Sagawa),
            "japan_post" => Ok(Carrier::JapanPost),
            other => Err(UnknownCarrier(other.to_owned())),
        }
    }
}

/// Why a tracking number was refused. Each variant is a distinct thing the packer can act on
/// (rescan, retype, check the carrier), hence a variant each and a stable [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrackingError {
    #[error("the tracking number is empty")]
    Empty,
    #[error(
        "unexpected character {found:?} at position {position} of the tracking number \
         (only digits, spaces, hyphens and the Codabar start/stop characters A-D are allowed)"
    )]
    InvalidCharacter { found: char, position: usize },
    #[error("a tracking number has 12 digits, this one has {found}")]
    WrongLength { found: usize },
    #[error(
        "the last digit is {found}, which a mod-7 check digit can never be (0-6): misscan or typo"
    )]
    ImpossibleCheckDigit { found: u8 },
    #[error(
        "check digit mismatch: the first 11 digits give {expected}, the number ends in {found}: misscan or typo"
    )]
    CheckDigitMismatch { expected: u8, found: u8 },
    #[error("{carrier} never issues tracking numbers starting with {prefix}")]
    ForbiddenPrefix {
        carrier: Carrier,
        prefix: &'static str,
    },
    #[error("serial {serial} does not fit in 11 digits")]
    SerialOutOfRange { serial: u64 },
}

impl TrackingError {
    /// A stable machine-readable code the UI can branch on (message text may change).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            TrackingError::Empty => "tracking_empty",
            TrackingError::InvalidCharacter { .. } => "tracking_invalid_character",
            TrackingError::WrongLength { .. } => "tracking_wrong_length",
            TrackingError::ImpossibleCheckDigit { .. } => "tracking_impossible_check_digit",
            TrackingError::CheckDigitMismatch { .. } => "tracking_check_digit_mismatch",
            TrackingError::ForbiddenPrefix { .. } => "tracking_forbidden_prefix",
            TrackingError::SerialOutOfRange { .. } => "tracking_serial_out_of_range",
        }
    }
}

/// The mod-7 check digit of an 11-digit serial (the first 11 digits read as one number).
///
/// Defined for any `u64`; only serials up to [`SERIAL_MAX`] make tracking numbers.
#[must_use]
pub const fn check_digit(serial: u64) -> u8 {
    // `serial % 7` is at most 6, so the narrowing is lossless.
    (serial % MODULUS) as u8
}

/// A validated 12-digit domestic tracking number of one carrier.
///
/// Stored as the whole 12-digit value (serial × 10 + check digit) in a `u64`: 11 digits overflow
/// `u32`, and leading zeros are restored when printing. The carrier is part of the value because
/// validity depends on it (Sagawa's forbidden prefixes).
///
/// On the wire: `{"carrier": "yamato", "number": "444413758703"}`; deserialising validates.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(try_from = "TrackingNumberWire", into = "TrackingNumberWire")]
pub struct TrackingNumber {
    carrier: Carrier,
    /// The 12 digits, without separators.
    #[schema(value_type = String, pattern = r"^[0-9]{12}$", example = "444413758703")]
    number: u64,
}

/// The serde form of [`TrackingNumber`]: the number as a 12-digit string, so that leading zeros
/// survive and JavaScript clients never see a lossy float.
#[derive(Serialize, Deserialize)]
struct TrackingNumberWire {
    carrier: Carrier,
    number: String,
}

impl From<TrackingNumber> for TrackingNumberWire {
    fn from(t: TrackingNumber) -> Self {
        TrackingNumberWire {
            carrier: t.carrier,
            number: t.digits(),
        }
    }
}

impl TryFrom<TrackingNumberWire> for TrackingNumber {
    type Error = TrackingError;
    fn try_from(w: TrackingNumberWire) -> Result<Self, Self::Error> {
        TrackingNumber::new(w.carrier, &w.number)
    }
}

impl TrackingNumber {
    /// Strict form: exactly 12 ASCII digits, nothing else. For values read back from the database or
    /// returned by a carrier's system; scanner or keyboard input goes through [`parse_scanned`].
    pub fn new(carrier: Carrier, digits: &str) -> Result<Self, TrackingError> {
        if digits.is_empty() {
            return Err(TrackingError::Empty);
        }
        let mut parsed = Vec::with_capacity(LENGTH);
        for (position, c) in digits.chars().enumerate() {
            // `to_digit` accepts ASCII digits only: other scripts' digits are refused, not guessed at.
            match c.to_digit(10) {
                Some(d) => parsed.push(d as u8),
                None => return Err(TrackingError::InvalidCharacter { found: c, position }),
            }
        }
        Self::from_digits(carrier, &parsed)
    }

    /// Build the number for an 11-digit serial, computing its check digit. This is how numbers from a
    /// range the carrier allocated to the shipper are issued.
    pub fn from_serial(carrier: Carrier, serial: u64) -> Result<Self, TrackingError> {
        if serial > SERIAL_MAX {
            return Err(TrackingError::SerialOutOfRange { serial });
        }
        let number = serial * 10 + u64::from(check_digit(serial));
        Self::checked_prefix(TrackingNumber { carrier, number })
    }

    /// The next number in a consecutive run (serial + 1, check digit recomputed). Fails at the end of
    /// the 11-digit space, or when the next serial would carry a prefix the carrier never issues.
    pub fn successor(self) -> Result<Self, TrackingError> {
        Self::from_serial(self.carrier, self.serial() + 1)
    }

    /// Validate a sequence of decimal digit values (each 0–9).
    fn from_digits(carrier: Carrier, digits: &[u8]) -> Result<Self, TrackingError> {
        if digits.is_empty() {
            return Err(TrackingError::Empty);
        }
        if digits.len() != LENGTH {
            return Err(TrackingError::WrongLength {
                found: digits.len(),
            });
        }
        let (body, check) = digits.split_at(LENGTH - 1);
        let found = check[0];
        if u64::from(found) >= MODULUS {
            return Err(TrackingError::ImpossibleCheckDigit { found });
        }
        let serial = body.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d));
        let expected = check_digit(serial);
        if expected != found {
            return Err(TrackingError::CheckDigitMismatch { expected, found });
        }
        Self::checked_prefix(TrackingNumber {
            carrier,
            number: serial * 10 + u64::from(found),
        })
    }

    fn checked_prefix(t: TrackingNumber) -> Result<Self, TrackingError> {
        let digits = t.digits();
        for &prefix in t.carrier.forbidden_prefixes() {
            if digits.starts_with(prefix) {
                return Err(TrackingError::ForbiddenPrefix {
                    carrier: t.carrier,
                    prefix,
                });
            }
        }
        Ok(t)
    }

    #[must_use]
    pub const fn carrier(self) -> Carrier {
        self.carrier
    }

    /// The 12 digits without separators, as carriers' systems and Amazon's confirmShipment take them.
    #[must_use]
    pub fn digits(self) -> String {
        format!("{:012}", self.number)
    }

    /// The 12 digits as one number.
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.number
    }

    /// The first 11 digits as one number.
    #[must_use]
    pub const fn serial(self) -> u64 {
        self.number / 10
    }

    /// The last digit.
    #[must_use]
    pub const fn check(self) -> u8 {
        (self.number % 10) as u8
    }
}

/// Printed form, as on the label: `NNNN-NNNN-NNNN`.
impl fmt::Display for TrackingNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.number;
        write!(
            f,
            "{:04}-{:04}-{:04}",
            n / 100_000_000,
            (n / 10_000) % 10_000,
            n % 10_000
        )
    }
}

/// A Codabar start/stop character, in either case (scanners differ).
const fn is_codabar_guard(c: char) -> bool {
    matches!(c, 'A'..='D' | 'a'..='d')
}

/// Map what a keyboard-wedge scanner types while a Japanese IME is on back to ASCII: full-width
/// forms (`４`, `Ａ`, `－`), the ideographic space, and the dashes an IME substitutes for `-`
/// (`ー` in particular). Without this, a packer whose IME was left on gets refusals they cannot see.
fn normalise(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30FC}' | '\u{FF70}' => '-',
        _ => c,
    }
}

/// Spaces (any whitespace, including a scanner's Tab or Enter suffix) and hyphens are ignored.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || c == '-'
}

/// Parse what a scanner or a person typed: strips one leading and one trailing Codabar start/stop
/// character (`A`–`D`, either case, independently of each other), spaces and hyphens anywhere
/// (`4444-1375-8703`), and accepts full-width input from an IME; then validates as [`TrackingNumber`].
///
/// Errors name the first offending character by its position (0-based, in characters) in `input`.
pub fn parse_scanned(carrier: Carrier, input: &str) -> Result<TrackingNumber, TrackingError> {
    let chars: Vec<(usize, char, char)> = input
        .chars()
        .enumerate()
        .map(|(i, c)| (i, c, normalise(c)))
        .collect();
    let Some(first) = chars.iter().position(|&(_, _, c)| !is_separator(c)) else {
        return Err(TrackingError::Empty);
    };
    let last = chars
        .iter()
        .rposition(|&(_, _, c)| !is_separator(c))
        .unwrap_or(first);
    let mut body = &chars[first..=last];
    if let [(_, _, c), rest @ ..] = body
        && is_codabar_guard(*c)
    {
        body = rest;
    }
    if let [rest @ .., (_, _, c)] = body
        && is_codabar_guard(*c)
    {
        body = rest;
    }
    let mut digits = Vec::with_capacity(LENGTH);
    for &(position, original, c) in body {
        if is_separator(c) {
            continue;
        }
        match c.to_digit(10) {
            Some(d) => digits.push(d as u8),
            None => {
                return Err(TrackingError::InvalidCharacter {
                    found: original,
                    position,
                });
            }
        }
    }
    TrackingNumber::from_digits(carrier, &digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The samples from the reference document, each with its carrier.
    const SAMPLES: [(Carrier, &str, &str); 3] = [
        (Carrier::Yamato, "444413758703", "4444-1375-8703"),
        (Carrier::Sagawa, "512547514334", "5125-4751-4334"),
        (Carrier::JapanPost, "405548424886", "4055-4842-4886"),
    ];

    #[test]
    fn reference_samples_are_valid() {
        for (carrier, digits, printed) in SAMPLES {
            let t = TrackingNumber::new(carrier, digits).unwrap();
            assert_eq!(t.carrier(), carrier);
            assert_eq!(t.digits(), digits);
            assert_eq!(t.to_string(), printed);
            assert_eq!(parse_scanned(carrier, printed), Ok(t));
            assert_eq!(parse_scanned(carrier, digits), Ok(t));
        }
    }

    #[test]
    fn check_digit_is_the_serial_mod_7() {
        assert_eq!(check_digit(44_441_375_870), 3);
        assert_eq!(check_digit(51_254_751_433), 4);
        assert_eq!(check_digit(40_554_842_488), 6);
        assert_eq!(check_digit(0), 0);
        assert_eq!(check_digit(7), 0);
        assert_eq!(check_digit(13), 6);
        assert_eq!(check_digit(SERIAL_MAX), (SERIAL_MAX % 7) as u8);
    }

    #[test]
    fn parts_of_a_number() {
        let t = TrackingNumber::new(Carrier::Yamato, "444413758703").unwrap();
        assert_eq!(t.serial(), 44_441_375_870);
        assert_eq!(t.check(), 3);
        assert_eq!(t.as_u64(), 444_413_758_703);
    }

    #[test]
    fn from_serial_computes_the_check_digit() {
        let t = TrackingNumber::from_serial(Carrier::Yamato, 44_441_375_870).unwrap();
        assert_eq!(t.digits(), "444413758703");
        let t = TrackingNumber::from_serial(Carrier::JapanPost, 40_554_842_488).unwrap();
        assert_eq!(t.digits(), "405548424886");
    }

    #[test]
    fn leading_zeros_are_kept() {
        let t = TrackingNumber::from_serial(Carrier::Yamato, 0).unwrap();
        assert_eq!(t.digits(), "000000000000");
        assert_eq!(t.to_string(), "0000-0000-0000");
        let t = TrackingNumber::from_serial(Carrier::Yamato, 1_234).unwrap();
        assert_eq!(t.digits(), "000000012342");
        assert_eq!(t.to_string(), "0000-0001-2342");
        assert_eq!(parse_scanned(Carrier::Yamato, "0000-0001-2342"), Ok(t));
    }

    #[test]
    fn consecutive_labels_increment_the_serial_and_recompute_the_check() {
        let t = TrackingNumber::new(Carrier::Yamato, "444413758703").unwrap();
        let next = t.successor().unwrap();
        assert_eq!(next.digits(), "444413758714");
        assert_eq!(next.successor().unwrap().digits(), "444413758725");
        let last = TrackingNumber::from_serial(Carrier::Yamato, SERIAL_MAX).unwrap();
        assert_eq!(
            last.successor(),
            Err(TrackingError::SerialOutOfRange {
                serial: SERIAL_MAX + 1
            })
        );
    }

    #[test]
    fn serial_must_fit_in_11_digits() {
        assert_eq!(
            TrackingNumber::from_serial(Carrier::Yamato, 100_000_000_000),
            Err(TrackingError::SerialOutOfRange {
                serial: 100_000_000_000
            })
        );
        assert!(TrackingNumber::from_serial(Carrier::Yamato, SERIAL_MAX).is_ok());
    }

    #[test]
    fn sagawa_refuses_its_forbidden_prefixes_and_only_those() {
        for (serial, prefix) in [
            (11_000_000_000, "110"),
            (11_012_345_678, "110"),
            (11_999_999_999, "119"),
        ] {
            let yamato = TrackingNumber::from_serial(Carrier::Yamato, serial).unwrap();
            let err = Err(TrackingError::ForbiddenPrefix {
                carrier: Carrier::Sagawa,
                prefix,
            });
            assert_eq!(TrackingNumber::from_serial(Carrier::Sagawa, serial), err);
            assert_eq!(parse_scanned(Carrier::Sagawa, &yamato.digits()), err);
            assert_eq!(TrackingNumber::new(Carrier::Sagawa, &yamato.digits()), err);
            // Japan Post has no such rule.
            assert!(TrackingNumber::from_serial(Carrier::JapanPost, serial).is_ok());
        }
        for serial in [
            11_100_000_000,
            11_800_000_000,
            12_000_000_000,
            10_999_999_999,
            1_100_000_000,
        ] {
            assert!(
                TrackingNumber::from_serial(Carrier::Sagawa, serial).is_ok(),
                "{serial}"
            );
        }
        // A consecutive run stops at the forbidden block rather than issuing into it.
        let edge = TrackingNumber::from_serial(Carrier::Sagawa, 10_999_999_999).unwrap();
        assert_eq!(
            edge.successor(),
            Err(TrackingError::ForbiddenPrefix {
                carrier: Carrier::Sagawa,
                prefix: "110"
            })
        );
    }

    #[test]
    fn scanner_input_is_accepted_in_every_usual_shape() {
        let want = TrackingNumber::new(Carrier::Yamato, "444413758703").unwrap();
        for input in [
            "A444413758703A",
            "B444413758703B",
            "a444413758703a",
            "d444413758703D",
            "A444413758703",
            "444413758703C",
            "A4444-1375-8703B",
            "4444 1375 8703",
            "  4444-1375-8703 \r\n",
            "444413758703\t",
            "４４４４１３７５８７０３",
            "Ａ４４４４ー１３７５ー８７０３Ａ",
            "4444\u{3000}1375\u{3000}8703",
            "-444413758703-",
            "A 444413758703 A",
        ] {
            assert_eq!(parse_scanned(Carrier::Yamato, input), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn each_failure_has_its_own_error() {
        use TrackingError::*;
        let y = Carrier::Yamato;
        let cases: &[(&str, TrackingError)] = &[
            ("", Empty),
            ("   ", Empty),
            ("--", Empty),
            ("AA", Empty),
            ("A", Empty),
            ("44441375870", WrongLength { found: 11 }),
            ("4444137587030", WrongLength { found: 13 }),
            ("A44441375870A", WrongLength { found: 11 }),
            (
                "444413758704",
                CheckDigitMismatch {
                    expected: 3,
                    found: 4,
                },
            ),
            (
                "444413758700",
                CheckDigitMismatch {
                    expected: 3,
                    found: 0,
                },
            ),
            ("444413758707", ImpossibleCheckDigit { found: 7 }),
            ("444413758709", ImpossibleCheckDigit { found: 9 }),
            (
                "4444x1375870",
                InvalidCharacter {
                    found: 'x',
                    position: 4,
                },
            ),
            (
                "A4444A13758703A",
                InvalidCharacter {
                    found: 'A',
                    position: 5,
                },
            ),
            // Only one start and one stop character is stripped.
            (
                "AA444413758703AA",
                InvalidCharacter {
                    found: 'A',
                    position: 1,
                },
            ),
            (
                "E444413758703E",
                InvalidCharacter {
                    found: 'E',
                    position: 0,
                },
            ),
            (
                "4444.1375.8703",
                InvalidCharacter {
                    found: '.',
                    position: 4,
                },
            ),
            (
                "44441375870３x",
                InvalidCharacter {
                    found: 'x',
                    position: 12,
                },
            ),
            // Non-ASCII digits other than full-width ones are refused, not guessed at.
            (
                "٤٤٤٤١٣٧٥٨٧٠٣",
                InvalidCharacter {
                    found: '٤',
                    position: 0,
                },
            ),
        ];
        for (input, err) in cases {
            assert_eq!(parse_scanned(y, input).as_ref(), Err(err), "{input:?}");
        }
    }

    #[test]
    fn strict_form_takes_exactly_twelve_ascii_digits() {
        assert!(TrackingNumber::new(Carrier::Yamato, "444413758703").is_ok());
        assert_eq!(
            TrackingNumber::new(Carrier::Yamato, ""),
            Err(TrackingError::Empty)
        );
        assert_eq!(
            TrackingNumber::new(Carrier::Yamato, "4444-1375-8703"),
            Err(TrackingError::InvalidCharacter {
                found: '-',
                position: 4
            })
        );
        assert_eq!(
            TrackingNumber::new(Carrier::Yamato, "A444413758703A"),
            Err(TrackingError::InvalidCharacter {
                found: 'A',
                position: 0
            })
        );
        assert_eq!(
            TrackingNumber::new(Carrier::Yamato, "４４４４１３７５８７０３"),
            Err(TrackingError::InvalidCharacter {
                found: '４',
                position: 0
            })
        );
        assert_eq!(
            TrackingNumber::new(Carrier::Yamato, "4444137587"),
            Err(TrackingError::WrongLength { found: 10 })
        );
    }

    #[test]
    fn error_codes_are_distinct() {
        let errors = [
            TrackingError::Empty,
            TrackingError::InvalidCharacter {
                found: 'x',
                position: 0,
            },
            TrackingError::WrongLength { found: 1 },
            TrackingError::ImpossibleCheckDigit { found: 8 },
            TrackingError::CheckDigitMismatch {
                expected: 1,
                found: 2,
            },
            TrackingError::ForbiddenPrefix {
                carrier: Carrier::Sagawa,
                prefix: "110",
            },
            TrackingError::SerialOutOfRange { serial: 0 },
        ];
        let codes: std::collections::BTreeSet<_> = errors.iter().map(TrackingError::code).collect();
        assert_eq!(codes.len(), errors.len());
    }

    #[test]
    fn carriers_parse_and_print() {
        for c in Carrier::ALL {
            assert_eq!(c.as_str().parse::<Carrier>(), Ok(c));
            assert_eq!(
                serde_json::to_string(&c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        assert_eq!(
            "JapanPost".parse::<Carrier>(),
            Err(UnknownCarrier("JapanPost".into()))
        );
    }

    #[test]
    fn serde_round_trip_validates() {
        let t = TrackingNumber::new(Carrier::JapanPost, "405548424886").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"carrier":"japan_post","number":"405548424886"}"#);
        assert_eq!(serde_json::from_str::<TrackingNumber>(&json).unwrap(), t);
        let zero = TrackingNumber::from_serial(Carrier::Yamato, 0).unwrap();
        let json = serde_json::to_string(&zero).unwrap();
        assert_eq!(json, r#"{"carrier":"yamato","number":"000000000000"}"#);
        assert_eq!(serde_json::from_str::<TrackingNumber>(&json).unwrap(), zero);
        for bad in [
            r#"{"carrier":"yamato","number":"444413758704"}"#,
            r#"{"carrier":"sagawa","number":"110000000004"}"#,
            r#"{"carrier":"yamato","number":"4444-1375-8703"}"#,
            r#"{"carrier":"yamato","number":444413758703}"#,
            r#"{"carrier":"dhl","number":"444413758703"}"#,
        ] {
            assert!(
                serde_json::from_str::<TrackingNumber>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn openapi_schema_describes_the_wire_form() {
        let schema =
            serde_json::to_value(<TrackingNumber as utoipa::PartialSchema>::schema()).unwrap();
        let number = &schema["properties"]["number"];
        assert_eq!(number["type"], "string", "{schema}");
        assert_eq!(number["pattern"], "^[0-9]{12}$", "{schema}");
        assert!(schema["properties"]["carrier"].is_object(), "{schema}");
    }

    fn digit_vec(t: TrackingNumber) -> Vec<u8> {
        t.digits().bytes().map(|b| b - b'0').collect()
    }

    fn digit_string(d: &[u8]) -> String {
        d.iter().map(|&x| char::from(b'0' + x)).collect()
    }

    /// Carriers without prefix rules, so that a changed digit can only be caught by the check digit.
    fn plain_carrier() -> impl Strategy<Value = Carrier> {
        prop_oneof![Just(Carrier::Yamato), Just(Carrier::JapanPost)]
    }

    proptest! {
        #[test]
        fn any_serial_makes_a_number_that_parses_back(
            serial in 0..=SERIAL_MAX,
            carrier in plain_carrier(),
            start in proptest::option::of("[A-Da-d]"),
            stop in proptest::option::of("[A-Da-d]"),
            hyphens in any::<bool>(),
        ) {
            let t = TrackingNumber::from_serial(carrier, serial).unwrap();
            prop_assert_eq!(t.serial(), serial);
            prop_assert_eq!(t.check(), check_digit(serial));
            prop_assert_eq!(TrackingNumber::new(carrier, &t.digits()), Ok(t));
            prop_assert_eq!(parse_scanned(carrier, &t.to_string()), Ok(t));
            let body = if hyphens { t.to_string() } else { t.digits() };
            let scanned = format!("{}{body}{}", start.unwrap_or_default(), stop.unwrap_or_default());
            prop_assert_eq!(parse_scanned(carrier, &scanned), Ok(t));
            let json = serde_json::to_string(&t).unwrap();
            prop_assert_eq!(serde_json::from_str::<TrackingNumber>(&json).unwrap(), t);
        }

        #[test]
        fn sagawa_accepts_a_serial_exactly_when_its_prefix_is_allowed(
            // Uniform serials almost never start with 11x, so half the cases are drawn near the
            // forbidden blocks.
            serial in prop_oneof![
                0..=SERIAL_MAX,
                (100u64..130, 0u64..100_000_000).prop_map(|(prefix, rest)| prefix * 100_000_000 + rest),
            ],
        ) {
            let digits = format!("{serial:011}");
            let forbidden = digits.starts_with("110") || digits.starts_with("119");
            let t = TrackingNumber::from_serial(Carrier::Sagawa, serial);
            prop_assert_eq!(t.is_err(), forbidden);
            if let Err(e) = t {
                let is_prefix_error = matches!(e, TrackingError::ForbiddenPrefix { carrier: Carrier::Sagawa, .. });
                prop_assert!(is_prefix_error, "{:?}", e);
            }
        }

        /// Single-digit substitutions: caught unless the digit moves by exactly 7 within the serial
        /// (see the module docs); a changed check digit is always caught.
        #[test]
        fn single_digit_changes_are_caught_as_far_as_mod_7_can(
            serial in 0..=SERIAL_MAX,
            carrier in plain_carrier(),
            position in 0..LENGTH,
            new_digit in 0u8..10,
        ) {
            let t = TrackingNumber::from_serial(carrier, serial).unwrap();
            let mut d = digit_vec(t);
            let old = d[position];
            prop_assume!(old != new_digit);
            d[position] = new_digit;
            let changed = digit_string(&d);
            let result = parse_scanned(carrier, &changed);
            if position == LENGTH - 1 {
                prop_assert!(result.is_err(), "changed check digit accepted: {changed}");
            } else if old.abs_diff(new_digit) == 7 {
                // The blind spot is real: same residue mod 7, so it passes.
                prop_assert!(result.is_ok());
            } else {
                let caught = matches!(result, Err(TrackingError::CheckDigitMismatch { .. }));
                prop_assert!(caught, "undetected change {} -> {}: {:?}", t.digits(), changed, result);
            }
        }

        /// Adjacent transpositions inside the serial: caught unless the two digits differ by 7.
        #[test]
        fn adjacent_swaps_in_the_serial_are_caught_unless_digits_differ_by_7(
            serial in 0..=SERIAL_MAX,
            position in 0..(LENGTH - 2),
        ) {
            let t = TrackingNumber::from_serial(Carrier::Yamato, serial).unwrap();
            let mut d = digit_vec(t);
            let (a, b) = (d[position], d[position + 1]);
            prop_assume!(a != b);
            d.swap(position, position + 1);
            let result = parse_scanned(Carrier::Yamato, &digit_string(&d));
            prop_assert_eq!(result.is_ok(), a.abs_diff(b) == 7);
        }

        /// Whatever is typed, parsing never panics, and anything accepted is a valid number whose
        /// digits are the input's digits.
        #[test]
        fn arbitrary_input_never_panics(input in "\\PC{0,20}", carrier in prop_oneof![Just(Carrier::Yamato), Just(Carrier::Sagawa), Just(Carrier::JapanPost)]) {
            if let Ok(t) = parse_scanned(carrier, &input) {
                prop_assert_eq!(TrackingNumber::new(carrier, &t.digits()), Ok(t));
            }
        }
    }
}
