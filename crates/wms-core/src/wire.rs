//! Types that cross the wire between server and workstation (and appear in the OpenAPI document).
//! Unknown fields are refused on requests so that a typo is an error, not a silently ignored field.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{SessionId, TenantId, UserId};
use crate::role::Role;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Tenant name, as created by `wms-server tenant create`.
    pub tenant: String,
    pub email: String,
    pub password: String,
    /// The current 6-digit TOTP code; required once MFA is enrolled.
    #[serde(default)]
    pub totp: Option<String>,
    /// A stable identifier of the workstation, so sessions can be listed and revoked per device.
    #[serde(default)]
    pub device: Option<String>,
    /// The workstation's name (its hostname), shown to admins in the device list.
    #[serde(default)]
    pub device_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    pub token_type: String,
    /// Set when the account still has a one-time password: only `POST /api/v1/auth/password` is allowed.
    #[serde(default)]
    pub password_change_required: bool,
    /// Set when the role requires MFA and none is enrolled yet: only MFA enrolment is allowed.
    #[serde(default)]
    pub mfa_enrollment_required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChangeRequest {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
    pub tenant_id: TenantId,
    pub tenant: String,
    pub mfa_enrolled: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaEnrollResponse {
    /// `otpauth://` URI to add to an authenticator app.
    pub otpauth_uri: String,
    /// The seed in base32 for manual entry.
    pub secret: String,
    /// The same URI as a QR code, SVG.
    pub qr_svg: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaVerifyRequest {
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaVerifyResponse {
    pub mfa_enrolled: bool,
    /// Unix seconds until which high-risk actions are allowed without another verification.
    pub step_up_valid_until: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    pub id: SessionId,
    pub device: Option<String>,
    pub created_at: String,
    pub last_used_at: String,
    pub ip: Option<String>,
    /// True for the session making this request.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChangeRequest {
    pub role: Role,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UserInfo {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub mfa_enrolled: bool,
    pub locked_until: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: crate::audit::AuditAction,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub outcome: crate::audit::Outcome,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

/// An RFC 9457 problem document. `code` is stable and is what clients branch on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// With `mfa_enrollment_required` at login: a short-lived bearer token that may only enrol MFA,
    /// change the password, read `/api/v1/me` and log out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment_token: Option<String>,
}
