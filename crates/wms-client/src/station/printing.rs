//! Printing at the station: carrier labels (booked on the server, else rendered from the cache).

use serde::Serialize;

use super::{Station, StationError};
use crate::api::{ApiError, Call};
use crate::label::{self, LabelBuildError, StationProfile};
use crate::model::Order;
use crate::print::{self, PrinterTarget};
use crate::session::SessionError;

/// Where the printed label came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelSource {
    /// The label booked with the carrier, from the server (`GET …/packages/{seq}/label`): every
    /// print is counted there and every reprint audited.
    Server,
    /// Rendered here from the cache: the package has a carrier and tracking number but no label
    /// booked on the server (a number entered by hand), so there is nothing to fetch.
    LocalFallback,
}

#[derive(Debug, Clone, Serialize)]
pub struct PrintOutcome {
    pub order_id: String,
    pub package_seq: i64,
    pub printer: String,
    pub bytes: usize,
    pub sha256: String,
    pub source: LabelSource,
    /// How many times the server has handed out this label for printing, this one included
    /// (`x-label-prints`; more than 1 is an audited reprint). `None` for a local rendering.
    pub prints: Option<i64>,
}

/// The package a label is for: `package_seq` if the order has it, else the first package with a
/// carrier and tracking number.
fn label_package(order: &Order, package_seq: Option<i64>) -> Option<i64> {
    match package_seq {
        Some(seq) => order.packages.iter().any(|p| p.seq == seq).then_some(seq),
        None => order
            .packages
            .iter()
            .find(|p| p.carrier.is_some() && p.tracking_number.is_some())
            .map(|p| p.seq),
    }
}

impl Station {
    /// The ZPL of an order's label (the first package with a carrier and tracking number, or
    /// `package_seq`), rendered from the cache with wms-core's renderer.
    pub async fn render_label(
        &self,
        order_id: &str,
        package_seq: Option<i64>,
    ) -> Result<(i64, Vec<u8>), StationError> {
        let order = self.order(order_id).await?;
        let recipient = self.recipient(&order).await?;
        let profile = StationProfile::load(&self.data_dir)?;
        let sender_name = format!(
            "{} {}",
            self.config.tenant,
            self.warehouse_name(&order.warehouse).await
        );
        let model = label::build(
            &order,
            package_seq,
            &recipient,
            &sender_name,
            &profile,
            time::OffsetDateTime::now_utc(),
        )?;
        let zpl = label::render_zpl(&model.model, &self.options.label_font, profile.dpi)?;
        Ok((model.package_seq, zpl))
    }

    /// The label booked on the server for a package, as the printer takes it (ZPL at `dpi`),
    /// with the server's print count (this one included); `None` when the package has no booked
    /// label. Every call is a print on the server — counted, and audited as a reprint after the
    /// first — so it is sent once, never retried.
    pub async fn server_label(
        &self,
        order_id: &str,
        package_seq: i64,
        dpi: u32,
        reprint_reason: Option<&str>,
    ) -> Result<Option<(Vec<u8>, i64)>, StationError> {
        let path = format!("/api/v1/orders/{order_id}/packages/{package_seq}/label");
        let r = self
            .session
            .raw(|t| {
                let call = Call::get(path.as_str())
                    .query("format", "zpl")
                    .query("dpi", dpi.to_string());
                let call = match reprint_reason {
                    Some(r) => call.query("reason", r),
                    None => call,
                };
                call.bearer(t).once()
            })
            .await;
        match r {
            Ok(r) => {
                let prints = r
                    .header("x-label-prints")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                Ok(Some((r.body, prints)))
            }
            Err(SessionError::Api(ApiError::Problem { code, .. }))
                if code == "label_not_booked" =>
            {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The label dpi: the station profile's, or 203 without a profile.
    fn label_dpi(&self) -> Result<u32, StationError> {
        if let Some(dpi) = self.options.label_dpi {
            return Ok(dpi);
        }
        match StationProfile::load(&self.data_dir) {
            Ok(p) => Ok(p.dpi),
            Err(LabelBuildError::NoProfile(_)) => Ok(203),
            Err(e) => Err(e.into()),
        }
    }

    /// Prints a package's label, once; never resent automatically (a reprint is another call).
    ///
    /// A label booked on the server is fetched from it and sent to the printer unchanged: the
    /// server counts the print and audits every reprint, and no recipient data is read here. Only
    /// a package with a carrier and tracking number but no booked label is rendered locally from
    /// the cache ([`LabelSource::LocalFallback`]).
    pub async fn print_label(
        &self,
        order_id: &str,
        package_seq: Option<i64>,
        printer: &PrinterTarget,
    ) -> Result<PrintOutcome, StationError> {
        self.print_label_because(order_id, package_seq, printer, None)
            .await
    }

    /// As [`Station::print_label`], with the packer's reason for a reprint (recorded in the
    /// server's reprint audit event).
    pub async fn print_label_because(
        &self,
        order_id: &str,
        package_seq: Option<i64>,
        printer: &PrinterTarget,
        reprint_reason: Option<&str>,
    ) -> Result<PrintOutcome, StationError> {
        let mut order = self.order(order_id).await?;
        let seq = match label_package(&order, package_seq) {
            Some(seq) => seq,
            None => {
                // The cached order may predate the package or its booking.
                match self.fetch_order(order_id).await {
                    Ok(o) => order = o,
                    Err(e) if e.is_offline() => {}
                    Err(e) => return Err(e),
                }
                label_package(&order, package_seq).ok_or_else(|| match package_seq {
                    Some(seq) => LabelBuildError::NoSuchPackage {
                        order: order.id.clone(),
                        seq,
                    },
                    None => LabelBuildError::NoTrackedPackage(order.id.clone()),
                })?
            }
        };
        let dpi = self.label_dpi()?;
        // A printer that is not there fails here, before the server counts a print.
        print::probe(printer).await?;
        let (bytes, source, prints) =
            match self.server_label(order_id, seq, dpi, reprint_reason).await {
                Ok(Some((zpl, prints))) => (zpl, LabelSource::Server, Some(prints)),
                Ok(None) => {
                    let (_, zpl) = self.render_label(order_id, Some(seq)).await?;
                    (zpl, LabelSource::LocalFallback, None)
                }
                Err(e) if e.is_offline() => {
                    return Err(StationError::LabelUnavailableOffline {
                        order: order_id.to_owned(),
                        package: seq,
                    });
                }
                Err(e) => return Err(e),
            };
        print::send_raw(printer, &bytes).await?;
        tracing::info!(order = order_id, package = seq, printer = %printer, bytes = bytes.len(), ?source, ?prints, "label printed");
        Ok(PrintOutcome {
            order_id: order_id.to_owned(),
            package_seq: seq,
            printer: printer.to_string(),
            bytes: bytes.len(),
            sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
            source,
            prints,
        })
    }
}
