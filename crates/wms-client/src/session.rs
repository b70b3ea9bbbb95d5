//! The signed-in session: the refresh token lives in the secret store, the access token only in
//! memory (refreshed when it expires or the server refuses it, rotating the refresh token as the
//! server does). A refresh is never retried blindly: a lost answer would leave us holding a spent
//! token, and presenting it again revokes the whole token family on the server.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::api::{ApiClient, ApiError, Call, RawResponse};
use crate::secrets::{SecretError, SecretStore};

pub(crate) const REFRESH_TOKEN: &str = "refresh_token";

#[derive(Deserialize)]
pub(crate) struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    #[serde(default)]
    pub password_change_required: bool,
    #[serde(default)]
    pub mfa_enrollment_required: bool,
}

impl Drop for Tokens {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.access_token.zeroize();
        self.refresh_token.zeroize();
    }
}

struct Access {
    token: Zeroizing<String>,
    expires: Instant,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("not logged in (run `wms-station login`)")]
    NotLoggedIn,
    #[error("the session has ended on the server (expired or revoked): log in again")]
    Expired,
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl SessionError {
    #[must_use]
    pub fn is_offline(&self) -> bool {
        matches!(self, SessionError::Api(e) if e.is_offline())
    }
}

pub struct Session {
    api: ApiClient,
    secrets: Box<dyn SecretStore>,
    access: Mutex<Option<Access>>,
    /// One refresh at a time: concurrent calls (a sync reads order details several at once) that
    /// all find the access token expired must not each present the same refresh token — the
    /// second presentation is a replay, and the server revokes the whole family.
    renewing: tokio::sync::Mutex<()>,
}

impl Session {
    pub(crate) fn new(api: ApiClient, secrets: Box<dyn SecretStore>) -> Self {
        Self {
            api,
            secrets,
            access: Mutex::new(None),
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    #[must_use]
    pub fn api(&self) -> &ApiClient {
        &self.api
    }

    #[must_use]
    pub fn secrets(&self) -> &dyn SecretStore {
        self.secrets.as_ref()
    }

    pub(crate) fn install(&self, t: &Tokens) -> Result<(), SessionError> {
        self.secrets
            .set(REFRESH_TOKEN, t.refresh_token.as_bytes())?;
        let ttl = Duration::from_secs(u64::try_from(t.expires_in.max(0)).unwrap_or(0));
        if let Ok(mut g) = self.access.lock() {
            *g = Some(Access {
                token: Zeroizing::new(t.access_token.clone()),
                // Refresh a little early rather than have a request refused mid-flight.
                expires: Instant::now() + ttl.saturating_sub(Duration::from_secs(15)),
            });
        }
        Ok(())
    }

    pub fn has_refresh_token(&self) -> Result<bool, SessionError> {
        Ok(self.secrets.get(REFRESH_TOKEN)?.is_some())
    }

    fn cached_access(&self) -> Option<Zeroizing<String>> {
        let g = self.access.lock().ok()?;
        g.as_ref()
            .filter(|a| a.expires > Instant::now())
            .map(|a| a.token.clone())
    }

    fn forget_access(&self) {
        if let Ok(mut g) = self.access.lock() {
            *g = None;
        }
    }

    /// Rotates the refresh token for a new access token.
    pub async fn refresh(&self) -> Result<Zeroizing<String>, SessionError> {
        let _turn = self.renewing.lock().await;
        self.rotate().await
    }

    /// A new access token unless another call renewed it while this one waited its turn:
    /// `stale` is the token the server refused (`None`: there was none).
    async fn renew(&self, stale: Option<&str>) -> Result<Zeroizing<String>, SessionError> {
        let _turn = self.renewing.lock().await;
        if let Some(t) = self.cached_access()
            && stale != Some(t.as_str())
        {
            return Ok(t);
        }
        self.rotate().await
    }

    /// Presents the refresh token once; only under `renewing`.
    async fn rotate(&self) -> Result<Zeroizing<String>, SessionError> {
        let rt = self
            .secrets
            .get(REFRESH_TOKEN)?
            .ok_or(SessionError::NotLoggedIn)?;
        let rt = Zeroizing::new(String::from_utf8_lossy(&rt).into_owned());
        let call = Call::post(
            "/api/v1/auth/refresh",
            serde_json::json!({ "refresh_token": rt.as_str() }),
        );
        match self.api.json::<Tokens>(call).await {
            Ok(t) => {
                self.install(&t)?;
                Ok(Zeroizing::new(t.access_token.clone()))
            }
            Err(ApiError::Problem { status: 401, .. }) => {
                self.forget_access();
                Err(SessionError::Expired)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn access_token(&self) -> Result<Zeroizing<String>, SessionError> {
        match self.cached_access() {
            Some(t) => Ok(t),
            None => self.renew(None).await,
        }
    }

    /// An authenticated call; a 401 triggers one refresh and one more attempt.
    pub async fn json<T, F>(&self, make: F) -> Result<T, SessionError>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&str) -> Call,
    {
        Ok(self.raw(make).await?.json()?)
    }

    /// As [`Session::json`], for an answer that is not JSON (a label): the bytes and headers.
    pub async fn raw<F>(&self, make: F) -> Result<RawResponse, SessionError>
    where
        F: Fn(&str) -> Call,
    {
        let token = self.access_token().await?;
        match self.api.raw(make(&token)).await {
            // Refused before anything happened on the server: safe to send once more.
            Err(ApiError::Problem { status: 401, .. }) => {
                let token = self.renew(Some(token.as_str())).await?;
                Ok(self.api.raw(make(&token)).await?)
            }
            other => Ok(other?),
        }
    }

    /// Revokes this session on the server. The caller wipes the local secrets either way.
    pub async fn logout(&self) -> Result<(), SessionError> {
        let token = self.access_token().await?;
        let r = self
            .api
            .unit(Call::post("/api/v1/auth/logout", serde_json::Value::Null).bearer(&token))
            .await;
        self.forget_access();
        match r {
            Ok(()) | Err(ApiError::Problem { status: 401, .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
