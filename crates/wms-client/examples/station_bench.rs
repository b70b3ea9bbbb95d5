//! Workstation benchmark (issue 6): the initial sync of a large working set into the encrypted
//! cache, and scan-to-label-bytes-at-printer latency for a cached order.
//!
//! Starts the real `wms-server` in-process (TLS over loopback, SQLite, production Argon2id) and
//! `wms-sandbox` (the Yamato stand-in), seeds `--skus` SKUs with stock and `--orders` manual
//! orders with `demo::seed` (one transaction), allocates and picks every order in-process
//! (`demo::release_to_packing`) so they are in the station's default working set (allocated,
//! picking, packed), then:
//!
//! 1. logs a `Station` in and times `station.sync(…)` (a full load: SKU pages, order list pages,
//!    one `GET /api/v1/orders/{id}` per order, everything sealed into the cache);
//! 2. replays the same load phase by phase with a plain API client (list pages, detail fetches,
//!    JSON decoding), then writes the same rows with the cache's own write path
//!    (`Cache::put_skus` / `put_orders`: serialise + seal + SQLite) and into a plain SQLite file
//!    of the same schema, pragmas, statements and batching (serialise + SQLite, no sealing);
//! 3. books a Yamato label for one order and times `station.print_label(order, None, printer)`
//!    until the last byte has arrived at a loopback TCP printer run here (reads to EOF, stamps
//!    the time); also the local fallback (a hand-entered tracking number, rendered here).
//!
//! ```text
//! cargo run --release -p wms-client --example station_bench -- [--orders 10000] [--skus 50000] [--prints 500]
//! ```
//!
//! Client, server and sandbox share this process and the machine's cores.
#![allow(clippy::print_stdout, clippy::too_many_lines)]

use std::io::Read;
use std::path::Path;
use std::str::FromStr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, anyhow, bail};
use clap::Parser;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite};
use wms_client::api::{ApiClient, ApiConfig, Call};
use wms_client::model::{Order, OrderSummary, Sku};
use wms_client::print::PrinterTarget;
use wms_client::secrets::StorePreference;
use wms_client::station::{LabelSource, LoginParams, Station, StationOptions};
use wms_client::{Cache, CacheKey, Fingerprint, SyncEvent};
use wms_server::Settings;
use zeroize::Zeroizing;

const TENANT: &str = "bench";
/// Page sizes and batching of `wms_client::sync` (its constants are private).
const SKU_PAGE: usize = 1000;
const ORDER_PAGE: usize = 500;
const DETAIL_BATCH: usize = 200;
const VIEW_PAGE: usize = 200;
const DETAIL_CONCURRENCY: usize = 8;
const ROWS_PER_STATEMENT: usize = 500;
/// Targets of issue 6.
const SYNC_TARGET_S: f64 = 5.0;
const PRINT_P99_TARGET_MS: f64 = 150.0;

#[derive(Parser, Debug)]
#[command(about = "Initial sync into the encrypted cache and scan-to-label latency")]
struct Args {
    /// Orders to seed (all allocated, so all in the default working set).
    #[arg(long, default_value_t = 10_000)]
    orders: usize,
    /// SKUs to seed (with stock).
    #[arg(long, default_value_t = 50_000)]
    skus: usize,
    /// Label prints through the server (booked label) to time.
    #[arg(long, default_value_t = 500)]
    prints: usize,
    /// Label prints rendered locally (hand-entered tracking number) to time.
    #[arg(long, default_value_t = 200)]
    fallback_prints: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let work = tempfile::tempdir()?;
    std::fs::create_dir_all(work.path().join("sandbox"))?;

    // The sandbox first: the server trusts only its certificate for carrier calls.
    let sandbox =
        wms_sandbox::Sandbox::start(wms_sandbox::SandboxConfig::new(work.path().join("sandbox")))
            .await
            .map_err(|e| anyhow!("sandbox: {e}"))?;
    let mut settings = Settings {
        data_dir: work.path().join("server"),
        auth_rate_per_minute: 100_000,
        ..Settings::default()
    };
    settings.amazon.workers = false;
    settings.carriers.ca_cert = Some(sandbox.urls().ca_cert.clone());
    settings.carriers.request_timeout_ms = 5_000;
    settings.carriers.poller = false;
    let argon2 = settings.argon2;
    let tls = wms_server::tls::load_or_generate(&settings)?;
    let state = wms_server::build_state(settings.clone()).await?;

    // ---------------------------------------------------------------- seeding (not timed)
    eprintln!(
        "seeding {} SKUs with stock and {} orders (demo::seed, one transaction)…",
        args.skus, args.orders
    );
    let t = Instant::now();
    let summary = wms_server::demo::seed(&state, TENANT, args.skus, args.orders)
        .await
        .map_err(|e| anyhow!("demo seed: {e}"))?;
    let seed_s = t.elapsed().as_secs_f64();
    eprintln!("seeded in {seed_s:.1} s; allocating…");
    let t = Instant::now();
    let (allocated, backordered) = allocate_all(&state).await?;
    let alloc_s = t.elapsed().as_secs_f64();
    eprintln!("allocated and picked {allocated} ({backordered} short of stock) in {alloc_s:.1} s");

    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let running = wms_server::launch(state.clone(), listener, &tls).await?;
    let url = format!("https://127.0.0.1:{}", running.addr.port());
    let user = |prefix: &str| {
        summary
            .users
            .iter()
            .find(|u| u.email.starts_with(prefix))
            .ok_or_else(|| anyhow!("no demo user {prefix}"))
    };
    let (sup, adm, packer) = (user("supervisor@")?, user("admin@")?, user("packer@")?);
    let totp_of = |u: &wms_server::demo::DemoUser| -> anyhow::Result<Vec<u8>> {
        let b32 = u.totp_secret.as_deref().context("no TOTP seed")?;
        Ok(wms_core::totp::secret_from_base32(b32)
            .map_err(|e| anyhow!("{e:?}"))?
            .to_vec())
    };

    // ---------------------------------------------------------------- 1. the station's sync
    let station_dir = work.path().join("station");
    clear_of_step_boundary().await;
    let t = Instant::now();
    let station = Station::login(
        &station_dir,
        LoginParams {
            server: url.clone(),
            fingerprint: Some(tls.fingerprint.clone()),
            tenant: TENANT.into(),
            email: sup.email.clone(),
            password: Zeroizing::new(sup.password.clone()),
            totp: Some(totp_now(&totp_of(sup)?)?),
        },
        StationOptions {
            secret_store: StorePreference::Auto,
            ..StationOptions::default()
        },
    )
    .await?;
    let login_ms = ms(t.elapsed());
    eprintln!("station logged in ({login_ms:.0} ms); full sync…");
    let mut marks: Vec<(Duration, SyncEvent)> = Vec::new();
    let t0 = Instant::now();
    let report = station
        .sync(&mut |e: &SyncEvent| marks.push((t0.elapsed(), e.clone())))
        .await?;
    let sync_s = t0.elapsed().as_secs_f64();
    let status = station.status().await?;
    eprintln!(
        "synced {} orders and {} SKUs in {sync_s:.2} s",
        report.orders, report.skus
    );
    let skus_done = marks
        .iter()
        .filter(|(_, e)| matches!(e, SyncEvent::Skus { .. }))
        .map(|(d, _)| *d)
        .max()
        .unwrap_or_default();
    let first_orders = marks
        .iter()
        .find(|(_, e)| matches!(e, SyncEvent::Orders { .. }))
        .map(|(d, _)| *d)
        .unwrap_or_default();

    // ---------------------------------------------------------------- 2. phase by phase
    eprintln!("replaying the load phase by phase…");
    let api = ApiClient::new(&ApiConfig::new(
        url.clone(),
        Some(Fingerprint::parse(&tls.fingerprint)?),
    ))?;
    let packer_token = login_token(&api, &packer.email, &packer.password, None).await?;
    let phases = replay_phases(&api, &packer_token, &StationOptions::default().working_set).await?;
    let writes = write_paths(work.path(), &phases.skus, &phases.orders).await?;
    let sealing = seal_only(&phases.skus, &phases.orders)?;

    // ---------------------------------------------------------------- 3. scan to label
    eprintln!("booking a label and printing…");
    sandbox
        .control()
        .register_carrier_customer(wms_sandbox::CarrierCustomerRegistration {
            carrier: wms_sandbox::CarrierKind::Yamato,
            customer_code: "0312345678".into(),
            api_key: "yamato-api-key-secret".into(),
        })
        .map_err(|e| anyhow!("sandbox: {e}"))?;
    let admin_token = login_token(&api, &adm.email, &adm.password, Some(&totp_of(adm)?)).await?;
    let admin = Admin {
        api: &api,
        token: &admin_token,
    };
    admin
        .post(
            "/api/v1/carriers/accounts",
            json!({"carrier": "yamato", "mode": "api", "base_url": sandbox.urls().yamato,
                "customer_code": "0312345678", "api_key": "yamato-api-key-secret",
                "sender": {"name": "ジリアン物流 東京第一倉庫", "postal_code": "135-0061",
                           "address_lines": ["東京都江東区豊洲3-3-3"], "phone": "03-1234-5678"}}),
        )
        .await?;
    let (booked_id, fallback_id) = match (phases.ids.first(), phases.ids.get(1)) {
        (Some(a), Some(b)) => (a.clone(), b.clone()),
        _ => bail!("fewer than two orders in the working set"),
    };
    admin.pack_all(&booked_id).await?;
    admin
        .post(
            &format!("/api/v1/orders/{booked_id}/packages"),
            json!({"box_type": "60", "weight_g": 800}),
        )
        .await?;
    admin
        .post(
            &format!("/api/v1/orders/{booked_id}/packages/1/book"),
            json!({"carrier": "yamato"}),
        )
        .await?;
    admin.pack_all(&fallback_id).await?;
    let tracking = wms_core::tracking::TrackingNumber::from_serial(
        wms_core::tracking::Carrier::Yamato,
        44_441_375_001,
    )
    .map_err(|e| anyhow!("{e:?}"))?
    .digits();
    admin
        .post(
            &format!("/api/v1/orders/{fallback_id}/packages"),
            json!({"box_type": "60", "weight_g": 800, "carrier": "yamato", "tracking_number": tracking}),
        )
        .await?;
    write_profile(&station_dir)?;

    let printer = LoopbackPrinter::start()?;
    let booked = time_prints(
        &station,
        &booked_id,
        &printer,
        args.prints,
        LabelSource::Server,
    )
    .await?;
    let fallback = time_prints(
        &station,
        &fallback_id,
        &printer,
        args.fallback_prints,
        LabelSource::LocalFallback,
    )
    .await?;
    let prints_on_server = admin.label_prints(&booked_id).await?;

    // ---------------------------------------------------------------- the table
    let n_orders = phases.orders.len();
    let n_skus = phases.skus.len();
    let detail_avg_ms = phases.detail.as_secs_f64() * 1000.0 / n_orders.max(1) as f64;
    println!();
    println!("## Workstation benchmark");
    println!();
    println!(
        "machine: {} core(s), {}; server, sandbox and station in one process (tokio, 2 workers), \
         SQLite server, TLS 1.3 over loopback; Argon2id m={} KiB t={} p={}",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        cpu_model(),
        argon2.memory_kib,
        argon2.iterations,
        argon2.parallelism
    );
    println!(
        "seeded {} SKUs with stock and {} orders with `demo::seed` (one transaction) in {seed_s:.1} s; \
         allocated and picked {allocated} in-process (`demo::release_to_packing`, one transaction per order; {backordered} short of stock) in {alloc_s:.1} s — not timed below",
        args.skus, args.orders
    );
    println!();
    println!("| measurement | rows | time | includes |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| station login | 1 | {login_ms:.0} ms | TLS, Argon2id + TOTP on the server, device registration, cache open |"
    );
    println!(
        "| **initial sync** (`station.sync`, full load) | {} orders + {} SKUs | **{sync_s:.2} s** (target < {SYNC_TARGET_S} s: {}) | network + server + JSON + sealing + SQLite, as the station does it (SKU pages of {SKU_PAGE}, then whole orders in pages of {VIEW_PAGE}; each page written while the next is read) |",
        report.orders,
        report.skus,
        verdict(sync_s < SYNC_TARGET_S, sync_s / SYNC_TARGET_S)
    );
    println!(
        "| … of which SKU pages written | {} SKUs | {:.2} s | until the last SKU page was committed |",
        report.skus,
        skus_done.as_secs_f64()
    );
    println!(
        "| … then order lists + first detail batch | — | {:.2} s | |",
        first_orders.saturating_sub(skus_done).as_secs_f64()
    );
    println!(
        "| … then the remaining details and writes | {} orders | {:.2} s | |",
        report.orders,
        sync_s - first_orders.as_secs_f64()
    );
    println!(
        "| replay: SKU list pages (`GET /skus`, {SKU_PAGE}/page) | {n_skus} | {:.2} s ({} pages, {:.1} MB) | network + server; JSON decode {:.2} s |",
        phases.sku_pages.as_secs_f64(),
        n_skus.div_ceil(SKU_PAGE),
        phases.sku_bytes as f64 / 1e6,
        phases.sku_decode.as_secs_f64()
    );
    println!(
        "| replay: order pages (`GET /orders/views?status=`, {VIEW_PAGE}/page), what the sync reads | {n_orders} | {:.2} s ({:.1} MB) | network + server; JSON decode {:.2} s |",
        phases.views.as_secs_f64(),
        phases.views_bytes as f64 / 1e6,
        phases.views_decode.as_secs_f64()
    );
    println!(
        "| replay, for comparison: order list pages (`GET /orders?status=`, {ORDER_PAGE}/page) | {} ids | {:.2} s | network + server (an older server's path) |",
        phases.ids.len(),
        phases.list.as_secs_f64()
    );
    println!(
        "| replay, for comparison: order details (`GET /orders/{{id}}`, {DETAIL_CONCURRENCY} in flight) | {n_orders} | {:.2} s ({detail_avg_ms:.2} ms per order, {:.1} MB) | network + server; JSON decode {:.2} s |",
        phases.detail.as_secs_f64(),
        phases.detail_bytes as f64 / 1e6,
        phases.detail_decode.as_secs_f64()
    );
    println!(
        "| sealing only (in memory) | {n_orders} + {n_skus} | {:.2} s (orders {:.2}, SKUs {:.2}) | JSON encode + AES-256-GCM (+ HMAC barcode tags), as `cache.rs` does it |",
        (sealing.orders + sealing.skus).as_secs_f64(),
        sealing.orders.as_secs_f64(),
        sealing.skus.as_secs_f64()
    );
    println!(
        "| encrypted cache write path (`Cache::put_skus` ×{}, `put_orders` ×{}) | {n_orders} + {n_skus} | {:.2} s (orders {:.2}, SKUs {:.2}) | JSON encode + sealing + SQLite (WAL, synchronous=FULL, one transaction per batch) |",
        n_skus.div_ceil(SKU_PAGE),
        n_orders.div_ceil(DETAIL_BATCH),
        writes.sealed_total().as_secs_f64(),
        writes.sealed_orders.as_secs_f64(),
        writes.sealed_skus.as_secs_f64()
    );
    println!(
        "| plain SQLite, same schema, pragmas, statements, batching | {n_orders} + {n_skus} | {:.2} s (orders {:.2}, SKUs {:.2}) | JSON encode + SQLite (no sealing, barcodes in clear) |",
        writes.plain_total().as_secs_f64(),
        writes.plain_orders.as_secs_f64(),
        writes.plain_skus.as_secs_f64()
    );
    println!(
        "| **ratio** encrypted / plain write path | | **{:.2}×** | the sync as a whole is {:.1}× the plain write |",
        writes.sealed_total().as_secs_f64() / writes.plain_total().as_secs_f64(),
        sync_s / writes.plain_total().as_secs_f64()
    );
    println!(
        "| cache after sync | {} orders, {} SKUs | {:.1} MB on disk | |",
        status.cached_orders,
        status.cached_skus,
        status.cache_bytes as f64 / 1e6
    );
    println!();
    println!(
        "| scan → label bytes at the printer | prints | p50 | p95 | p99 | max | target p99 < {PRINT_P99_TARGET_MS} ms |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (name, s) in [
        (
            "booked label from the server (`LabelSource::Server`)",
            &booked,
        ),
        (
            "hand-entered number, rendered here (`LocalFallback`)",
            &fallback,
        ),
    ] {
        println!(
            "| {name}, {} B ZPL | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
            s.bytes,
            s.lat.len(),
            pct(&s.lat, 0.50),
            pct(&s.lat, 0.95),
            pct(&s.lat, 0.99),
            pct(&s.lat, 1.0),
            verdict(
                pct(&s.lat, 0.99) < PRINT_P99_TARGET_MS,
                pct(&s.lat, 0.99) / PRINT_P99_TARGET_MS
            )
        );
    }
    println!();
    println!(
        "Timed from the call of `station.print_label(order, None, printer)` (order in the cache) to the \
         printer (a loopback `TcpListener` here) reading EOF of the job; includes the printer probe, \
         and for a booked label the server's `GET …/label?format=zpl` — counted there as a print \
         ({prints_on_server} prints of that one label after the run: every print after the first is \
         an audited reprint, so the server writes an audit event each time)."
    );

    running.shutdown(Duration::from_secs(2)).await?;
    sandbox.shutdown().await;
    Ok(())
}

fn verdict(met: bool, ratio: f64) -> String {
    if met {
        "met".into()
    } else {
        format!("missed, {ratio:.1}× the target")
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile of sorted milliseconds.
fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// Every received order allocated and picked (`demo::release_to_packing`, 500 orders a call, one
/// transaction per order): seeding, not measured.
async fn allocate_all(state: &wms_server::AppState) -> anyhow::Result<(usize, usize)> {
    let (mut picking, mut skipped) = (0, 0);
    loop {
        let r = wms_server::demo::release_to_packing(state, TENANT, 500)
            .await
            .map_err(|e| anyhow!("release to packing: {e}"))?;
        picking += r.picking.len();
        skipped += r.skipped;
        if r.picking.is_empty() && r.skipped == 0 {
            return Ok((picking, skipped));
        }
    }
}

fn totp_now(secret: &[u8]) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    wms_core::totp::code_at(secret, now).map_err(|e| anyhow!("{e:?}"))
}

/// Codes are single use and checked ±1 step: stay clear of a step boundary.
async fn clear_of_step_boundary() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let into_step = now.as_millis() % 30_000;
    if into_step > 25_000 {
        tokio::time::sleep(Duration::from_millis((30_000 - into_step) as u64 + 200)).await;
    }
}

async fn login_token(
    api: &ApiClient,
    email: &str,
    password: &str,
    totp: Option<&[u8]>,
) -> anyhow::Result<String> {
    let mut body = json!({"tenant": TENANT, "email": email, "password": password});
    if let Some(secret) = totp {
        clear_of_step_boundary().await;
        body["totp"] = json!(totp_now(secret)?);
    }
    let t: Value = api.json(Call::post("/api/v1/auth/login", body)).await?;
    Ok(t["access_token"]
        .as_str()
        .context("no access token")?
        .to_owned())
}

struct Admin<'a> {
    api: &'a ApiClient,
    token: &'a str,
}

impl Admin<'_> {
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.api
            .json(Call::post(path, body).bearer(self.token))
            .await
            .with_context(|| format!("POST {path}"))
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.api
            .json(Call::get(path).bearer(self.token))
            .await
            .with_context(|| format!("GET {path}"))
    }

    /// One pack scan per line (all units) of an order being picked.
    async fn pack_all(&self, id: &str) -> anyhow::Result<()> {
        let order = self.get(&format!("/api/v1/orders/{id}")).await?;
        for line in order["lines"].as_array().context("no lines")? {
            self.post(
                &format!("/api/v1/orders/{id}/pack"),
                json!({"barcode": line["sku"], "quantity": line["quantity"]}),
            )
            .await?;
        }
        Ok(())
    }

    /// How often the server has handed out package 1's label (a PNG preview is not counted).
    async fn label_prints(&self, id: &str) -> anyhow::Result<i64> {
        let r = self
            .api
            .raw(
                Call::get(format!("/api/v1/orders/{id}/packages/1/label"))
                    .query("format", "png")
                    .bearer(self.token)
                    .once(),
            )
            .await?;
        Ok(r.header("x-label-prints")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1))
    }
}

fn write_profile(data: &Path) -> anyhow::Result<()> {
    std::fs::write(
        data.join(wms_client::label::PROFILE_FILE),
        serde_json::to_vec(&json!({
            "sender": {
                "postal_code": "530-0001",
                "address_lines": ["大阪府大阪市北区梅田1-2-3"],
                "phone": "06-1234-5678"
            },
            "dpi": 203
        }))?,
    )?;
    Ok(())
}

/// What the full load reads, fetched again phase by phase with a plain client.
struct Phases {
    skus: Vec<Sku>,
    orders: Vec<Order>,
    ids: Vec<String>,
    sku_pages: Duration,
    sku_decode: Duration,
    sku_bytes: usize,
    list: Duration,
    views: Duration,
    views_bytes: usize,
    views_decode: Duration,
    detail: Duration,
    detail_decode: Duration,
    detail_bytes: usize,
}

async fn replay_phases(
    api: &ApiClient,
    token: &str,
    working_set: &[String],
) -> anyhow::Result<Phases> {
    let mut p = Phases {
        skus: Vec::new(),
        orders: Vec::new(),
        ids: Vec::new(),
        sku_pages: Duration::ZERO,
        sku_decode: Duration::ZERO,
        sku_bytes: 0,
        list: Duration::ZERO,
        views: Duration::ZERO,
        views_bytes: 0,
        views_decode: Duration::ZERO,
        detail: Duration::ZERO,
        detail_decode: Duration::ZERO,
        detail_bytes: 0,
    };
    let mut after: Option<String> = None;
    loop {
        let mut c = Call::get("/api/v1/skus")
            .query("limit", SKU_PAGE.to_string())
            .bearer(token);
        if let Some(a) = &after {
            c = c.query("after", a.clone());
        }
        let t = Instant::now();
        let r = api.raw(c).await?;
        p.sku_pages += t.elapsed();
        p.sku_bytes += r.body.len();
        let t = Instant::now();
        let page: Vec<Sku> = serde_json::from_slice(&r.body)?;
        p.sku_decode += t.elapsed();
        let n = page.len();
        after = page.last().map(|s| s.seller_sku.clone());
        p.skus.extend(page);
        if n < SKU_PAGE {
            break;
        }
    }
    for status in working_set {
        let mut before: Option<String> = None;
        loop {
            let mut c = Call::get("/api/v1/orders/views")
                .query("status", status.clone())
                .query("limit", VIEW_PAGE.to_string())
                .bearer(token);
            if let Some(b) = &before {
                c = c.query("before", b.clone());
            }
            let t = Instant::now();
            let r = api.raw(c).await?;
            p.views += t.elapsed();
            p.views_bytes += r.body.len();
            let t = Instant::now();
            let page: Vec<Order> = serde_json::from_slice(&r.body)?;
            p.views_decode += t.elapsed();
            let n = page.len();
            before = page.last().map(|o| o.id.clone());
            if n < VIEW_PAGE {
                break;
            }
        }
    }
    let t = Instant::now();
    for status in working_set {
        let mut before: Option<String> = None;
        loop {
            let mut c = Call::get("/api/v1/orders")
                .query("status", status.clone())
                .query("limit", ORDER_PAGE.to_string())
                .bearer(token);
            if let Some(b) = &before {
                c = c.query("before", b.clone());
            }
            let page: Vec<OrderSummary> = api.json(c).await?;
            let n = page.len();
            before = page.last().map(|o| o.id.clone());
            p.ids.extend(page.into_iter().map(|o| o.id));
            if n < ORDER_PAGE {
                break;
            }
        }
    }
    p.list = t.elapsed();
    // As the sync reads them: DETAIL_CONCURRENCY requests in flight.
    let t = Instant::now();
    let bodies: Vec<Vec<u8>> = {
        use futures_util::{StreamExt, TryStreamExt};
        futures_util::stream::iter(&p.ids)
            .map(|id| async move {
                api.raw(Call::get(format!("/api/v1/orders/{id}")).bearer(token))
                    .await
                    .map(|r| r.body)
            })
            .buffered(DETAIL_CONCURRENCY)
            .try_collect()
            .await?
    };
    p.detail = t.elapsed();
    for body in bodies {
        p.detail_bytes += body.len();
        let t = Instant::now();
        let o: Order = serde_json::from_slice(&body)?;
        p.detail_decode += t.elapsed();
        p.orders.push(o);
    }
    Ok(p)
}

struct Writes {
    sealed_skus: Duration,
    sealed_orders: Duration,
    plain_skus: Duration,
    plain_orders: Duration,
}

impl Writes {
    fn sealed_total(&self) -> Duration {
        self.sealed_skus + self.sealed_orders
    }
    fn plain_total(&self) -> Duration {
        self.plain_skus + self.plain_orders
    }
}

/// The same rows written with the cache's own write path and into a plain SQLite file of the same
/// schema, pragmas, statements and batching (one transaction per SKU page / detail batch).
async fn write_paths(dir: &Path, skus: &[Sku], orders: &[Order]) -> anyhow::Result<Writes> {
    let cache = Cache::open(&dir.join("sealed.sqlite"), &CacheKey::generate()).await?;
    let t = Instant::now();
    for chunk in skus.chunks(SKU_PAGE) {
        cache.put_skus(chunk).await?;
    }
    let sealed_skus = t.elapsed();
    let t = Instant::now();
    for chunk in orders.chunks(DETAIL_BATCH) {
        cache.put_orders(chunk).await?;
    }
    let sealed_orders = t.elapsed();
    cache.close().await;

    let url = format!("sqlite://{}", dir.join("plain.sqlite").display());
    let opts = SqliteConnectOptions::from_str(&url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(opts)
        .await?;
    for ddl in [
        "CREATE TABLE orders (id TEXT PRIMARY KEY NOT NULL, status TEXT NOT NULL, updated_at INTEGER NOT NULL, payload BLOB NOT NULL)",
        "CREATE INDEX orders_status ON orders (status)",
        "CREATE TABLE skus (id TEXT PRIMARY KEY NOT NULL, updated_at INTEGER NOT NULL, payload BLOB NOT NULL)",
        "CREATE TABLE barcodes (tag BLOB PRIMARY KEY NOT NULL, sku_id TEXT NOT NULL) WITHOUT ROWID",
        "CREATE INDEX barcodes_sku ON barcodes (sku_id)",
    ] {
        sqlx::query(ddl).execute(&pool).await?;
    }
    let now = 1_700_000_000_000_i64;
    let t = Instant::now();
    // The cache's statements: multi-row, ROWS_PER_STATEMENT rows each.
    for page in skus.chunks(SKU_PAGE) {
        let mut tx = pool.begin().await?;
        for chunk in page.chunks(ROWS_PER_STATEMENT) {
            let rows = chunk
                .iter()
                .map(|s| Ok((s, serde_json::to_vec(s)?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO skus (id, updated_at, payload) ");
            q.push_values(&rows, |mut row, (s, payload)| {
                row.push_bind(&s.id).push_bind(now).push_bind(payload);
            });
            q.push(" ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, payload = excluded.payload");
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM barcodes WHERE sku_id IN (");
            let mut ids = q.separated(", ");
            for s in chunk {
                ids.push_bind(&s.id);
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
            let codes: Vec<(&[u8], &str)> = chunk
                .iter()
                .flat_map(|s| {
                    s.barcodes
                        .iter()
                        .map(|b| b.code.as_str())
                        .chain(std::iter::once(s.seller_sku.as_str()))
                        .map(|c| (c.as_bytes(), s.id.as_str()))
                })
                .collect();
            for part in codes.chunks(ROWS_PER_STATEMENT) {
                let mut q =
                    QueryBuilder::<Sqlite>::new("INSERT OR REPLACE INTO barcodes (tag, sku_id) ");
                q.push_values(part, |mut row, (tag, id)| {
                    row.push_bind(*tag).push_bind(*id);
                });
                q.build().execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
    }
    let plain_skus = t.elapsed();
    let t = Instant::now();
    for batch in orders.chunks(DETAIL_BATCH) {
        let mut tx = pool.begin().await?;
        for chunk in batch.chunks(ROWS_PER_STATEMENT) {
            let rows = chunk
                .iter()
                .map(|o| Ok((o, serde_json::to_vec(o)?)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO orders (id, status, updated_at, payload) ",
            );
            q.push_values(&rows, |mut row, (o, payload)| {
                row.push_bind(&o.id)
                    .push_bind(&o.status)
                    .push_bind(now)
                    .push_bind(payload);
            });
            q.push(" ON CONFLICT (id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, payload = excluded.payload");
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }
    let plain_orders = t.elapsed();
    pool.close().await;
    Ok(Writes {
        sealed_skus,
        sealed_orders,
        plain_skus,
        plain_orders,
    })
}

struct Sealing {
    skus: Duration,
    orders: Duration,
}

/// JSON encoding and sealing alone, as `cache.rs` seals (its `seal` is private): AES-256-GCM with
/// a random nonce and AAD = "wms-cache/v1\0" + table + "\0" + id; HMAC-SHA256 barcode tags.
fn seal_only(skus: &[Sku], orders: &[Order]) -> anyhow::Result<Sealing> {
    let key: [u8; 32] = rand::random();
    let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| anyhow!("key"))?;
    let seal = |table: &str, id: &str, plain: &[u8]| -> anyhow::Result<Vec<u8>> {
        let nonce: [u8; 12] = rand::random();
        let mut aad = b"wms-cache/v1\0".to_vec();
        aad.extend_from_slice(table.as_bytes());
        aad.push(0);
        aad.extend_from_slice(id.as_bytes());
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .map_err(|_| anyhow!("seal"))?;
        let mut out = Vec::with_capacity(13 + ct.len());
        out.push(1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    };
    let mut sink = 0usize;
    let t = Instant::now();
    for s in skus {
        sink += seal("skus", &s.id, &serde_json::to_vec(s)?)?.len();
        for code in s
            .barcodes
            .iter()
            .map(|b| b.code.as_str())
            .chain(std::iter::once(s.seller_sku.as_str()))
        {
            let mut mac =
                <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(|_| anyhow!("key"))?;
            mac.update(code.as_bytes());
            sink += mac.finalize().into_bytes().len();
        }
    }
    let skus_t = t.elapsed();
    let t = Instant::now();
    for o in orders {
        sink += seal("orders", &o.id, &serde_json::to_vec(o)?)?.len();
    }
    let orders_t = t.elapsed();
    std::hint::black_box(sink);
    Ok(Sealing {
        skus: skus_t,
        orders: orders_t,
    })
}

/// A label printer on loopback: reads each connection to EOF and reports when the last byte came
/// (empty connections — the station's probe — are not reported).
struct LoopbackPrinter {
    target: PrinterTarget,
    jobs: mpsc::Receiver<(Instant, Vec<u8>)>,
}

impl LoopbackPrinter {
    fn start() -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let target: PrinterTarget = format!("tcp://{}", listener.local_addr()?).parse()?;
        let (tx, jobs) = mpsc::channel();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut buf = Vec::new();
                if conn.read_to_end(&mut buf).is_err() {
                    continue;
                }
                let at = Instant::now();
                drop(conn);
                if !buf.is_empty() && tx.send((at, buf)).is_err() {
                    return;
                }
            }
        });
        Ok(Self { target, jobs })
    }
}

struct PrintStats {
    /// Sorted milliseconds.
    lat: Vec<f64>,
    bytes: usize,
}

async fn time_prints(
    station: &Station,
    order_id: &str,
    printer: &LoopbackPrinter,
    n: usize,
    expect: LabelSource,
) -> anyhow::Result<PrintStats> {
    // The first print refreshes the cached order (it predates the package); not timed.
    let out = station.print_label(order_id, None, &printer.target).await?;
    if out.source != expect {
        bail!("expected {expect:?}, got {:?}", out.source);
    }
    let (_, first) = printer.jobs.recv_timeout(Duration::from_secs(5))?;
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let out = station.print_label(order_id, None, &printer.target).await?;
        let (at, got) = printer.jobs.recv_timeout(Duration::from_secs(5))?;
        if got.len() != out.bytes {
            bail!(
                "the printer got {} bytes, expected {}",
                got.len(),
                out.bytes
            );
        }
        lat.push(ms(at.saturating_duration_since(t)));
    }
    lat.sort_by(f64::total_cmp);
    Ok(PrintStats {
        lat,
        bytes: first.len(),
    })
}
