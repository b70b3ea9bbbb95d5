//! One error type for the HTTP API, mapped once to RFC 9457 problem responses with a stable `code`.
//! Internal details (SQL, I/O) are logged with the request id and never echoed to the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use wms_core::wire::Problem;

use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Validation(String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("the e-mail, password or tenant is wrong")]
    InvalidCredentials,
    #[error("the token has expired")]
    TokenExpired,
    #[error("the token is not valid")]
    InvalidToken,
    #[error("a TOTP code is required")]
    MfaRequired,
    /// Privileged role without TOTP: login answers with a short-lived token that can only enrol MFA,
    /// change the password, read `/me` and log out.
    #[error("this role requires MFA: enrol an authenticator first")]
    MfaEnrollmentRequired { enrollment_token: Option<String> },
    #[error("the TOTP code is wrong")]
    MfaInvalid,
    #[error("the TOTP code was already used")]
    MfaReplayed,
    #[error("this action needs a fresh MFA verification (POST /api/v1/auth/mfa/verify)")]
    StepUpRequired,
    #[error("the password must be changed first (POST /api/v1/auth/password)")]
    PasswordChangeRequired,
    #[error("{0}")]
    WeakPassword(String),
    #[error("the account is locked after repeated failures; retry in {retry_after} s")]
    AccountLocked { retry_after: i64 },
    #[error("you do not have permission for this action")]
    Forbidden,
    /// The workstation was revoked by an admin: it may not sign in or refresh (403, so that a
    /// client does not mistake it for an expired token and keep retrying).
    #[error("this device has been revoked by an administrator and can no longer sign in")]
    DeviceRevoked,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// A business rule refused the request (wrong item scanned, not enough stock, ...): 422 with a
    /// specific stable code.
    #[error("{message}")]
    Rule { code: &'static str, message: String },
    /// The resource is not in a state that allows this (dispatching an unpacked order, ...): 409.
    #[error("{message}")]
    State { code: &'static str, message: String },
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInProgress,
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    #[must_use]
    pub fn status(&self) -> StatusCode {
        use ApiError::*;
        match self {
            BadRequest(_) => StatusCode::BAD_REQUEST,
            Validation(_) | WeakPassword(_) | IdempotencyKeyReused | Rule { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Unauthenticated | InvalidCredentials | TokenExpired | InvalidToken | MfaRequired
            | MfaInvalid | MfaReplayed => StatusCode::UNAUTHORIZED,
            MfaEnrollmentRequired { .. }
            | StepUpRequired
            | PasswordChangeRequired
            | Forbidden
            | DeviceRevoked => StatusCode::FORBIDDEN,
            AccountLocked { .. } => StatusCode::LOCKED,
            NotFound(_) => StatusCode::NOT_FOUND,
            Conflict(_) | IdempotencyInProgress | State { .. } => StatusCode::CONFLICT,
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code. Clients branch on this, never on the message.
    #[must_use]
    pub fn code(&self) -> &'static str {
        use ApiError::*;
        match self {
            BadRequest(_) => "bad_request",
            Validation(_) => "validation_failed",
            Unauthenticated => "unauthenticated",
            InvalidCredentials => "invalid_credentials",
            TokenExpired => "token_expired",
            InvalidToken => "invalid_token",
            MfaRequired => "mfa_required",
            MfaEnrollmentRequired { .. } => "mfa_enrollment_required",
            MfaInvalid => "mfa_invalid",
            MfaReplayed => "mfa_replayed",
            StepUpRequired => "step_up_required",
            PasswordChangeRequired => "password_change_required",
            WeakPassword(_) => "weak_password",
            AccountLocked { .. } => "account_locked",
            Forbidden => "forbidden",
            DeviceRevoked => "device_revoked",
            NotFound(_) => "not_found",
            Conflict(_) => "conflict",
            Rule { code, .. } | State { code, .. } => code,
            IdempotencyKeyReused => "idempotency_key_reused",
            IdempotencyInProgress => "idempotency_in_progress",
            RateLimited { .. } => "rate_limited",
            PayloadTooLarge => "payload_too_large",
            Internal(_) => "internal",
        }
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Conflict(what) => ApiError::Conflict(what),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::from(DbError::from(e))
    }
}

/// Build a problem+json response (also used by layers that reject before a handler runs).
#[must_use]
pub fn problem_response(
    status: StatusCode,
    code: &str,
    title: &str,
    detail: Option<String>,
) -> Response {
    problem_with(status, code, title, detail, None)
}

fn problem_with(
    status: StatusCode,
    code: &str,
    title: &str,
    detail: Option<String>,
    enrollment_token: Option<String>,
) -> Response {
    let body = Problem {
        type_: format!("https://jilian-wms.example/problems/{code}"),
        title: title.to_owned(),
        status: status.as_u16(),
        code: code.to_owned(),
        detail,
        request_id: None,
        enrollment_token,
    };
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(e) = &self {
            // Logged in full here (with the request id from the span); the client sees only "internal".
            tracing::error!(error = %format!("{e:#}"), "internal error");
        }
        let title = status.canonical_reason().unwrap_or("Error");
        let detail = match &self {
            ApiError::Internal(_) => None,
            other => Some(other.to_string()),
        };
        let token = match &self {
            ApiError::MfaEnrollmentRequired { enrollment_token } => enrollment_token.clone(),
            _ => None,
        };
        let mut resp = problem_with(status, self.code(), title, detail, token);
        match &self {
            ApiError::RateLimited { retry_after } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::AccountLocked { retry_after } => {
                resp.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from((*retry_after).max(1)),
                );
            }
            _ => {}
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_problem_body_and_no_internals() {
        let resp =
            ApiError::Internal(anyhow::anyhow!("SELECT secret FROM x failed")).into_response();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            resp.headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json")
        );
        let resp = ApiError::RateLimited { retry_after: 7 }.into_response();
        assert_eq!(
            resp.headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("7")
        );
        assert_eq!(ApiError::NotFound("user").status(), StatusCode::NOT_FOUND);
        assert_eq!(ApiError::MfaRequired.code(), "mfa_required");
        assert_eq!(
            ApiError::MfaEnrollmentRequired {
                enrollment_token: None
            }
            .code(),
            "mfa_enrollment_required"
        );
    }
}
