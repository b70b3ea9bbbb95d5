//! Password policy and one-time passwords.
//!
//! NIST SP 800-63B style: length over composition rules, and a refusal of known-common choices.

use rand::Rng;

pub const MIN_LEN: usize = 12;
/// Long enough for any passphrase; bounded so that hashing cost stays bounded.
pub const MAX_LEN: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {MIN_LEN} characters")]
    TooShort,
    #[error("password must be at most {MAX_LEN} characters")]
    TooLong,
    #[error("password is too common or too easy to guess")]
    Common,
    #[error("password must not contain your e-mail name")]
    ContainsEmail,
}

/// Common passwords (and their usual stems) from public breach corpora; any password that is one of
/// these, or one of these stems padded with digits and symbols, is refused.
const COMMON: &str = include_str!("common-passwords.txt");

/// Check a new password against the policy. `email` is the account's e-mail address.
pub fn check(password: &str, email: &str) -> Result<(), PasswordError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(PasswordError::TooShort);
    }
    if len > MAX_LEN {
        return Err(PasswordError::TooLong);
    }
    let lower = password.to_lowercase();
    let letters: String = lower.chars().filter(|c| c.is_alphabetic()).collect();
    let common = COMMON
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    for word in common {
        if lower == word || letters == word {
            return Err(PasswordError::Common);
        }
    }
    if is_degenerate(&lower) {
        return Err(PasswordError::Common);
    }
    let local = email.split('@').next().unwrap_or("").trim().to_lowercase();
    if local.chars().count() >= 4 && lower.contains(&local) {
        return Err(PasswordError::ContainsEmail);
    }
    Ok(())
}

/// Few distinct characters, or a run along the keyboard/number line, are as weak as a common word.
fn is_degenerate(p: &str) -> bool {
    let mut distinct: Vec<char> = p.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() <= 3 {
        return true;
    }
    let sequences = [
        "0123456789",
        "9876543210",
        "abcdefghijklmnopqrstuvwxyz",
        "qwertyuiopasdfghjklzxcvbnm",
    ];
    sequences
        .iter()
        .any(|s| s.contains(p) || (p.len() >= MIN_LEN && is_cycle_of(s, p)))
}

fn is_cycle_of(seq: &str, p: &str) -> bool {
    let doubled = format!("{seq}{seq}");
    doubled.contains(p)
}

/// A random one-time password for a new account; it must be changed at first login.
/// Unambiguous characters only (no 0/O, 1/l/I), 20 of them: ~114 bits.
#[must_use]
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limits() {
        assert_eq!(check("short-Pw1!", "a@b.jp"), Err(PasswordError::TooShort));
        assert_eq!(
            check(&"x7!Qa".repeat(60), "a@b.jp"),
            Err(PasswordError::TooLong)
        );
        assert_eq!(check("correct horse battery staple", "a@b.jp"), Ok(()));
        // Length is counted in characters, not bytes: 12 kana are fine.
        assert_eq!(check("あいうえおかきくけこさし", "a@b.jp"), Ok(()));
    }

    #[test]
    fn common_and_degenerate_passwords_are_refused() {
        for p in [
            "password1234",
            "Password1234!",
            "qwertyuiop12",
            "123456789012",
            "aaaaaaaaaaaa",
            "abababababab",
            "iloveyou1234",
            "P@ssword2024!!",
        ] {
            assert_eq!(check(p, "a@b.jp"), Err(PasswordError::Common), "{p}");
        }
    }

    #[test]
    fn email_name_is_refused() {
        assert_eq!(
            check("tanaka-hanako-2026", "tanaka@example.jp"),
            Err(PasswordError::ContainsEmail)
        );
    }

    #[test]
    fn one_time_passwords_pass_the_policy_and_differ() {
        let a = one_time_password();
        assert_eq!(check(&a, "someone@example.jp"), Ok(()));
        assert_ne!(a, one_time_password());
    }
}
