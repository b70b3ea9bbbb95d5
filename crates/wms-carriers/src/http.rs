//! The HTTP engine both adapters share: credentials on every call, bounded retries for 429, 5xx
//! and transport errors, and one mapping from error statuses to [`Error`]. Bodies, keys and
//! addresses are never logged.

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use wms_core::tracking::{Carrier, TrackingNumber};

use time::OffsetDateTime;
use wms_core::label::Piece;

use crate::config::{CarrierConfig, CarrierRules, Credentials, RetryPolicy};
use crate::error::{Error, FieldError, TransportKind};
use crate::model::{BookedPackage, Booking, BookingRequest, Milestone, MilestoneKind};

const BOOK: &str = "book";
const VOID: &str = "void";
const TRACK: &str = "track";

pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// How the API key and customer code travel.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AuthStyle {
    /// `Authorization: Bearer KEY`; the customer code goes in the body where the carrier wants it.
    Bearer,
    /// `X-Api-Key: KEY` and `X-Customer-Code: CODE` on every call.
    KeyHeaders,
}

#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) carrier: Carrier,
    http: reqwest::Client,
    base: Url,
    retry: RetryPolicy,
    credentials: Credentials,
    auth: AuthStyle,
    rules: CarrierRules,
}

/// One request to the carrier.
struct Call<'a> {
    pub operation: &'static str,
    pub method: Method,
    pub path: &'a [&'a str],
    pub body: Option<Vec<u8>>,
    pub idempotency_key: Option<&'a str>,
    /// For [`Error::NotFound`].
    pub tracking: Option<TrackingNumber>,
}

/// The error body both carriers' (project-defined) APIs answer with.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<WireFieldError>,
}

#[derive(Debug, Deserialize)]
struct WireFieldError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    reason: String,
}

pub(crate) const CODE_IDEMPOTENCY_REUSED: &str = "idempotency_key_reused";

impl Engine {
    pub(crate) fn new(
        carrier: Carrier,
        config: CarrierConfig,
        auth: AuthStyle,
    ) -> Result<Self, Error> {
        let base = config.base()?;
        let http = config.http_client()?;
        Ok(Self {
            rules: config.rules.clone(),
            carrier,
            http,
            base,
            retry: RetryPolicy {
                max_attempts: config.retry.max_attempts.max(1),
                ..config.retry
            },
            credentials: config.credentials,
            auth,
        })
    }

    fn url(&self, path: &[&str]) -> Result<Url, Error> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::Config("base_url cannot be a base URL".into()))?
            .pop_if_empty()
            .extend(path);
        Ok(url)
    }

    fn headers(
        &self,
        idempotency_key: Option<&str>,
    ) -> Result<Vec<(HeaderName, HeaderValue)>, Error> {
        let bad = |what: &str| Error::Config(format!("{what} is not a valid header value"));
        let key = self.credentials.api_key.expose_secret();
        let mut out = Vec::with_capacity(3);
        match self.auth {
            AuthStyle::Bearer => {
                let mut v =
                    HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| bad("API key"))?;
                v.set_sensitive(true);
                out.push((reqwest::header::AUTHORIZATION, v));
            }
            AuthStyle::KeyHeaders => {
                let mut v = HeaderValue::from_str(key).map_err(|_| bad("API key"))?;
                v.set_sensitive(true);
                out.push((HeaderName::from_static("x-api-key"), v));
                out.push((
                    HeaderName::from_static("x-customer-code"),
                    HeaderValue::from_str(&self.credentials.customer_code)
                        .map_err(|_| bad("customer code"))?,
                ));
            }
        }
        if let Some(k) = idempotency_key {
            out.push((
                HeaderName::from_static(IDEMPOTENCY_KEY),
                HeaderValue::from_str(k).map_err(|_| bad("idempotency key"))?,
            ));
        }
        Ok(out)
    }

    /// Sends `call`, retrying 429, 5xx and transport errors with backoff. Every call of these
    /// adapters may be retried: a booking carries its idempotency key (the carrier answers a repeat
    /// with the first booking), a void of a voided parcel succeeds, tracking is a read.
    #[tracing::instrument(skip_all, fields(carrier = %self.carrier, operation = call.operation))]
    async fn send(&self, call: Call<'_>) -> Result<Vec<u8>, Error> {
        if let Some(t) = call.tracking
            && t.carrier() != self.carrier
        {
            return Err(Error::Invalid(FieldError::new(
                "trackingNumber",
                format!("{t} is a {} number, not {}", t.carrier(), self.carrier),
            )));
        }
        let url = self.url(call.path)?;
        let headers = self.headers(call.idempotency_key)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.retry.max_attempts;
            let mut req = self
                .http
                .request(call.method.clone(), url.clone())
                .header(reqwest::header::ACCEPT, "application/json");
            for (name, value) in &headers {
                req = req.header(name, value);
            }
            if let Some(body) = &call.body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let outcome = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    tracing::info!(status, attempt, "carrier call");
                    resp.bytes()
                        .await
                        .map(|b| (status, b.to_vec()))
                        .map_err(|e| transport_kind(&e))
                }
                Err(e) => Err(transport_kind(&e)),
            };
            match outcome {
                Ok((status, body)) if (200..300).contains(&status) => return Ok(body),
                Ok((status, body)) => {
                    let retryable = status == 429 || (500..=599).contains(&status);
                    if !retryable || last {
                        return Err(self.status_error(&call, status, &body, attempt));
                    }
                    tracing::warn!(status, attempt, "carrier error: retrying");
                }
                Err(kind) => {
                    if last {
                        return Err(Error::Transport {
                            carrier: self.carrier,
                            operation: call.operation,
                            attempts: attempt,
                            kind,
                        });
                    }
                    tracing::warn!(%kind, attempt, "carrier transport error: retrying");
                }
            }
            tokio::time::sleep(self.retry.backoff(attempt)).await;
        }
    }

    /// Books: the local checks, then `body` (the carrier's wire form of the request, given the
    /// customer code) posted to `path` with the idempotency key; `answer` reads the shipment id and
    /// each package's (tracking number, sorting code) from the carrier's reply.
    pub(crate) async fn book<R: DeserializeOwned>(
        &self,
        request: &BookingRequest,
        path: &[&str],
        body: impl FnOnce(&BookingRequest, &str) -> Result<Vec<u8>, Error>,
        answer: impl FnOnce(R) -> (String, Vec<(String, String)>),
    ) -> Result<Booking, Error> {
        crate::validate::check_booking(self.carrier, &self.rules, request)?;
        let body = body(request, &self.credentials.customer_code)?;
        let bytes = self
            .send(Call {
                operation: BOOK,
                method: Method::POST,
                path,
                body: Some(body),
                idempotency_key: Some(request.idempotency_key.as_str()),
                tracking: None,
            })
            .await?;
        let (shipment_id, packages) = answer(self.decode(BOOK, &bytes)?);
        Ok(Booking {
            carrier: self.carrier,
            shipment_id,
            packages: self.booked_packages(request.packages.len(), packages)?,
        })
    }

    /// The carrier's per-package answer, checked: one entry per requested package, every number a
    /// valid number of this carrier, no number twice, a sorting code each.
    fn booked_packages(
        &self,
        expected: usize,
        answer: Vec<(String, String)>,
    ) -> Result<Vec<BookedPackage>, Error> {
        if answer.len() != expected {
            return Err(self.bad_response(
                BOOK,
                format!(
                    "{} packages returned for {expected} requested",
                    answer.len()
                ),
            ));
        }
        let total =
            u16::try_from(expected).map_err(|_| self.bad_response(BOOK, "too many packages"))?;
        let mut out: Vec<BookedPackage> = Vec::with_capacity(expected);
        for (index, (number, sorting_code)) in (1..=total).zip(answer) {
            let tracking = TrackingNumber::new(self.carrier, &number)?;
            if out.iter().any(|p| p.tracking == tracking) {
                return Err(self.bad_response(BOOK, "the same tracking number twice"));
            }
            if sorting_code.trim().is_empty() || sorting_code.chars().any(char::is_control) {
                return Err(self.bad_response(BOOK, "a package without a sorting code"));
            }
            out.push(BookedPackage {
                tracking,
                sorting_code,
                piece: Piece { index, total },
            });
        }
        Ok(out)
    }

    /// Voids one package: the reason is checked locally, then posted as `{"reason"}`.
    pub(crate) async fn void(
        &self,
        path: &[&str],
        tracking: TrackingNumber,
        reason: &str,
    ) -> Result<(), Error> {
        crate::model::check_void_reason(reason)?;
        self.send(Call {
            operation: VOID,
            method: Method::POST,
            path,
            body: Some(to_json(&serde_json::json!({ "reason": reason }))?),
            idempotency_key: None,
            tracking: Some(tracking),
        })
        .await
        .map(drop)
    }

    /// One package's milestones: `events` reads (carrier's status word, time) from the reply,
    /// `kind` maps a status word; an unknown word is an error, not a silently dropped event.
    pub(crate) async fn milestones<R: DeserializeOwned>(
        &self,
        path: &[&str],
        tracking: TrackingNumber,
        events: impl FnOnce(R) -> Vec<(String, OffsetDateTime)>,
        kind: impl Fn(&str) -> Option<MilestoneKind>,
    ) -> Result<Vec<Milestone>, Error> {
        let bytes = self
            .send(Call {
                operation: TRACK,
                method: Method::GET,
                path,
                body: None,
                idempotency_key: None,
                tracking: Some(tracking),
            })
            .await?;
        events(self.decode(TRACK, &bytes)?)
            .into_iter()
            .map(|(word, at)| match kind(&word) {
                Some(kind) => Ok(Milestone { kind, at }),
                None => Err(self.bad_response(TRACK, format!("unknown status {word:?}"))),
            })
            .collect()
    }

    fn status_error(&self, call: &Call<'_>, status: u16, body: &[u8], attempts: u32) -> Error {
        let carrier = self.carrier;
        let errors = serde_json::from_slice::<ErrorBody>(body)
            .unwrap_or_default()
            .errors;
        match status {
            400 | 422 if errors.iter().any(|e| e.code == CODE_IDEMPOTENCY_REUSED) => {
                Error::IdempotencyConflict { carrier }
            }
            400 | 422 => Error::Rejected {
                carrier,
                errors: errors
                    .into_iter()
                    .map(|e| FieldError::new(e.field, e.reason))
                    .collect(),
            },
            401 | 403 => Error::Auth { carrier, status },
            404 => match call.tracking {
                Some(tracking) => Error::NotFound { carrier, tracking },
                None => other_status(carrier, call, status, attempts),
            },
            409 => Error::Conflict {
                carrier,
                operation: call.operation,
                reason: errors
                    .into_iter()
                    .next()
                    .map_or_else(|| "conflict".to_owned(), |e| e.reason),
            },
            _ => other_status(carrier, call, status, attempts),
        }
    }

    fn decode<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        body: &[u8],
    ) -> Result<T, Error> {
        serde_json::from_slice(body).map_err(|e| Error::Decode {
            carrier: self.carrier,
            operation,
            line: e.line(),
            column: e.column(),
        })
    }

    fn bad_response(&self, operation: &'static str, reason: impl Into<String>) -> Error {
        Error::BadResponse {
            carrier: self.carrier,
            operation,
            reason: reason.into(),
        }
    }
}

fn other_status(carrier: Carrier, call: &Call<'_>, status: u16, attempts: u32) -> Error {
    Error::Status {
        carrier,
        operation: call.operation,
        status,
        attempts,
    }
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

/// Serialise a request body; our own wire types always serialise.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Config(format!("unserialisable request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn engine(carrier: Carrier) -> Engine {
        let config = CarrierConfig::new(
            "https://carrier.invalid/api",
            Credentials {
                api_key: Secret::new("k"),
                customer_code: "c".into(),
            },
            CarrierRules::sagawa(),
        );
        Engine::new(carrier, config, AuthStyle::KeyHeaders).unwrap_or_else(|e| panic!("{e}"))
    }

    fn answer(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
            .collect()
    }

    /// What a carrier returns is checked like scanner input: a bad number never reaches a label.
    #[test]
    fn a_carriers_answer_is_checked() {
        let e = engine(Carrier::Sagawa);
        let ok = e
            .booked_packages(
                2,
                answer(&[("512547514334", "0123"), ("512547514345", "0123")]),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok[1].piece, Piece { index: 2, total: 2 });
        let bad: &[(&[(&str, &str)], &str)] = &[
            (&[("512547514334", "0123")], "packages returned"),
            (
                &[("512547514335", "0123"), ("512547514345", "0123")],
                "check digit",
            ),
            (
                &[("110000000003", "0123"), ("512547514345", "0123")],
                "never issues",
            ),
            (
                &[("512547514334", "0123"), ("512547514334", "0123")],
                "twice",
            ),
            (
                &[("512547514334", " "), ("512547514345", "0123")],
                "sorting code",
            ),
            (
                &[("5125-4751-4334", "0123"), ("512547514345", "0123")],
                "unexpected character",
            ),
        ];
        for (pairs, want) in bad {
            let err = e.booked_packages(2, answer(pairs)).expect_err("refused");
            assert!(err.to_string().contains(want), "{want}: {err}");
        }
    }

    #[test]
    fn error_statuses_map_to_variants() {
        let e = engine(Carrier::Sagawa);
        let t =
            TrackingNumber::new(Carrier::Sagawa, "512547514334").unwrap_or_else(|e| panic!("{e}"));
        let call = Call {
            operation: "void",
            method: Method::POST,
            path: &[],
            body: None,
            idempotency_key: None,
            tracking: Some(t),
        };
        let body =
            br#"{"errors":[{"code":"invalid_field","field":"consignee.zip","reason":"required"}]}"#;
        match e.status_error(&call, 400, body, 1) {
            Error::Rejected { errors, .. } => {
                assert_eq!(errors, [FieldError::new("consignee.zip", "required")]);
            }
            other => panic!("{other}"),
        }
        let reused = br#"{"errors":[{"code":"idempotency_key_reused","field":"","reason":""}]}"#;
        assert!(matches!(
            e.status_error(&call, 422, reused, 1),
            Error::IdempotencyConflict { .. }
        ));
        assert!(matches!(
            e.status_error(&call, 403, b"", 1),
            Error::Auth { status: 403, .. }
        ));
        assert!(matches!(
            e.status_error(&call, 404, b"", 1),
            Error::NotFound { .. }
        ));
        assert!(matches!(
            e.status_error(&call, 409, b"{}", 1),
            Error::Conflict { .. }
        ));
        assert!(matches!(
            e.status_error(&call, 503, b"<html>", 4),
            Error::Status {
                status: 503,
                attempts: 4,
                ..
            }
        ));
        // A body that is not the error shape still gives a typed error, without its text.
        match e.status_error(&call, 400, b"<html>secret page</html>", 1) {
            err @ Error::Rejected { .. } => assert!(!err.to_string().contains("secret")),
            other => panic!("{other}"),
        }
    }
}
