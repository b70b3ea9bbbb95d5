//! This installation's desk settings (`desk.json` in the data directory): language, the label
//! and document printers, and who last logged in (shown while the server is unreachable). No
//! secret is kept here: tokens and keys live in the station's secret store.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const FILE: &str = "desk.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    Ja,
    En,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LabelFormat {
    #[default]
    Zpl203,
    Zpl300,
    /// An A6 PDF through the spooler (`cups://` queues only); the station fetches the server's
    /// PDF label for it.
    Pdf,
}

impl LabelFormat {
    /// The resolution a label rendered at the station uses: a PDF profile has none of its own,
    /// and a label rendered locally for it (the offline fallback) is ZPL at 203 dpi.
    pub fn dpi(self) -> u32 {
        match self {
            LabelFormat::Zpl203 | LabelFormat::Pdf => 203,
            LabelFormat::Zpl300 => 300,
        }
    }

    /// The profile's word on the server.
    pub fn as_str(self) -> &'static str {
        match self {
            LabelFormat::Zpl203 => "zpl203",
            LabelFormat::Zpl300 => "zpl300",
            LabelFormat::Pdf => "pdf",
        }
    }

    /// The server's word; a format this build does not know reads as the default.
    pub fn from_server(word: &str) -> Self {
        [LabelFormat::Zpl300, LabelFormat::Pdf]
            .into_iter()
            .find(|f| f.as_str() == word)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PrinterProfile {
    /// `tcp://HOST:PORT` or `cups://QUEUE`.
    pub label_printer: Option<String>,
    #[serde(default)]
    pub label_format: LabelFormat,
    pub document_printer: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeskSettings {
    #[serde(default)]
    pub locale: Locale,
    #[serde(default)]
    pub profile: PrinterProfile,
    #[serde(default)]
    pub last_email: Option<String>,
    #[serde(default)]
    pub last_role: Option<String>,
}

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

impl DeskSettings {
    /// The stored settings; defaults when there are none. An unreadable file is reported and
    /// replaced by defaults rather than stopping the app at the bench.
    pub fn load(dir: &Path) -> Self {
        match std::fs::read(path(dir)) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "desk settings unreadable: using defaults");
                Self::default()
            }),
            Err(_) => Self::default(),
        }
    }

    /// Written to a temporary file and renamed, so a crash never leaves half a file.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(".desk.json.tmp");
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, path(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_survives_garbage() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut s = DeskSettings::load(dir.path());
        assert_eq!(s.locale, Locale::Ja);
        s.locale = Locale::En;
        s.profile.label_printer = Some("tcp://127.0.0.1:9100".into());
        s.profile.label_format = LabelFormat::Zpl300;
        s.save(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let back = DeskSettings::load(dir.path());
        assert_eq!(back.locale, Locale::En);
        assert_eq!(back.profile.label_format.dpi(), 300);
        std::fs::write(dir.path().join(FILE), b"{not json").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(DeskSettings::load(dir.path()).locale, Locale::Ja);
    }

    #[test]
    fn label_formats_round_trip_with_the_servers_words() {
        for f in [LabelFormat::Zpl203, LabelFormat::Zpl300, LabelFormat::Pdf] {
            assert_eq!(LabelFormat::from_server(f.as_str()), f);
            assert_eq!(
                serde_json::to_value(f).ok(),
                Some(serde_json::Value::from(f.as_str()))
            );
        }
        assert_eq!(LabelFormat::from_server("zpl600"), LabelFormat::Zpl203);
    }
}
