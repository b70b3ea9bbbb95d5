//! The real server on an ephemeral port, over real TLS, on a fresh database per test:
//! a SQLite file in a temporary directory, or a new PostgreSQL database (connected to as the
//! application role, migrated as the owner role).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use wms_core::ids::TenantId;
use wms_core::role::Role;
use wms_server::{AppState, Running, Settings};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `NAME::sqlite` and `NAME::postgres` tests from `async fn NAME(b: Backend)`.
/// PostgreSQL tests need WMS_TEST_PG_OWNER_URL / WMS_TEST_PG_APP_URL; without them they are
/// skipped on a developer machine and FAIL under CI=true.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::harness::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::harness::pg_urls().is_none() {
                    return;
                }
                super::$name($crate::harness::Backend::Postgres).await;
            }
        }
    )*};
}

/// Owner and app URLs of the test cluster, or None (skip) outside CI; panics in CI.
pub fn pg_urls() -> Option<(String, String)> {
    match (
        std::env::var("WMS_TEST_PG_OWNER_URL"),
        std::env::var("WMS_TEST_PG_APP_URL"),
    ) {
        (Ok(o), Ok(a)) if !o.is_empty() && !a.is_empty() => Some((o, a)),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but WMS_TEST_PG_OWNER_URL / WMS_TEST_PG_APP_URL are not set: PostgreSQL tests must run in CI"
            );
            eprintln!(
                "skipping PostgreSQL test: WMS_TEST_PG_OWNER_URL / WMS_TEST_PG_APP_URL not set"
            );
            None
        }
    }
}

fn with_db(url: &str, db: &str) -> String {
    match url.rfind('/') {
        Some(i) => format!("{}/{db}", &url[..i]),
        None => url.to_owned(),
    }
}

/// Create a fresh PostgreSQL database; returns (owner URL, app URL) pointing at it.
pub async fn fresh_pg_database() -> (String, String) {
    use sqlx::Connection;
    let (owner, app) = pg_urls().expect("PostgreSQL URLs");
    let name = format!("wms_t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&owner)
        .await
        .expect("connect as owner");
    sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    conn.close().await.ok();
    (with_db(&owner, &name), with_db(&app, &name))
}

/// The name of a database `fresh_pg_database` made, from a URL pointing at it; None for any other.
fn test_database_name(url: &str) -> Option<&str> {
    let tail = &url[url.rfind('/')? + 1..];
    let name = tail.split('?').next().unwrap_or(tail);
    let ours = name.starts_with("wms_t_")
        && name[6..].len() == 32
        && name[6..].bytes().all(|b| b.is_ascii_hexdigit());
    ours.then_some(name)
}

/// Drop a per-test database at the end of the test, so a developer's cluster does not fill up
/// (CI's machine is thrown away, a workstation's is not). The server's pool may still hold
/// connections: `WITH (FORCE)` ends them (the owner role has `pg_signal_backend` on the test
/// cluster, see scripts/pg-cluster.sh). Runs on its own thread and runtime, as `Drop` cannot
/// await; a failure is reported, not raised, as it must not fail a test that passed.
fn drop_test_database(name: &str) {
    let Some((owner, _)) = pg_urls() else { return };
    let name = name.to_owned();
    let worker = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&owner)
                .await
                .map_err(|e| e.to_string())?;
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            let r = sqlx::Executor::execute(&mut conn, sql.as_str()).await;
            conn.close().await.ok();
            r.map(|_| ()).map_err(|e| format!("{name}: {e}"))
        })
    });
    match worker.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("could not drop the test database {e}"),
        Err(_) => eprintln!("dropping the test database panicked"),
    }
}

pub struct TestServer {
    pub backend: Backend,
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub settings: Settings,
    pub dir: tempfile::TempDir,
    running: Option<Running>,
}

pub fn test_settings(dir: &std::path::Path) -> Settings {
    let mut s = Settings::default();
    s.data_dir = dir.to_path_buf();
    // Cheap Argon2 for tests (the benchmark measures the production parameters).
    s.argon2 = wms_server::config::Argon2Settings {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    s.auth_rate_per_minute = 100_000;
    // The hourly retention job's first pass at start would race the test's first audit events;
    // tests run it directly (wms_server::retention::run_tenant) with the time they need.
    s.retention_interval_secs = 0;
    s
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = test_settings(dir.path());
        if backend == Backend::Postgres {
            let (owner, app) = fresh_pg_database().await;
            settings.database_owner_url = Some(owner);
            settings.database_url = Some(app);
        }
        let created = settings.database_owner_url.clone();
        tweak(&mut settings);
        if created != settings.database_owner_url
            && let Some(name) = created.as_deref().and_then(test_database_name)
        {
            // The test brought its own database: the one made above is not used.
            drop_test_database(name);
        }
        let tls = wms_server::tls::load_or_generate(&settings).expect("tls");
        let state = wms_server::build_state(settings.clone())
            .await
            .expect("state");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let running = wms_server::launch(state.clone(), listener, &tls)
            .await
            .expect("launch");
        let http = client_for(&tls, None);
        Self {
            backend,
            base: format!("https://127.0.0.1:{}", running.addr.port()),
            http,
            state,
            settings,
            dir,
            running: Some(running),
        }
    }

    /// Kill the server as a crash would (in-flight work dropped, nothing drained) and start a new
    /// one on the same database and data directory.
    pub async fn crash_and_restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.abort();
        }
        let tls = wms_server::tls::load_or_generate(&self.settings).expect("tls");
        let state = wms_server::build_state(self.settings.clone())
            .await
            .expect("state");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let running = wms_server::launch(state.clone(), listener, &tls)
            .await
            .expect("launch");
        self.base = format!("https://127.0.0.1:{}", running.addr.port());
        self.state = state;
        self.running = Some(running);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Send a JSON request; returns status, body (JSON or Null) and headers.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        self.call_with(method, path, token, body, &[]).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut rb = self.http.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request");
        Resp::read(resp).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn tenant(&self, name: &str) -> TenantId {
        wms_server::accounts::create_tenant(&self.state.db, &self.state.keys, name, false, "test")
            .await
            .expect("tenant")
    }

    /// A user with a known password (and, for privileged roles, an enrolled TOTP seed).
    pub async fn user(&self, tenant: TenantId, email: &str, role: Role) -> TestUser {
        let password = "correct horse battery staple";
        let (id, _) = wms_server::accounts::create_user(
            &self.state.db,
            &self.state.keys,
            &self.state.hasher,
            tenant,
            email,
            role,
            Some(password),
            "test",
        )
        .await
        .expect("user");
        TestUser {
            id: id.to_string(),
            email: email.to_owned(),
            password: password.to_owned(),
            totp: None,
        }
    }

    /// A privileged user who has enrolled TOTP through the API.
    pub async fn mfa_user(
        &self,
        tenant_name: &str,
        tenant: TenantId,
        email: &str,
        role: Role,
    ) -> TestUser {
        let mut u = self.user(tenant, email, role).await;
        clear_of_step_boundary().await;
        let r = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"tenant": tenant_name, "email": email, "password": u.password}),
            )
            .await;
        assert_eq!(r.code(), "mfa_enrollment_required", "{r:?}");
        let enrol_token = r.body["enrollment_token"]
            .as_str()
            .expect("enrollment token")
            .to_owned();
        let e = self
            .post("/api/v1/auth/mfa/enroll", Some(&enrol_token), json!({}))
            .await;
        assert_eq!(e.status, StatusCode::OK, "{e:?}");
        let secret = wms_core::totp::secret_from_base32(e.body["secret"].as_str().expect("secret"))
            .expect("base32");
        let v = self
            .post(
                "/api/v1/auth/mfa/verify",
                Some(&enrol_token),
                json!({"code": code_now(&secret, -1)}),
            )
            .await;
        assert_eq!(v.status, StatusCode::OK, "{v:?}");
        u.totp = Some(secret.to_vec());
        u
    }

    /// Log in (enrolment used the previous step's code, so the current one is not a replay;
    /// a later step-up can use the next step's).
    pub async fn login(&self, tenant_name: &str, u: &TestUser) -> Tokens {
        self.login_at_step(tenant_name, u, 0).await
    }

    pub async fn login_at_step(&self, tenant_name: &str, u: &TestUser, step_offset: i64) -> Tokens {
        let mut body = json!({"tenant": tenant_name, "email": u.email, "password": u.password});
        if let Some(s) = &u.totp {
            body["totp"] = json!(code_now(s, step_offset));
        }
        let r = self.post("/api/v1/auth/login", None, body).await;
        assert_eq!(r.status, StatusCode::OK, "login failed: {r:?}");
        Tokens {
            access: r.body["access_token"].as_str().expect("access").to_owned(),
            refresh: r.body["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_owned(),
        }
    }

    /// Audit actions recorded for a tenant, oldest first (read through the library, not the API).
    pub async fn audit_actions(&self, tenant: TenantId) -> Vec<String> {
        let rows = self
            .sql_in_tenant(
                tenant,
                "SELECT action FROM audit_events WHERE tenant_id = $1 ORDER BY seq",
            )
            .await;
        rows.into_iter()
            .map(|r| r[0].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Age every session's MFA verification in a tenant past the step-up window (six minutes).
    pub async fn age_step_up(&self, tenant: TenantId) {
        let old = wms_server::time::now_ms() - 6 * 60 * 1000;
        self.exec_as_owner(
            tenant,
            &format!("UPDATE sessions SET mfa_at = {old} WHERE tenant_id = '{tenant}'"),
        )
        .await;
    }

    /// Run a query as the application would, inside a tenant context; `$1` is bound to the tenant id.
    /// Returns rows as JSON arrays of text/integers.
    pub async fn sql_in_tenant(&self, tenant: TenantId, sql: &str) -> Vec<Vec<Value>> {
        use sqlx::Row;
        let pool = self.state.db.pool();
        let mut tx = pool.begin().await.expect("begin");
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                .bind(tenant.to_string())
                .execute(&mut *tx)
                .await
                .expect("set tenant");
        }
        let q = if sql.contains("$1") {
            sqlx::query(sql).bind(tenant.to_string())
        } else {
            sqlx::query(sql)
        };
        let rows = q.fetch_all(&mut *tx).await.expect("query");
        tx.commit().await.expect("commit");
        rows.iter()
            .map(|row| {
                (0..row.columns().len())
                    .map(|i| match row.try_get::<Option<i64>, _>(i) {
                        Ok(v) => v.map_or(Value::Null, Value::from),
                        Err(_) => row
                            .try_get::<Option<String>, _>(i)
                            .ok()
                            .flatten()
                            .map_or(Value::Null, Value::from),
                    })
                    .collect()
            })
            .collect()
    }

    /// Execute a statement as the database owner (bypassing the application, as an attacker with
    /// database access would), inside a tenant context so that row-level security lets it through.
    pub async fn exec_as_owner(&self, tenant: TenantId, sql: &str) {
        use sqlx::Connection;
        match self.backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", self.settings.sqlite_path().display());
                let mut c = sqlx::SqliteConnection::connect(&url).await.expect("sqlite");
                sqlx::Executor::execute(&mut c, sql)
                    .await
                    .expect("owner exec");
            }
            Backend::Postgres => {
                let url = self.settings.database_owner_url.clone().expect("owner url");
                let mut c = sqlx::PgConnection::connect(&url).await.expect("pg owner");
                let mut tx = c.begin().await.expect("begin");
                sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                    .bind(tenant.to_string())
                    .execute(&mut *tx)
                    .await
                    .expect("set");
                sqlx::Executor::execute(&mut *tx, sql)
                    .await
                    .expect("owner exec");
                tx.commit().await.expect("commit");
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(r) = self.running.take() {
            r.abort();
        }
        if self.backend == Backend::Postgres
            && let Some(name) = self
                .settings
                .database_owner_url
                .as_deref()
                .and_then(test_database_name)
        {
            drop_test_database(name);
        }
    }
}

pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub totp: Option<Vec<u8>>,
}

pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

/// Sleep past the next TOTP step boundary when it is less than 4 s away: the tests use codes of
/// neighbouring steps (enrol at -1, log in at 0, step up at +1), which a boundary passing between
/// computing a code and the server checking it would push out of the ±1 window.
pub async fn clear_of_step_boundary() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    let into_step = now.as_millis() % 30_000;
    if into_step > 26_000 {
        tokio::time::sleep(std::time::Duration::from_millis(
            (30_000 - into_step) as u64 + 200,
        ))
        .await;
    }
}

/// The TOTP code for now + `step_offset` steps (±1 is inside the accepted window).
pub fn code_now(secret: &[u8], step_offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    wms_core::totp::code_at(secret, (now + step_offset * 30).max(0) as u64).expect("code")
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    async fn read(r: reqwest::Response) -> Self {
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            body,
            headers,
        }
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts an RFC 9457 problem with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: StatusCode, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.code(), code, "{self:?}");
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(ct, "application/problem+json", "{self:?}");
    }
}

/// An HTTPS client that trusts exactly this server's certificate (TLS 1.2+ by rustls' design).
pub fn client_for(
    tls: &wms_server::tls::TlsMaterial,
    versions: Option<&'static rustls::SupportedProtocolVersion>,
) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    for c in &tls.certs {
        roots.add(c.clone()).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider);
    let builder = match versions {
        Some(v) => builder.with_protocol_versions(&[v]),
        None => builder.with_safe_default_protocol_versions(),
    }
    .expect("versions");
    let cfg = builder.with_root_certificates(roots).with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .build()
        .expect("client")
}
