//! A carrier label from the cache: the order (lines, the package's carrier and tracking number),
//! the recipient (label fields only) and the sender (tenant and warehouse name, with the address
//! and phone from the station profile), rendered with wms-core's renderers (ZPL, or an A6 PDF).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use wms_core::label::{CoolType, Dpi, Font, LabelModel, Party, Piece, ServiceType, display_width};
use wms_core::tracking::{Carrier, TrackingNumber};

use crate::model::{LabelRecipient, Order};
use crate::print::{Media, Payload};

/// Where Debian's `fonts-ipafont-gothic` puts IPAGothic.
pub const DEFAULT_FONT: &str = "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf";
pub const PROFILE_FILE: &str = "station-profile.json";
/// The narrowest carrier limit on an item name or address line (Sagawa: 16 full-width).
const MAX_LINE_WIDTH: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum LabelBuildError {
    #[error(
        "no station profile at {0}: write the sender address there ({{\"sender\": {{\"postal_code\", \"address_lines\", \"phone\"}}, \"dpi\": 203}})"
    )]
    NoProfile(PathBuf),
    #[error("station profile {path}: {message}")]
    BadProfile { path: PathBuf, message: String },
    #[error("order {0} has no package with a carrier and tracking number yet")]
    NoTrackedPackage(String),
    #[error("order {order} has no package {seq}")]
    NoSuchPackage { order: String, seq: i64 },
    #[error("package carrier or tracking number refused: {0}")]
    Tracking(String),
    #[error("the label font {path}: {message}")]
    Font { path: PathBuf, message: String },
    #[error("label refused: {0}")]
    Label(#[from] wms_core::label::LabelError),
}

#[derive(Debug, Clone, Deserialize)]
pub struct SenderProfile {
    pub postal_code: String,
    pub address_lines: Vec<String>,
    pub phone: String,
}

/// Per-station settings that will move to the server's per-device profiles.
#[derive(Debug, Clone, Deserialize)]
pub struct StationProfile {
    pub sender: SenderProfile,
    #[serde(default = "default_dpi")]
    pub dpi: u32,
}

fn default_dpi() -> u32 {
    203
}

impl StationProfile {
    pub fn load(data_dir: &Path) -> Result<Self, LabelBuildError> {
        let path = data_dir.join(PROFILE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LabelBuildError::NoProfile(path));
            }
            Err(e) => {
                return Err(LabelBuildError::BadProfile {
                    path,
                    message: e.to_string(),
                });
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| LabelBuildError::BadProfile {
            path,
            message: e.to_string(),
        })
    }
}

pub struct BuiltLabel {
    pub package_seq: i64,
    pub model: LabelModel,
}

/// Cuts `s` into lines of at most `width` half-width units.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        let mut next = cur.clone();
        next.push(c);
        if display_width(&next) > width {
            lines.push(std::mem::take(&mut cur));
            cur.push(c);
        } else {
            cur = next;
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

fn truncate(s: &str, width: usize) -> String {
    wrap(s, width).into_iter().next().unwrap_or_default()
}

pub fn build(
    order: &Order,
    package_seq: Option<i64>,
    recipient: &LabelRecipient,
    sender_name: &str,
    profile: &StationProfile,
    now: time::OffsetDateTime,
) -> Result<BuiltLabel, LabelBuildError> {
    let tracked: Vec<_> = order
        .packages
        .iter()
        .filter(|p| p.carrier.is_some() && p.tracking_number.is_some())
        .collect();
    let pkg =
        match package_seq {
            Some(seq) => order.packages.iter().find(|p| p.seq == seq).ok_or(
                LabelBuildError::NoSuchPackage {
                    order: order.id.clone(),
                    seq,
                },
            )?,
            None => *tracked
                .first()
                .ok_or_else(|| LabelBuildError::NoTrackedPackage(order.id.clone()))?,
        };
    let (Some(carrier), Some(number)) = (&pkg.carrier, &pkg.tracking_number) else {
        return Err(LabelBuildError::NoTrackedPackage(order.id.clone()));
    };
    let carrier: Carrier = carrier
        .parse()
        .map_err(|e: wms_core::tracking::UnknownCarrier| {
            LabelBuildError::Tracking(e.to_string())
        })?;
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let tracking = TrackingNumber::new(carrier, &digits)
        .map_err(|e| LabelBuildError::Tracking(e.to_string()))?;

    let mut address_lines = wrap(&recipient.address, MAX_LINE_WIDTH);
    if let Some(a2) = &recipient.address2 {
        address_lines.extend(wrap(a2, MAX_LINE_WIDTH));
    }
    address_lines.truncate(wms_core::label::MAX_ADDRESS_LINES);

    let items: Vec<&str> = order.lines.iter().map(|l| l.name.as_str()).collect();
    let index = order
        .packages
        .iter()
        .position(|p| p.seq == pkg.seq)
        .unwrap_or(0);
    let total = order.packages.len().max(1);
    // Ship date in Japan (UTC+9): the day the parcel is handed to the carrier there.
    let jst = now.to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap_or(time::UtcOffset::UTC));
    let model = LabelModel {
        tracking,
        service: ServiceType::Prepaid,
        cod_amount_yen: None,
        cool: CoolType::Normal,
        ship_date: jst.date(),
        delivery_date: None,
        time_slot: None,
        sender: Party {
            name: truncate(sender_name, MAX_LINE_WIDTH),
            postal_code: profile.sender.postal_code.clone(),
            address_lines: profile.sender.address_lines.clone(),
            phone: profile.sender.phone.clone(),
        },
        recipient: Party {
            name: recipient.name.clone(),
            postal_code: recipient.postal_code.clone(),
            address_lines,
            phone: recipient.phone.clone(),
        },
        item_description: truncate(&items.join("・"), MAX_LINE_WIDTH),
        piece: Piece {
            index: u16::try_from(index + 1).unwrap_or(u16::MAX),
            total: u16::try_from(total).unwrap_or(u16::MAX),
        },
        sorting_code: None,
        order_reference: order.external_id.clone(),
    };
    Ok(BuiltLabel {
        package_seq: pkg.seq,
        model,
    })
}

/// ZPL at the profile's resolution.
pub fn render_zpl(
    model: &LabelModel,
    font_path: &Path,
    dpi: u32,
) -> Result<Vec<u8>, LabelBuildError> {
    render(model, font_path, LabelFormat::Zpl { dpi })
}

/// The label as the printer takes it: ZPL at `dpi`, or a PDF page of A6.
pub fn render(
    model: &LabelModel,
    font_path: &Path,
    format: LabelFormat,
) -> Result<Vec<u8>, LabelBuildError> {
    // The resolution is checked before the font is read.
    let dpi = match format {
        LabelFormat::Zpl { dpi } => Some(dpi.to_string().parse::<Dpi>().map_err(
            |e: wms_core::label::UnknownDpi| LabelBuildError::BadProfile {
                path: PathBuf::from(PROFILE_FILE),
                message: e.to_string(),
            },
        )?),
        LabelFormat::Pdf => None,
    };
    let bytes = std::fs::read(font_path).map_err(|e| LabelBuildError::Font {
        path: font_path.to_path_buf(),
        message: format!("{e} (install fonts-ipafont-gothic, or set WMS_LABEL_FONT)"),
    })?;
    let font = Font::from_bytes(bytes)?;
    Ok(match dpi {
        Some(dpi) => wms_core::label::render_zpl(model, dpi, &font)?,
        None => wms_core::label::render_pdf(model, &font)?,
    })
}

/// The format a label is printed in, named as a printer profile names it: `zpl203`, `zpl300` or
/// `pdf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFormat {
    /// ZPL II for a thermal label printer at this resolution (203 or 300 dpi), sent raw.
    Zpl { dpi: u32 },
    /// One label on an A6 PDF page, for an office printer through the spooler.
    Pdf,
}

#[derive(Debug, thiserror::Error)]
#[error("label format `{0}` is not zpl203, zpl300 or pdf")]
pub struct UnknownLabelFormat(pub String);

impl std::str::FromStr for LabelFormat {
    type Err = UnknownLabelFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "zpl203" => Ok(LabelFormat::Zpl { dpi: 203 }),
            "zpl300" => Ok(LabelFormat::Zpl { dpi: 300 }),
            "pdf" => Ok(LabelFormat::Pdf),
            other => Err(UnknownLabelFormat(other.to_owned())),
        }
    }
}

impl std::fmt::Display for LabelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabelFormat::Zpl { dpi } => write!(f, "zpl{dpi}"),
            LabelFormat::Pdf => f.write_str("pdf"),
        }
    }
}

impl serde::Serialize for LabelFormat {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl LabelFormat {
    /// How the label travels to the printer.
    #[must_use]
    pub fn payload(self) -> Payload {
        match self {
            LabelFormat::Zpl { .. } => Payload::Raw,
            LabelFormat::Pdf => Payload::Pdf(Media::A6),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn label_formats_are_the_profiles_words() {
        for word in ["zpl203", "zpl300", "pdf"] {
            let f: LabelFormat = word.parse().unwrap();
            assert_eq!(f.to_string(), word);
            assert_eq!(serde_json::to_value(f).unwrap(), word);
        }
        assert_eq!(
            "pdf".parse::<LabelFormat>().unwrap().payload(),
            Payload::Pdf(Media::A6)
        );
        assert_eq!(
            "zpl300".parse::<LabelFormat>().unwrap().payload(),
            Payload::Raw
        );
        let err = "zpl600".parse::<LabelFormat>().unwrap_err();
        assert!(err.to_string().contains("zpl600"), "{err}");
    }
}
