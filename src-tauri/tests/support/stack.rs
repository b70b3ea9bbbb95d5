//! Everything the real app talks to, on loopback: `wms-sandbox` (Amazon, Yamato, a raw TCP label
//! printer) and a real `wms-server` over TLS on SQLite, with a demo tenant whose Amazon seller has
//! one fresh order, synced, allocated and picked — ready for the packing bench.

use serde_json::{Value, json};
use wms_client::api::{ApiClient, ApiConfig, Call};
use wms_client::tls::Fingerprint;
use wms_sandbox::{
    CarrierCustomerRegistration, CarrierKind, GenerateOrders, RunningSandbox, Sandbox,
    SandboxConfig, SellerRegistration, SkuSpec,
};
use wms_server::Running;

pub const TENANT: &str = "demo";
pub const SELLER: &str = "A1E2EDESKSELLER";
const CLIENT_ID: &str = "amzn1.application-oa2-client.e2e";
const CLIENT_SECRET: &str = "e2e-lwa-client-secret";
const REFRESH_TOKEN: &str = "Atzr|e2e-refresh-token";

pub struct User {
    pub email: String,
    pub password: String,
    pub totp_secret: Vec<u8>,
}

impl User {
    /// The TOTP code for now.
    pub fn totp(&self) -> String {
        self.totp_ahead(0)
    }

    /// The TOTP code `steps` 30-second steps from now: a second login of the same user within
    /// one step would be refused as a replay.
    pub fn totp_ahead(&self, steps: u64) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        wms_core::totp::code_at(&self.totp_secret, now + 30 * steps).unwrap_or_default()
    }
}

pub struct Stack {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    pub sandbox: RunningSandbox,
    _running: Running,
    pub url: String,
    pub fingerprint: String,
    pub supervisor: User,
    pub admin: User,
    /// The order ready for packing: (local id, Amazon order id, its lines' seller SKUs × quantity).
    pub order_id: String,
    pub amazon_order_id: String,
    pub lines: Vec<(String, i64)>,
}

fn user(summary: &wms_server::demo::DemoSummary, prefix: &str) -> User {
    let u = summary
        .users
        .iter()
        .find(|u| u.email.starts_with(prefix))
        .unwrap_or_else(|| panic!("no demo {prefix} user"));
    User {
        email: u.email.clone(),
        password: u.password.clone(),
        totp_secret: u
            .totp_secret
            .as_deref()
            .and_then(|s| wms_core::totp::secret_from_base32(s).ok())
            .map(|s| s.to_vec())
            .unwrap_or_default(),
    }
}

pub struct Api {
    api: ApiClient,
    token: String,
}

impl Api {
    pub async fn login(stack: &Stack, u: &User) -> Self {
        Self::login_with(stack, u, &u.totp()).await
    }

    /// As [`Api::login`], with this TOTP code.
    pub async fn login_with(stack: &Stack, u: &User, totp: &str) -> Self {
        let api = ApiClient::new(&ApiConfig::new(
            stack.url.clone(),
            Fingerprint::parse(&stack.fingerprint).ok(),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let t: Value = api
            .json(Call::post(
                "/api/v1/auth/login",
                json!({"tenant": TENANT, "email": u.email, "password": u.password, "totp": totp}),
            ))
            .await
            .unwrap_or_else(|e| panic!("login: {e}"));
        Self {
            api,
            token: t["access_token"].as_str().unwrap_or_default().to_owned(),
        }
    }

    /// A GET; `path` may carry a `?k=v&…` query.
    pub async fn get(&self, path: &str) -> Value {
        let (p, q) = path.split_once('?').unwrap_or((path, ""));
        let call = q
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .fold(Call::get(p), |c, (k, v)| c.query(k, v));
        self.api
            .json(call.bearer(&self.token))
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .api
            .raw(Call::post(path, body).bearer(&self.token))
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        if r.body.is_empty() {
            Value::Null
        } else {
            r.json().unwrap_or(Value::Null)
        }
    }
}

impl Stack {
    pub async fn start() -> Self {
        let sandbox_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut config = SandboxConfig::new(sandbox_dir.path());
        config.settings.search_lag_secs = 0;
        let sandbox = Sandbox::start(config)
            .await
            .unwrap_or_else(|e| panic!("sandbox: {e}"));
        let control = sandbox.control();
        control
            .register_seller(SellerRegistration {
                selling_partner_id: SELLER.into(),
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                refresh_token: REFRESH_TOKEN.into(),
                marketplace_ids: vec![],
                pii_granted: true,
            })
            .unwrap_or_else(|e| panic!("{e}"));
        control
            .register_carrier_customer(CarrierCustomerRegistration {
                carrier: CarrierKind::Yamato,
                customer_code: "0312345678".into(),
                api_key: "yamato-api-key-e2e".into(),
            })
            .unwrap_or_else(|e| panic!("{e}"));

        let server_dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut s = wms_server::Settings {
            data_dir: server_dir.path().to_path_buf(),
            argon2: wms_server::config::Argon2Settings {
                memory_kib: 1024,
                iterations: 1,
                parallelism: 1,
            },
            ..wms_server::Settings::default()
        };
        let urls = sandbox.urls().clone();
        s.amazon.lwa_token_url = urls.lwa_token_url.clone();
        s.amazon.sp_api_base = urls.amazon.clone();
        s.amazon.ca_cert = Some(urls.ca_cert.clone());
        s.amazon.sync_interval_secs = 3600;
        s.amazon.feedback_lease_secs = 3;
        s.carriers.ca_cert = Some(urls.ca_cert.clone());
        s.carriers.poller = false;
        let tls = wms_server::tls::load_or_generate(&s).unwrap_or_else(|e| panic!("{e}"));
        let state = wms_server::build_state(s.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let summary = wms_server::demo::seed(&state, TENANT, 5, 0)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // The demo catalogue's seller SKUs are JP-00001, JP-00002, …
        let skus = ["JP-00001".to_owned()];
        let auth_id = wms_server::demo::connect_amazon(
            &state,
            TENANT,
            serde_json::from_value(json!({
                "selling_partner_id": SELLER,
                "lwa_client_id": CLIENT_ID,
                "lwa_client_secret": CLIENT_SECRET,
                "refresh_token": REFRESH_TOKEN,
                "pii_recipient": true,
                "pii_buyer_email": false,
            }))
            .unwrap_or_else(|e| panic!("{e}")),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let running = wms_server::launch(state.clone(), listener, &tls)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let url = format!("https://127.0.0.1:{}", running.addr.port());
        let mut stack = Self {
            _dirs: (sandbox_dir, server_dir),
            sandbox,
            _running: running,
            url,
            fingerprint: tls.fingerprint.clone(),
            supervisor: user(&summary, "supervisor@"),
            admin: user(&summary, "admin@"),
            order_id: String::new(),
            amazon_order_id: String::new(),
            lines: Vec::new(),
        };
        stack.prepare_order(&auth_id, &skus[..1]).await;
        stack
    }

    /// One Amazon order of one SKU, synced into the server, allocated and picked; a Yamato
    /// account connected (by the admin, stepped up) so the bench can book its label.
    async fn prepare_order(&mut self, auth_id: &str, skus: &[String]) {
        let generated = self
            .sandbox
            .control()
            .generate_orders(
                SELLER,
                &GenerateOrders {
                    count: 1,
                    skus: skus.iter().map(|s| SkuSpec::Sku(s.clone())).collect(),
                    seed: Some(11),
                    marketplace_id: None,
                    max_lines: Some(1),
                    max_quantity: Some(2),
                    created_before: None,
                    spread_minutes: Some(5),
                    prime_share: None,
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        self.amazon_order_id = generated[0].clone();
        let admin = Api::login(self, &self.admin).await;
        admin
            .post(
                "/api/v1/carriers/accounts",
                json!({"carrier": "yamato", "mode": "api", "base_url": self.sandbox.urls().yamato,
                    "customer_code": "0312345678", "api_key": "yamato-api-key-e2e",
                    "sender": {"name": "ジリアン物流 東京第一倉庫", "postal_code": "135-0061",
                               "address_lines": ["東京都江東区豊洲3-3-3"], "phone": "03-1234-5678"}}),
            )
            .await;
        // The admin does the office work too: the supervisor's current TOTP code is kept for the
        // window's login (a code is accepted once).
        let sup = admin;
        sup.post(
            &format!("/api/v1/amazon/authorizations/{auth_id}/sync"),
            json!({}),
        )
        .await;
        let orders = sup.get("/api/v1/orders?status=received").await;
        let order = orders
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|o| o["external_id"] == self.amazon_order_id.as_str())
            })
            .unwrap_or_else(|| panic!("{} was not imported: {orders}", self.amazon_order_id))
            .clone();
        self.order_id = order["id"].as_str().unwrap_or_default().to_owned();
        sup.post(
            &format!("/api/v1/orders/{}/allocate", self.order_id),
            json!({}),
        )
        .await;
        sup.post(&format!("/api/v1/orders/{}/pick", self.order_id), json!({}))
            .await;
        let o = sup.get(&format!("/api/v1/orders/{}", self.order_id)).await;
        assert_eq!(o["status"], "picking", "{o}");
        self.lines = o["lines"]
            .as_array()
            .map(|ls| {
                ls.iter()
                    .map(|l| {
                        (
                            l["sku"].as_str().unwrap_or_default().to_owned(),
                            l["quantity"].as_i64().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
    }
}
