//! Login with Amazon: the refresh-token grant and a per-authorization access-token cache.

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::secret::Secret;

/// One seller authorization's LWA credentials. Not `Clone`, not `Serialize`; `Debug` redacts.
#[derive(Debug)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: Secret,
    pub refresh_token: Secret,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// LWA refused the refresh token (`invalid_grant`): the seller withdrew the authorization or
    /// the token was rotated. Stop calling for this authorization until an admin re-authorizes.
    #[error("the seller authorization was revoked (LWA invalid_grant)")]
    AuthorizationRevoked,
    /// LWA answered with another error (e.g. `invalid_client`: our app credentials are wrong).
    #[error("LWA refused the token request: HTTP {status}, error {error:?}")]
    Refused { status: u16, error: Option<String> },
    #[error("LWA unreachable: {0}")]
    Transport(String),
    #[error("LWA answered an undecodable token response")]
    Decode,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct TokenErrorResponse {
    error: Option<String>,
}

struct Cached {
    token: Secret,
    expires_at: Instant,
}

#[derive(Default)]
struct State {
    cached: Option<Cached>,
    revoked: bool,
}

/// Access tokens for one seller authorization.
///
/// The tokio mutex is held across the refresh on purpose: callers arriving while a refresh is in
/// flight wait for it and then reuse its token, so N concurrent callers cause one LWA call.
pub struct TokenCache {
    credentials: Credentials,
    token_url: Url,
    http: reqwest::Client,
    margin: Duration,
    state: Mutex<State>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("client_id", &self.credentials.client_id)
            .field("token_url", &self.token_url.as_str())
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    pub fn new(
        credentials: Credentials,
        token_url: Url,
        http: reqwest::Client,
        margin: Duration,
    ) -> Self {
        Self {
            credentials,
            token_url,
            http,
            margin,
            state: Mutex::new(State::default()),
        }
    }

    /// A valid access token, refreshing when it expires within the margin.
    pub async fn access_token(&self) -> Result<Secret, AuthError> {
        let mut state = self.state.lock().await;
        if state.revoked {
            return Err(AuthError::AuthorizationRevoked);
        }
        if let Some(c) = &state.cached
            && Instant::now() + self.margin < c.expires_at
        {
            return Ok(Secret::new(c.token.expose_secret()));
        }
        match self.refresh().await {
            Ok(cached) => {
                let token = Secret::new(cached.token.expose_secret());
                state.cached = Some(cached);
                Ok(token)
            }
            Err(AuthError::AuthorizationRevoked) => {
                state.cached = None;
                state.revoked = true;
                Err(AuthError::AuthorizationRevoked)
            }
            Err(e) => Err(e),
        }
    }

    /// Forgets the cached token (e.g. after the SP-API rejected it as expired).
    pub async fn invalidate(&self) {
        self.state.lock().await.cached = None;
    }

    #[tracing::instrument(skip_all, name = "lwa_refresh")]
    async fn refresh(&self) -> Result<Cached, AuthError> {
        let body = zeroize::Zeroizing::new(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "refresh_token")
                .append_pair(
                    "refresh_token",
                    self.credentials.refresh_token.expose_secret(),
                )
                .append_pair("client_id", &self.credentials.client_id)
                .append_pair(
                    "client_secret",
                    self.credentials.client_secret.expose_secret(),
                )
                .finish(),
        );
        let started = Instant::now();
        let resp = self
            .http
            .post(self.token_url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .body(body.as_bytes().to_vec())
            .send()
            .await
            .map_err(|e| AuthError::Transport(e.without_url().to_string()))?;
        let status = resp.status();
        let bytes = zeroize::Zeroizing::new(
            resp.bytes()
                .await
                .map_err(|e| AuthError::Transport(e.without_url().to_string()))?
                .to_vec(),
        );
        if !status.is_success() {
            let error = serde_json::from_slice::<TokenErrorResponse>(&bytes)
                .ok()
                .and_then(|e| e.error);
            tracing::warn!(
                status = status.as_u16(),
                error = error.as_deref(),
                "LWA refused the refresh"
            );
            if status.as_u16() == 400 && error.as_deref() == Some("invalid_grant") {
                return Err(AuthError::AuthorizationRevoked);
            }
            return Err(AuthError::Refused {
                status: status.as_u16(),
                error,
            });
        }
        let parsed: TokenResponse =
            serde_json::from_slice(&bytes).map_err(|_| AuthError::Decode)?;
        tracing::debug!(expires_in = parsed.expires_in, "LWA access token refreshed");
        Ok(Cached {
            token: Secret::new(parsed.access_token),
            expires_at: started + Duration::from_secs(parsed.expires_in),
        })
    }
}
