use std::time::Duration;

use time::macros::date;
use wms_carriers::{
    BookingRequest, CarrierConfig, CarrierRules, Credentials, IdempotencyKey, PackageSpec,
    RetryPolicy, Sagawa, Secret, TlsTrust, Yamato,
};
use wms_core::label::{CoolType, Party, ServiceType, TimeSlot};
use wms_sandbox::{
    CarrierCustomerRegistration, CarrierKind, RunningSandbox, Sandbox, SandboxConfig,
};

pub const YAMATO_CODE: &str = "012345678901";
pub const YAMATO_KEY: &str = "yamato-api-key";
pub const SAGAWA_CODE: &str = "SG-0001";
pub const SAGAWA_KEY: &str = "sagawa-api-key";

pub struct Env {
    pub sb: RunningSandbox,
    pub _dir: tempfile::TempDir,
}

pub async fn start() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let sb = Sandbox::start(SandboxConfig::new(dir.path()))
        .await
        .expect("sandbox");
    for (carrier, code, key) in [
        (CarrierKind::Yamato, YAMATO_CODE, YAMATO_KEY),
        (CarrierKind::Sagawa, SAGAWA_CODE, SAGAWA_KEY),
    ] {
        sb.control()
            .register_carrier_customer(CarrierCustomerRegistration {
                carrier,
                customer_code: code.into(),
                api_key: key.into(),
            })
            .expect("customer");
    }
    Env { sb, _dir: dir }
}

impl Env {
    pub fn config(&self, base: &str, code: &str, key: &str, rules: CarrierRules) -> CarrierConfig {
        CarrierConfig {
            tls: TlsTrust::Only(vec![self.sb.ca_cert_der()]),
            retry: RetryPolicy {
                max_attempts: 3,
                base_backoff: Duration::from_millis(5),
                max_backoff: Duration::from_millis(20),
            },
            request_timeout: Duration::from_secs(10),
            ..CarrierConfig::new(
                base,
                Credentials {
                    api_key: Secret::new(key),
                    customer_code: code.into(),
                },
                rules,
            )
        }
    }

    pub fn yamato_with(&self, f: impl FnOnce(&mut CarrierConfig)) -> Yamato {
        let mut c = self.config(
            &self.sb.urls().yamato,
            YAMATO_CODE,
            YAMATO_KEY,
            CarrierRules::yamato(),
        );
        f(&mut c);
        Yamato::new(c).expect("yamato")
    }

    pub fn yamato(&self) -> Yamato {
        self.yamato_with(|_| {})
    }

    pub fn sagawa(&self) -> Sagawa {
        let c = self.config(
            &self.sb.urls().sagawa,
            SAGAWA_CODE,
            SAGAWA_KEY,
            CarrierRules::sagawa(),
        );
        Sagawa::new(c).expect("sagawa")
    }

    /// Calls that reached a carrier stand-in.
    pub fn calls(&self) -> Vec<(String, u16)> {
        self.sb
            .control()
            .carrier_calls()
            .into_iter()
            .map(|c| (c.operation, c.status))
            .collect()
    }
}

/// A request every carrier accepts: names and lines within Sagawa's 16 full-width characters, a
/// time slot both offer, no delivery date (Sagawa takes one or the other).
pub fn request(key: &str) -> BookingRequest {
    BookingRequest {
        idempotency_key: IdempotencyKey::new(key).expect("key"),
        service: ServiceType::Prepaid,
        cod_amount_yen: None,
        cool: CoolType::Normal,
        ship_date: date!(2026 - 06 - 02),
        delivery_date: None,
        time_slot: Some(TimeSlot::From14To16),
        recipient: Party {
            name: "山田 太郎".into(),
            postal_code: "100-0001".into(),
            address_lines: vec!["東京都千代田区千代田1-1".into(), "パークハイツ305".into()],
            phone: "090-1234-5678".into(),
        },
        sender: Party {
            name: "ジリアン物流 大阪倉庫".into(),
            postal_code: "530-0001".into(),
            address_lines: vec!["大阪府大阪市北区梅田1-2-3".into()],
            phone: "06-1234-5678".into(),
        },
        item_description: "書籍・文具".into(),
        order_reference: "503-1234567-1234567".into(),
        packages: vec![PackageSpec {
            weight_grams: 1_200,
            size_cm: 60,
        }],
    }
}
