//! Load generator: starts the real server in-process (TLS, production Argon2 parameters) on
//! SQLite or a fresh PostgreSQL database, drives it over loopback, and prints Markdown tables for
//! the README. Scenarios:
//!
//! - `auth` (default): login latency and authenticated-request throughput.
//! - `fulfilment`: `--orders` manual orders of 1–3 lines, each taken through allocate → pick →
//!   one pack scan per unit → one package → dispatch at `--concurrency`; per-step latencies,
//!   orders/s, a check that every order is dispatched and that `stock verify` holds, and the
//!   machine's raw database baseline (SQLite INSERT+COMMIT rate, or `pgbench -N` TPS) for scale.
//! - `stock`: ~100,000 stock balance rows (`--skus` SKUs seeded in one transaction), then
//!   `GET /api/v1/stock` by SKU, by bin and by expiry date; p50/p99 against the 50 ms target.
//! - `feedback`: Amazon shipment feedback against the in-process `wms-sandbox`: `--orders`
//!   (default 500 for this scenario) Amazon orders synced, fulfilled and dispatched with the
//!   feedback worker stopped, then the worker started on the backlog: confirmations per second
//!   against the sandbox's allowed rate (`--feedback-rate`, burst `--feedback-burst`), 429s after
//!   the first, exactly one package per order at the sandbox; then dispatch-to-confirmed latency
//!   for orders dispatched one at a time under the rate limit.
//!
//! ```text
//! cargo run --release -p wms-server --example loadgen -- \
//!     [--backend sqlite|postgres] [--scenario auth|fulfilment|stock] [--concurrency C]
//!     [--logins N] [--requests N]            (auth)
//!     [--orders N] [--skus N]                (fulfilment; stock uses --skus and --queries)
//! ```
//!
//! PostgreSQL needs WMS_TEST_PG_OWNER_URL / WMS_TEST_PG_APP_URL (see `scripts/pg-cluster.sh`);
//! the databases it creates are dropped at the end. Client and server share this process and the
//! machine's cores, so the figures are a floor for a dedicated server.
#![allow(clippy::print_stdout)]

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wms_core::role::Role;
use wms_server::config::Argon2Settings;
use wms_server::{Running, Settings};

const TENANT: &str = "bench";
const EMAIL: &str = "packer@bench.example";
const PASSWORD: &str = "correct horse battery staple";
const ME: &str = "/api/v1/me";
const LOGIN: &str = "/api/v1/auth/login";
const SUPERVISOR: &str = "supervisor@bench.example";
/// The p99 target of the stock-query issue.
const STOCK_P99_TARGET_MS: f64 = 50.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Logins and `GET /api/v1/me`.
    Auth,
    /// Orders through allocate → pick → pack → package → dispatch.
    Fulfilment,
    /// Stock queries over ~100,000 balance rows.
    Stock,
    /// Amazon shipment feedback: backlog drain rate and dispatch-to-confirmation latency.
    Feedback,
}

#[derive(Parser, Debug)]
#[command(about = "Jilian WMS load generator (in-process server, loopback TLS)")]
struct Args {
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    #[arg(long, value_enum, default_value_t = Scenario::Auth)]
    scenario: Scenario,
    /// Logins per login phase (sequential, then concurrent). Auth scenario.
    #[arg(long, default_value_t = 200)]
    logins: usize,
    /// Total authenticated `GET /api/v1/me` requests. Auth scenario.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent clients for the concurrent phases.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Each phase stops after this many seconds, whatever is left
    /// [default: 120 for auth, 900 for fulfilment and stock].
    #[arg(long)]
    max_seconds: Option<u64>,
    /// Orders to create and fulfil. Fulfilment scenario.
    #[arg(long, default_value_t = 10_000)]
    orders: usize,
    /// SKUs to seed [default: 300 for fulfilment, 75000 for stock (≈100,000 balance rows)].
    #[arg(long)]
    skus: Option<usize>,
    /// Requests per stock query type at `--concurrency` (a tenth of it sequentially). Stock scenario.
    #[arg(long, default_value_t = 3_000)]
    queries: usize,
    /// Rows of the SQLite INSERT+COMMIT baseline. Fulfilment scenario on SQLite.
    #[arg(long, default_value_t = 20_000)]
    baseline_rows: usize,
    /// Seconds of the `pgbench -N` baseline. Fulfilment scenario on PostgreSQL.
    #[arg(long, default_value_t = 20)]
    pgbench_seconds: u64,
    /// Seed of the order generator (the same seed gives the same orders).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// PostgreSQL experiment: `ALTER DATABASE … SET plan_cache_mode = MODE` on the fresh database
    /// before the server connects (e.g. `force_custom_plan`). Default: the server's default (auto).
    #[arg(long, value_parser = ["auto", "force_custom_plan", "force_generic_plan"])]
    pg_plan_cache_mode: Option<String>,
    /// confirmShipment usage plan at the sandbox: requests per second. Feedback scenario.
    #[arg(long, default_value_t = 2.0)]
    feedback_rate: f64,
    /// confirmShipment usage plan at the sandbox: burst. Feedback scenario.
    #[arg(long, default_value_t = 10.0)]
    feedback_burst: f64,
    /// Orders dispatched one at a time for the latency phase. Feedback scenario.
    #[arg(long, default_value_t = 30)]
    latency_orders: usize,
    /// Keep the data directory (SQLite file) or the PostgreSQL database afterwards, for EXPLAIN.
    #[arg(long)]
    keep_data: bool,
}

impl Args {
    fn skus(&self) -> usize {
        self.skus.unwrap_or(match self.scenario {
            Scenario::Stock => 75_000,
            _ => 300,
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.logins == 0 || args.requests == 0 || args.concurrency == 0 {
        bail!("--logins, --requests and --concurrency must be at least 1");
    }
    if args.orders == 0 || args.skus() == 0 || args.queries == 0 {
        bail!("--orders, --skus and --queries must be at least 1");
    }
    let args = if args.scenario == Scenario::Feedback && args.orders == 10_000 {
        Args {
            orders: 500,
            ..args
        }
    } else {
        args
    };
    let budget = Duration::from_secs(args.max_seconds.unwrap_or(match args.scenario {
        Scenario::Auth => 120,
        _ => 900,
    }));

    let dir = tempfile::tempdir().context("temporary data directory")?;
    // Production defaults (Argon2 included), except the per-IP limit on authentication requests.
    let mut settings = Settings {
        data_dir: dir.path().to_path_buf(),
        auth_rate_per_minute: 10_000_000,
        ..Settings::default()
    };
    if args.scenario != Scenario::Auth {
        // The warehouse scenarios log in once and may outlast the 15-minute access token.
        settings.access_token_ttl_secs = 6 * 3600;
    }
    let pg = match args.backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let db = FreshPg::create().await?;
            if let Some(mode) = &args.pg_plan_cache_mode {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(&db.owner_url).await?;
                // `mode` is one of the three values clap accepts; the name is ours.
                let sql = format!("ALTER DATABASE {} SET plan_cache_mode = {mode}", db.name);
                sqlx::Executor::execute(&mut conn, sql.as_str()).await?;
                conn.close().await.ok();
                println!("experiment: plan_cache_mode = {mode} on the benchmark database");
            }
            settings.database_owner_url = Some(db.owner_url.clone());
            settings.database_url = Some(db.app_url.clone());
            Some(db)
        }
    };
    let sandbox = if args.scenario == Scenario::Feedback {
        let sb_dir = dir.path().join("sandbox");
        let mut config = wms_sandbox::SandboxConfig::new(&sb_dir);
        config.settings.search_lag_secs = 0;
        let sb = wms_sandbox::Sandbox::start(config).await?;
        sb.control().set_rate_plan(
            wms_sandbox::Operation::ConfirmShipment,
            wms_sandbox::RatePlan {
                rate: args.feedback_rate,
                burst: args.feedback_burst,
            },
        )?;
        settings.amazon.lwa_token_url = sb.urls().lwa_token_url.clone();
        settings.amazon.sp_api_base = sb.urls().amazon.clone();
        settings.amazon.ca_cert = Some(sb.urls().ca_cert.clone());
        // The backlog builds up first; the worker is started by the scenario.
        settings.amazon.workers = false;
        Some(sb)
    } else {
        None
    };
    let argon2 = settings.argon2;
    println!(
        "backend: {}, Argon2id m={} KiB t={} p={} (production defaults), cores: {}",
        args.backend.name(),
        argon2.memory_kib,
        argon2.iterations,
        argon2.parallelism,
        cores()
    );
    if args.scenario != Scenario::Auth {
        println!(
            "scenario: {:?}, concurrency {}, access-token lifetime raised to 6 h for the run",
            args.scenario, args.concurrency
        );
    }

    if args.scenario != Scenario::Auth {
        // The server's own error log (an internal error's cause is logged, never sent): stderr.
        let filter = tracing_subscriber::EnvFilter::try_from_env("WMS_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let (server, running) = Server::start(settings).await?;
    let result = match args.scenario {
        Scenario::Auth => run(&server, &args, budget)
            .await
            .map(|r| r.markdown(&args, argon2)),
        Scenario::Fulfilment => Box::pin(run_fulfilment(&server, &args, budget)).await,
        Scenario::Stock => Box::pin(run_stock(&server, &args, budget)).await,
        Scenario::Feedback => match &sandbox {
            Some(sb) => Box::pin(run_feedback(&server, sb, &args, budget)).await,
            None => Err(anyhow::anyhow!("sandbox not started")),
        },
    };
    // Drop the client (and its idle keep-alive connections) so that shutdown drains at once.
    let Server { state, .. } = server;
    if let Err(e) = running.shutdown(Duration::from_secs(5)).await {
        eprintln!("warning: server shutdown: {e:#}");
    }
    state.db.close().await;
    if args.keep_data {
        eprintln!("kept data directory: {}", dir.keep().display());
        if let Some(db) = &pg {
            eprintln!("kept PostgreSQL database: {}", db.name);
        }
    } else if let Some(db) = pg
        && let Err(e) = db.drop_database().await
    {
        eprintln!("warning: could not drop the benchmark database: {e:#}");
    }
    let report = result?;
    println!();
    println!("{report}");
    Ok(())
}

async fn run(server: &Server, args: &Args, budget: Duration) -> anyhow::Result<Report> {
    let db_version = server.db_version().await?;
    let tenant = wms_server::accounts::create_tenant(
        &server.state.db,
        &server.state.keys,
        TENANT,
        false,
        "loadgen",
    )
    .await
    .context("create tenant")?;
    wms_server::accounts::create_user(
        &server.state.db,
        &server.state.keys,
        &server.state.hasher,
        tenant,
        EMAIL,
        Role::Packer,
        Some(PASSWORD),
        "loadgen",
    )
    .await
    .context("create packer")?;

    // Warm-up (not measured): the first connection's TLS handshake and the first login.
    let (token, http_version) = server.login().await.context("warm-up login")?;
    eprintln!("warm-up login ok over {http_version:?}; sequential logins…");

    let login = {
        let s = server.clone();
        move || {
            let s = s.clone();
            async move { s.login().await.map(|_| ()) }
        }
    };
    let seq = run_phase(args.logins, 1, budget, login.clone()).await;
    seq.print("sequential logins");
    eprintln!("concurrent logins (C={})…", args.concurrency);
    let conc = run_phase(args.logins, args.concurrency, budget, login).await;
    conc.print("concurrent logins");

    let me = {
        let s = server.clone();
        let token: Arc<str> = token.into();
        move || {
            let s = s.clone();
            let token = token.clone();
            async move { s.me(&token).await }
        }
    };
    // Warm-up (not measured): open one connection per client.
    let warm_budget = budget.min(Duration::from_secs(15));
    let warm = run_phase(
        args.concurrency * 10,
        args.concurrency,
        warm_budget,
        me.clone(),
    )
    .await;
    if warm.errors > 0 || warm.aborted {
        warm.print("warm-up GET /me (not in the table)");
    }
    eprintln!("GET {ME} x {} (C={})…", args.requests, args.concurrency);
    let gets = run_phase(args.requests, args.concurrency, budget, me).await;
    gets.print("GET /me");

    Ok(Report {
        backend: args.backend,
        db_version,
        http_version: format!("{http_version:?}"),
        seq,
        conc,
        gets,
    })
}

/// The in-process server and a client that trusts its certificate.
#[derive(Clone)]
struct Server {
    base: Arc<str>,
    http: reqwest::Client,
    state: wms_server::AppState,
}

impl Server {
    async fn start(settings: Settings) -> anyhow::Result<(Self, Running)> {
        let tls = wms_server::tls::load_or_generate(&settings).context("TLS material")?;
        let state = wms_server::build_state(settings)
            .await
            .context("server state")?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind loopback")?;
        let running = wms_server::launch(state.clone(), listener, &tls).await?;
        let base = format!("https://127.0.0.1:{}", running.addr.port());
        let server = Self {
            base: base.into(),
            http: client_for(&tls)?,
            state,
        };
        Ok((server, running))
    }

    async fn db_version(&self) -> anyhow::Result<String> {
        use sqlx::Row;
        let sql = match self.state.db.backend() {
            wms_server::db::Backend::Sqlite => "SELECT 'SQLite ' || sqlite_version()",
            wms_server::db::Backend::Postgres => {
                "SELECT 'PostgreSQL ' || current_setting('server_version')"
            }
        };
        let row = sqlx::query(sql)
            .fetch_one(self.state.db.pool())
            .await
            .context("database version")?;
        Ok(row.try_get::<String, _>(0)?)
    }

    /// One login; returns the access token and the HTTP version used.
    async fn login(&self) -> anyhow::Result<(String, reqwest::Version)> {
        let resp = self
            .http
            .post(format!("{}{LOGIN}", self.base))
            .json(&json!({"tenant": TENANT, "email": EMAIL, "password": PASSWORD}))
            .send()
            .await?;
        let version = resp.version();
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status != StatusCode::OK {
            bail!("login: {status} {body}");
        }
        let token = body["access_token"]
            .as_str()
            .context("login response without access_token")?;
        Ok((token.to_owned(), version))
    }

    /// One JSON request; any answer is `Ok((status, body))` (body `Null` when not JSON).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// The HTTP version the client negotiated with the server (ALPN), e.g. `HTTP/1.1`.
    async fn http_version(&self) -> anyhow::Result<String> {
        let resp = self
            .http
            .get(format!("{}/healthz", self.base))
            .send()
            .await?;
        Ok(format!("{:?}", resp.version()))
    }

    /// A request that must succeed (2xx); returns the body.
    async fn ok(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let (status, v) = self.call(method.clone(), path, token, body).await?;
        if !status.is_success() {
            bail!("{method} {path}: {status} {v}");
        }
        Ok(v)
    }

    /// Log in as `email`; with a TOTP seed, with the current step's code.
    async fn login_as(&self, email: &str, totp: Option<&[u8]>) -> anyhow::Result<String> {
        let mut body = json!({"tenant": TENANT, "email": email, "password": PASSWORD});
        if let Some(secret) = totp {
            body["totp"] = json!(totp_code(secret, 0)?);
        }
        let v = self.ok(Method::POST, LOGIN, None, Some(&body)).await?;
        Ok(v["access_token"]
            .as_str()
            .context("login response without access_token")?
            .to_owned())
    }

    /// A supervisor who enrols TOTP through the API as the test harness does.
    async fn supervisor(&self, tenant: wms_core::ids::TenantId) -> anyhow::Result<String> {
        self.privileged(tenant, SUPERVISOR, Role::Supervisor).await
    }

    /// A privileged user who enrols TOTP through the API as the test harness does (login →
    /// enrollment_token → enroll → verify with the previous step's code), then logs in with the
    /// current step's code. Returns the access token.
    async fn privileged(
        &self,
        tenant: wms_core::ids::TenantId,
        email: &str,
        role: Role,
    ) -> anyhow::Result<String> {
        wms_server::accounts::create_user(
            &self.state.db,
            &self.state.keys,
            &self.state.hasher,
            tenant,
            email,
            role,
            Some(PASSWORD),
            "loadgen",
        )
        .await
        .context("create privileged user")?;
        let (status, r) = self
            .call(
                Method::POST,
                LOGIN,
                None,
                Some(&json!({"tenant": TENANT, "email": email, "password": PASSWORD})),
            )
            .await?;
        let Some(enrol) = r["enrollment_token"].as_str() else {
            bail!("{email} login: expected mfa_enrollment_required, got {status} {r}");
        };
        let e = self
            .ok(
                Method::POST,
                "/api/v1/auth/mfa/enroll",
                Some(enrol),
                Some(&json!({})),
            )
            .await?;
        let secret = wms_core::totp::secret_from_base32(e["secret"].as_str().context("secret")?)
            .map_err(|e| anyhow::anyhow!("TOTP secret: {e}"))?;
        self.ok(
            Method::POST,
            "/api/v1/auth/mfa/verify",
            Some(enrol),
            Some(&json!({"code": totp_code(&secret, -1)?})),
        )
        .await?;
        self.login_as(email, Some(&secret)).await
    }

    async fn me(&self, token: &str) -> anyhow::Result<()> {
        let resp = self
            .http
            .get(format!("{}{ME}", self.base))
            .bearer_auth(token)
            .send()
            .await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        if status != StatusCode::OK {
            bail!("GET {ME}: {status} {}", String::from_utf8_lossy(&body));
        }
        Ok(())
    }
}

/// As the test harness: trust exactly this certificate, ring provider, TLS 1.2+.
fn client_for(tls: &wms_server::tls::TlsMaterial) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    for c in &tls.certs {
        roots.add(c.clone())?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// A fresh PostgreSQL database (as the harness's `fresh_pg_database`), dropped afterwards.
struct FreshPg {
    owner_maintenance_url: String,
    name: String,
    owner_url: String,
    app_url: String,
}

impl FreshPg {
    async fn create() -> anyhow::Result<Self> {
        use sqlx::Connection;
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (Some(owner), Some(app)) = (var("WMS_TEST_PG_OWNER_URL"), var("WMS_TEST_PG_APP_URL"))
        else {
            bail!(
                "--backend postgres needs WMS_TEST_PG_OWNER_URL and WMS_TEST_PG_APP_URL; \
                 start a cluster with: eval \"$(bash scripts/pg-cluster.sh start /tmp/wms-dev-pg)\""
            );
        };
        let name = format!("wms_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&owner)
            .await
            .context("connect to PostgreSQL as the owner role")?;
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
            .await
            .context("create the benchmark database")?;
        conn.close().await.ok();
        Ok(Self {
            owner_url: with_db(&owner, &name),
            app_url: with_db(&app, &name),
            owner_maintenance_url: owner,
            name,
        })
    }

    /// Drop the database; retried briefly, as the server's closed connections may linger a moment
    /// (the owner role may not terminate the application role's sessions, so no `WITH (FORCE)`).
    async fn drop_database(self) -> anyhow::Result<()> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&self.owner_maintenance_url).await?;
        let sql = format!("DROP DATABASE IF EXISTS {}", self.name);
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            match sqlx::Executor::execute(&mut conn, sql.as_str()).await {
                Err(_) if attempt < 20 => tokio::time::sleep(Duration::from_millis(250)).await,
                other => break other,
            }
        };
        conn.close().await.ok();
        result.with_context(|| format!("drop database {}", self.name))?;
        Ok(())
    }
}

fn with_db(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) => format!("{}/{db}", &url[..i]),
        None => url.to_owned(),
    }
}

/// Latencies of the successful operations of one phase, and what went wrong.
struct Phase {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    wall: Duration,
    planned: usize,
    aborted: bool,
}

impl Phase {
    fn done(&self) -> usize {
        self.latencies.len() + self.errors
    }

    fn per_sec(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    /// Nearest-rank percentile in milliseconds (`q` in 0..=1); NaN without samples.
    fn pct_ms(&self, q: f64) -> f64 {
        let n = self.latencies.len();
        if n == 0 {
            return f64::NAN;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.latencies[rank - 1].as_secs_f64() * 1000.0
    }

    fn print(&self, what: &str) {
        eprintln!(
            "  {what}: {} ok, {} errors in {:.2} s ({:.1}/s), p50 {:.2} ms, p99 {:.2} ms{}",
            self.latencies.len(),
            self.errors,
            self.wall.as_secs_f64(),
            self.per_sec(),
            self.pct_ms(0.50),
            self.pct_ms(0.99),
            if self.aborted {
                " — ABORTED at the time limit"
            } else {
                ""
            }
        );
        if let Some(e) = &self.first_error {
            eprintln!("  first error: {e}");
        }
    }

    fn note(&self) -> String {
        let mut notes = Vec::new();
        if self.errors > 0 {
            notes.push(format!("{} errors", self.errors));
        }
        if self.aborted {
            notes.push(format!(
                "stopped at time limit after {} of {}",
                self.done(),
                self.planned
            ));
        }
        notes.join("; ")
    }
}

/// Run `op` `total` times from `concurrency` workers; stop early once `budget` is spent.
async fn run_phase<F, Fut>(total: usize, concurrency: usize, budget: Duration, op: F) -> Phase
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + budget;
    let workers: Vec<_> = (0..concurrency.min(total))
        .map(|_| {
            let next = next.clone();
            let op = op.clone();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(total / concurrency + 1);
                let (mut errors, mut first_error, mut aborted) = (0, None, false);
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    if Instant::now() >= deadline {
                        aborted = true;
                        break;
                    }
                    let t = Instant::now();
                    let r = tokio::time::timeout_at(deadline.into(), op()).await;
                    match r {
                        Ok(Ok(())) => lat.push(t.elapsed()),
                        Ok(Err(e)) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| format!("{e:#}"));
                        }
                        Err(_) => {
                            aborted = true;
                            break;
                        }
                    }
                }
                (lat, errors, first_error, aborted)
            })
        })
        .collect();
    let mut phase = Phase {
        latencies: Vec::with_capacity(total),
        errors: 0,
        first_error: None,
        wall: Duration::ZERO,
        planned: total,
        aborted: false,
    };
    for w in workers {
        match w.await {
            Ok((lat, errors, first_error, aborted)) => {
                phase.latencies.extend(lat);
                phase.errors += errors;
                phase.aborted |= aborted;
                if phase.first_error.is_none() {
                    phase.first_error = first_error;
                }
            }
            Err(e) => {
                phase.errors += 1;
                phase
                    .first_error
                    .get_or_insert_with(|| format!("worker failed: {e}"));
            }
        }
    }
    phase.wall = start.elapsed();
    phase.latencies.sort_unstable();
    phase
}

struct Report {
    backend: Backend,
    db_version: String,
    http_version: String,
    seq: Phase,
    conc: Phase,
    gets: Phase,
}

impl Report {
    fn markdown(&self, args: &Args, a: Argon2Settings) -> String {
        let c = args.concurrency;
        let max_ms = |p: &Phase| {
            p.latencies
                .last()
                .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
        };
        let mut out = String::new();
        out.push_str(&format!(
            "**{}** ({}) · {} logical CPU{} ({}) · {} {} · Argon2id m={} KiB, t={}, p={} · \
             TLS 1.3 over loopback, {} · client and server in one process\n\n",
            self.backend.name(),
            self.db_version,
            cores(),
            if cores() == 1 { "" } else { "s" },
            cpu_model(),
            std::env::consts::OS,
            std::env::consts::ARCH,
            a.memory_kib,
            a.iterations,
            a.parallelism,
            self.http_version,
        ));
        out.push_str(
            "| Measurement | n | Throughput | p50 ms | p90 ms | p99 ms | max ms | Notes |\n",
        );
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---|\n");
        let rows = [
            ("Login, sequential".to_owned(), &self.seq, "logins/s"),
            (format!("Login, concurrency {c}"), &self.conc, "logins/s"),
            (
                format!("`GET /api/v1/me`, concurrency {c}"),
                &self.gets,
                "req/s",
            ),
        ];
        for (name, p, unit) in rows {
            out.push_str(&format!(
                "| {name} | {} | {:.1} {unit} | {:.2} | {:.2} | {:.2} | {:.2} | {} |\n",
                p.latencies.len(),
                p.per_sec(),
                p.pct_ms(0.50),
                p.pct_ms(0.90),
                p.pct_ms(0.99),
                max_ms(p),
                p.note(),
            ));
        }
        out
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
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

/// The TOTP code for now + `step_offset` 30-second steps.
fn totp_code(secret: &[u8], step_offset: i64) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    wms_core::totp::code_at(secret, (now + step_offset * 30).max(0) as u64)
        .map_err(|e| anyhow::anyhow!("TOTP code: {e}"))
}

fn date_in(days: i64) -> String {
    let d = time::OffsetDateTime::now_utc().date() + time::Duration::days(days);
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The tenant with a packer (password only) and a TOTP-enrolled supervisor; their access tokens.
async fn tenant_with_users(
    server: &Server,
) -> anyhow::Result<(wms_core::ids::TenantId, String, String)> {
    let s = &server.state;
    let tenant = wms_server::accounts::create_tenant(&s.db, &s.keys, TENANT, false, "loadgen")
        .await
        .context("create tenant")?;
    wms_server::accounts::create_user(
        &s.db,
        &s.keys,
        &s.hasher,
        tenant,
        EMAIL,
        Role::Packer,
        Some(PASSWORD),
        "loadgen",
    )
    .await
    .context("create packer")?;
    let sup = server.supervisor(tenant).await.context("supervisor")?;
    let packer = server.login_as(EMAIL, None).await.context("packer login")?;
    Ok((tenant, sup, packer))
}

/// `SELECT COUNT(*) …` with `$1` bound to the tenant id, inside a tenant context (row-level
/// security on PostgreSQL), through the server's own pool.
async fn count_in_tenant(
    server: &Server,
    tenant: wms_core::ids::TenantId,
    sql: &str,
) -> anyhow::Result<i64> {
    let mut tx = server.state.db.pool().begin().await?;
    if server.state.db.backend() == wms_server::db::Backend::Postgres {
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(tenant.to_string())
            .execute(&mut *tx)
            .await?;
    }
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(tenant.to_string())
        .fetch_one(&mut *tx)
        .await
        .with_context(|| format!("count: {sql}"))?;
    tx.commit().await?;
    Ok(n)
}

/// Every SKU of the tenant through the API: (seller SKU, first barcode, lot-tracked).
async fn all_skus(server: &Server, token: &str) -> anyhow::Result<Vec<(String, String, bool)>> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let path = if after.is_empty() {
            "/api/v1/skus?limit=1000".to_owned()
        } else {
            format!("/api/v1/skus?limit=1000&after={after}")
        };
        let page = server.ok(Method::GET, &path, Some(token), None).await?;
        let rows = page.as_array().context("SKU list")?;
        for r in rows {
            out.push((
                r["seller_sku"].as_str().context("seller_sku")?.to_owned(),
                r["barcodes"][0]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                r["lot_tracked"].as_bool().unwrap_or(false),
            ));
        }
        match rows.last() {
            Some(last) if rows.len() == 1000 => {
                after = last["seller_sku"].as_str().unwrap_or_default().to_owned();
            }
            _ => break,
        }
    }
    Ok(out)
}

/// Codes of the storage bins, through the API.
async fn storage_bins(server: &Server, token: &str) -> anyhow::Result<Vec<String>> {
    let v = server
        .ok(Method::GET, "/api/v1/locations", Some(token), None)
        .await?;
    let bins: Vec<String> = v
        .as_array()
        .context("location list")?
        .iter()
        .filter(|l| l["level"] == "bin" && l["kind"] == "storage")
        .filter_map(|l| l["code"].as_str().map(str::to_owned))
        .collect();
    if bins.is_empty() {
        bail!("the seeded warehouse has no storage bins");
    }
    Ok(bins)
}

fn machine_line(backend: Backend, db_version: &str, http: &str, c: usize) -> String {
    format!(
        "**{}** ({db_version}) · {} logical CPU{} ({}) · {} {} · TLS over loopback, {http} · \
         client and server in one process · concurrency {c}\n\n",
        backend.name(),
        cores(),
        if cores() == 1 { "" } else { "s" },
        cpu_model(),
        std::env::consts::OS,
        std::env::consts::ARCH,
    )
}

const TABLE_HEAD: &str = "| Measurement | n | Throughput | p50 ms | p90 ms | p99 ms | max ms | Notes |\n\
                          |---|---:|---:|---:|---:|---:|---:|---|\n";

fn table_row(name: &str, p: &Phase, unit: &str, notes: &str) -> String {
    let max = p
        .latencies
        .last()
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
    format!(
        "| {name} | {} | {:.1} {unit} | {:.2} | {:.2} | {:.2} | {max:.2} | {notes} |\n",
        p.latencies.len(),
        p.per_sec(),
        p.pct_ms(0.50),
        p.pct_ms(0.90),
        p.pct_ms(0.99),
    )
}

fn join_notes(a: String, b: String) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b,
        (_, true) => a,
        _ => format!("{a}; {b}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Fulfilment

/// The five requests of one order's flow after creation.
const STEPS: [&str; 5] = [
    "`POST /orders/{id}/allocate` (supervisor)",
    "`POST /orders/{id}/pick`",
    "`POST /orders/{id}/pack` (one scan per unit)",
    "`POST /orders/{id}/packages`",
    "`POST /orders/{id}/dispatch`",
];
const ALLOCATE: usize = 0;
const PICK: usize = 1;
const PACK: usize = 2;
const PACKAGE: usize = 3;
const DISPATCH: usize = 4;
/// Retries of one request answered `409 conflict` (a concurrent writer won: the server says
/// "retry") or 5xx, before the order is given up.
const MAX_RETRIES: u32 = 5;

/// Latencies of one step's successful requests, and the failed attempts by `status code`.
#[derive(Default)]
struct StepStats {
    latencies: Mutex<Vec<Duration>>,
    /// "409 conflict" → (count, first answer).
    failures: Mutex<BTreeMap<String, (usize, String)>>,
    retried: AtomicUsize,
}

impl StepStats {
    fn ok(&self, d: Duration) {
        if let Ok(mut l) = self.latencies.lock() {
            l.push(d);
        }
    }

    fn failed(&self, key: String, detail: String) {
        if let Ok(mut f) = self.failures.lock() {
            f.entry(key).or_insert((0, detail)).0 += 1;
        }
    }

    fn phase(&self, wall: Duration) -> Phase {
        let mut latencies = self.latencies.lock().map(|l| l.clone()).unwrap_or_default();
        latencies.sort_unstable();
        let failures = self.failures.lock().map(|f| f.clone()).unwrap_or_default();
        Phase {
            planned: latencies.len(),
            latencies,
            errors: failures.values().map(|v| v.0).sum(),
            first_error: failures.values().next().map(|v| v.1.clone()),
            wall,
            aborted: false,
        }
    }

    fn notes(&self) -> String {
        let failures = self.failures.lock().map(|f| f.clone()).unwrap_or_default();
        if failures.is_empty() {
            return String::new();
        }
        let list: Vec<String> = failures
            .iter()
            .map(|(k, (n, _))| format!("{n}× {k}"))
            .collect();
        format!(
            "failed attempts: {} ({} retried)",
            list.join(", "),
            self.retried.load(Ordering::Relaxed)
        )
    }
}

struct PlannedOrder {
    external_id: String,
    /// (index into the SKU list, quantity)
    lines: Vec<(usize, i64)>,
}

struct Flow {
    server: Server,
    sup: String,
    packer: String,
    /// Order id and the barcodes to scan, one per unit.
    orders: Vec<(String, Vec<String>)>,
    next: AtomicUsize,
    steps: [StepStats; 5],
}

impl Flow {
    /// One request of the flow, retried on `409 conflict` / 5xx; `check` validates the answer.
    async fn step(
        &self,
        k: usize,
        path: &str,
        token: &str,
        body: &Value,
        check: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let st = &self.steps[k];
        let mut attempt = 0;
        loop {
            let t = Instant::now();
            let (status, v) = self
                .server
                .call(Method::POST, path, Some(token), Some(body))
                .await?;
            if status.is_success() && check(&v) {
                st.ok(t.elapsed());
                return Ok(v);
            }
            let code = v["code"].as_str().unwrap_or("-");
            let key = if status.is_success() {
                format!("{} unexpected answer", status.as_u16())
            } else {
                format!("{} {code}", status.as_u16())
            };
            let detail = format!("POST {path}: {status} {v}");
            st.failed(key, detail.clone());
            let retryable =
                (status == StatusCode::CONFLICT && code == "conflict") || status.is_server_error();
            if !retryable || attempt >= MAX_RETRIES {
                bail!("{detail}");
            }
            attempt += 1;
            st.retried.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
        }
    }

    async fn one_order(&self) -> anyhow::Result<()> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let Some((id, scans)) = self.orders.get(i) else {
            return Ok(());
        };
        let base = format!("/api/v1/orders/{id}");
        let empty = json!({});
        self.step(
            ALLOCATE,
            &format!("{base}/allocate"),
            &self.sup,
            &empty,
            |v| v["status"] == "allocated",
        )
        .await?;
        self.step(PICK, &format!("{base}/pick"), &self.packer, &empty, |v| {
            v["status"] == "picking"
        })
        .await?;
        let pack = format!("{base}/pack");
        for (n, code) in scans.iter().enumerate() {
            let last = n + 1 == scans.len();
            self.step(PACK, &pack, &self.packer, &json!({"barcode": code}), |v| {
                v["order_complete"] == last
            })
            .await?;
        }
        let package = json!({"box_type": "60", "weight_g": 800, "length_mm": 250, "width_mm": 200, "height_mm": 150});
        self.step(
            PACKAGE,
            &format!("{base}/packages"),
            &self.packer,
            &package,
            |v| v["seq"] == 1,
        )
        .await?;
        self.step(
            DISPATCH,
            &format!("{base}/dispatch"),
            &self.packer,
            &empty,
            |v| v["status"] == "dispatched",
        )
        .await?;
        Ok(())
    }
}

fn plan_orders(n: usize, skus: usize, seed: u64) -> Vec<PlannedOrder> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let lines = rng.gen_range(1..=3usize).min(skus);
            PlannedOrder {
                external_id: format!("LG-{i:06}"),
                lines: rand::seq::index::sample(&mut rng, skus, lines)
                    .into_iter()
                    .map(|s| (s, rng.gen_range(1..=2i64)))
                    .collect(),
            }
        })
        .collect()
}

async fn run_fulfilment(server: &Server, args: &Args, budget: Duration) -> anyhow::Result<String> {
    let c = args.concurrency;
    let db_version = server.db_version().await?;
    let (tenant, sup, packer) = tenant_with_users(server).await?;
    let t = Instant::now();
    let seeded = wms_server::demo::seed_warehouse(&server.state, tenant, args.skus(), 0)
        .await
        .map_err(|e| anyhow::anyhow!("seed_warehouse: {e}"))?;
    eprintln!(
        "seeded warehouse {} ({} locations, {} SKUs with stock) in {:.1} s",
        seeded.warehouse,
        seeded.locations,
        seeded.skus,
        t.elapsed().as_secs_f64()
    );
    let skus = all_skus(server, &sup).await?;
    let bins = storage_bins(server, &sup).await?;
    if skus.iter().any(|s| s.1.is_empty()) {
        bail!("a seeded SKU has no barcode");
    }
    let plan = plan_orders(args.orders, skus.len(), args.seed);
    let mut demand = vec![0i64; skus.len()];
    for o in &plan {
        for &(s, q) in &o.lines {
            demand[s] += q;
        }
    }
    let units: i64 = demand.iter().sum();
    let lines: usize = plan.iter().map(|o| o.lines.len()).sum();

    // Top-up receipts through the API (not timed in the table): what the orders need plus a
    // margin, in another bin than the seeded stock, a new lot for lot-tracked SKUs.
    eprintln!(
        "receiving {units} units for {} SKUs…",
        demand.iter().filter(|d| **d > 0).count()
    );
    let receipts: Arc<Vec<Value>> = Arc::new(
        skus.iter()
            .enumerate()
            .filter(|(i, _)| demand[*i] > 0)
            .map(|(i, (code, _, lot))| {
                let mut b = json!({"sku": code, "location": bins[(i * 7 + 3) % bins.len()], "quantity": demand[i] + 5, "reference": "loadgen"});
                if *lot {
                    b["lot"] = json!(format!("LG{i:05}"));
                    b["expiry"] = json!(date_in(365));
                }
                b
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let receive = {
        let (s, sup, receipts, next) =
            (server.clone(), sup.clone(), receipts.clone(), next.clone());
        move || {
            let (s, sup, receipts, next) = (s.clone(), sup.clone(), receipts.clone(), next.clone());
            async move {
                let body = &receipts[next.fetch_add(1, Ordering::Relaxed)];
                s.ok(
                    Method::POST,
                    "/api/v1/stock/receive",
                    Some(&sup),
                    Some(body),
                )
                .await
                .map(|_| ())
            }
        }
    };
    let rc = run_phase(receipts.len(), c, budget, receive).await;
    rc.print("receive (setup)");
    if rc.errors > 0 || rc.aborted {
        bail!("stock receipts failed; see above");
    }

    // Create the orders through the API (timed separately from the flow).
    eprintln!("creating {} orders (C={c})…", plan.len());
    let plan = Arc::new(plan);
    let skus = Arc::new(skus);
    let created: Arc<Mutex<Vec<(usize, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let create = {
        let (s, sup, plan, skus, created, next) = (
            server.clone(),
            sup.clone(),
            plan.clone(),
            skus.clone(),
            created.clone(),
            next.clone(),
        );
        move || {
            let (s, sup, plan, skus, created, next) = (
                s.clone(),
                sup.clone(),
                plan.clone(),
                skus.clone(),
                created.clone(),
                next.clone(),
            );
            async move {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let o = &plan[i];
                let lines: Vec<Value> = o
                    .lines
                    .iter()
                    .map(|&(k, q)| json!({"sku": skus[k].0, "quantity": q}))
                    .collect();
                let body = json!({
                    "external_id": o.external_id,
                    "lines": lines,
                    "recipient": {"name": "山田 太郎", "postal_code": "100-0005", "prefecture": "東京都", "city": "千代田区", "address1": "丸の内1-9-1", "address2": "サンプルビル3階", "phone": "090-1234-5678"}
                });
                let v = s
                    .ok(Method::POST, "/api/v1/orders", Some(&sup), Some(&body))
                    .await?;
                let id = v["id"].as_str().context("order id")?.to_owned();
                if let Ok(mut c) = created.lock() {
                    c.push((i, id));
                }
                Ok(())
            }
        }
    };
    let creation = run_phase(plan.len(), c, budget, create).await;
    creation.print("create orders");
    let mut ids = created.lock().map(|c| c.clone()).unwrap_or_default();
    ids.sort_unstable();
    let orders: Vec<(String, Vec<String>)> = ids
        .into_iter()
        .map(|(i, id)| {
            let scans = plan[i]
                .lines
                .iter()
                .flat_map(|&(k, q)| std::iter::repeat_n(skus[k].1.clone(), q as usize))
                .collect();
            (id, scans)
        })
        .collect();
    let n_orders = orders.len();

    // The measured flow.
    eprintln!("fulfilling {n_orders} orders (C={c})…");
    let flow = Arc::new(Flow {
        server: server.clone(),
        sup: sup.clone(),
        packer,
        orders,
        next: AtomicUsize::new(0),
        steps: Default::default(),
    });
    let op = {
        let f = flow.clone();
        move || {
            let f = f.clone();
            async move { f.one_order().await }
        }
    };
    let whole = run_phase(n_orders, c, budget, op).await;
    whole.print("whole flow per order");
    let steps: Vec<Phase> = flow.steps.iter().map(|s| s.phase(whole.wall)).collect();
    let flow_requests: usize = steps.iter().map(|p| p.latencies.len()).sum();
    let req_per_s = flow_requests as f64 / whole.wall.as_secs_f64().max(f64::EPSILON);
    for ((name, p), st) in STEPS.iter().zip(&steps).zip(&flow.steps) {
        p.print(name);
        for (kind, (n, first)) in st.failures.lock().map(|f| f.clone()).unwrap_or_default() {
            eprintln!("    {n}× {kind}; first: {first}");
        }
    }

    // Checks: every order dispatched (the API's own pages), and the ledger agrees with balances.
    let mut dispatched = 0usize;
    let mut pages = 0usize;
    let mut before = String::new();
    loop {
        let path = if before.is_empty() {
            "/api/v1/orders?status=dispatched&limit=500".to_owned()
        } else {
            format!("/api/v1/orders?status=dispatched&limit=500&before={before}")
        };
        let v = server.ok(Method::GET, &path, Some(&sup), None).await?;
        let rows = v.as_array().context("order list")?;
        pages += 1;
        dispatched += rows.len();
        match rows.last() {
            Some(last) if rows.len() == 500 => {
                before = last["id"].as_str().unwrap_or_default().to_owned();
            }
            _ => break,
        }
    }
    let t = Instant::now();
    let diffs = wms_server::admin_ops::verify_stock(&server.state, TENANT).await?;
    let verify_s = t.elapsed().as_secs_f64();
    let reserved_left = count_in_tenant(
        server,
        tenant,
        "SELECT CAST(COALESCE(SUM(reserved), 0) AS BIGINT) FROM stock_balances WHERE tenant_id = $1",
    )
    .await?;
    let dispatched_check = format!(
        "{dispatched} of {} orders are `dispatched` (`GET /api/v1/orders?status=dispatched`, {pages} pages of ≤500){}",
        args.orders,
        if dispatched == args.orders {
            " — OK"
        } else {
            " — MISSING ORDERS"
        }
    );
    let verify_check = if diffs.is_empty() {
        format!(
            "`stock verify` (`admin_ops::verify_stock`): 0 differences between balances and ledger — OK ({verify_s:.1} s); reserved units left: {reserved_left}"
        )
    } else {
        format!(
            "`stock verify`: {} DIFFERENCES, first: {:?}; reserved units left: {reserved_left}",
            diffs.len(),
            diffs[0]
        )
    };
    eprintln!("{dispatched_check}\n{verify_check}");

    // The machine's raw database rate, for scale.
    let baseline = match args.backend {
        Backend::Sqlite => {
            let path = server.state.settings.data_dir.join("baseline.db");
            eprintln!("SQLite baseline: {} INSERT+COMMIT…", args.baseline_rows);
            let tps = sqlite_baseline(&path, args.baseline_rows).await?;
            Some((
                tps,
                format!(
                    "SQLite single-row `INSERT` + `COMMIT`, sequential, {} rows, fresh file, WAL, synchronous=NORMAL (sqlx)",
                    args.baseline_rows
                ),
            ))
        }
        Backend::Postgres => pgbench_baseline(c, args.pgbench_seconds).await?,
    };

    let mut out = machine_line(args.backend, &db_version, &server.http_version().await?, c);
    out.push_str(&format!(
        "{} orders · {lines} lines ({:.2}/order) · {units} units ({:.2}/order, one pack scan each) · {} SKUs · \
         per order: allocate (supervisor) → pick → pack scans → 1 package → dispatch (packer) · \
         orders processed {c} at a time · 409 `conflict` and 5xx retried up to {MAX_RETRIES}×\n\n",
        args.orders,
        lines as f64 / args.orders as f64,
        units as f64 / args.orders as f64,
        skus.len(),
    ));
    out.push_str(TABLE_HEAD);
    out.push_str(&table_row(
        "Create order `POST /orders` (setup, timed apart)",
        &creation,
        "orders/s",
        &creation.note(),
    ));
    out.push_str(&table_row(
        "**Whole flow, per order**",
        &whole,
        "orders/s",
        &join_notes(
            whole.note(),
            format!("{flow_requests} requests, {req_per_s:.1} req/s"),
        ),
    ));
    for ((name, p), st) in STEPS.iter().zip(&steps).zip(&flow.steps) {
        out.push_str(&table_row(name, p, "req/s", &st.notes()));
    }
    out.push('\n');
    match baseline {
        Some((tps, what)) => {
            out.push_str("| Baseline | Rate | Flow req/s : baseline tx/s | Orders/s |\n|---|---:|---:|---:|\n");
            out.push_str(&format!(
                "| {what} | {tps:.0} tx/s | {req_per_s:.0} : {tps:.0} = {:.3} | {:.1} |\n",
                req_per_s / tps,
                whole.per_sec()
            ));
        }
        None => out.push_str("Baseline: pgbench not found (looked in /usr/lib/postgresql/*/bin and PATH); skipped.\n"),
    }
    out.push('\n');
    out.push_str(&format!("- {dispatched_check}\n- {verify_check}\n"));
    Ok(out)
}

/// Single-row INSERT + COMMIT into a scratch table of a fresh SQLite file, with the server's
/// settings (WAL, synchronous=NORMAL), sequentially; transactions per second.
async fn sqlite_baseline(path: &std::path::Path, rows: usize) -> anyhow::Result<f64> {
    use sqlx::{ConnectOptions, Connection, Executor};
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(30))
        .disable_statement_logging();
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&opts).await?;
    conn.execute(
        "CREATE TABLE scratch (id TEXT PRIMARY KEY, at_ms BIGINT NOT NULL, body TEXT NOT NULL)",
    )
    .await?;
    let t = Instant::now();
    for i in 0..rows {
        let mut tx = conn.begin().await?;
        sqlx::query("INSERT INTO scratch (id, at_ms, body) VALUES ($1, $2, $3)")
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(i as i64)
            .bind("loadgen baseline row")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    let secs = t.elapsed().as_secs_f64();
    conn.close().await?;
    Ok(rows as f64 / secs.max(f64::EPSILON))
}

fn find_pgbench() -> Option<std::path::PathBuf> {
    let mut dirs: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let p = e.path().join("bin/pgbench");
            p.is_file().then_some((v, p))
        })
        .collect();
    dirs.sort();
    if let Some((_, p)) = dirs.pop() {
        return Some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("pgbench"))
            .find(|p| p.is_file())
    })
}

/// `pgbench -i -s 1` then `pgbench -N -c C -j 2 -T secs` on a fresh database (dropped after);
/// `None` when pgbench is not installed.
async fn pgbench_baseline(c: usize, secs: u64) -> anyhow::Result<Option<(f64, String)>> {
    let Some(pgbench) = find_pgbench() else {
        eprintln!("pgbench not found: PostgreSQL baseline skipped");
        return Ok(None);
    };
    let db = FreshPg::create().await.context("pgbench database")?;
    let url = db.owner_url.clone();
    let j = c.min(2);
    eprintln!(
        "pgbench baseline: {} -N -c {c} -j {j} -T {secs}…",
        pgbench.display()
    );
    let bin = pgbench.clone();
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<(f64, String)> {
        let init = std::process::Command::new(&bin)
            .args(["-i", "-s", "1", "-q", &url])
            .output()
            .context("run pgbench -i")?;
        if !init.status.success() {
            bail!("pgbench -i: {}", String::from_utf8_lossy(&init.stderr));
        }
        let run = std::process::Command::new(&bin)
            .args([
                "-N",
                "-c",
                &c.to_string(),
                "-j",
                &j.to_string(),
                "-T",
                &secs.to_string(),
                &url,
            ])
            .output()
            .context("run pgbench")?;
        let text = String::from_utf8_lossy(&run.stdout).into_owned();
        if !run.status.success() {
            bail!(
                "pgbench: {}{}",
                text,
                String::from_utf8_lossy(&run.stderr)
            );
        }
        let tps = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("tps = "))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .with_context(|| format!("no `tps = ` line in pgbench output:\n{text}"))?;
        let version = std::process::Command::new(&bin)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        Ok((
            tps,
            format!(
                "`pgbench -N -c {c} -j {j} -T {secs}` (simple-update, scale 1, {version}), same cluster"
            ),
        ))
    })
    .await
    .context("pgbench task")?;
    if let Err(e) = db.drop_database().await {
        eprintln!("warning: could not drop the pgbench database: {e:#}");
    }
    result.map(Some)
}

// ---------------------------------------------------------------------------------------------
// Stock queries

async fn run_stock(server: &Server, args: &Args, budget: Duration) -> anyhow::Result<String> {
    let c = args.concurrency;
    let db_version = server.db_version().await?;
    let (tenant, sup, _packer) = tenant_with_users(server).await?;
    eprintln!("seeding {} SKUs in one transaction…", args.skus());
    let t = Instant::now();
    wms_server::demo::seed_warehouse(&server.state, tenant, args.skus(), 0)
        .await
        .map_err(|e| anyhow::anyhow!("seed_warehouse: {e}"))?;
    let seed_s = t.elapsed().as_secs_f64();
    // PostgreSQL: fresh statistics, as autovacuum's analyze gives within a minute or so of a bulk
    // load (before it, the planner knows nothing of the new rows). SQLite: none, as in production
    // (the server never runs ANALYZE / PRAGMA optimize).
    let stats = match &server.state.settings.database_owner_url {
        Some(owner) if args.backend == Backend::Postgres => {
            use sqlx::Connection;
            let t = Instant::now();
            let mut conn = sqlx::PgConnection::connect(owner).await?;
            sqlx::Executor::execute(&mut conn, "ANALYZE").await?;
            conn.close().await.ok();
            format!(
                "`ANALYZE` (as the owner) after seeding, {:.1} s",
                t.elapsed().as_secs_f64()
            )
        }
        _ => "no `ANALYZE` (the server never runs it)".to_owned(),
    };
    let rows = count_in_tenant(
        server,
        tenant,
        "SELECT COUNT(*) FROM stock_balances WHERE tenant_id = $1",
    )
    .await?;
    let n_batches = count_in_tenant(
        server,
        tenant,
        "SELECT COUNT(*) FROM batches WHERE tenant_id = $1",
    )
    .await?;
    let skus = all_skus(server, &sup).await?;
    let bins = storage_bins(server, &sup).await?;
    eprintln!(
        "seeded in {seed_s:.1} s: {} SKUs, {n_batches} lots, {rows} stock balance rows in {} storage bins",
        skus.len(),
        bins.len()
    );
    let expiring = date_in(120);
    let skus: Arc<Vec<String>> = Arc::new(skus.into_iter().map(|s| s.0).collect());
    let bins = Arc::new(bins);

    // (label, path maker); each answer must be a non-empty array.
    type PathFn = Arc<dyn Fn() -> String + Send + Sync>;
    let kinds: Vec<(String, PathFn)> = vec![
        (
            "`GET /api/v1/stock?sku=<random seller SKU>`".to_owned(),
            Arc::new({
                let skus = skus.clone();
                move || {
                    let i = rand::thread_rng().gen_range(0..skus.len());
                    format!("/api/v1/stock?sku={}", skus[i])
                }
            }),
        ),
        (
            "`GET /api/v1/stock?location=<random bin>&limit=200`".to_owned(),
            Arc::new({
                let bins = bins.clone();
                move || {
                    let i = rand::thread_rng().gen_range(0..bins.len());
                    format!("/api/v1/stock?location={}&limit=200", bins[i])
                }
            }),
        ),
        (
            format!("`GET /api/v1/stock?expiring_before={expiring}&limit=200`"),
            Arc::new(move || format!("/api/v1/stock?expiring_before={expiring}&limit=200")),
        ),
    ];
    let op_for = |make: PathFn, rows_seen: Arc<AtomicUsize>| {
        let (s, sup) = (server.clone(), sup.clone());
        move || {
            let path = make();
            let (s, sup, rows_seen) = (s.clone(), sup.clone(), rows_seen.clone());
            async move {
                let v = s.ok(Method::GET, &path, Some(&sup), None).await?;
                let n = v.as_array().map_or(0, Vec::len);
                if n == 0 {
                    bail!("GET {path}: no rows");
                }
                rows_seen.fetch_add(n, Ordering::Relaxed);
                Ok(())
            }
        }
    };
    // Warm-up (not measured): connections, prepared statements, caches.
    for (label, make) in &kinds {
        let w = run_phase(50, c, budget, op_for(make.clone(), Arc::default())).await;
        if w.errors > 0 || w.aborted {
            w.print(&format!("warm-up {label} (not in the table)"));
        }
    }
    let seq_n = (args.queries / 10).max(1);
    let mut results = Vec::new();
    for (conc, n) in [(1, seq_n), (c, args.queries)] {
        for (label, make) in &kinds {
            eprintln!("{label} x {n} (C={conc})…");
            let rows_seen = Arc::new(AtomicUsize::new(0));
            let p = run_phase(n, conc, budget, op_for(make.clone(), rows_seen.clone())).await;
            p.print(label);
            let avg_rows =
                rows_seen.load(Ordering::Relaxed) as f64 / p.latencies.len().max(1) as f64;
            results.push((label.clone(), conc, p, avg_rows));
        }
    }

    let mut out = machine_line(args.backend, &db_version, &server.http_version().await?, c);
    out.push_str(&format!(
        "{} SKUs (every third lot-tracked, 2 lots) · {rows} stock balance rows (`SELECT COUNT(*) FROM stock_balances`) · \
         {n_batches} lots · {} storage bins · seeded by `demo::seed_warehouse` in one transaction in {seed_s:.1} s · \
         statistics: {stats} · target: p99 < {STOCK_P99_TARGET_MS:.0} ms\n\n",
        skus.len(),
        bins.len(),
    ));
    out.push_str("| Query | Concurrency | n | Throughput | p50 ms | p90 ms | p99 ms | max ms | Rows/answer | p99 < 50 ms |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (label, conc, p, avg_rows) in &results {
        let max = p
            .latencies
            .last()
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0);
        let verdict = if p.pct_ms(0.99) < STOCK_P99_TARGET_MS {
            "yes"
        } else {
            "**no**"
        };
        let note = p.note();
        out.push_str(&format!(
            "| {label} | {conc} | {} | {:.1} req/s | {:.2} | {:.2} | {:.2} | {max:.2} | {avg_rows:.1} | {verdict}{} |\n",
            p.latencies.len(),
            p.per_sec(),
            p.pct_ms(0.50),
            p.pct_ms(0.90),
            p.pct_ms(0.99),
            if note.is_empty() { String::new() } else { format!(" ({note})") },
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Feedback scenario.

const SELLER: &str = "A1BENCHSELLER";

/// Allocate, pick, pack (one scan per line), one package with a Yamato number, dispatch.
async fn fulfil_amazon(
    server: &Server,
    sup: &str,
    packer: &str,
    id: &str,
    serial: u64,
) -> anyhow::Result<()> {
    server
        .ok(
            Method::POST,
            &format!("/api/v1/orders/{id}/allocate"),
            Some(sup),
            Some(&json!({})),
        )
        .await?;
    server
        .ok(
            Method::POST,
            &format!("/api/v1/orders/{id}/pick"),
            Some(packer),
            Some(&json!({})),
        )
        .await?;
    let o = server
        .ok(
            Method::GET,
            &format!("/api/v1/orders/{id}"),
            Some(packer),
            None,
        )
        .await?;
    for l in o["lines"].as_array().context("lines")? {
        server
            .ok(
                Method::POST,
                &format!("/api/v1/orders/{id}/pack"),
                Some(packer),
                Some(&json!({"barcode": l["sku"], "quantity": l["quantity"]})),
            )
            .await?;
    }
    let tracking = format!("{serial:011}{}", serial % 7);
    server
        .ok(Method::POST, &format!("/api/v1/orders/{id}/packages"), Some(packer), Some(&json!({"box_type": "60", "weight_g": 500, "carrier": "yamato", "tracking_number": tracking})))
        .await?;
    server
        .ok(
            Method::POST,
            &format!("/api/v1/orders/{id}/dispatch"),
            Some(packer),
            Some(&json!({})),
        )
        .await?;
    Ok(())
}

async fn run_feedback(
    server: &Server,
    sb: &wms_sandbox::RunningSandbox,
    args: &Args,
    budget: Duration,
) -> anyhow::Result<String> {
    let db_version = server.db_version().await?;
    let (tenant, sup, packer) = tenant_with_users(server).await?;
    let admin = server
        .privileged(tenant, "admin@bench.example", Role::Admin)
        .await?;
    let ctl = sb.control();
    ctl.register_seller(wms_sandbox::SellerRegistration {
        selling_partner_id: SELLER.into(),
        client_id: "amzn1.application-oa2-client.bench".into(),
        client_secret: "bench-client-secret".into(),
        refresh_token: "Atzr|bench-refresh-token".into(),
        marketplace_ids: vec![],
        pii_granted: true,
    })?;
    server
        .ok(
            Method::POST,
            "/api/v1/warehouses",
            Some(&sup),
            Some(&json!({"code": "BENCH1", "name": "ベンチ倉庫"})),
        )
        .await?;
    for (code, parent, level, kind) in [
        ("PACK", None, "zone", "packing"),
        ("PACK-01", Some("PACK"), "aisle", "packing"),
        ("PACK-01-01", Some("PACK-01"), "bin", "packing"),
        ("A", None, "zone", "storage"),
        ("A-01", Some("A"), "aisle", "storage"),
        ("A-01-01-01", Some("A-01"), "bin", "storage"),
    ] {
        server
            .ok(
                Method::POST,
                "/api/v1/locations",
                Some(&sup),
                Some(&json!({"code": code, "parent": parent, "level": level, "kind": kind})),
            )
            .await?;
    }
    let skus: Vec<String> = (1..=20).map(|i| format!("FB-{i:03}")).collect();
    for sku in &skus {
        server
            .ok(
                Method::POST,
                "/api/v1/skus",
                Some(&sup),
                Some(&json!({"seller_sku": sku, "name": "ベンチ商品"})),
            )
            .await?;
        server
            .ok(
                Method::POST,
                "/api/v1/stock/receive",
                Some(&sup),
                Some(&json!({"sku": sku, "location": "A-01-01-01", "quantity": 100_000})),
            )
            .await?;
    }
    let auth = server
        .ok(
            Method::POST,
            "/api/v1/amazon/authorizations",
            Some(&admin),
            Some(&json!({
                "selling_partner_id": SELLER,
                "lwa_client_id": "amzn1.application-oa2-client.bench",
                "lwa_client_secret": "bench-client-secret",
                "refresh_token": "Atzr|bench-refresh-token",
                "pii_recipient": true,
            })),
        )
        .await?;
    let auth_id = auth["id"].as_str().context("authorization id")?.to_owned();
    let total = args.orders + args.latency_orders;
    ctl.generate_orders(
        SELLER,
        &wms_sandbox::GenerateOrders {
            count: u32::try_from(total)?,
            skus: skus
                .iter()
                .map(|s| wms_sandbox::SkuSpec::Sku(s.clone()))
                .collect(),
            seed: Some(args.seed),
            marketplace_id: None,
            max_lines: Some(2),
            max_quantity: Some(2),
            created_before: None,
            spread_minutes: Some(60),
            prime_share: None,
        },
    )?;
    let t = Instant::now();
    let report = server
        .ok(
            Method::POST,
            &format!("/api/v1/amazon/authorizations/{auth_id}/sync"),
            Some(&sup),
            Some(&json!({})),
        )
        .await?;
    eprintln!(
        "synced {} orders in {:.1} s ({} pages)",
        report["created"],
        t.elapsed().as_secs_f64(),
        report["pages"]
    );
    let ids: Vec<String> = {
        let orders = server
            .ok(Method::GET, "/api/v1/orders?limit=500", Some(&sup), None)
            .await?;
        let mut ids: Vec<String> = orders
            .as_array()
            .context("orders")?
            .iter()
            .filter_map(|o| o["id"].as_str().map(str::to_owned))
            .collect();
        let mut before = ids.last().cloned();
        while ids.len() < total {
            let Some(b) = before else { break };
            let more = server
                .ok(
                    Method::GET,
                    &format!("/api/v1/orders?limit=500&before={b}"),
                    Some(&sup),
                    None,
                )
                .await?;
            let page: Vec<String> = more
                .as_array()
                .context("orders")?
                .iter()
                .filter_map(|o| o["id"].as_str().map(str::to_owned))
                .collect();
            if page.is_empty() {
                break;
            }
            before = page.last().cloned();
            ids.extend(page);
        }
        ids
    };
    if ids.len() < total {
        bail!("expected {total} imported orders, found {}", ids.len());
    }
    let (backlog, latency_ids) = ids.split_at(args.orders);
    // The backlog: dispatched with the worker stopped.
    let t = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let backlog: Arc<Vec<String>> = Arc::new(backlog.to_vec());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (s, sup, packer, backlog, next) = (
            server.clone(),
            sup.clone(),
            packer.clone(),
            backlog.clone(),
            next.clone(),
        );
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(id) = backlog.get(i) else {
                    return Ok::<_, anyhow::Error>(());
                };
                fulfil_amazon(&s, &sup, &packer, id, 44_000_000_000 + i as u64).await?;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    eprintln!(
        "dispatched {} orders in {:.1} s; starting the feedback worker",
        backlog.len(),
        t.elapsed().as_secs_f64()
    );
    let confirmed_sql = "SELECT CAST(COUNT(*) AS BIGINT) FROM amazon_feedback WHERE tenant_id = $1 AND status = 'confirmed'";
    let queued = count_in_tenant(
        server,
        tenant,
        "SELECT CAST(COUNT(*) AS BIGINT) FROM amazon_feedback WHERE tenant_id = $1",
    )
    .await?;
    let worker = tokio::spawn(wms_server::amazon::feedback::run(server.state.clone()));
    let t = Instant::now();
    let deadline = t + budget;
    loop {
        let n = count_in_tenant(server, tenant, confirmed_sql).await?;
        if n >= queued {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {n} of {queued} confirmed within the budget");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain = t.elapsed().as_secs_f64();
    let records = ctl.confirmations();
    let throttled = records.iter().filter(|r| r.status == 429).count();
    let accepted = records.iter().filter(|r| r.status == 204).count();
    let mut one_package_each = true;
    for id in ctl.order_ids(SELLER) {
        let packages = ctl
            .order(SELLER, &id)
            .and_then(|o| o["packages"].as_array().map(Vec::len))
            .unwrap_or(0);
        if backlog_contains(&records, &id) && packages != 1 {
            one_package_each = false;
        }
    }
    // What the usage plan allows: the burst at once, then `rate` per second.
    let q = queued as f64;
    let allowed_secs = ((q - args.feedback_burst).max(0.0)) / args.feedback_rate;
    let efficiency = if drain > 0.0 {
        (allowed_secs / drain).min(1.0)
    } else {
        1.0
    };

    // Latency: one order at a time, spaced below the rate.
    let spacing = Duration::from_secs_f64((1.5 / args.feedback_rate).max(0.05));
    let mut lat = Vec::new();
    for (i, id) in latency_ids.iter().enumerate() {
        tokio::time::sleep(spacing).await;
        fulfil_amazon(server, &sup, &packer, id, 45_000_000_000 + i as u64).await?;
        let t = Instant::now();
        loop {
            let o = server
                .ok(
                    Method::GET,
                    &format!("/api/v1/orders/{id}"),
                    Some(&sup),
                    None,
                )
                .await?;
            if o["packages"][0]["feedback"]["status"] == "confirmed" {
                break;
            }
            if t.elapsed() > Duration::from_secs(60) {
                bail!("order {id} not confirmed within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    worker.abort();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(
            ((lat.len() as f64 * p).ceil() as usize)
                .saturating_sub(1)
                .min(lat.len().saturating_sub(1)),
        )
        .copied()
        .unwrap_or(0.0)
    };
    let http = server.http_version().await?;
    Ok(format!(
        "{}\n\n| measure | value |\n| --- | --- |\n| backlog | {queued} package confirmations ({} orders) |\n| sandbox usage plan | {} req/s, burst {} |\n| drain time | {drain:.1} s (the plan allows {allowed_secs:.1} s) |\n| achieved rate | {:.2} confirmations/s = {:.1} % of the allowed rate |\n| 429 answers | {throttled} |\n| accepted calls (204) | {accepted} |\n| one package per order at Amazon | {} |\n| dispatch → confirmed, {} orders one at a time | p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms |\n",
        machine_line(args.backend, &db_version, &http, args.concurrency),
        backlog.len(),
        args.feedback_rate,
        args.feedback_burst,
        if drain > 0.0 {
            (q - args.feedback_burst).max(0.0) / drain
        } else {
            0.0
        },
        efficiency * 100.0,
        if one_package_each { "yes" } else { "NO" },
        lat.len(),
        pct(0.5),
        pct(0.95),
        lat.last().copied().unwrap_or(0.0),
    ))
}

fn backlog_contains(records: &[wms_sandbox::ConfirmationRecord], order_id: &str) -> bool {
    records
        .iter()
        .any(|r| r.order_id == order_id && r.status == 204)
}
