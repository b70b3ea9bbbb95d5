//! Jilian WMS central server.
//!
//! The binary only parses arguments; everything else is here so that tests can start the real
//! server on an ephemeral port ([`launch`]) and drive it with a real TLS client.

pub mod accounts;
pub mod admin_ops;
pub mod amazon;
pub mod audit;
pub mod auth;
pub mod carriers;
pub mod config;
pub mod data_requests;
pub mod db;
pub mod demo;
pub mod devices;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod keys;
pub mod label_cli;
pub mod listing;
pub mod metrics;
pub mod ratelimit;
pub mod releases;
pub mod retention;
pub mod state;
pub mod time;
pub mod tls;
pub mod warehouse;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

pub use config::Settings;
pub use state::AppState;

/// Everything `serve` needs, assembled from settings: database (migrated), keys, hasher.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    let db = db::Db::open(&settings).await?;
    let master = keys::MasterKeys::load(&settings)?;
    let hasher = auth::hashing::PasswordHasher::new(settings.argon2)?;
    let amazon = amazon::AmazonRuntime::new(&settings.amazon)?;
    let carrier_trust = match &settings.carriers.ca_cert {
        None => wms_carriers::TlsTrust::WebPki,
        Some(path) => wms_carriers::TlsTrust::Only(
            tls::read_pem_certs(path)
                .map_err(|e| anyhow::anyhow!("carrier CA certificate: {e}"))?,
        ),
    };
    Ok(AppState::new(
        settings,
        db,
        keys::KeyStore::new(master),
        hasher,
        amazon,
        carrier_trust,
    ))
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub fingerprint: String,
    handle: axum_server::Handle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    housekeeping: tokio::task::JoinHandle<()>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stop accepting, let in-flight requests finish (up to `grace`), then return.
    pub async fn shutdown(self, grace: Duration) -> anyhow::Result<()> {
        self.handle.graceful_shutdown(Some(grace));
        self.housekeeping.abort();
        for w in &self.workers {
            w.abort();
        }
        self.task.await??;
        Ok(())
    }

    /// Stop at once, dropping connections (to simulate a crash in tests).
    pub fn abort(self) {
        self.handle.shutdown();
        self.housekeeping.abort();
        for w in &self.workers {
            w.abort();
        }
        self.task.abort();
    }
}

/// Serve the API over TLS on an already-bound listener (tests bind `127.0.0.1:0`).
pub async fn launch(
    state: AppState,
    listener: std::net::TcpListener,
    tls: &tls::TlsMaterial,
) -> anyhow::Result<Running> {
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls::server_config(tls)?);
    let handle = axum_server::Handle::new();
    let app = http::router(state.clone());
    // Housekeeping for the per-IP limiter; ends with the server's runtime.
    // The Amazon workers (order sync, shipment feedback) live as long as the server.
    let mut workers = Vec::new();
    if state.settings.amazon.workers {
        workers.push(tokio::spawn(amazon::feedback::run(state.clone())));
        workers.push(tokio::spawn(amazon::sync::run(state.clone())));
    }
    if state.settings.carriers.poller {
        workers.push(tokio::spawn(carriers::run_poller(state.clone())));
    }
    if state.settings.retention_interval_secs > 0 {
        workers.push(tokio::spawn(run_retention(state.clone())));
    }
    let limiter_state = state;
    let housekeeping = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter_state.auth_limiter.prune();
        }
    });
    let server = axum_server::from_tcp_rustls(listener, config).handle(handle.clone());
    let task = tokio::spawn(async move {
        server
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await
    });
    Ok(Running {
        addr,
        fingerprint: tls.fingerprint.clone(),
        handle,
        task,
        housekeeping,
        workers,
    })
}

/// Retention as housekeeping: once at start, then every `retention_interval_secs`.
async fn run_retention(state: AppState) {
    let mut tick =
        tokio::time::interval(Duration::from_secs(state.settings.retention_interval_secs));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for (tenant, r) in retention::run_all(&state, time::now_ms(), "system").await {
            if r.orders_deleted > 0 || r.audit_events_removed > 0 {
                tracing::info!(%tenant, orders_deleted = r.orders_deleted, audit_events_removed = r.audit_events_removed, "retention run");
            }
        }
    }
}

/// `wms-server serve`: bind, serve until `shutdown` resolves, then drain gracefully.
pub async fn serve(settings: Settings, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let tls = tls::load_or_generate(&settings)?;
    if tls.generated {
        tracing::warn!(cert = %tls.cert_path.display(), "generated a self-signed TLS certificate (configure WMS_TLS_CERT/WMS_TLS_KEY in production)");
    }
    let listen = settings.listen;
    let backend = if settings.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let state = build_state(settings).await?;
    let listener = std::net::TcpListener::bind(listen)?;
    let running = launch(state.clone(), listener, &tls).await?;
    tracing::info!(address = %format!("https://{}", running.addr), fingerprint = %running.fingerprint, backend, "listening");
    shutdown.await;
    tracing::info!("shutting down: draining in-flight requests");
    state.set_draining();
    running.shutdown(Duration::from_secs(20)).await?;
    state.db.close().await;
    Ok(())
}
