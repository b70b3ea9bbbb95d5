//! Demo tenants: what the README's run command loads. Refused in production mode.
//!
//! Creates the tenant if missing and the users `packer@NAME.example`, `supervisor@NAME.example`,
//! `admin@NAME.example` with one printed password; supervisor and admin get TOTP enrolled (their
//! seeds are printed with `--json`), since their roles cannot work without MFA.

use serde::Serialize;
use wms_core::audit::{AuditAction, Outcome};
use wms_core::role::Role;
use zeroize::Zeroizing;

use crate::accounts::{self, AccountError};
use crate::audit::{self, NewEvent};
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("demo tenants cannot be created on a server in production mode")]
    Production,
    #[error("tenant `{0}` exists and is not a demo tenant")]
    NotDemo(String),
    #[error(transparent)]
    Account(#[from] AccountError),
}

#[derive(Serialize)]
pub struct DemoUser {
    pub email: String,
    pub role: Role,
    pub password: String,
    /// Base32 TOTP seed (supervisor and admin).
    pub totp_secret: Option<String>,
}

#[derive(Serialize)]
pub struct DemoSummary {
    pub tenant: String,
    pub tenant_id: String,
    pub created: bool,
    pub users: Vec<DemoUser>,
}

/// A password that passes the policy and is easy to type from a README.
fn demo_password() -> Zeroizing<String> {
    Zeroizing::new(format!("demo-{}", wms_core::password::one_time_password()))
}

pub async fn seed(state: &AppState, tenant_name: &str) -> Result<DemoSummary, DemoError> {
    if state.settings.production {
        return Err(DemoError::Production);
    }
    let (tenant, created) = match state
        .db
        .find_tenant(tenant_name)
        .await
        .map_err(AccountError::from)?
    {
        Some(t) if t.demo => (t.id, false),
        Some(_) => return Err(DemoError::NotDemo(tenant_name.to_owned())),
        None => (
            accounts::create_tenant(&state.db, &state.keys, tenant_name, true, "cli").await?,
            true,
        ),
    };
    let password = demo_password();
    let mut users = Vec::new();
    for role in Role::ALL {
        let email = format!("{role}@{tenant_name}.example").to_lowercase();
        let new = accounts::prepare_user(&state.hasher, &email, role, Some(&password)).await?;
        let mut tx = state
            .db
            .tenant_tx(tenant)
            .await
            .map_err(AccountError::from)?;
        let keys = state
            .keys
            .tenant(&mut tx)
            .await
            .map_err(AccountError::from)?;
        // Re-seeding resets the demo users' passwords and seeds rather than failing.
        let user_id = match accounts::find_by_email(&mut tx, &keys, &email).await? {
            Some(existing) => {
                let (tid, conn) = tx.split();
                sqlx::query("UPDATE users SET password_hash = $1, must_change_password = 0, failed_logins = 0, locked_until = NULL WHERE tenant_id = $2 AND id = $3")
                    .bind(&new.password_hash)
                    .bind(tid)
                    .bind(existing.id.to_string())
                    .execute(conn)
                    .await
                    .map_err(AccountError::from)?;
                existing.id
            }
            None => accounts::insert_user(&mut tx, state.db.backend(), &keys, &new, "cli").await?,
        };
        let totp_secret = if role.requires_mfa() {
            let secret = wms_core::totp::generate_secret();
            accounts::set_totp(&mut tx, &keys, user_id, &secret).await?;
            let ev = NewEvent::new("cli", AuditAction::MfaEnrolled, Outcome::Success)
                .target(format!("user:{user_id}"))
                .detail("demo seed");
            audit::append(&mut tx, state.db.backend(), &keys, ev)
                .await
                .map_err(AccountError::from)?;
            Some(wms_core::totp::secret_base32(&secret).to_string())
        } else {
            None
        };
        tx.commit().await.map_err(AccountError::from)?;
        users.push(DemoUser {
            email,
            role,
            password: password.to_string(),
            totp_secret,
        });
    }
    Ok(DemoSummary {
        tenant: tenant_name.to_owned(),
        tenant_id: tenant.to_string(),
        created,
        users,
    })
}
