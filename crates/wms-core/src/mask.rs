//! Masking of PII for logs and list views: enough to recognise, not enough to use.

use std::fmt;

/// `yamada.taro@example.jp` → `y***@e***.jp`.
#[must_use]
pub fn email(s: &str) -> String {
    match s.rsplit_once('@') {
        Some((local, domain)) => {
            let tld = domain.rsplit_once('.').map(|(_, t)| t).unwrap_or("");
            format!("{}***@{}***.{}", first(local), first(domain), tld)
        }
        None => name(s),
    }
}

/// `山田 太郎` → `山***`; keeps the first character only.
#[must_use]
pub fn name(s: &str) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("{}***", first(s))
    }
}

/// `090-1234-5678` → `***-5678` (last four digits).
#[must_use]
pub fn phone(s: &str) -> String {
    let digits: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("***-{tail}")
}

fn first(s: &str) -> String {
    s.chars().next().map(String::from).unwrap_or_default()
}

/// Wraps a PII value for `tracing` fields: `Display` and `Debug` print the masked form only.
pub struct MaskedEmail<'a>(pub &'a str);

impl fmt::Display for MaskedEmail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&email(self.0))
    }
}

impl fmt::Debug for MaskedEmail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_little() {
        assert_eq!(email("yamada.taro@example.jp"), "y***@e***.jp");
        assert_eq!(email("nodomain"), "n***");
        assert_eq!(name("山田 太郎"), "山***");
        assert_eq!(name(""), "");
        assert_eq!(phone("090-1234-5678"), "***-5678");
        assert_eq!(phone("12"), "***-12");
        assert_eq!(format!("{:?}", MaskedEmail("a.b@c.jp")), "a***@c***.jp");
    }
}
