//! Printing at the station, without a dialog: carrier labels (booked on the server, else rendered
//! from the cache) as ZPL or as an A6 PDF, and packing slips (納品書, an A4 PDF the server makes).
//!
//! Every print goes the same way: the printer is checked first (a TCP printer answers, a CUPS queue
//! exists, a PDF has a spooler queue), so that nothing is fetched — and counted or audited on the
//! server — for a printer that cannot take it; then the document is fetched once, never retried;
//! then it is sent once ([`print::send`]).

use serde::Serialize;

use super::{Station, StationError};
use crate::api::{ApiError, Call};
use crate::label::{self, LabelBuildError, LabelFormat, StationProfile};
use crate::model::Order;
use crate::print::{self, Media, Payload, PrinterTarget};
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
    /// What was sent: `zpl203`, `zpl300` or `pdf`.
    pub format: LabelFormat,
    /// How many times the server has handed out this label for printing, this one included
    /// (`x-label-prints`; more than 1 is an audited reprint). `None` for a local rendering.
    pub prints: Option<i64>,
}

/// A packing slip sent to a printer.
#[derive(Debug, Clone, Serialize)]
pub struct SlipOutcome {
    pub order_id: String,
    pub printer: String,
    pub bytes: usize,
    pub sha256: String,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))
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
    /// `package_seq`), rendered from the cache with wms-core's renderer at the station profile's
    /// resolution.
    pub async fn render_label(
        &self,
        order_id: &str,
        package_seq: Option<i64>,
    ) -> Result<(i64, Vec<u8>), StationError> {
        self.render_label_as(order_id, package_seq, None).await
    }

    /// As [`Station::render_label`], in `format` (`None`: ZPL at the station profile's dpi).
    pub async fn render_label_as(
        &self,
        order_id: &str,
        package_seq: Option<i64>,
        format: Option<LabelFormat>,
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
        let format = format.unwrap_or(LabelFormat::Zpl { dpi: profile.dpi });
        let bytes = label::render(&model.model, &self.options.label_font, format)?;
        Ok((model.package_seq, bytes))
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
        self.server_label_as(
            order_id,
            package_seq,
            LabelFormat::Zpl { dpi },
            reprint_reason,
        )
        .await
    }

    /// As [`Station::server_label`], in `format` (`format=pdf`: one label on an A6 page).
    pub async fn server_label_as(
        &self,
        order_id: &str,
        package_seq: i64,
        format: LabelFormat,
        reprint_reason: Option<&str>,
    ) -> Result<Option<(Vec<u8>, i64)>, StationError> {
        let path = format!("/api/v1/orders/{order_id}/packages/{package_seq}/label");
        let r = self
            .session
            .raw(|t| {
                let call = match format {
                    LabelFormat::Zpl { dpi } => Call::get(path.as_str())
                        .query("format", "zpl")
                        .query("dpi", dpi.to_string()),
                    LabelFormat::Pdf => Call::get(path.as_str()).query("format", "pdf"),
                };
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

    /// The format this station prints labels in: PDF when the device's printer profile (set by an
    /// admin on the server, as this station last read it) says `pdf`; otherwise ZPL at the
    /// resolution chosen at this station ([`super::StationOptions::label_dpi`]), else the station
    /// profile's, else 203 dpi.
    pub async fn label_format(&self) -> Result<LabelFormat, StationError> {
        let profile_says_pdf = self
            .device_info()
            .await?
            .and_then(|d| d.printer_profile)
            .is_some_and(|p| matches!(p.label_format.parse(), Ok(LabelFormat::Pdf)));
        if profile_says_pdf {
            return Ok(LabelFormat::Pdf);
        }
        Ok(LabelFormat::Zpl {
            dpi: self.label_dpi()?,
        })
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
    /// server's reprint audit event), in this station's [`Station::label_format`].
    pub async fn print_label_because(
        &self,
        order_id: &str,
        package_seq: Option<i64>,
        printer: &PrinterTarget,
        reprint_reason: Option<&str>,
    ) -> Result<PrintOutcome, StationError> {
        let format = self.label_format().await?;
        self.print_label_as(order_id, package_seq, printer, format, reprint_reason)
            .await
    }

    /// As [`Station::print_label_because`], in `format`. A PDF label (`format=pdf` from the
    /// server, one label on an A6 page) goes to a spooler queue as `application/pdf`; a `tcp://`
    /// printer is refused it before anything is fetched (`pdf_needs_spooler`).
    pub async fn print_label_as(
        &self,
        order_id: &str,
        package_seq: Option<i64>,
        printer: &PrinterTarget,
        format: LabelFormat,
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
        // A printer that is not there fails here, before the server counts a print.
        let cups_server = self.options.cups_server.as_deref();
        print::probe_for(printer, format.payload(), cups_server).await?;
        let (bytes, source, prints) = match self
            .server_label_as(order_id, seq, format, reprint_reason)
            .await
        {
            Ok(Some((bytes, prints))) => (bytes, LabelSource::Server, Some(prints)),
            Ok(None) => {
                let (_, bytes) = self
                    .render_label_as(order_id, Some(seq), Some(format))
                    .await?;
                (bytes, LabelSource::LocalFallback, None)
            }
            Err(e) if e.is_offline() => {
                return Err(StationError::LabelUnavailableOffline {
                    order: order_id.to_owned(),
                    package: seq,
                });
            }
            Err(e) => return Err(e),
        };
        let title = format!("label {order_id} package {seq}");
        print::send(printer, format.payload(), &bytes, Some(&title), cups_server).await?;
        tracing::info!(order = order_id, package = seq, printer = %printer, %format, bytes = bytes.len(), ?source, ?prints, "label printed");
        Ok(PrintOutcome {
            order_id: order_id.to_owned(),
            package_seq: seq,
            printer: printer.to_string(),
            bytes: bytes.len(),
            sha256: sha256_hex(&bytes),
            source,
            format,
            prints,
        })
    }

    /// The packing slip (納品書) of an order as the server makes it: an A4 PDF with the lines
    /// (no prices), the recipient and the shipper. Every call is an audited use of the recipient's
    /// personal data on the server, so it is asked once, never retried; the slip is not kept here.
    pub async fn packing_slip(&self, order_id: &str) -> Result<Vec<u8>, StationError> {
        let path = format!("/api/v1/orders/{order_id}/packing-slip");
        match self
            .session
            .raw(|t| Call::get(path.as_str()).bearer(t).once())
            .await
        {
            Ok(r) => Ok(r.body),
            Err(e) if e.is_offline() => {
                Err(StationError::SlipUnavailableOffline(order_id.to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The document printer of this device's printer profile, as the server holds it now (read
    /// again first; the last one read when the server is unreachable).
    pub async fn document_printer(&self) -> Result<PrinterTarget, StationError> {
        self.device_gate().await?;
        let target = self
            .device_info()
            .await?
            .and_then(|d| d.printer_profile)
            .and_then(|p| p.document_printer)
            .ok_or(StationError::PrinterNotConfigured("document"))?;
        Ok(target.parse()?)
    }

    /// Prints an order's packing slip on A4 through the spooler, once, without a dialog: to
    /// `printer`, or to the device profile's document printer. The queue is checked before the
    /// slip is asked for (a missing queue costs no audited read of the recipient), the slip is
    /// checked to be a PDF before it reaches the spooler, and it is never resent by itself.
    pub async fn print_packing_slip(
        &self,
        order_id: &str,
        printer: Option<&PrinterTarget>,
    ) -> Result<SlipOutcome, StationError> {
        let printer = match printer {
            Some(p) => p.clone(),
            None => self.document_printer().await?,
        };
        let payload = Payload::Pdf(Media::A4);
        let cups_server = self.options.cups_server.as_deref();
        print::probe_for(&printer, payload, cups_server).await?;
        let pdf = self.packing_slip(order_id).await?;
        let title = format!("packing slip {order_id}");
        print::send(&printer, payload, &pdf, Some(&title), cups_server).await?;
        tracing::info!(order = order_id, printer = %printer, bytes = pdf.len(), "packing slip printed");
        Ok(SlipOutcome {
            order_id: order_id.to_owned(),
            printer: printer.to_string(),
            bytes: pdf.len(),
            sha256: sha256_hex(&pdf),
        })
    }
}
