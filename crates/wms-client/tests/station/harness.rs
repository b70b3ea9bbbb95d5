//! The real server on 127.0.0.1 over TLS, seeded with the demo warehouse, and helpers to drive it.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wms_client::api::{ApiClient, ApiConfig, Call};
use wms_client::secrets::StorePreference;
use wms_client::station::{LoginParams, Station, StationOptions};
use wms_client::tls::Fingerprint;
use wms_server::{AppState, Running, Settings};
use zeroize::Zeroizing;

pub const TENANT: &str = "acme";

pub struct Server {
    _dir: tempfile::TempDir,
    pub settings: Settings,
    pub state: AppState,
    pub addr: std::net::SocketAddr,
    pub fingerprint: String,
    running: Option<Running>,
    pub supervisor_email: String,
    pub password: String,
    pub totp_secret: Vec<u8>,
    /// The tenant admin (connects carrier accounts; needs a fresh TOTP step-up).
    pub admin_email: String,
    pub admin_password: String,
    pub admin_totp_secret: Vec<u8>,
    /// A packer: no MFA, no permission to read recipient PII.
    pub packer_email: String,
    pub packer_password: String,
}

fn settings(dir: &Path) -> Settings {
    let mut s = Settings::default();
    s.data_dir = dir.to_path_buf();
    s.argon2 = wms_server::config::Argon2Settings {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    s.auth_rate_per_minute = 100_000;
    s.amazon.workers = false;
    s
}

impl Server {
    /// A fresh server with the demo tenant: `skus` SKUs with stock and `orders` received orders.
    pub async fn start(skus: usize, orders: usize) -> Self {
        Self::start_with(skus, orders, |_| {}).await
    }

    /// As [`Server::start`], with adjusted settings (e.g. carriers pointed at the sandbox).
    pub async fn start_with(
        skus: usize,
        orders: usize,
        adjust: impl FnOnce(&mut Settings),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings(dir.path());
        adjust(&mut settings);
        let tls = wms_server::tls::load_or_generate(&settings).unwrap();
        let state = wms_server::build_state(settings.clone()).await.unwrap();
        let summary = wms_server::demo::seed(&state, TENANT, skus, orders)
            .await
            .unwrap();
        let user = |prefix: &str| {
            summary
                .users
                .iter()
                .find(|u| u.email.starts_with(prefix))
                .unwrap()
        };
        let totp = |u: &wms_server::demo::DemoUser| {
            wms_core::totp::secret_from_base32(u.totp_secret.as_deref().unwrap()).unwrap()
        };
        let (sup, adm, packer) = (user("supervisor@"), user("admin@"), user("packer@"));
        let (totp_secret, admin_totp_secret) = (totp(sup), totp(adm));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let running = wms_server::launch(state.clone(), listener, &tls)
            .await
            .unwrap();
        Self {
            addr: running.addr,
            fingerprint: tls.fingerprint.clone(),
            _dir: dir,
            settings,
            state,
            running: Some(running),
            supervisor_email: sup.email.clone(),
            password: sup.password.clone(),
            totp_secret: totp_secret.to_vec(),
            admin_email: adm.email.clone(),
            admin_password: adm.password.clone(),
            admin_totp_secret: admin_totp_secret.to_vec(),
            packer_email: packer.email.clone(),
            packer_password: packer.password.clone(),
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    /// Stops the server as a power cut would.
    pub fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.abort();
        }
    }

    /// A new server process on the same database, data directory and address.
    pub async fn restart(&mut self) {
        self.stop();
        let tls = wms_server::tls::load_or_generate(&self.settings).unwrap();
        let state = wms_server::build_state(self.settings.clone())
            .await
            .unwrap();
        let mut listener = None;
        for _ in 0..50 {
            match std::net::TcpListener::bind(self.addr) {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        let running = wms_server::launch(state.clone(), listener.expect("re-bind"), &tls)
            .await
            .unwrap();
        self.state = state;
        self.running = Some(running);
    }

    /// TOTP code for now + `offset` steps.
    pub fn totp(&self, offset: i64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        wms_core::totp::code_at(&self.totp_secret, (now + offset * 30).max(0) as u64).unwrap()
    }

    pub fn login_params(&self, totp: Option<String>) -> LoginParams {
        LoginParams {
            server: self.url(),
            fingerprint: Some(self.fingerprint.clone()),
            tenant: TENANT.into(),
            email: self.supervisor_email.clone(),
            password: Zeroizing::new(self.password.clone()),
            totp,
        }
    }

    /// A packer's login (no TOTP: the role has no MFA).
    pub fn packer_login_params(&self) -> LoginParams {
        LoginParams {
            server: self.url(),
            fingerprint: Some(self.fingerprint.clone()),
            tenant: TENANT.into(),
            email: self.packer_email.clone(),
            password: Zeroizing::new(self.packer_password.clone()),
            totp: None,
        }
    }

    /// The tenant admin, freshly stepped up with TOTP (for connecting a carrier account).
    pub async fn tenant_admin(&self) -> Admin {
        let api = ApiClient::new(&ApiConfig::new(
            self.url(),
            Some(Fingerprint::parse(&self.fingerprint).unwrap()),
        ))
        .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let code = wms_core::totp::code_at(&self.admin_totp_secret, now).unwrap();
        let t: Value = api
            .json(Call::post(
                "/api/v1/auth/login",
                json!({"tenant": TENANT, "email": self.admin_email, "password": self.admin_password, "totp": code}),
            ))
            .await
            .unwrap();
        Admin {
            api,
            token: t["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// A plain API client (pinned) and an access token of the supervisor, for test setup.
    pub async fn admin_client(&self, totp_offset: i64) -> Admin {
        let api = ApiClient::new(&ApiConfig::new(
            self.url(),
            Some(Fingerprint::parse(&self.fingerprint).unwrap()),
        ))
        .unwrap();
        let t: Value = api
            .json(Call::post(
                "/api/v1/auth/login",
                json!({"tenant": TENANT, "email": self.supervisor_email, "password": self.password, "totp": self.totp(totp_offset)}),
            ))
            .await
            .unwrap();
        Admin {
            api,
            token: t["access_token"].as_str().unwrap().to_owned(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Sleep past the next TOTP step boundary when it is less than 5 s away (codes of neighbouring
/// steps are used, and the ±1 window must still hold when the server checks).
pub async fn clear_of_step_boundary() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let into_step = now.as_millis() % 30_000;
    if into_step > 25_000 {
        tokio::time::sleep(std::time::Duration::from_millis(
            (30_000 - into_step) as u64 + 200,
        ))
        .await;
    }
}

pub struct Admin {
    pub api: ApiClient,
    pub token: String,
}

impl Admin {
    pub async fn get(&self, path: &str) -> Value {
        self.api
            .json(Call::get(path).bearer(&self.token))
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn get_q(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let mut c = Call::get(path).bearer(&self.token);
        for (k, v) in query {
            c = c.query(k, *v);
        }
        self.api
            .json(c)
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.api
            .json(Call::post(path, body).bearer(&self.token))
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// Ids of received orders, newest first.
    pub async fn order_ids(&self, status: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let mut c = Call::get("/api/v1/orders")
                .query("status", status)
                .query("limit", "500")
                .bearer(&self.token);
            if let Some(b) = &before {
                c = c.query("before", b.clone());
            }
            let page: Vec<Value> = self.api.json(c).await.unwrap();
            let n = page.len();
            ids.extend(page.iter().map(|o| o["id"].as_str().unwrap().to_owned()));
            before = ids.last().cloned();
            if n < 500 {
                return ids;
            }
        }
    }

    pub async fn allocate(&self, id: &str) {
        self.post(&format!("/api/v1/orders/{id}/allocate"), Value::Null)
            .await;
    }

    /// The label endpoint's answer: the body and `x-label-prints`.
    pub async fn label(&self, id: &str, seq: i64, format: &str) -> (Vec<u8>, i64) {
        let r = self
            .api
            .raw(
                Call::get(format!("/api/v1/orders/{id}/packages/{seq}/label"))
                    .query("format", format)
                    .bearer(&self.token)
                    .once(),
            )
            .await
            .unwrap();
        let prints = r.header("x-label-prints").unwrap().parse().unwrap();
        (r.body, prints)
    }

    /// The change feed's head.
    pub async fn feed_head(&self) -> i64 {
        self.get_q("/api/v1/changes", &[("after", "0"), ("limit", "1")])
            .await["head"]
            .as_i64()
            .unwrap()
    }

    pub async fn dispatch(&self, id: &str) {
        self.post(&format!("/api/v1/orders/{id}/dispatch"), json!({}))
            .await;
    }

    pub async fn cancel(&self, id: &str) {
        self.post(&format!("/api/v1/orders/{id}/cancel"), Value::Null)
            .await;
    }

    /// pick → pack every unit of an allocated order (no package yet).
    pub async fn pick_and_pack(&self, id: &str) {
        self.post(&format!("/api/v1/orders/{id}/pick"), Value::Null)
            .await;
        let order = self.get(&format!("/api/v1/orders/{id}")).await;
        for line in order["lines"].as_array().unwrap() {
            self.post(
                &format!("/api/v1/orders/{id}/pack"),
                json!({"barcode": line["sku"], "quantity": line["quantity"]}),
            )
            .await;
        }
    }

    /// allocate → pick → pack every unit → one package with a Yamato number (serial `n`).
    pub async fn pack_with_package(&self, id: &str, n: u64) -> String {
        self.allocate(id).await;
        self.pick_and_pack(id).await;
        self.add_tracked_package(id, n).await
    }

    /// One package with a Yamato number (serial `n`) entered by hand (no booked label).
    pub async fn add_tracked_package(&self, id: &str, n: u64) -> String {
        let tracking = wms_core::tracking::TrackingNumber::from_serial(
            wms_core::tracking::Carrier::Yamato,
            44_441_375_000 + n,
        )
        .unwrap()
        .digits();
        self.post(
            &format!("/api/v1/orders/{id}/packages"),
            json!({"box_type": "60", "weight_g": 800, "carrier": "yamato", "tracking_number": tracking}),
        )
        .await;
        tracking
    }
}

pub fn options(pref: StorePreference) -> StationOptions {
    StationOptions {
        secret_store: pref,
        label_font: font_path(),
        ..StationOptions::default()
    }
}

pub fn font_path() -> PathBuf {
    std::env::var_os("WMS_LABEL_FONT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(wms_client::label::DEFAULT_FONT))
}

/// The sender address the labels print (the station profile).
pub fn write_profile(data: &Path) {
    std::fs::write(
        data.join(wms_client::label::PROFILE_FILE),
        serde_json::to_vec(&json!({
            "sender": {
                "postal_code": "530-0001",
                "address_lines": ["大阪府大阪市北区梅田1-2-3"],
                "phone": "06-1234-5678"
            },
            "dpi": 203
        }))
        .unwrap(),
    )
    .unwrap();
}

pub async fn login(server: &Server, data: &Path, pref: StorePreference) -> Station {
    clear_of_step_boundary().await;
    Station::login(
        data,
        server.login_params(Some(server.totp(0))),
        options(pref),
    )
    .await
    .unwrap()
}

/// The tenant admin's TOTP code for now + `offset` steps.
pub fn admin_code(server: &Server, offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    wms_core::totp::code_at(&server.admin_totp_secret, (now + offset * 30) as u64).unwrap()
}

/// A station logged in as the tenant admin (with TOTP), its data in `data`. A step-up after it
/// takes the next step's code (`admin_code(server, 1)`): the login's own is a replay.
pub async fn admin_station(server: &Server, data: &Path) -> Station {
    clear_of_step_boundary().await;
    let params = LoginParams {
        server: server.url(),
        fingerprint: Some(server.fingerprint.clone()),
        tenant: TENANT.into(),
        email: server.admin_email.clone(),
        password: Zeroizing::new(server.admin_password.clone()),
        totp: Some(admin_code(server, 0)),
    };
    Station::login(data, params, options(StorePreference::File))
        .await
        .unwrap()
}

/// Where the station's secrets are (installation id from station.json).
pub fn installation_id(data: &Path) -> String {
    let v: Value =
        serde_json::from_slice(&std::fs::read(data.join("station.json")).unwrap()).unwrap();
    v["installation_id"].as_str().unwrap().to_owned()
}

/// The sandbox, and a server (10 SKUs, 2 orders) whose tenant has a Yamato account on the
/// sandbox's carrier stand-in (connected by the stepped-up tenant admin, returned).
pub async fn with_yamato() -> (
    wms_sandbox::RunningSandbox,
    tempfile::TempDir,
    Server,
    Admin,
) {
    let sandbox_dir = tempfile::tempdir().unwrap();
    let sandbox = wms_sandbox::Sandbox::start(wms_sandbox::SandboxConfig::new(sandbox_dir.path()))
        .await
        .unwrap();
    let ca = sandbox.urls().ca_cert.clone();
    let server = Server::start_with(10, 2, |s| {
        s.carriers.ca_cert = Some(ca);
        s.carriers.request_timeout_ms = 2_000;
        s.carriers.poller = false;
    })
    .await;
    sandbox
        .control()
        .register_carrier_customer(wms_sandbox::CarrierCustomerRegistration {
            carrier: wms_sandbox::CarrierKind::Yamato,
            customer_code: "0312345678".into(),
            api_key: "yamato-api-key-secret".into(),
        })
        .unwrap();
    let root = server.tenant_admin().await;
    root.post(
        "/api/v1/carriers/accounts",
        json!({"carrier": "yamato", "mode": "api", "base_url": sandbox.urls().yamato,
            "customer_code": "0312345678", "api_key": "yamato-api-key-secret",
            "sender": {"name": "ジリアン物流 東京第一倉庫", "postal_code": "135-0061",
                       "address_lines": ["東京都江東区豊洲3-3-3"], "phone": "03-1234-5678"}}),
    )
    .await;
    (sandbox, sandbox_dir, server, root)
}
