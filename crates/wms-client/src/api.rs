//! The HTTP client for the server's API: https only (plain http only to a loopback address, and only
//! when explicitly allowed for tests), TLS from [`crate::tls`], timeouts, typed errors from the
//! problem+json `code`, and retries with backoff for idempotent calls only (GET, or a POST carrying
//! an `Idempotency-Key`): a retried non-idempotent call could act twice.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::tls::{self, Fingerprint};

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `https://host:port` (a path prefix is kept).
    pub base_url: String,
    /// Pin the server certificate; `None`: verify against the webpki roots.
    pub fingerprint: Option<Fingerprint>,
    /// Accept `http://` to a loopback address (tests only).
    pub allow_loopback_http: bool,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Extra attempts for idempotent calls after a transport error, 429 or 502/503/504.
    pub retries: u32,
}

impl ApiConfig {
    #[must_use]
    pub fn new(base_url: impl Into<String>, fingerprint: Option<Fingerprint>) -> Self {
        Self {
            base_url: base_url.into(),
            fingerprint,
            allow_loopback_http: false,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retries: 3,
        }
    }
}

/// What went wrong with a call. [`ApiError::code`] is stable for the UI to branch on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("server URL `{0}` is not valid")]
    BadUrl(String),
    #[error(
        "refusing `{0}`: the server must be reached over https (plain http only to loopback, when allowed for tests)"
    )]
    InsecureUrl(String),
    #[error("TLS setup failed: {0}")]
    TlsSetup(String),
    #[error(
        "{0} — refusing to talk to this server (wrong --fingerprint, or not the server you meant)"
    )]
    PinMismatch(tls::PinMismatch),
    #[error("TLS handshake with the server failed: {0}")]
    Tls(String),
    /// The server could not be reached (connection refused, DNS, timeout): the station is offline.
    #[error("server unreachable: {0}")]
    Unreachable(String),
    /// An RFC 9457 problem from the server.
    #[error("server refused ({status} {code}){}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Problem {
        status: u16,
        code: String,
        detail: Option<String>,
    },
    #[error("unexpected answer from the server ({status}): {message}")]
    Protocol { status: u16, message: String },
}

impl ApiError {
    /// A stable code: the server's problem code, or one of ours.
    #[must_use]
    pub fn code(&self) -> &str {
        match self {
            ApiError::BadUrl(_) => "bad_url",
            ApiError::InsecureUrl(_) => "insecure_url",
            ApiError::TlsSetup(_) => "tls_setup",
            ApiError::PinMismatch(_) => "certificate_pin_mismatch",
            ApiError::Tls(_) => "tls_error",
            ApiError::Unreachable(_) => "offline",
            ApiError::Problem { code, .. } => code,
            ApiError::Protocol { .. } => "protocol_error",
        }
    }

    /// The server could not be reached at all: queue work, retry later.
    #[must_use]
    pub fn is_offline(&self) -> bool {
        matches!(self, ApiError::Unreachable(_))
    }

    /// Worth another attempt later (offline, throttled, or a gateway/server hiccup).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Unreachable(_) => true,
            ApiError::Problem { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Problem { status, .. } | ApiError::Protocol { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One API call (owned, so a call can be rebuilt after a token refresh).
pub struct Call {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
    pub bearer: Option<zeroize::Zeroizing<String>>,
    pub idempotency_key: Option<String>,
    /// Never retried, even as a GET (a read the server counts, like a label print).
    pub once: bool,
}

impl Call {
    #[must_use]
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            bearer: None,
            idempotency_key: None,
            once: false,
        }
    }

    /// A POST with a JSON body (`serde_json::Value::Null` for none).
    pub fn post(path: impl Into<String>, body: impl Serialize) -> Self {
        let body = serde_json::to_value(body).ok().filter(|v| !v.is_null());
        Self {
            method: Method::POST,
            path: path.into(),
            query: Vec::new(),
            body,
            bearer: None,
            idempotency_key: None,
            once: false,
        }
    }

    /// A PUT with a JSON body.
    pub fn put(path: impl Into<String>, body: impl Serialize) -> Self {
        Self {
            method: Method::PUT,
            ..Self::post(path, body)
        }
    }

    /// A PATCH with a JSON body (a partial change).
    pub fn patch(path: impl Into<String>, body: impl Serialize) -> Self {
        Self {
            method: Method::PATCH,
            ..Self::post(path, body)
        }
    }

    #[must_use]
    pub fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_owned(), v.into()));
        self
    }

    #[must_use]
    pub fn bearer(mut self, token: &str) -> Self {
        self.bearer = Some(zeroize::Zeroizing::new(token.to_owned()));
        self
    }

    #[must_use]
    pub fn idempotency_key(mut self, key: &str) -> Self {
        self.idempotency_key = Some(key.to_owned());
        self
    }

    /// Send it once only: a retry after a lost answer could count twice on the server.
    #[must_use]
    pub fn once(mut self) -> Self {
        self.once = true;
        self
    }

    fn idempotent(&self) -> bool {
        !self.once && (self.method == Method::GET || self.idempotency_key.is_some())
    }
}

/// A successful answer as bytes, with its headers (labels and other non-JSON bodies).
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// `METHOD /path`, for messages.
    pub request: String,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// A header's value, when present and text.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        serde_json::from_slice(&self.body).map_err(|e| ApiError::Protocol {
            status: self.status,
            message: format!("{}: {e}", self.request),
        })
    }
}

#[derive(serde::Deserialize)]
struct ProblemBody {
    code: String,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Clone)]
pub struct ApiClient {
    base: Url,
    http: reqwest::Client,
    retries: u32,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base.as_str())
            .finish()
    }
}

/// https, or http to a loopback address when allowed.
pub fn check_url(url: &str, allow_loopback_http: bool) -> Result<Url, ApiError> {
    let parsed = Url::parse(url).map_err(|_| ApiError::BadUrl(url.to_owned()))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_loopback_http => {
            let host = parsed.host_str().unwrap_or_default();
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = host.eq_ignore_ascii_case("localhost")
                || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(ApiError::InsecureUrl(url.to_owned()));
            }
        }
        _ => return Err(ApiError::InsecureUrl(url.to_owned())),
    }
    if parsed.host().is_none() {
        return Err(ApiError::BadUrl(url.to_owned()));
    }
    Ok(parsed)
}

impl ApiClient {
    pub fn new(cfg: &ApiConfig) -> Result<Self, ApiError> {
        let base = check_url(&cfg.base_url, cfg.allow_loopback_http)?;
        let tls =
            tls::client_config(cfg.fingerprint).map_err(|e| ApiError::TlsSetup(e.to_string()))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(!cfg.allow_loopback_http)
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wms-station/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::TlsSetup(e.to_string()))?;
        Ok(Self {
            base,
            http,
            retries: cfg.retries,
        })
    }

    #[must_use]
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Result<Url, ApiError> {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{path}"));
        Ok(url)
    }

    /// Sends the call (retrying idempotent ones) and decodes a JSON answer.
    pub async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T, ApiError> {
        self.send(&call).await?.json()
    }

    /// Sends the call and ignores the body of a success.
    pub async fn unit(&self, call: Call) -> Result<(), ApiError> {
        self.send(&call).await.map(|_| ())
    }

    /// Sends the call and returns the body as bytes, with the headers.
    pub async fn raw(&self, call: Call) -> Result<RawResponse, ApiError> {
        self.send(&call).await
    }

    /// Whether the server answers `/healthz` (short timeout, no retry).
    pub async fn reachable(&self) -> bool {
        let Ok(url) = self.url("/healthz") else {
            return false;
        };
        matches!(
            self.http.get(url).timeout(Duration::from_secs(3)).send().await,
            Ok(r) if r.status().is_success()
        )
    }

    async fn send(&self, call: &Call) -> Result<RawResponse, ApiError> {
        let attempts = if call.idempotent() {
            self.retries + 1
        } else {
            1
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_once(call).await {
                Err(e) if attempt < attempts && e.is_transient() => {
                    // Exponential backoff with jitter: 200 ms, 400 ms, 800 ms … (±25 %).
                    let base = 200u64.saturating_mul(1 << (attempt - 1).min(6));
                    let jitter = rand::random::<u64>() % (base / 2 + 1);
                    tracing::debug!(path = %call.path, attempt, code = e.code(), "retrying");
                    tokio::time::sleep(Duration::from_millis(base * 3 / 4 + jitter)).await;
                }
                other => return other,
            }
        }
    }

    async fn send_once(&self, call: &Call) -> Result<RawResponse, ApiError> {
        let answer = self.exchange(call).await?;
        if (200..300).contains(&answer.status) {
            return Ok(answer);
        }
        Err(answer.problem())
    }

    /// Sends the call once and returns the answer whatever its status (only a transport failure is
    /// an error): for the one caller that reads more of a problem than its code (the login, whose
    /// `mfa_enrollment_required` carries an enrolment token).
    pub(crate) async fn exchange(&self, call: &Call) -> Result<RawResponse, ApiError> {
        let mut url = self.url(&call.path)?;
        if !call.query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in &call.query {
                q.append_pair(k, v);
            }
        }
        let mut rb = self.http.request(call.method.clone(), url);
        if let Some(t) = &call.bearer {
            rb = rb.bearer_auth(t.as_str());
        }
        if let Some(k) = &call.idempotency_key {
            rb = rb.header("Idempotency-Key", k.as_str());
        }
        if let Some(b) = &call.body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.map_err(transport_error)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(transport_error)?.to_vec();
        Ok(RawResponse {
            request: format!("{} {}", call.method, call.path),
            status: status.as_u16(),
            headers,
            body: bytes,
        })
    }
}

impl RawResponse {
    /// The error an unsuccessful answer stands for.
    pub(crate) fn problem(&self) -> ApiError {
        problem(
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_GATEWAY),
            &self.body,
        )
    }
}

fn problem(status: StatusCode, bytes: &[u8]) -> ApiError {
    match serde_json::from_slice::<ProblemBody>(bytes) {
        Ok(p) => ApiError::Problem {
            status: status.as_u16(),
            code: p.code,
            detail: p.detail,
        },
        Err(_) => ApiError::Problem {
            status: status.as_u16(),
            code: format!("http_{}", status.as_u16()),
            detail: None,
        },
    }
}

fn transport_error(e: reqwest::Error) -> ApiError {
    if let Some(p) = tls::find_pin_mismatch(&e) {
        return ApiError::PinMismatch(tls::PinMismatch {
            pinned: p.pinned,
            seen: p.seen,
        });
    }
    let chain = error_chain(&e);
    if chain.contains("certificate") || chain.contains("tls") || chain.contains("TLS") {
        if e.is_connect() && chain.contains("refused") {
            return ApiError::Unreachable(chain);
        }
        return ApiError::Tls(chain);
    }
    if e.is_connect() || e.is_timeout() || e.is_request() || e.is_body() {
        return ApiError::Unreachable(chain);
    }
    ApiError::Protocol {
        status: 0,
        message: chain,
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
