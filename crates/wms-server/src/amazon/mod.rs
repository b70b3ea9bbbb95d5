//! Amazon on the server: seller authorizations (secrets sealed), the order-sync worker, the
//! shipment-feedback outbox and its worker. The SP-API itself is `wms-amazon`.

pub mod authz;
pub mod feedback;
pub mod orders;
pub mod sync;

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::Notify;
use wms_amazon::{ClientOptions, Endpoints, SpApi, TlsTrust};
use wms_core::ids::TenantId;

use crate::config::AmazonSettings;

#[derive(Debug, thiserror::Error)]
pub enum AmazonSetupError {
    #[error("Amazon CA certificate: {0}")]
    CaCert(String),
    #[error(transparent)]
    Client(#[from] wms_amazon::Error),
}

/// The process-wide Amazon side: one SP-API transport (rate buckets shared by every worker), one
/// client per seller authorization (its own access-token cache), and the feedback worker's bell.
pub struct AmazonRuntime {
    api: SpApi,
    pub settings: AmazonSettings,
    clients: Mutex<HashMap<(TenantId, String), wms_amazon::Client>>,
    /// Rung after a dispatch commits, so feedback leaves at once instead of at the next poll.
    pub feedback_bell: Notify,
}

impl std::fmt::Debug for AmazonRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmazonRuntime").finish_non_exhaustive()
    }
}

impl AmazonRuntime {
    pub fn new(settings: &AmazonSettings) -> Result<Self, AmazonSetupError> {
        let tls = match &settings.ca_cert {
            None => TlsTrust::WebPki,
            Some(path) => {
                TlsTrust::Only(crate::tls::read_pem_certs(path).map_err(AmazonSetupError::CaCert)?)
            }
        };
        let options = ClientOptions {
            endpoints: Endpoints {
                lwa_token_url: settings.lwa_token_url.clone(),
                sp_api_base: settings.sp_api_base.clone(),
                marketplace_id: settings.marketplace_id.clone(),
            },
            tls,
            request_timeout: std::time::Duration::from_millis(settings.request_timeout_ms.max(100)),
            retry: wms_amazon::RetryPolicy {
                max_attempts: settings.retry_attempts.max(1),
                ..wms_amazon::RetryPolicy::default()
            },
            ..ClientOptions::default()
        };
        Ok(Self {
            api: SpApi::new(options)?,
            settings: settings.clone(),
            clients: Mutex::new(HashMap::new()),
            feedback_bell: Notify::new(),
        })
    }

    /// The client of one authorization, built on first use from its (opened) credentials.
    pub(crate) fn client(
        &self,
        tenant: TenantId,
        auth: &authz::AuthRow,
        open: impl FnOnce() -> Result<wms_amazon::Credentials, crate::error::ApiError>,
    ) -> Result<wms_amazon::Client, crate::error::ApiError> {
        let key = (tenant, auth.id.clone());
        let mut clients = self.clients.lock().map_err(|_| {
            crate::error::ApiError::internal(anyhow::anyhow!("client cache poisoned"))
        })?;
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let client = self.api.client(auth.selling_partner_id.clone(), open()?);
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// Forget a cached client (authorization revoked or its secrets replaced).
    pub(crate) fn forget(&self, tenant: TenantId, auth_id: &str) {
        if let Ok(mut clients) = self.clients.lock() {
            clients.remove(&(tenant, auth_id.to_owned()));
        }
    }

    /// Amazon's `carrierCode` for one of our carriers in a marketplace, or `None` (send `Other`).
    #[must_use]
    pub fn carrier_code(&self, marketplace: &str, carrier: &str) -> Option<String> {
        self.settings
            .carrier_codes
            .get(marketplace)
            .and_then(|m| m.get(carrier))
            .cloned()
    }
}
