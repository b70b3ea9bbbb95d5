//! Load generator: starts the real server in-process (TLS, production Argon2 parameters) on
//! SQLite or a fresh PostgreSQL database, then measures login latency and authenticated-request
//! throughput over loopback, and prints a Markdown table for the README.
//!
//! ```text
//! cargo run --release -p wms-server --example loadgen -- \
//!     [--backend sqlite|postgres] [--logins N] [--requests N] [--concurrency C]
//! ```
//!
//! PostgreSQL needs WMS_TEST_PG_OWNER_URL / WMS_TEST_PG_APP_URL (see `scripts/pg-cluster.sh`);
//! the database it creates is dropped at the end. Client and server share this process and the
//! machine's cores, so the figures are a floor for a dedicated server.
#![allow(clippy::print_stdout)]

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use wms_core::role::Role;
use wms_server::config::Argon2Settings;
use wms_server::{Running, Settings};

const TENANT: &str = "bench";
const EMAIL: &str = "packer@bench.example";
const PASSWORD: &str = "correct horse battery staple";
const ME: &str = "/api/v1/me";
const LOGIN: &str = "/api/v1/auth/login";

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

#[derive(Parser, Debug)]
#[command(about = "Jilian WMS load generator (in-process server, loopback TLS)")]
struct Args {
    #[arg(long, value_enum, default_value_t = Backend::Sqlite)]
    backend: Backend,
    /// Logins per login phase (sequential, then concurrent).
    #[arg(long, default_value_t = 200)]
    logins: usize,
    /// Total authenticated `GET /api/v1/me` requests.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent clients for the concurrent phases.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Each phase stops after this many seconds, whatever is left.
    #[arg(long, default_value_t = 120)]
    max_seconds: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.logins == 0 || args.requests == 0 || args.concurrency == 0 {
        bail!("--logins, --requests and --concurrency must be at least 1");
    }
    let budget = Duration::from_secs(args.max_seconds);

    let dir = tempfile::tempdir().context("temporary data directory")?;
    // Production defaults (Argon2 included), except the per-IP limit on authentication requests.
    let mut settings = Settings {
        data_dir: dir.path().to_path_buf(),
        auth_rate_per_minute: 10_000_000,
        ..Settings::default()
    };
    let pg = match args.backend {
        Backend::Sqlite => None,
        Backend::Postgres => {
            let db = FreshPg::create().await?;
            settings.database_owner_url = Some(db.owner_url.clone());
            settings.database_url = Some(db.app_url.clone());
            Some(db)
        }
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

    let (server, running) = Server::start(settings).await?;
    let result = run(&server, &args, budget).await;
    // Drop the client (and its idle keep-alive connections) so that shutdown drains at once.
    let Server { state, .. } = server;
    if let Err(e) = running.shutdown(Duration::from_secs(5)).await {
        eprintln!("warning: server shutdown: {e:#}");
    }
    state.db.close().await;
    if let Some(db) = pg
        && let Err(e) = db.drop_database().await
    {
        eprintln!("warning: could not drop the benchmark database: {e:#}");
    }
    let report = result?;
    println!();
    println!("{}", report.markdown(&args, argon2));
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
