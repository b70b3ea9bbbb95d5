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
    #[error("demo warehouse: {0}")]
    Warehouse(String),
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
    pub warehouse: DemoWarehouse,
}

/// A password that passes the policy and is easy to type from a README.
fn demo_password() -> Zeroizing<String> {
    Zeroizing::new(format!("demo-{}", wms_core::password::one_time_password()))
}

pub async fn seed(
    state: &AppState,
    tenant_name: &str,
    skus: usize,
    orders: usize,
) -> Result<DemoSummary, DemoError> {
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
    let warehouse = seed_warehouse(state, tenant, skus, orders).await?;
    Ok(DemoSummary {
        tenant: tenant_name.to_owned(),
        tenant_id: tenant.to_string(),
        created,
        users,
        warehouse,
    })
}

/// What the warehouse part of the demo created.
#[derive(Serialize, Default)]
pub struct DemoWarehouse {
    pub warehouse: String,
    pub locations: usize,
    pub skus: usize,
    pub orders: usize,
}

const FAMILY: [&str; 12] = [
    "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田",
];
const GIVEN: [&str; 12] = [
    "太郎",
    "花子",
    "一郎",
    "美咲",
    "翔",
    "陽菜",
    "大輔",
    "結衣",
    "健太",
    "さくら",
    "拓海",
    "葵",
];
/// (postal code, prefecture, city, street) — fictitious addresses in real places.
const PLACES: [(&str, &str, &str, &str); 8] = [
    ("100-0005", "東京都", "千代田区", "丸の内1-9-1"),
    ("150-0002", "東京都", "渋谷区", "渋谷2-21-1"),
    ("530-0001", "大阪府", "大阪市北区", "梅田3-1-1"),
    ("460-0008", "愛知県", "名古屋市中区", "栄3-5-1"),
    ("060-0005", "北海道", "札幌市中央区", "北五条西2-5"),
    ("812-0012", "福岡県", "福岡市博多区", "博多駅中央街1-1"),
    ("980-0021", "宮城県", "仙台市青葉区", "中央1-1-1"),
    ("900-0006", "沖縄県", "那覇市", "おもろまち4-1-1"),
];
const PRODUCTS: [&str; 10] = [
    "緑茶ティーバッグ",
    "抹茶チョコレート",
    "醤油せんべい",
    "和紙ノート",
    "竹製箸セット",
    "柚子ハンドクリーム",
    "今治タオル",
    "南部鉄器急須",
    "ほうじ茶ラテ",
    "味噌汁詰め合わせ",
];

/// A small but realistic warehouse for the demo tenant: zones/aisles/bins, SKUs with valid JAN
/// codes (every third lot-tracked with expiring lots), stock put away, and `orders` received orders
/// with Japanese addresses of fictitious people. Idempotent: skipped when the warehouse exists.
pub async fn seed_warehouse(
    state: &AppState,
    tenant: wms_core::ids::TenantId,
    skus: usize,
    orders: usize,
) -> Result<DemoWarehouse, DemoError> {
    use crate::warehouse::master::{
        self, BarcodeKind, LocationKind, LocationLevel, NewLocation, NewSku, NewWarehouse,
    };
    use crate::warehouse::orders::{self, NewOrder, NewOrderLine, Recipient};
    use crate::warehouse::stock::{self, Post};
    use wms_core::ledger::MovementKind;

    let backend = state.db.backend();
    let mut tx = state
        .db
        .tenant_tx(tenant)
        .await
        .map_err(AccountError::from)?;
    if backend == crate::db::Backend::Postgres {
        // The whole warehouse loads in this one transaction: tables that were empty when a
        // statement was first planned grow by 100,000 rows inside it, and a generic plan cached
        // at that moment goes on scanning them in full at every execution (quadratic: 75,000 SKUs
        // did not load in 15 minutes). Planned at each execution, the planner sees their size.
        sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
            .execute(tx.conn())
            .await
            .map_err(|e| DemoError::Warehouse(e.to_string()))?;
    }
    let keys = state
        .keys
        .tenant(&mut tx)
        .await
        .map_err(AccountError::from)?;
    let existing = master::list_warehouses(&mut tx)
        .await
        .map_err(DemoError::api)?;
    if let Some(w) = existing.first() {
        return Ok(DemoWarehouse {
            warehouse: w.code.clone(),
            ..DemoWarehouse::default()
        });
    }
    let wh = master::create_warehouse(
        &mut tx,
        &NewWarehouse {
            code: "TOKYO1".into(),
            name: "東京第一倉庫".into(),
        },
    )
    .await
    .map_err(DemoError::api)?;
    let loc = |code: &str, parent: Option<&str>, level, kind, walk| NewLocation {
        warehouse: None,
        code: code.into(),
        parent: parent.map(Into::into),
        level,
        kind,
        walk_order: Some(walk),
    };
    let mut n_loc = 0;
    for (code, kind) in [
        ("RCV", LocationKind::Receiving),
        ("PACK", LocationKind::Packing),
        ("RET", LocationKind::Returns),
        ("QC", LocationKind::Quarantine),
    ] {
        master::create_location(&mut tx, &loc(code, None, LocationLevel::Zone, kind, 0))
            .await
            .map_err(DemoError::api)?;
        master::create_location(
            &mut tx,
            &loc(
                &format!("{code}-01"),
                Some(code),
                LocationLevel::Aisle,
                kind,
                0,
            ),
        )
        .await
        .map_err(DemoError::api)?;
        master::create_location(
            &mut tx,
            &loc(
                &format!("{code}-01-01"),
                Some(&format!("{code}-01")),
                LocationLevel::Bin,
                kind,
                0,
            ),
        )
        .await
        .map_err(DemoError::api)?;
        n_loc += 3;
    }
    // Two storage zones of 8-bin aisles, about four SKUs a bin: a bigger catalogue gets more
    // aisles, as a real warehouse would (not thousands of SKUs crammed into each bin).
    let aisles = skus.div_ceil(64).max(3);
    let mut bins = Vec::new();
    for zone in ["A", "B"] {
        master::create_location(
            &mut tx,
            &loc(zone, None, LocationLevel::Zone, LocationKind::Storage, 0),
        )
        .await
        .map_err(DemoError::api)?;
        n_loc += 1;
        for aisle in 1..=aisles {
            let a = format!("{zone}-{aisle:02}");
            master::create_location(
                &mut tx,
                &loc(
                    &a,
                    Some(zone),
                    LocationLevel::Aisle,
                    LocationKind::Storage,
                    0,
                ),
            )
            .await
            .map_err(DemoError::api)?;
            n_loc += 1;
            for shelf in 1..=2 {
                for slot in 1..=4 {
                    let code = format!("{a}-{shelf:02}-{slot:02}");
                    let walk = (bins.len() as i64 + 1) * 10;
                    master::create_location(
                        &mut tx,
                        &loc(
                            &code,
                            Some(&a),
                            LocationLevel::Bin,
                            LocationKind::Storage,
                            walk,
                        ),
                    )
                    .await
                    .map_err(DemoError::api)?;
                    bins.push(code);
                    n_loc += 1;
                }
            }
        }
    }
    let today = crate::warehouse::today();
    let mut sku_codes = Vec::new();
    for i in 0..skus {
        let lot_tracked = i % 3 == 0;
        let product = PRODUCTS[i % PRODUCTS.len()];
        let jan = master::jan_with_check_digit(&format!("4901234{:05}", i % 100_000));
        let code = format!("JP-{:05}", i + 1);
        let sku = master::create_sku(
            &mut tx,
            &NewSku {
                seller_sku: code.clone(),
                name: format!("{product} #{}", i + 1),
                lot_tracked,
                shelf_life_days: lot_tracked.then_some(365),
                weight_g: Some(100 + (i as i64 % 9) * 50),
                length_mm: Some(150),
                width_mm: Some(100),
                height_mm: Some(50),
                low_stock_level: Some(5),
                barcodes: vec![master::Barcode {
                    code: jan,
                    kind: BarcodeKind::Jan,
                }],
            },
        )
        .await
        .map_err(DemoError::api)?;
        let bin = master::find_location(&mut tx, &wh, &bins[i % bins.len()])
            .await
            .map_err(DemoError::api)?;
        let lots: Vec<(Option<String>, Option<time::Date>, i64)> = if lot_tracked {
            // Expiries spread over the coming two years, as goods arrive over months: an older
            // lot first, a newer one about five months later.
            let first = 30 + (i as i64 * 37) % 540;
            vec![
                (
                    Some(format!("L{:05}A", i + 1)),
                    today.checked_add(time::Duration::days(first)),
                    20,
                ),
                (
                    Some(format!("L{:05}B", i + 1)),
                    today.checked_add(time::Duration::days(first + 150)),
                    30,
                ),
            ]
        } else {
            vec![(None, None, 40)]
        };
        for (lot, expiry, qty) in lots {
            let batch_key = match &lot {
                Some(l) => master::batch_for_receipt(&mut tx, &sku, l, expiry)
                    .await
                    .map_err(DemoError::api)?,
                None => String::new(),
            };
            let post = Post {
                kind: MovementKind::Receive,
                sku_id: &sku.id,
                from: None,
                to: Some(&bin.id),
                batch_key: &batch_key,
                quantity: qty,
                reason: "receipt",
                reference: Some("demo"),
            };
            stock::post(&mut tx, backend, "cli", &post)
                .await
                .map_err(DemoError::api)?;
        }
        sku_codes.push(code);
    }
    for i in 0..orders {
        let (postal, pref, city, street) = PLACES[i % PLACES.len()];
        let lines = (0..1 + i % 3)
            .filter_map(|k| sku_codes.get((i * 7 + k * 3) % sku_codes.len().max(1)))
            .map(|s| NewOrderLine {
                sku: s.clone(),
                quantity: 1 + (i % 2) as i64,
                marketplace_item_id: None,
            })
            .fold(Vec::<NewOrderLine>::new(), |mut acc, l| {
                if !acc.iter().any(|x| x.sku == l.sku) {
                    acc.push(l);
                }
                acc
            });
        if lines.is_empty() {
            break;
        }
        let recipient = Recipient {
            name: format!(
                "{} {}",
                FAMILY[i % FAMILY.len()],
                GIVEN[(i / FAMILY.len()) % GIVEN.len()]
            ),
            postal_code: postal.into(),
            prefecture: pref.into(),
            city: city.into(),
            address1: street.into(),
            address2: (i % 4 == 0).then(|| format!("サンプルマンション{}号室", 100 + i % 900)),
            phone: Some(format!(
                "090-{:04}-{:04}",
                1000 + i % 9000,
                1000 + (i * 7) % 9000
            )),
            email: None,
        };
        let order = NewOrder {
            external_id: format!("DEMO-{:06}", i + 1),
            warehouse: None,
            ship_by: None,
            deliver_by: None,
            lines,
            recipient,
        };
        orders::create_manual(&mut tx, &keys, order)
            .await
            .map_err(DemoError::api)?;
    }
    tx.commit().await.map_err(AccountError::from)?;
    Ok(DemoWarehouse {
        warehouse: wh.code,
        locations: n_loc,
        skus,
        orders,
    })
}

impl DemoError {
    fn api(e: crate::error::ApiError) -> Self {
        DemoError::Warehouse(e.to_string())
    }
}

/// The id of an existing demo tenant (never on a production server).
async fn existing_demo_tenant(
    state: &AppState,
    tenant_name: &str,
) -> Result<wms_core::ids::TenantId, DemoError> {
    if state.settings.production {
        return Err(DemoError::Production);
    }
    match state
        .db
        .find_tenant(tenant_name)
        .await
        .map_err(AccountError::from)?
    {
        Some(t) if t.demo => Ok(t.id),
        Some(_) => Err(DemoError::NotDemo(tenant_name.to_owned())),
        None => Err(DemoError::Warehouse(format!(
            "no demo tenant `{tenant_name}`: run `demo seed` first"
        ))),
    }
}

/// Connect a demo tenant to an Amazon seller (the sandbox's, in the README's run command) without
/// the API's MFA step-up: a local operator command for demo tenants only. Idempotent: an existing
/// authorization of that seller is kept. Returns the authorization id.
pub async fn connect_amazon(
    state: &AppState,
    tenant_name: &str,
    request: crate::amazon::authz::NewAuthorization,
) -> Result<String, DemoError> {
    let tenant = existing_demo_tenant(state, tenant_name).await?;
    let wh = |e: crate::error::ApiError| DemoError::Warehouse(e.to_string());
    let mut tx = state
        .db
        .tenant_tx(tenant)
        .await
        .map_err(|e| DemoError::Warehouse(e.to_string()))?;
    if let Some(existing) = crate::amazon::authz::all(&mut tx)
        .await
        .map_err(wh)?
        .into_iter()
        .find(|a| a.selling_partner_id == request.selling_partner_id && a.is_active())
    {
        return Ok(existing.id);
    }
    let keys = state
        .keys
        .tenant(&mut tx)
        .await
        .map_err(|e| DemoError::Warehouse(e.to_string()))?;
    let spid = request.selling_partner_id.clone();
    let id = crate::amazon::authz::create(
        &mut tx,
        &keys,
        &state.settings.amazon.marketplace_id,
        request,
    )
    .await
    .map_err(wh)?;
    crate::audit::append(
        &mut tx,
        state.db.backend(),
        &keys,
        NewEvent::new("cli", AuditAction::AmazonAuthorized, Outcome::Success)
            .target(format!("amazon_authorization:{id}"))
            .detail(format!("demo: selling partner {spid}")),
    )
    .await
    .map_err(|e| DemoError::Warehouse(e.to_string()))?;
    tx.commit()
        .await
        .map_err(|e| DemoError::Warehouse(e.to_string()))?;
    Ok(id)
}

/// What [`release_to_packing`] did.
#[derive(Serialize, Default, Debug)]
pub struct Released {
    /// Orders imported by the Amazon sync pass.
    pub imported: usize,
    /// Orders now being picked (ready for the packing bench).
    pub picking: Vec<String>,
    /// Orders that could not be allocated (short of stock), left as they are.
    pub skipped: usize,
}

/// Readies a demo tenant's bench: one Amazon sync pass per active seller authorization, then
/// every received order (up to `limit`) allocated and picked, so a packer can scan it straight
/// away. A local operator command for demo tenants only (what `scripts/run.sh` uses).
pub async fn release_to_packing(
    state: &AppState,
    tenant_name: &str,
    limit: usize,
) -> Result<Released, DemoError> {
    use crate::warehouse::orders::{self, OrderQuery};
    use wms_core::fulfilment::OrderState;
    let tenant = existing_demo_tenant(state, tenant_name).await?;
    let db = |e: crate::db::DbError| DemoError::Warehouse(e.to_string());
    let mut out = Released::default();
    let mut tx = state.db.tenant_tx(tenant).await.map_err(db)?;
    let auths = crate::amazon::authz::all(&mut tx)
        .await
        .map_err(DemoError::api)?;
    tx.commit().await.map_err(db)?;
    for a in auths.iter().filter(|a| a.is_active()) {
        match crate::amazon::sync::run_once(state, tenant, &a.id).await {
            Ok(r) => out.imported += r.created as usize,
            Err(e) => tracing::warn!(error = %e, "demo: Amazon sync pass failed"),
        }
    }
    let mut tx = state.db.tenant_tx(tenant).await.map_err(db)?;
    let received = orders::list(
        &mut tx,
        &OrderQuery {
            status: Some(OrderState::Received),
            before: None,
            limit: Some(i64::try_from(limit.clamp(1, 500)).unwrap_or(100)),
        },
    )
    .await
    .map_err(DemoError::api)?;
    tx.commit().await.map_err(db)?;
    let backend = state.db.backend();
    for o in received {
        let mut tx = state.db.tenant_tx(tenant).await.map_err(db)?;
        let allocated = orders::allocate(
            &mut tx,
            backend,
            "cli",
            &o.id,
            state.settings.min_shelf_life_days,
        )
        .await
        .map_err(DemoError::api)?;
        if allocated != OrderState::Allocated {
            // Backordered (short of stock): recorded as such, not released.
            tx.commit().await.map_err(db)?;
            out.skipped += 1;
            continue;
        }
        orders::start_picking(&mut tx, backend, "cli", &o.id)
            .await
            .map_err(DemoError::api)?;
        tx.commit().await.map_err(db)?;
        out.picking.push(o.id);
    }
    Ok(out)
}
