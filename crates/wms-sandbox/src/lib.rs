//! A faithful local stand-in for Amazon SP-API + Login with Amazon, built from Amazon's own
//! models (`models/`, see NOTICE) rather than from the project's client types, plus a raw TCP
//! label printer. Used by tests (in-process, [`Sandbox::start`]) and by the demo (the
//! `wms-sandbox serve` binary).
//!
//! - `/amazon/...`: searchOrders and getOrder (v2026-01-01), confirmShipment (v0), and
//!   `/amazon/auth/o2/token` (LWA refresh-token grant). Every static `x-amzn-api-sandbox`
//!   example of those operations is answered exactly.
//! - `/yamato/...` and `/sagawa/...`: carrier stand-ins (booking with idempotency keys, void,
//!   tracking milestones on a test clock), on the project's own HTTP+JSON shapes (see
//!   [`carriers`]).
//! - `/_sandbox/...`: test control (sellers, orders, confirmations log, usage plans, faults,
//!   printer jobs, carriers, reset). The same operations are methods of [`Control`].
//! - State persists in `DIR/state.json`; the TLS certificate in `DIR/tls/`; print jobs in
//!   `DIR/printer/`.

pub mod amazon;
pub mod carriers;
pub mod control;
pub mod error;
pub mod faults;
pub mod generate;
pub mod http;
pub mod models;
pub mod orders;
pub mod printer;
pub mod rate;
pub mod state;
pub mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rustls::pki_types::CertificateDer;
use serde::Serialize;

pub use carriers::{
    CarrierBooking, CarrierCall, CarrierCustomerRegistration, CarrierCustomerView, CarrierKind,
    CarrierOperation, ClockChange, MilestoneTimes,
};
pub use control::{Control, SellerRegistration, SettingsPatch};
pub use error::SandboxError;
pub use faults::{Fault, FaultKind, FaultOperation};
pub use generate::{GenerateOrders, SkuDetail, SkuSpec};
pub use models::{Operation, RatePlan};
pub use state::{ConfirmationRecord, PrintJob, SellerView, Settings};

/// How to start the sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// HTTPS listener (port 0: ephemeral).
    pub listen: SocketAddr,
    /// Raw TCP printer listener; `None`: an ephemeral port on the HTTPS listener's IP.
    pub printer_listen: Option<SocketAddr>,
    pub data_dir: PathBuf,
    /// Used for a fresh data directory and by reset; a persisted state keeps its own.
    pub settings: Settings,
}

impl SandboxConfig {
    /// Loopback, ephemeral ports, Amazon's defaults (1 h tokens, 2 min search lag).
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            printer_listen: None,
            data_dir: data_dir.into(),
            settings: Settings::default(),
        }
    }
}

/// Where everything is; serialised as the first stdout line of `wms-sandbox serve`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Urls {
    /// SP-API base (`…/amazon`): append `/orders/2026-01-01/orders` etc.
    pub amazon: String,
    pub lwa_token_url: String,
    pub control: String,
    /// `tcp://IP:PORT`
    pub printer: String,
    /// Yamato stand-in base (`…/yamato`): append `/v1/shipments` etc.
    pub yamato: String,
    /// Sagawa stand-in base (`…/sagawa`): append `/v1/consignments` etc.
    pub sagawa: String,
    /// PEM file of the self-signed certificate (trust only this).
    pub ca_cert: PathBuf,
    /// Lower-case hex SHA-256 of the certificate (DER).
    pub cert_sha256: String,
}

pub struct Sandbox;

impl Sandbox {
    /// Binds both listeners, loads (or creates) the state and the certificate, and serves.
    pub async fn start(config: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
        let ctl = Arc::new(Control::open(&config.data_dir, config.settings)?);
        let tls = tls::load_or_generate(&config.data_dir)?;
        let listener =
            std::net::TcpListener::bind(config.listen).map_err(|source| SandboxError::Bind {
                addr: config.listen.to_string(),
                source,
            })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| SandboxError::Bind {
                addr: config.listen.to_string(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: config.listen.to_string(),
            source,
        })?;
        let printer_addr = config
            .printer_listen
            .unwrap_or_else(|| SocketAddr::new(config.listen.ip(), 0));
        let printer_listener =
            tokio::net::TcpListener::bind(printer_addr)
                .await
                .map_err(|source| SandboxError::Bind {
                    addr: printer_addr.to_string(),
                    source,
                })?;
        let printer_addr = printer_listener
            .local_addr()
            .map_err(|source| SandboxError::Bind {
                addr: printer_addr.to_string(),
                source,
            })?;

        let app = Router::new()
            .nest("/amazon", amazon::router(ctl.clone()))
            .nest(
                "/yamato",
                carriers::router(ctl.clone(), carriers::CarrierKind::Yamato),
            )
            .nest(
                "/sagawa",
                carriers::router(ctl.clone(), carriers::CarrierKind::Sagawa),
            )
            .nest("/_sandbox", http::router(ctl.clone()));
        let rustls = axum_server::tls_rustls::RustlsConfig::from_config(tls::server_config(&tls)?);
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(listener, rustls).handle(handle.clone());
        let http_task = tokio::spawn(async move { server.serve(app.into_make_service()).await });
        let printer_task = tokio::spawn(printer::serve(ctl.clone(), printer_listener));

        let host = advertised(addr);
        let urls = Urls {
            amazon: format!("https://{host}/amazon"),
            lwa_token_url: format!("https://{host}/amazon/auth/o2/token"),
            control: format!("https://{host}/_sandbox"),
            printer: format!("tcp://{}", advertised(printer_addr)),
            yamato: format!("https://{host}/yamato"),
            sagawa: format!("https://{host}/sagawa"),
            ca_cert: tls.cert_path.clone(),
            cert_sha256: tls.sha256.clone(),
        };
        tracing::info!(amazon = %urls.amazon, printer = %urls.printer, "sandbox listening");
        Ok(RunningSandbox {
            urls,
            addr,
            printer_addr,
            cert_pem: tls.cert_pem,
            cert_der: tls.cert_der,
            control: ctl,
            handle,
            http_task,
            printer_task,
        })
    }
}

/// A wildcard bind is reached over loopback.
fn advertised(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// A started sandbox. Dropping it leaves the tasks running until the runtime ends; call
/// [`RunningSandbox::shutdown`] to stop it (e.g. before a restart on the same data directory).
pub struct RunningSandbox {
    urls: Urls,
    addr: SocketAddr,
    printer_addr: SocketAddr,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
    control: Arc<Control>,
    handle: axum_server::Handle,
    http_task: tokio::task::JoinHandle<std::io::Result<()>>,
    printer_task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RunningSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSandbox")
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

impl RunningSandbox {
    pub fn urls(&self) -> &Urls {
        &self.urls
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn printer_addr(&self) -> SocketAddr {
        self.printer_addr
    }

    /// The self-signed certificate, PEM.
    pub fn ca_cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The self-signed certificate, DER (e.g. for `TlsTrust::Only`).
    pub fn ca_cert_der(&self) -> CertificateDer<'static> {
        self.cert_der.clone()
    }

    /// In-process control: the same operations as the `/_sandbox/` endpoints.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Stops both listeners and drops open connections (held-back responses never arrive).
    pub async fn shutdown(self) {
        self.handle
            .graceful_shutdown(Some(Duration::from_millis(200)));
        self.printer_task.abort();
        let _ = self.printer_task.await;
        match tokio::time::timeout(Duration::from_secs(2), self.http_task).await {
            Ok(_) => {}
            Err(_) => self.handle.shutdown(),
        }
    }
}
