//! Tenants and users: creation (CLI and API), lookup by e-mail through the blind index, and the
//! sealed columns (e-mail, TOTP seeds) that only this module opens.

use wms_core::audit::{AuditAction, Outcome};
use wms_core::ids::{TenantId, UserId};
use wms_core::role::Role;
use wms_core::seal::{self, Aad, SealError};
use zeroize::Zeroizing;

use crate::audit::{self, AuditError, NewEvent};
use crate::auth::hashing::{HashError, PasswordHasher};
use crate::db::{Backend, Db, DbError, TenantTx};
use crate::keys::{KeyError, KeyStore, TenantKeys};
use crate::time::now_ms;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("tenant name must be 1–64 characters of letters, digits, '-' or '_'")]
    BadTenantName,
    #[error("`{0}` is not a valid e-mail address")]
    BadEmail(String),
    #[error("no tenant named `{0}`")]
    NoSuchTenant(String),
    #[error("a user with this e-mail already exists in the tenant")]
    DuplicateEmail,
    #[error("{0}")]
    WeakPassword(#[from] wms_core::password::PasswordError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("sealed data does not open: {0}")]
    Seal(#[from] SealError),
}

impl From<sqlx::Error> for AccountError {
    fn from(e: sqlx::Error) -> Self {
        AccountError::Db(e.into())
    }
}

pub fn validate_tenant_name(name: &str) -> Result<(), AccountError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AccountError::BadTenantName)
    }
}

/// A deliberately modest check: something@something.tld, no spaces, bounded length.
pub fn validate_email(email: &str) -> Result<String, AccountError> {
    let e = seal::normalise_email(email);
    let valid = e.len() <= 254
        && !e.chars().any(char::is_whitespace)
        && e.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        });
    if valid {
        Ok(e)
    } else {
        Err(AccountError::BadEmail(wms_core::mask::email(email)))
    }
}

/// Create a tenant with its keys and its first audit event, atomically.
pub async fn create_tenant(
    db: &Db,
    keys: &KeyStore,
    name: &str,
    demo: bool,
    actor: &str,
) -> Result<TenantId, AccountError> {
    validate_tenant_name(name)?;
    let now = now_ms();
    let mut tx = db.new_tenant_tx(name, demo, now).await?;
    keys.provision(&mut tx, now).await?;
    let tk = keys.tenant(&mut tx).await?;
    audit::append(
        &mut tx,
        db.backend(),
        &tk,
        NewEvent::new(actor, AuditAction::TenantCreated, Outcome::Success)
            .target(format!("tenant:{name}")),
    )
    .await?;
    let id = tx.tenant();
    tx.commit().await?;
    Ok(id)
}

/// A user as stored. Sealed columns stay sealed until a caller needs them.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: UserId,
    pub email_sealed: Vec<u8>,
    pub role: Role,
    pub password_hash: String,
    pub must_change_password: bool,
    pub totp_sealed: Option<Vec<u8>>,
    pub totp_pending_sealed: Option<Vec<u8>>,
    pub totp_last_step: Option<i64>,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub version: i64,
}

pub const USER_COLS: &str = "id, email_sealed, role, password_hash, must_change_password, totp_sealed, totp_pending_sealed, totp_last_step, failed_logins, locked_until, version";
type UserTuple = (
    String,
    Vec<u8>,
    String,
    String,
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<i64>,
    i64,
    Option<i64>,
    i64,
);

fn user_from(t: UserTuple) -> Result<UserRow, DbError> {
    let id =
        t.0.parse()
            .map_err(|_| DbError::Corrupt("user id".into()))?;
    let role =
        t.2.parse()
            .map_err(|_| DbError::Corrupt("user role".into()))?;
    Ok(UserRow {
        id,
        email_sealed: t.1,
        role,
        password_hash: t.3,
        must_change_password: t.4 == 1,
        totp_sealed: t.5,
        totp_pending_sealed: t.6,
        totp_last_step: t.7,
        failed_logins: t.8,
        locked_until: t.9,
        version: t.10,
    })
}

impl UserRow {
    #[must_use]
    pub fn mfa_enrolled(&self) -> bool {
        self.totp_sealed.is_some()
    }
}

pub fn email_aad(tenant: TenantId, user: &str) -> Aad<'_> {
    Aad {
        tenant,
        table: "users",
        column: "email",
        row: user,
    }
}

pub fn totp_aad(tenant: TenantId, user: &str, pending: bool) -> Aad<'_> {
    Aad {
        tenant,
        table: "users",
        column: if pending { "totp_pending" } else { "totp" },
        row: user,
    }
}

pub fn email_index(keys: &TenantKeys, email: &str) -> Result<Vec<u8>, KeyError> {
    Ok(seal::blind_index(
        keys.index_key()?,
        "users.email",
        &seal::normalise_email(email),
    ))
}

pub async fn find_by_email(
    tx: &mut TenantTx,
    keys: &TenantKeys,
    email: &str,
) -> Result<Option<UserRow>, AccountError> {
    let idx = email_index(keys, email)?;
    let (tid, conn) = tx.split();
    let row: Option<UserTuple> = sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND email_index = $2"
    ))
    .bind(tid)
    .bind(idx)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(user_from).transpose()?)
}

pub async fn find_by_id(tx: &mut TenantTx, id: UserId) -> Result<Option<UserRow>, AccountError> {
    let (tid, conn) = tx.split();
    let row: Option<UserTuple> = sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM users WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tid)
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(user_from).transpose()?)
}

pub async fn list(tx: &mut TenantTx) -> Result<Vec<UserRow>, AccountError> {
    let (tid, conn) = tx.split();
    let rows: Vec<UserTuple> = sqlx::query_as(&format!(
        "SELECT {USER_COLS} FROM users WHERE tenant_id = $1 ORDER BY created_at, id"
    ))
    .bind(tid)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(user_from).collect::<Result<_, _>>()?)
}

pub fn open_email(
    keys: &TenantKeys,
    tenant: TenantId,
    u: &UserRow,
) -> Result<String, AccountError> {
    Ok(keys
        .data
        .open_string(&email_aad(tenant, &u.id.to_string()), &u.email_sealed)?)
}

/// A validated e-mail and a hashed password, ready to insert (hashing happens before any
/// transaction is opened where the caller can arrange that).
pub struct NewUser {
    pub email: String,
    pub role: Role,
    pub password_hash: String,
    /// Set when the password was generated: it is shown once and must be changed at first login.
    pub one_time_password: Option<Zeroizing<String>>,
}

/// Validate and hash. Without a password, a one-time password is generated. The password policy
/// applies to given passwords.
pub async fn prepare_user(
    hasher: &PasswordHasher,
    email: &str,
    role: Role,
    password: Option<&str>,
) -> Result<NewUser, AccountError> {
    let email = validate_email(email)?;
    let (password, one_time) = match password {
        Some(p) => {
            wms_core::password::check(p, &email)?;
            (Zeroizing::new(p.to_owned()), false)
        }
        None => (
            Zeroizing::new(wms_core::password::one_time_password()),
            true,
        ),
    };
    let password_hash = hasher.hash(&password).await?;
    Ok(NewUser {
        email,
        role,
        password_hash,
        one_time_password: one_time.then_some(password),
    })
}

/// Insert a prepared user in the caller's transaction, with its audit event.
pub async fn insert_user(
    tx: &mut TenantTx,
    backend: Backend,
    keys: &TenantKeys,
    new: &NewUser,
    actor: &str,
) -> Result<UserId, AccountError> {
    let tenant = tx.tenant();
    let id = UserId::new();
    let ids = id.to_string();
    let sealed = keys
        .data
        .seal(&email_aad(tenant, &ids), new.email.as_bytes())?;
    let idx = email_index(keys, &new.email)?;
    let now = now_ms();
    let (tid, conn) = tx.split();
    sqlx::query(
        "INSERT INTO users (tenant_id, id, email_index, email_sealed, role, password_hash, must_change_password, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
    )
    .bind(tid)
    .bind(&ids)
    .bind(idx)
    .bind(sealed)
    .bind(new.role.as_str())
    .bind(&new.password_hash)
    .bind(i64::from(new.one_time_password.is_some()))
    .bind(now)
    .execute(conn)
    .await
    .map_err(|e| match DbError::from(e) {
        DbError::Conflict(_) => AccountError::DuplicateEmail,
        other => AccountError::Db(other),
    })?;
    let ev = NewEvent::new(actor, AuditAction::UserCreated, Outcome::Success)
        .target(format!("user:{ids}"))
        .detail(format!("role={}", new.role));
    audit::append(tx, backend, keys, ev).await?;
    Ok(id)
}

/// Prepare, insert and commit (for the CLI).
#[allow(clippy::too_many_arguments)]
pub async fn create_user(
    db: &Db,
    keys: &KeyStore,
    hasher: &PasswordHasher,
    tenant: TenantId,
    email: &str,
    role: Role,
    password: Option<&str>,
    actor: &str,
) -> Result<(UserId, Option<Zeroizing<String>>), AccountError> {
    let new = prepare_user(hasher, email, role, password).await?;
    let mut tx = db.tenant_tx(tenant).await?;
    let tk = keys.tenant(&mut tx).await?;
    let id = insert_user(&mut tx, db.backend(), &tk, &new, actor).await?;
    tx.commit().await?;
    Ok((id, new.one_time_password))
}

/// Enrol TOTP directly with a known seed (demo seeding; users enrol through the API).
pub async fn set_totp(
    tx: &mut TenantTx,
    keys: &TenantKeys,
    user: UserId,
    secret: &[u8],
) -> Result<(), AccountError> {
    let uid = user.to_string();
    let sealed = keys
        .data
        .seal(&totp_aad(tx.tenant(), &uid, false), secret)?;
    let (tid, conn) = tx.split();
    sqlx::query("UPDATE users SET totp_sealed = $1, totp_pending_sealed = NULL, totp_last_step = NULL WHERE tenant_id = $2 AND id = $3")
        .bind(sealed)
        .bind(tid)
        .bind(&uid)
        .execute(conn)
        .await?;
    Ok(())
}

/// Resolve a tenant by name for the CLI.
pub async fn tenant_named(db: &Db, name: &str) -> Result<TenantId, AccountError> {
    db.find_tenant(name)
        .await?
        .map(|t| t.id)
        .ok_or_else(|| AccountError::NoSuchTenant(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_emails_are_validated() {
        assert!(validate_tenant_name("acme-tokyo_1").is_ok());
        for bad in ["", "has space", "ü", &"x".repeat(65), "a;drop"] {
            assert!(validate_tenant_name(bad).is_err(), "{bad}");
        }
        assert_eq!(
            validate_email(" Yamada@Example.JP ").ok().as_deref(),
            Some("yamada@example.jp")
        );
        for bad in ["", "no-at", "@x.jp", "a@nodot", "a b@x.jp", "a@.jp", "a@x."] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
