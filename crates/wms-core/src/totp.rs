//! TOTP (RFC 6238) with the rules the product needs on top of the algorithm: a ±1 step window,
//! a code accepted once only (the step is remembered), and constant-time comparison.

use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};
use zeroize::Zeroizing;

pub const DIGITS: usize = 6;
pub const STEP_SECS: u64 = 30;
/// Steps either side of now that are accepted (clock drift between phone and server).
pub const SKEW: u8 = 1;
/// A high-risk action needs an MFA verification at most this old.
pub const STEP_UP_MAX_AGE_SECS: i64 = 300;
/// 160-bit seeds, as RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("the code is not a {DIGITS}-digit number")]
    Malformed,
    #[error("the code is wrong or expired")]
    Invalid,
    #[error("the code was already used")]
    Replayed,
    #[error("the TOTP seed is invalid")]
    BadSecret,
}

/// A fresh random seed.
#[must_use]
pub fn generate_secret() -> Zeroizing<Vec<u8>> {
    let mut s = Zeroizing::new(vec![0u8; SECRET_LEN]);
    rand::rngs::OsRng.fill_bytes(&mut s);
    s
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Result<TOTP, TotpError> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        SKEW,
        STEP_SECS,
        secret.to_vec(),
        Some(issuer.to_owned()),
        account.to_owned(),
    )
    .map_err(|_| TotpError::BadSecret)
}

/// Base32 of the seed, for manual entry in an authenticator app.
#[must_use]
pub fn secret_base32(secret: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(Secret::Raw(secret.to_vec()).to_encoded().to_string())
}

/// Decode a base32 seed (as printed by [`secret_base32`]).
pub fn secret_from_base32(b32: &str) -> Result<Zeroizing<Vec<u8>>, TotpError> {
    Secret::Encoded(b32.trim().to_uppercase())
        .to_bytes()
        .map(Zeroizing::new)
        .map_err(|_| TotpError::BadSecret)
}

/// The `otpauth://totp/...` URI for enrolment (shown as a QR code).
pub fn otpauth_uri(
    secret: &[u8],
    issuer: &str,
    account: &str,
) -> Result<Zeroizing<String>, TotpError> {
    Ok(Zeroizing::new(totp(secret, issuer, account)?.get_url()))
}

/// The code for a given time (used by tests and by the demo tooling).
pub fn code_at(secret: &[u8], unix_secs: u64) -> Result<String, TotpError> {
    Ok(totp(secret, "wms", "code")?.generate(unix_secs))
}

/// The time step a Unix time falls in.
#[must_use]
pub const fn step_of(unix_secs: u64) -> i64 {
    (unix_secs / STEP_SECS) as i64
}

/// Verify `code` at `now`. `last_used_step` is the step of the last accepted code for this user:
/// a code from that step or earlier is a replay, even if it is otherwise valid. Returns the step
/// that matched, which the caller must store as the new `last_used_step` in the same transaction.
pub fn verify(
    secret: &[u8],
    code: &str,
    now_unix: u64,
    last_used_step: Option<i64>,
) -> Result<i64, TotpError> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::Malformed);
    }
    let t = totp(secret, "wms", "verify")?;
    let now_step = step_of(now_unix);
    let mut matched: Option<i64> = None;
    // Check every candidate step, without stopping early, so timing does not tell which one matched.
    for delta in -(SKEW as i64)..=(SKEW as i64) {
        let step = now_step + delta;
        if step < 0 {
            continue;
        }
        let candidate = t.generate(step as u64 * STEP_SECS);
        if bool::from(candidate.as_bytes().ct_eq(code.as_bytes())) {
            matched = Some(matched.map_or(step, |m: i64| m.max(step)));
        }
    }
    let step = matched.ok_or(TotpError::Invalid)?;
    if last_used_step.is_some_and(|last| step <= last) {
        return Err(TotpError::Replayed);
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B test seed (SHA-1): "12345678901234567890".
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_vectors_last_six_digits() {
        for (t, code) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(code_at(RFC_SEED, t).as_deref(), Ok(code), "t={t}");
        }
    }

    #[test]
    fn accepts_one_step_either_side_only() {
        let now = 1_700_000_000u64;
        let prev = code_at(RFC_SEED, now - 30).unwrap_or_default();
        let next = code_at(RFC_SEED, now + 30).unwrap_or_default();
        let far = code_at(RFC_SEED, now - 90).unwrap_or_default();
        assert!(verify(RFC_SEED, &prev, now, None).is_ok());
        assert!(verify(RFC_SEED, &next, now, None).is_ok());
        assert_eq!(verify(RFC_SEED, &far, now, None), Err(TotpError::Invalid));
    }

    #[test]
    fn a_code_is_accepted_once_only() {
        let now = 1_700_000_000u64;
        let code = code_at(RFC_SEED, now).unwrap_or_default();
        let step = verify(RFC_SEED, &code, now, None).ok();
        assert_eq!(step, Some(step_of(now)));
        assert_eq!(verify(RFC_SEED, &code, now, step), Err(TotpError::Replayed));
        // An older code, still inside the window, is also refused once a newer one was used.
        let older = code_at(RFC_SEED, now - 30).unwrap_or_default();
        assert_eq!(
            verify(RFC_SEED, &older, now, step),
            Err(TotpError::Replayed)
        );
        // The next step's code is fine.
        let later = code_at(RFC_SEED, now + 30).unwrap_or_default();
        assert!(verify(RFC_SEED, &later, now + 30, step).is_ok());
    }

    #[test]
    fn malformed_codes_are_refused_without_panicking() {
        for c in ["", "12345", "1234567", "abcdef", "12 456", "１２３４５６"] {
            assert_eq!(
                verify(RFC_SEED, c, 1_700_000_000, None),
                Err(TotpError::Malformed),
                "{c:?}"
            );
        }
    }

    #[test]
    fn base32_and_uri_round_trip() {
        let s = generate_secret();
        let b32 = secret_base32(&s);
        assert_eq!(secret_from_base32(&b32).map(|v| v.to_vec()), Ok(s.to_vec()));
        let uri = otpauth_uri(&s, "Jilian WMS", "packer@demo.example").unwrap_or_default();
        assert!(uri.starts_with("otpauth://totp/"));
        assert!(uri.contains(&format!("secret={}", b32.as_str())));
    }
}
