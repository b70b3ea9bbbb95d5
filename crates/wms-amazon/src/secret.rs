//! Secrets (LWA client secret, refresh token, access tokens).
//!
//! Deliberately not `Serialize` and not `Clone`: copying a secret must be a visible act
//! (`expose_secret`). Zeroized on drop; `Debug` never prints the value.

use zeroize::Zeroizing;

pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The value, for the one place that must send it (an HTTP form or header).
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::new("Atzr|very-secret");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(s.expose_secret(), "Atzr|very-secret");
    }
}
