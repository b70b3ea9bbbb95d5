//! Operator commands that need a tenant transaction (the CLI goes through here, since only the
//! library may open one).

use wms_core::audit::{AuditAction, Outcome};

use crate::accounts;
use crate::audit::{self, NewEvent, VerifyReport};
use crate::config::Settings;
use crate::keys::{KeyStore, MasterKeys};
use crate::state::AppState;
use crate::time::now_ms;

pub async fn verify_audit(state: &AppState, tenant: &str) -> anyhow::Result<VerifyReport> {
    let tid = accounts::tenant_named(&state.db, tenant).await?;
    let mut tx = state.db.tenant_tx(tid).await?;
    let tk = state.keys.tenant(&mut tx).await?;
    Ok(audit::verify(&mut tx, &tk).await?)
}

/// A new data-key version for one tenant; returns the version.
pub async fn rotate_data_key(state: &AppState, tenant: &str) -> anyhow::Result<u32> {
    let tid = accounts::tenant_named(&state.db, tenant).await?;
    let mut tx = state.db.tenant_tx(tid).await?;
    let v = state.keys.rotate_data_key(&mut tx, now_ms()).await?;
    let tk = state.keys.tenant(&mut tx).await?;
    audit::append(
        &mut tx,
        state.db.backend(),
        &tk,
        NewEvent::new("cli", AuditAction::KeyRotated, Outcome::Success)
            .detail(format!("data key v{v}")),
    )
    .await?;
    tx.commit().await?;
    Ok(v)
}

/// A new master key version in the key file, and every tenant's keys re-wrapped under it.
/// Returns (new version, keys re-wrapped).
pub async fn rotate_master(settings: &Settings, state: &AppState) -> anyhow::Result<(u32, usize)> {
    let mut store = KeyStore::new(MasterKeys::load(settings)?);
    let v = store.add_master_version()?;
    let mut n = 0;
    for t in state.db.list_tenants().await? {
        let mut tx = state.db.tenant_tx(t.id).await?;
        n += store.rewrap_tenant(&mut tx).await?;
        let tk = store.tenant(&mut tx).await?;
        audit::append(
            &mut tx,
            state.db.backend(),
            &tk,
            NewEvent::new("cli", AuditAction::KeyRotated, Outcome::Success)
                .detail(format!("master key v{v}")),
        )
        .await?;
        tx.commit().await?;
    }
    Ok((v, n))
}

/// Open one user's sealed e-mail (operators' support tool; also how tests prove AAD binding).
pub async fn open_user_email(
    db: &crate::db::Db,
    keys: &KeyStore,
    tenant: wms_core::ids::TenantId,
    user_id: &str,
) -> anyhow::Result<String> {
    let id = user_id.parse()?;
    let mut tx = db.tenant_tx(tenant).await?;
    let tk = keys.tenant(&mut tx).await?;
    let user = accounts::find_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no such user"))?;
    Ok(accounts::open_email(&tk, tenant, &user)?)
}

/// `wms-server stock verify`: balances that differ from their ledger.
pub async fn verify_stock(
    state: &AppState,
    tenant: &str,
) -> anyhow::Result<Vec<crate::warehouse::stock::Difference>> {
    let tid = accounts::tenant_named(&state.db, tenant).await?;
    let mut tx = state.db.tenant_tx(tid).await?;
    crate::warehouse::stock::verify(&mut tx)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// `wms-server retention run`: one tenant (failing loudly) or every tenant (one failure logged,
/// the others still run).
pub async fn run_retention(
    state: &AppState,
    tenant: Option<&str>,
) -> anyhow::Result<Vec<(String, crate::retention::RunReport)>> {
    match tenant {
        Some(name) => {
            let tid = accounts::tenant_named(&state.db, name).await?;
            let r = crate::retention::run_tenant(state, tid, now_ms(), "cli").await?;
            Ok(vec![(name.to_owned(), r)])
        }
        None => Ok(crate::retention::run_all(state, now_ms(), "cli").await),
    }
}
