//! App releases and the updater manifest (design.md, "Updates"), as plain rules.
//!
//! An admin publishes a release of the desktop app on a channel: a semantic version, notes, and
//! per updater platform (`linux-x86_64`, `linux-x86_64-deb`, `windows-x86_64`, `darwin-aarch64`,
//! …) an https URL and the artifact's minisign signature, the way tauri-plugin-updater takes it.
//! A release reaches `rollout_percent` % of the devices and can be paused.
//!
//! Which device is in a rollout is decided by [`bucket`]: a stable hash of the release and the
//! device, so that a device keeps its answer as long as the percentage does, raising the
//! percentage only adds devices, and each release draws its own sample (the same stations are not
//! always the first to get a new version).

use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The channel a release goes to, and a manifest reads, when none is named.
pub const DEFAULT_CHANNEL: &str = "stable";
/// Every device.
pub const FULL_ROLLOUT: u8 = 100;
/// Longest version text (build metadata included).
pub const MAX_VERSION_LEN: usize = 64;
/// Longest release notes, in characters.
pub const MAX_NOTES_CHARS: usize = 10_000;
/// Most artifacts (platforms) one release carries.
pub const MAX_ARTIFACTS: usize = 16;
/// Longest artifact URL.
pub const MAX_URL_LEN: usize = 2048;
/// Longest signature (a minisign `.sig` file in base64 is about 400 characters).
pub const MAX_SIGNATURE_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    #[error(
        "version `{0}` is not a semantic version MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (e.g. 1.4.0 or 1.4.0-rc.1)"
    )]
    Version(String),
    #[error("channel `{0}` must be 1–32 lowercase letters, digits or '-'")]
    Channel(String),
    #[error(
        "platform `{0}` is not an updater target: lowercase letters, digits and '_' in '-'-joined parts (linux-x86_64, linux-x86_64-deb, windows-x86_64, darwin-aarch64)"
    )]
    Platform(String),
    #[error(
        "the url for {platform} must be https:// with a host, no credentials, no spaces, at most {MAX_URL_LEN} characters"
    )]
    Url { platform: String },
    #[error(
        "the signature for {platform} must be the base64 of the artifact's minisign .sig file (as `tauri signer sign` writes it): {why}"
    )]
    Signature { platform: String, why: &'static str },
    #[error("rollout_percent must be between 0 and 100, not {0}")]
    Rollout(i64),
    #[error("a release needs 1–{MAX_ARTIFACTS} artifacts, one per platform")]
    ArtifactCount,
    #[error("platform {0} is given twice")]
    DuplicatePlatform(String),
    #[error("notes must be at most {MAX_NOTES_CHARS} characters")]
    Notes,
    #[error("pub_date `{0}` is not an RFC 3339 time (e.g. 2026-11-29T09:00:00Z)")]
    PubDate(String),
}

/// At most 64 characters of what a client sent, for an error message.
fn shown(s: &str) -> String {
    s.chars().take(64).collect()
}

/// A pre-release identifier: numeric ones compare as numbers and before alphanumeric ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Identifier {
    Numeric(u64),
    Alpha(String),
}

/// A semantic version (SemVer 2.0.0). Its text is kept as given (which, being valid, is
/// canonical); [`Version::cmp_precedence`] is SemVer's precedence, which ignores build metadata.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Identifier>,
    build: Vec<String>,
    text: String,
}

fn numeric(part: &str) -> Option<u64> {
    let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let no_leading_zero = part.len() == 1 || !part.starts_with('0');
    if digits && no_leading_zero {
        part.parse().ok()
    } else {
        None
    }
}

fn identifiers(s: &str) -> Option<Vec<&str>> {
    let ids: Vec<&str> = s.split('.').collect();
    ids.iter()
        .all(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then_some(ids)
}

impl FromStr for Version {
    type Err = ReleaseError;

    fn from_str(s: &str) -> Result<Self, ReleaseError> {
        let bad = || ReleaseError::Version(shown(s));
        if s.is_empty() || s.len() > MAX_VERSION_LEN {
            return Err(bad());
        }
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, identifiers(b).ok_or_else(bad)?),
            None => (s, Vec::new()),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, identifiers(p).ok_or_else(bad)?),
            None => (rest, Vec::new()),
        };
        let pre = pre
            .into_iter()
            .map(|i| {
                if i.bytes().all(|b| b.is_ascii_digit()) {
                    numeric(i).map(Identifier::Numeric)
                } else {
                    Some(Identifier::Alpha(i.to_owned()))
                }
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        let core: Vec<u64> = core
            .split('.')
            .map(numeric)
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        let [major, minor, patch] = core[..] else {
            return Err(bad());
        };
        Ok(Version {
            major,
            minor,
            patch,
            pre,
            build: build.into_iter().map(str::to_owned).collect(),
            text: s.to_owned(),
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Version {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// SemVer precedence: major, minor, patch, then a pre-release sorts before its release and
    /// pre-releases compare identifier by identifier; build metadata does not count.
    #[must_use]
    pub fn cmp_precedence(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }

    /// Strictly newer by precedence (`1.0.0+b` is not newer than `1.0.0+a`).
    #[must_use]
    pub fn is_newer_than(&self, other: &Self) -> bool {
        self.cmp_precedence(other) == Ordering::Greater
    }
}

/// Precedence, then build metadata, so that the order agrees with equality.
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_precedence(other)
            .then_with(|| self.build.cmp(&other.build))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A channel name: 1–32 lowercase letters, digits or `-` (`stable`, `beta`, `pilot-osaka`).
pub fn check_channel(c: &str) -> Result<(), ReleaseError> {
    let ok = (1..=32).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ReleaseError::Channel(shown(c)))
    }
}

/// An updater target as tauri-plugin-updater names it: `{os}-{arch}`, optionally `-{bundle}`;
/// lowercase letters, digits and `_` in `-`-joined parts, 3–64 characters.
pub fn check_platform(p: &str) -> Result<(), ReleaseError> {
    let ok = (3..=64).contains(&p.len())
        && p.contains('-')
        && p.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(ReleaseError::Platform(shown(p)))
    }
}

/// An artifact URL: `https://` with a host (and optional port), printable ASCII only (an IRI must
/// be percent-encoded), no `user:password@` (the URL is handed to every device).
pub fn check_url(platform: &str, url: &str) -> Result<(), ReleaseError> {
    let authority_ok = |a: &str| {
        !a.is_empty()
            && !a.starts_with(':')
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
    };
    let ok = url.len() <= MAX_URL_LEN
        && url.bytes().all(|b| b.is_ascii_graphic())
        && url.strip_prefix("https://").is_some_and(|rest| {
            authority_ok(rest.split(['/', '?', '#']).next().unwrap_or_default())
        });
    if ok {
        Ok(())
    } else {
        Err(ReleaseError::Url {
            platform: shown(platform),
        })
    }
}

fn base64_of_len(line: &str, len: usize) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(line.trim())
        .is_ok_and(|b| b.len() == len)
}

/// A minisign signature as tauri-plugin-updater takes it: the base64 of the `.sig` file, whose
/// four lines are an untrusted comment, the signature (algorithm `Ed` or prehashed `ED`, key id,
/// 64 bytes), a trusted comment and the global signature (64 bytes). Whether it verifies is the
/// updater's to decide against the key built into the app; this catches a public key, the raw
/// `.sig` text or a truncated paste before every device downloads an artifact it must refuse.
pub fn check_signature(platform: &str, sig: &str) -> Result<(), ReleaseError> {
    let refuse = |why| ReleaseError::Signature {
        platform: shown(platform),
        why,
    };
    if sig.trim().is_empty() || sig.len() > MAX_SIGNATURE_LEN {
        return Err(refuse("empty or too long"));
    }
    let text = base64::engine::general_purpose::STANDARD
        .decode(sig.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| refuse("not base64 of a text"))?;
    let lines: Vec<&str> = text.lines().collect();
    let line = |i: usize| lines.get(i).copied().unwrap_or_default();
    if !line(0).starts_with("untrusted comment:") {
        return Err(refuse("it does not start with an untrusted comment"));
    }
    let sig_ok = base64::engine::general_purpose::STANDARD
        .decode(line(1).trim())
        .is_ok_and(|b| b.len() == 74 && (b.starts_with(b"Ed") || b.starts_with(b"ED")));
    if !sig_ok {
        return Err(refuse(
            "its second line is not an Ed25519 signature (a public key?)",
        ));
    }
    if !line(2).starts_with("trusted comment:") || !base64_of_len(line(3), 64) {
        return Err(refuse(
            "the trusted comment or the global signature is missing",
        ));
    }
    Ok(())
}

/// A rollout percentage, 0–100.
pub fn check_rollout(percent: i64) -> Result<u8, ReleaseError> {
    u8::try_from(percent)
        .ok()
        .filter(|p| *p <= FULL_ROLLOUT)
        .ok_or(ReleaseError::Rollout(percent))
}

pub fn check_notes(notes: &str) -> Result<(), ReleaseError> {
    if notes.chars().count() > MAX_NOTES_CHARS {
        Err(ReleaseError::Notes)
    } else {
        Ok(())
    }
}

/// An RFC 3339 time → milliseconds since the Unix epoch.
pub fn parse_pub_date(s: &str) -> Result<i64, ReleaseError> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
        .ok_or_else(|| ReleaseError::PubDate(shown(s)))
}

/// One platform's artifact of a release, as given.
#[derive(Debug, Clone, Copy)]
pub struct ArtifactSpec<'a> {
    pub platform: &'a str,
    pub url: &'a str,
    pub signature: &'a str,
}

/// A release's artifacts: 1–16, each platform once, each valid.
pub fn check_artifacts(artifacts: &[ArtifactSpec<'_>]) -> Result<(), ReleaseError> {
    if artifacts.is_empty() || artifacts.len() > MAX_ARTIFACTS {
        return Err(ReleaseError::ArtifactCount);
    }
    for (i, a) in artifacts.iter().enumerate() {
        check_platform(a.platform)?;
        if artifacts
            .iter()
            .take(i)
            .any(|earlier| earlier.platform == a.platform)
        {
            return Err(ReleaseError::DuplicatePlatform(shown(a.platform)));
        }
        check_url(a.platform, a.url)?;
        check_signature(a.platform, a.signature)?;
    }
    Ok(())
}

/// The device's place in a release's rollout, 0–99: the first eight bytes of
/// SHA-256(`release_id:device_id`), big-endian, modulo 100.
#[must_use]
pub fn bucket(release_id: &str, device_id: &str) -> u8 {
    let digest = Sha256::digest(format!("{release_id}:{device_id}").as_bytes());
    let mut first = [0u8; 8];
    for (to, from) in first.iter_mut().zip(digest.iter()) {
        *to = *from;
    }
    // Below 100, so the conversion cannot fail.
    u8::try_from(u64::from_be_bytes(first) % 100).unwrap_or(0)
}

/// Whether the device is among the `rollout_percent` % a release is offered to.
#[must_use]
pub fn in_rollout(release_id: &str, device_id: &str, rollout_percent: u8) -> bool {
    bucket(release_id, device_id) < rollout_percent
}

/// What the manifest weighs of one release of the channel.
#[derive(Debug, Clone, Copy)]
pub struct Offer<'a> {
    pub release_id: &'a str,
    pub version: &'a Version,
    pub paused: bool,
    pub rollout_percent: u8,
    /// It has an artifact for the platform asked about.
    pub has_platform: bool,
}

impl Offer<'_> {
    /// Offered to this device running `current`: not paused, newer, with an artifact for the
    /// platform, and the device in the rollout.
    #[must_use]
    pub fn is_for(&self, current: &Version, device_id: &str) -> bool {
        !self.paused
            && self.has_platform
            && self.version.is_newer_than(current)
            && in_rollout(self.release_id, device_id, self.rollout_percent)
    }
}

/// The release the manifest answers with: the newest (by precedence) of those offered to the
/// device; `None` when there is nothing newer for it.
pub fn choose<'a, T>(
    releases: &'a [T],
    offer: impl Fn(&'a T) -> Offer<'a>,
    current: &Version,
    device_id: &str,
) -> Option<&'a T> {
    releases
        .iter()
        .map(|r| (r, offer(r)))
        .filter(|(_, o)| o.is_for(current, device_id))
        .max_by(|(_, a), (_, b)| a.version.cmp_precedence(b.version))
        .map(|(r, _)| r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> Version {
        s.parse().expect(s)
    }

    #[test]
    fn versions_parse_as_semver_says() {
        for ok in [
            "0.0.0",
            "1.4.0",
            "10.20.30",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-0.3.7",
            "1.0.0-x.7.z.92",
            "1.0.0-x-y-z.--",
            "1.0.0+20130313144700",
            "1.0.0-beta+exp.sha.5114f85",
            "1.0.0+21AF26D3----117B344092BD",
            "18446744073709551615.0.0",
        ] {
            assert_eq!(v(ok).to_string(), ok);
        }
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "v1.2.3",
            " 1.2.3",
            "01.2.3",
            "1.02.3",
            "1.2.03",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "1.2.3-a_b",
            "1.2.3+a+b",
            "-1.2.3",
            "1.2.-3",
            "18446744073709551616.0.0",
            "1.0.0-é",
            &format!("1.0.0-{}", "a".repeat(60)),
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn precedence_is_semvers() {
        // The example chain of SemVer 2.0.0, section 11.
        let chain = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "1.10.0",
            "2.0.0",
        ];
        for pair in chain.windows(2) {
            let (a, b) = (v(pair[0]), v(pair[1]));
            assert!(b.is_newer_than(&a), "{b} > {a}");
            assert!(!a.is_newer_than(&b), "{a} < {b}");
            assert!(a < b);
        }
        let (a, b) = (v("1.0.0+a"), v("1.0.0+b"));
        assert_eq!(a.cmp_precedence(&b), Ordering::Equal);
        assert!(!b.is_newer_than(&a) && !a.is_newer_than(&b));
        assert_ne!(a, b);
        assert!(a < b, "the total order breaks the tie by build metadata");
    }

    fn signature(alg: &[u8; 2], sig_len: usize, global_len: usize) -> String {
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let mut sig = alg.to_vec();
        sig.resize(sig_len, 7);
        let text = format!(
            "untrusted comment: signature from tauri secret key\n{}\ntrusted comment: timestamp:1764403200\tfile:jilian_1.4.0_amd64.deb\n{}\n",
            b64(&sig),
            b64(&vec![9; global_len])
        );
        b64(text.as_bytes())
    }

    #[test]
    fn signatures_must_be_a_minisign_sig_file_in_base64() {
        for ok in [signature(b"ED", 74, 64), signature(b"Ed", 74, 64)] {
            assert_eq!(check_signature("linux-x86_64", &ok), Ok(()));
        }
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let public_key = b64(
            "untrusted comment: minisign public key 3D1B5E1E4C5A6B7F\nRWR/a1pMHl4bPUCYhFqZAq2ek8ZYb0Fv2D0EZwWoP1WmAkvCqa7ZXr0M\n",
        );
        let raw_text = "untrusted comment: signature from tauri secret key\nRUR...\n";
        for bad in [
            String::new(),
            "   ".into(),
            "not base64!".into(),
            raw_text.into(),
            public_key,
            signature(b"XX", 74, 64),
            signature(b"ED", 73, 64),
            signature(b"ED", 74, 63),
            b64(&signature(b"ED", 74, 64)),
            "A".repeat(MAX_SIGNATURE_LEN + 4),
        ] {
            assert!(
                matches!(
                    check_signature("linux-x86_64", &bad),
                    Err(ReleaseError::Signature { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn urls_must_be_https_with_a_host() {
        for ok in [
            "https://releases.example.jp/jilian/1.4.0/jilian_1.4.0_amd64.deb",
            "https://10.0.0.5:8443/a.msi?token=abc#x",
            "https://[::1]:443/a",
            "https://cdn.example.com",
        ] {
            assert_eq!(check_url("linux-x86_64", ok), Ok(()), "{ok}");
        }
        for bad in [
            "http://releases.example.jp/a.deb",
            "HTTPS://releases.example.jp/a.deb",
            "https://",
            "https:///a.deb",
            "https://user:pw@releases.example.jp/a.deb",
            "https://releases.example.jp/a b.deb",
            "https://releases.example.jp/\u{3042}.deb",
            "https://releases.example.jp/a\n.deb",
            "ftp://releases.example.jp/a.deb",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://:443/a",
            &format!("https://example.jp/{}", "a".repeat(MAX_URL_LEN)),
        ] {
            assert!(check_url("linux-x86_64", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn platforms_channels_rollouts_notes_dates() {
        for ok in [
            "linux-x86_64",
            "linux-x86_64-deb",
            "windows-x86_64",
            "darwin-aarch64",
            "windows-x86_64-nsis",
        ] {
            assert_eq!(check_platform(ok), Ok(()));
        }
        for bad in [
            "linux",
            "Linux-x86_64",
            "linux--x86_64",
            "-linux",
            "linux-x86 64",
            "linux/x86_64",
            "",
        ] {
            assert!(check_platform(bad).is_err(), "{bad:?}");
        }
        for ok in ["stable", "beta", "pilot-osaka-2"] {
            assert_eq!(check_channel(ok), Ok(()));
        }
        for bad in ["", "Stable", "beta_1", &"a".repeat(33)] {
            assert!(check_channel(bad).is_err(), "{bad:?}");
        }
        assert_eq!(check_rollout(0), Ok(0));
        assert_eq!(check_rollout(100), Ok(100));
        assert_eq!(check_rollout(101), Err(ReleaseError::Rollout(101)));
        assert_eq!(check_rollout(-1), Err(ReleaseError::Rollout(-1)));
        assert_eq!(check_rollout(356), Err(ReleaseError::Rollout(356)));
        assert!(check_notes(&"あ".repeat(MAX_NOTES_CHARS)).is_ok());
        assert!(check_notes(&"あ".repeat(MAX_NOTES_CHARS + 1)).is_err());
        assert_eq!(
            parse_pub_date("2026-11-29T09:00:00Z"),
            Ok(1_795_942_800_000)
        );
        assert_eq!(
            parse_pub_date("2026-11-29T18:00:00.5+09:00"),
            Ok(1_795_942_800_500)
        );
        assert!(parse_pub_date("2026-11-29").is_err());
        assert!(parse_pub_date("yesterday").is_err());
    }

    #[test]
    fn artifacts_are_checked_together() {
        let sig = signature(b"ED", 74, 64);
        let a = |platform| ArtifactSpec {
            platform,
            url: "https://releases.example.jp/a",
            signature: &sig,
        };
        assert_eq!(
            check_artifacts(&[a("linux-x86_64"), a("linux-x86_64-deb")]),
            Ok(())
        );
        assert_eq!(check_artifacts(&[]), Err(ReleaseError::ArtifactCount));
        assert_eq!(
            check_artifacts(&[a("linux-x86_64"), a("linux-x86_64")]),
            Err(ReleaseError::DuplicatePlatform("linux-x86_64".into()))
        );
        let many: Vec<_> = (0..=MAX_ARTIFACTS).map(|_| a("linux-x86_64")).collect();
        assert_eq!(check_artifacts(&many), Err(ReleaseError::ArtifactCount));
        let http = ArtifactSpec {
            url: "http://releases.example.jp/a",
            ..a("windows-x86_64")
        };
        assert!(matches!(
            check_artifacts(&[http]),
            Err(ReleaseError::Url { .. })
        ));
    }

    #[test]
    fn buckets_are_stable_and_spread() {
        assert_eq!(bucket("r1", "station-1"), bucket("r1", "station-1"));
        // Pinned (computed apart, with Python's hashlib): a change of the hash would move every
        // device of every rollout in progress.
        let pinned: Vec<u8> = (0..5)
            .map(|i| bucket("release-a", &format!("station-{i}")))
            .collect();
        assert_eq!(pinned, [43, 86, 48, 53, 78]);
        let n = 10_000;
        let inside = (0..n)
            .filter(|i| in_rollout("release-a", &format!("station-{i}"), 50))
            .count();
        assert!((4_700..=5_300).contains(&inside), "{inside} of {n} at 50 %");
        // Each release draws its own sample.
        let both = (0..n)
            .filter(|i| {
                let d = format!("station-{i}");
                in_rollout("release-a", &d, 10) && in_rollout("release-b", &d, 10)
            })
            .count();
        assert!(both < 200, "{both} devices in both 10 % samples");
        assert!((0..n).all(|i| !in_rollout("r", &i.to_string(), 0)));
        assert!((0..n).all(|i| in_rollout("r", &i.to_string(), 100)));
    }

    struct Rel {
        id: &'static str,
        version: Version,
        paused: bool,
        rollout: u8,
        platforms: &'static [&'static str],
    }

    fn offer<'a>(platform: &'a str) -> impl Fn(&'a Rel) -> Offer<'a> {
        move |r| Offer {
            release_id: r.id,
            version: &r.version,
            paused: r.paused,
            rollout_percent: r.rollout,
            has_platform: r.platforms.contains(&platform),
        }
    }

    fn rel(
        id: &'static str,
        version: &str,
        paused: bool,
        rollout: u8,
        platforms: &'static [&'static str],
    ) -> Rel {
        Rel {
            id,
            version: v(version),
            paused,
            rollout,
            platforms,
        }
    }

    #[test]
    fn the_manifest_offers_the_newest_release_meant_for_the_device() {
        let linux: &[&str] = &["linux-x86_64"];
        let rels = [
            rel("a", "1.1.0", false, 100, linux),
            rel("b", "1.3.0", true, 100, linux),
            rel("c", "1.2.0", false, 100, &["windows-x86_64"]),
            rel("d", "1.2.5", false, 100, linux),
            rel("e", "1.0.0", false, 100, linux),
        ];
        let pick = |current: &str, platform| {
            choose(&rels, offer(platform), &v(current), "station-1").map(|r| r.id)
        };
        // 1.3.0 is paused, 1.2.0 has no Linux build: 1.2.5.
        assert_eq!(pick("1.0.0", "linux-x86_64"), Some("d"));
        assert_eq!(pick("1.2.5", "linux-x86_64"), None);
        assert_eq!(pick("1.2.5-rc.1", "linux-x86_64"), Some("d"));
        assert_eq!(pick("2.0.0", "linux-x86_64"), None);
        assert_eq!(pick("1.0.0", "windows-x86_64"), Some("c"));
        assert_eq!(pick("1.0.0", "darwin-aarch64"), None);
    }

    #[test]
    fn a_device_outside_the_newest_rollout_gets_the_newest_it_is_in() {
        let linux: &[&str] = &["linux-x86_64"];
        let device = (0..1000)
            .map(|i| format!("station-{i}"))
            .find(|d| bucket("new", d) >= 30)
            .expect("a device outside a 30 % rollout");
        let rels = [
            rel("old", "1.1.0", false, 100, linux),
            rel("new", "1.2.0", false, 30, linux),
        ];
        let chosen = choose(&rels, offer("linux-x86_64"), &v("1.0.0"), &device);
        assert_eq!(chosen.map(|r| r.id), Some("old"));
        let inside = (0..1000)
            .map(|i| format!("station-{i}"))
            .find(|d| bucket("new", d) < 30)
            .expect("a device inside");
        let chosen = choose(&rels, offer("linux-x86_64"), &v("1.0.0"), &inside);
        assert_eq!(chosen.map(|r| r.id), Some("new"));
    }

    fn version_strategy() -> impl Strategy<Value = Version> {
        let ident = prop_oneof!["(0|[1-9][0-9]{0,3})", "[a-z][a-z0-9-]{0,4}"];
        (
            0u64..4,
            0u64..4,
            0u64..4,
            proptest::collection::vec(ident, 0..3),
            proptest::option::of("[a-z0-9]{1,4}"),
        )
            .prop_map(|(ma, mi, pa, pre, build)| {
                let mut s = format!("{ma}.{mi}.{pa}");
                if !pre.is_empty() {
                    s = format!("{s}-{}", pre.join("."));
                }
                if let Some(b) = build {
                    s = format!("{s}+{b}");
                }
                s.parse().expect("generated version")
            })
    }

    proptest! {
        #[test]
        fn precedence_is_a_total_preorder(a in version_strategy(), b in version_strategy(), c in version_strategy()) {
            prop_assert_eq!(a.cmp_precedence(&b), b.cmp_precedence(&a).reverse());
            if a.cmp_precedence(&b) != Ordering::Greater && b.cmp_precedence(&c) != Ordering::Greater {
                prop_assert_ne!(a.cmp_precedence(&c), Ordering::Greater);
            }
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
            prop_assert_eq!(a.to_string().parse::<Version>().ok(), Some(a.clone()));
        }

        #[test]
        fn raising_a_rollout_only_adds_devices(device in "[a-z0-9-]{1,40}", low in 0u8..=100, high in 0u8..=100) {
            let (low, high) = (low.min(high), low.max(high));
            prop_assert!(!in_rollout("r", &device, low) || in_rollout("r", &device, high));
        }
    }
}
