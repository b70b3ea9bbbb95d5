//! Application state, passed explicitly to every handler (no globals).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::amazon::AmazonRuntime;
use crate::auth::hashing::PasswordHasher;
use crate::config::Settings;
use crate::db::Db;
use crate::keys::KeyStore;
use crate::metrics::Metrics;
use crate::ratelimit::IpLimiter;

pub struct Inner {
    pub settings: Settings,
    pub db: Db,
    pub keys: KeyStore,
    pub hasher: PasswordHasher,
    pub auth_limiter: IpLimiter,
    pub metrics: Metrics,
    pub amazon: AmazonRuntime,
    /// Which certificates carrier endpoints may present.
    pub carrier_trust: wms_carriers::TlsTrust,
    draining: AtomicBool,
    font: std::sync::OnceLock<Arc<wms_core::label::Font>>,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        settings: Settings,
        db: Db,
        keys: KeyStore,
        hasher: PasswordHasher,
        amazon: AmazonRuntime,
        carrier_trust: wms_carriers::TlsTrust,
    ) -> Self {
        let auth_limiter = IpLimiter::per_minute(settings.auth_rate_per_minute);
        Self(Arc::new(Inner {
            settings,
            db,
            keys,
            hasher,
            auth_limiter,
            metrics: Metrics::new(),
            amazon,
            carrier_trust,
            draining: AtomicBool::new(false),
            font: std::sync::OnceLock::new(),
        }))
    }

    /// The Japanese label font (IPAGothic by default, `WMS_LABEL_FONT` to choose), loaded once.
    pub fn label_font(&self) -> anyhow::Result<Arc<wms_core::label::Font>> {
        if let Some(f) = self.0.font.get() {
            return Ok(f.clone());
        }
        let path = std::env::var("WMS_LABEL_FONT")
            .unwrap_or_else(|_| crate::label_cli::DEFAULT_FONT.to_owned());
        let bytes = std::fs::read(&path).map_err(|e| {
            anyhow::anyhow!("reading the label font {path} (install fonts-ipafont-gothic): {e}")
        })?;
        let font = Arc::new(wms_core::label::Font::from_bytes(bytes)?);
        Ok(self.0.font.get_or_init(|| font).clone())
    }

    /// Set at shutdown: `/readyz` turns unready so load balancers stop sending work.
    pub fn set_draining(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
    }

    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }
}
