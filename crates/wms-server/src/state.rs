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
    draining: AtomicBool,
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
            draining: AtomicBool::new(false),
        }))
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
