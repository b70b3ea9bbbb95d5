//! The SP-API client: token-bucketed, retrying, logging `x-amzn-RequestId` and nothing secret.

use std::sync::Arc;

use reqwest::header::HeaderValue;
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use crate::config::{ClientOptions, RetryPolicy};
use crate::error::{ApiError, Error, TransportKind, is_retryable_status};
use crate::lwa::{AuthError, Credentials, TokenCache};
use crate::model::ErrorList;
use crate::model::orders_v0::ConfirmShipmentRequest;
use crate::model::orders_v2026::{
    GetOrderResponse, IncludedData, Order, SearchOrdersQuery, SearchOrdersResponse,
    included_data_pairs,
};
use crate::rate::{Operation, RateLimiter, parse_rate_limit_header};

pub const HEADER_ACCESS_TOKEN: &str = "x-amz-access-token";
pub const HEADER_REQUEST_ID: &str = "x-amzn-RequestId";
pub const HEADER_RATE_LIMIT: &str = "x-amzn-RateLimit-Limit";

/// What all seller authorizations share: the HTTP client, endpoints, retry policy, buckets.
#[derive(Clone, Debug)]
pub struct SpApi {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    lwa_url: Url,
    base: Url,
    marketplace_id: String,
    retry: RetryPolicy,
    limiter: RateLimiter,
    token_margin: std::time::Duration,
}

impl SpApi {
    pub fn new(options: ClientOptions) -> Result<Self, Error> {
        let (lwa_url, base) = options.validate()?;
        let http = options.http_client()?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                lwa_url,
                base,
                marketplace_id: options.endpoints.marketplace_id.clone(),
                retry: RetryPolicy {
                    max_attempts: options.retry.max_attempts.max(1),
                    ..options.retry
                },
                limiter: RateLimiter::new(options.rate_plans.unwrap_or_default()),
                token_margin: options.token_refresh_margin,
            }),
        })
    }

    /// A client for one seller authorization (its own access-token cache).
    pub fn client(&self, seller_id: impl Into<String>, credentials: Credentials) -> Client {
        let tokens = TokenCache::new(
            credentials,
            self.inner.lwa_url.clone(),
            self.inner.http.clone(),
            self.inner.token_margin,
        );
        Client {
            inner: self.inner.clone(),
            seller_id: seller_id.into().into(),
            tokens: Arc::new(tokens),
        }
    }

    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }
}

/// SP-API calls on behalf of one selling partner.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
    seller_id: Arc<str>,
    tokens: Arc<TokenCache>,
}

struct Success {
    request_id: Option<String>,
    body: Vec<u8>,
}

impl Client {
    pub fn seller_id(&self) -> &str {
        &self.seller_id
    }

    pub fn tokens(&self) -> &TokenCache {
        &self.tokens
    }

    /// `searchOrders` (v2026-01-01). An empty `marketplace_ids` means the configured marketplace.
    pub async fn search_orders(
        &self,
        query: &SearchOrdersQuery,
    ) -> Result<SearchOrdersResponse, Error> {
        let mut pairs = query.to_query_pairs();
        if query.marketplace_ids.is_empty() {
            pairs.push(("marketplaceIds", self.inner.marketplace_id.clone()));
        }
        let url = self.url(&["orders", "2026-01-01", "orders"], &pairs)?;
        let ok = self
            .send(Operation::SearchOrders, Method::GET, url, None)
            .await?;
        decode(Operation::SearchOrders, &ok)
    }

    /// `getOrder` (v2026-01-01) with `includedData`.
    pub async fn get_order(
        &self,
        order_id: &str,
        included: &[IncludedData],
    ) -> Result<Order, Error> {
        let url = self.url(
            &["orders", "2026-01-01", "orders", order_id],
            &included_data_pairs(included),
        )?;
        let ok = self
            .send(Operation::GetOrder, Method::GET, url, None)
            .await?;
        decode::<GetOrderResponse>(Operation::GetOrder, &ok).map(|r| r.order)
    }

    /// `confirmShipment` (v0) for one package; Amazon answers 204 with no body.
    pub async fn confirm_shipment(
        &self,
        order_id: &str,
        body: &ConfirmShipmentRequest,
    ) -> Result<(), Error> {
        let url = self.url(
            &["orders", "v0", "orders", order_id, "shipmentConfirmation"],
            &[],
        )?;
        let json =
            serde_json::to_vec(body).map_err(|_| Error::Config("unserialisable request".into()))?;
        self.send(Operation::ConfirmShipment, Method::POST, url, Some(json))
            .await?;
        Ok(())
    }

    fn url(&self, segments: &[&str], query: &[(&'static str, String)]) -> Result<Url, Error> {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config("sp_api_base cannot be a base URL".into()))?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// One operation with the bucket, retries and logging. Bodies and tokens are never logged.
    #[tracing::instrument(skip_all, fields(operation = op.name(), seller_id = %self.seller_id))]
    async fn send(
        &self,
        op: Operation,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Success, Error> {
        let retry = self.inner.retry;
        let mut attempt = 0;
        // A refused token is refreshed and the call repeated once: an access token can be
        // revoked or expire early, and only LWA can say whether the authorization itself is gone.
        let mut reauthenticated = false;
        loop {
            attempt += 1;
            let last = attempt >= retry.max_attempts;
            self.inner.limiter.acquire(&self.seller_id, op).await;
            let token = self.tokens.access_token().await?;
            let mut token_header =
                HeaderValue::from_str(token.expose_secret()).map_err(|_| AuthError::Decode)?;
            token_header.set_sensitive(true);
            drop(token);
            let mut req = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .header(HEADER_ACCESS_TOKEN, token_header)
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(b) = &body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.clone());
            }
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let request_id = header(&resp, HEADER_REQUEST_ID);
                    if let Some(rate) = header(&resp, HEADER_RATE_LIMIT)
                        .as_deref()
                        .and_then(parse_rate_limit_header)
                    {
                        self.inner.limiter.update_rate(&self.seller_id, op, rate);
                    }
                    tracing::info!(
                        status,
                        request_id = request_id.as_deref(),
                        attempt,
                        "SP-API call"
                    );
                    match resp.bytes().await {
                        Ok(bytes) => Ok((status, request_id, bytes.to_vec())),
                        Err(e) => Err(transport_kind(&e)),
                    }
                }
                Err(e) => Err(transport_kind(&e)),
            };
            match outcome {
                Ok((status, request_id, body)) if (200..300).contains(&status) => {
                    return Ok(Success { request_id, body });
                }
                Ok((status, request_id, body)) => {
                    let errors = serde_json::from_slice::<ErrorList>(&body)
                        .map(|l| l.errors)
                        .unwrap_or_default();
                    let err = ApiError {
                        operation: op.name(),
                        status,
                        errors,
                        request_id,
                    };
                    if status == 429 {
                        self.inner.limiter.drain(&self.seller_id, op);
                    }
                    if status == 401 || status == 403 {
                        // An expired or rejected token: the next call fetches a fresh one.
                        self.tokens.invalidate().await;
                        if !reauthenticated {
                            reauthenticated = true;
                            tracing::info!(
                                status,
                                request_id = err.request_id.as_deref(),
                                "access token refused: retrying once with a fresh one"
                            );
                            continue;
                        }
                    }
                    if !is_retryable_status(status) || last {
                        tracing::warn!(status, request_id = err.request_id.as_deref(), codes = ?err.codes(), attempt, "SP-API error");
                        return Err(err.into());
                    }
                }
                Err(kind) => {
                    tracing::warn!(%kind, attempt, "SP-API transport error");
                    if last {
                        return Err(Error::Transport {
                            operation: op.name(),
                            attempts: attempt,
                            kind,
                        });
                    }
                }
            }
            let wait = retry.backoff(attempt);
            tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn transport_kind(e: &reqwest::Error) -> TransportKind {
    if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    }
}

fn decode<T: DeserializeOwned>(op: Operation, ok: &Success) -> Result<T, Error> {
    serde_json::from_slice(&ok.body).map_err(|e| Error::Decode {
        operation: op.name(),
        request_id: ok.request_id.clone(),
        line: e.line(),
        column: e.column(),
    })
}
