use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use rustls::pki_types::CertificateDer;
use serde_json::{Value, json};
use wms_sandbox::{RunningSandbox, Sandbox, SandboxConfig, Settings};

pub const JP: &str = "A1VC38T7YXB528";

pub struct Env {
    pub sb: RunningSandbox,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

pub fn http_client(cert: CertificateDer<'static>, timeout: Duration) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .https_only(true)
        .timeout(timeout)
        .build()
        .expect("client")
}

/// A fresh sandbox with no search lag (orders are searchable at once).
pub async fn start() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    start_in(dir).await
}

pub async fn start_in(dir: tempfile::TempDir) -> Env {
    let mut cfg = SandboxConfig::new(dir.path());
    cfg.settings = Settings {
        access_token_lifetime_secs: 3600,
        search_lag_secs: 0,
    };
    let sb = Sandbox::start(cfg).await.expect("start");
    let http = http_client(sb.ca_cert_der(), Duration::from_secs(20));
    Env { sb, http, dir }
}

impl Env {
    pub fn amazon(&self, path: &str) -> String {
        format!("{}{path}", self.sb.urls().amazon)
    }

    pub fn control_url(&self, path: &str) -> String {
        format!("{}{path}", self.sb.urls().control)
    }

    pub async fn ctl_post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.control_url(path))
            .json(&body)
            .send()
            .await
            .expect("control call");
        let status = r.status();
        let text = r.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn ctl_get(&self, path: &str) -> Value {
        self.http
            .get(self.control_url(path))
            .send()
            .await
            .expect("control call")
            .json()
            .await
            .expect("json")
    }

    /// Registers a seller through the control API (client id `app-1`) and returns an access
    /// token obtained from the LWA stand-in.
    pub async fn seller(&self, id: &str, pii: bool) -> String {
        let (s, _) = self
            .ctl_post(
                "/amazon/sellers",
                json!({"sellingPartnerId": id, "clientId": "app-1", "clientSecret": "app-secret",
                       "refreshToken": format!("Atzr|{id}"), "marketplaceIds": [JP], "piiGranted": pii}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let r = self
            .lwa(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &format!("Atzr|{id}")),
                ("client_id", "app-1"),
                ("client_secret", "app-secret"),
            ])
            .await;
        assert_eq!(r.0, StatusCode::OK, "{:?}", r.1);
        r.1["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn lwa(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let r = self
            .http
            .post(&self.sb.urls().lwa_token_url)
            .header(
                "content-type",
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .body(body)
            .send()
            .await
            .expect("lwa");
        (r.status(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, token: &str, path: &str) -> Resp {
        let r = self
            .http
            .get(self.amazon(path))
            .header("x-amz-access-token", token)
            .send()
            .await
            .expect("get");
        Resp::read(r).await
    }

    pub async fn confirm(&self, token: &str, order_id: &str, body: &Value) -> Resp {
        let r = self
            .http
            .post(self.amazon(&format!(
                "/orders/v0/orders/{order_id}/shipmentConfirmation"
            )))
            .header("x-amz-access-token", token)
            .json(body)
            .send()
            .await
            .expect("confirm");
        Resp::read(r).await
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub request_id: Option<String>,
    pub rate_limit: Option<String>,
    pub text: String,
}

impl Resp {
    pub async fn read(r: reqwest::Response) -> Self {
        let h = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (request_id, rate_limit) = (h("x-amzn-RequestId"), h("x-amzn-RateLimit-Limit"));
        Self {
            status: r.status().as_u16(),
            request_id,
            rate_limit,
            text: r.text().await.expect("body"),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("{e}: {}", self.text))
    }

    pub fn first_error_code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// A JP MFN order with two lines (item "11" ×2, item "12" ×1).
pub fn order(id: &str, created: &str) -> Value {
    json!({
        "orderId": id,
        "createdTime": created,
        "lastUpdatedTime": created,
        "salesChannel": {"channelName": "AMAZON", "marketplaceId": JP, "marketplaceName": "Amazon.co.jp"},
        "buyer": {"buyerName": "山田 太郎", "buyerEmail": "abc@marketplace.amazon.co.jp"},
        "recipient": {"deliveryAddress": {"name": "山田 太郎", "addressLine1": "神宮前1-2-3", "addressLine2": "メゾン桜101号室",
            "city": "渋谷区", "stateOrRegion": "東京都", "postalCode": "150-0001", "countryCode": "JP", "phone": "090-1234-5678"}},
        "fulfillment": {"fulfillmentStatus": "UNSHIPPED", "fulfilledBy": "MERCHANT", "fulfillmentServiceLevel": "STANDARD"},
        "orderItems": [
            {"orderItemId": "11", "quantityOrdered": 2, "product": {"sellerSku": "SKU-A", "asin": "B000000001"}},
            {"orderItemId": "12", "quantityOrdered": 1, "product": {"sellerSku": "SKU-B", "asin": "B000000002"}}
        ]
    })
}

pub fn confirmation(pkg: &str, tracking: &str, items: Value) -> Value {
    json!({"marketplaceId": JP, "packageDetail": {
        "packageReferenceId": pkg, "carrierCode": "Yamato Transport", "trackingNumber": tracking,
        "shipDate": "2026-01-11T09:00:00+09:00", "orderItems": items}})
}
