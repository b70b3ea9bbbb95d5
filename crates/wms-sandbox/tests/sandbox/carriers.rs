//! The Yamato and Sagawa stand-ins over HTTPS with raw JSON: what they validate, idempotency by
//! key, voids, milestones on the test clock, faults, and the control endpoints.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Env, start};

const Y_KEY: &str = "y-key";
const Y_CODE: &str = "012345678901";
const S_KEY: &str = "s-key";
const S_CODE: &str = "SG-0001";

async fn customers(env: &Env) {
    for (carrier, code, key) in [("yamato", Y_CODE, Y_KEY), ("sagawa", S_CODE, S_KEY)] {
        let (s, v) = env
            .ctl_post(
                "/carriers/customers",
                json!({"carrier": carrier, "customerCode": code, "apiKey": key}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert!(v.get("apiKey").is_none());
    }
    let listed = env.ctl_get("/carriers/customers").await;
    assert_eq!(listed["customers"].as_array().map(Vec::len), Some(2));
    assert!(!listed.to_string().contains(Y_KEY));
}

fn yamato_body() -> Value {
    json!({
        "billingCustomerCode": Y_CODE, "invoiceType": "0", "coolType": "0",
        "shipDate": "2026/06/02", "deliveryDate": "2026/06/03", "deliveryTime": "1416",
        "consignee": {"postalCode": "100-0001", "address": ["東京都千代田区千代田1-1", "パークハイツ305"],
                      "name": "山田 太郎", "phone": "090-1234-5678"},
        "shipper": {"postalCode": "530-0001", "address": ["大阪府大阪市北区梅田1-2-3"],
                    "name": "ジリアン物流", "phone": "06-1234-5678"},
        "itemName": "書籍", "orderReference": "503-1234567-1234567",
        "packages": [{"weightGrams": 1200, "sizeCm": 60}, {"weightGrams": 500, "sizeCm": 60}]
    })
}

fn sagawa_body() -> Value {
    json!({
        "paymentType": "prepaid", "coolType": "normal", "shipDate": "2026-06-02", "timeSlotCode": "1214",
        "consignee": {"zip": "1000001", "address1": "東京都千代田区千代田1-1", "address2": "パークハイツ305",
                      "name": "山田 太郎", "tel": "090-1234-5678"},
        "shipper": {"zip": "5300001", "address1": "大阪府大阪市北区梅田1-2-3", "name": "ジリアン物流", "tel": "06-1234-5678"},
        "article": "書籍", "customerReference": "503-1234567-1234567",
        "pieces": [{"weightGrams": 1200, "sizeCm": 60}]
    })
}

struct Reply {
    status: u16,
    body: Value,
}

async fn yamato(env: &Env, key: Option<&str>, body: &Value) -> Reply {
    let mut r = env
        .http
        .post(format!("{}/v1/shipments", env.sb.urls().yamato))
        .bearer_auth(Y_KEY)
        .json(body);
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    read(r).await
}

async fn sagawa(env: &Env, key: &str, body: &Value) -> Reply {
    let r = env
        .http
        .post(format!("{}/v1/consignments", env.sb.urls().sagawa))
        .header("X-Api-Key", S_KEY)
        .header("X-Customer-Code", S_CODE)
        .header("Idempotency-Key", key)
        .json(body);
    read(r).await
}

async fn read(r: reqwest::RequestBuilder) -> Reply {
    let resp = r.send().await.expect("call");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

fn fields(r: &Reply) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// 12 digits whose last is the first 11 mod 7.
fn valid_number(n: &str) -> bool {
    n.len() == 12
        && n.bytes().all(|b| b.is_ascii_digit())
        && n[..11].parse::<u64>().map(|s| s % 7) == n[11..].parse::<u64>()
}

#[tokio::test]
async fn bookings_get_valid_numbers_and_are_idempotent_by_key() {
    let env = start().await;
    customers(&env).await;
    let r = yamato(&env, Some("k-1"), &yamato_body()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let numbers: Vec<&str> = r.body["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| p["trackingNumber"].as_str().expect("number"))
        .collect();
    assert_eq!(numbers, ["444413758703", "444413758714"]);
    assert!(numbers.iter().all(|n| valid_number(n)));
    assert!(r.body["packages"][0]["sortingCode"].is_string());

    // Same key, same body: the same answer, nothing booked again.
    let again = yamato(&env, Some("k-1"), &yamato_body()).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, r.body);
    // Same key, another body: refused.
    let mut other = yamato_body();
    other["itemName"] = json!("文具");
    let reused = yamato(&env, Some("k-1"), &other).await;
    assert_eq!(reused.status, 422, "{}", reused.body);
    assert_eq!(reused.body["errors"][0]["code"], "idempotency_key_reused");
    // No key at all: refused.
    assert_eq!(yamato(&env, None, &yamato_body()).await.status, 400);
    // A new key books again.
    let second = yamato(&env, Some("k-2"), &yamato_body()).await;
    assert_eq!(second.status, 201);
    assert_eq!(second.body["packages"][0]["trackingNumber"], "444413758725");

    let s = sagawa(&env, "k-1", &sagawa_body()).await;
    assert_eq!(s.status, 201, "{}", s.body);
    assert_eq!(s.body["pieces"][0]["inquiryNumber"], "512547514334");
    assert!(s.body["pieces"][0]["branchCode"].is_string());

    let booked = env.ctl_get("/carriers/bookings").await;
    let booked = booked["bookings"].as_array().expect("bookings");
    assert_eq!(booked.len(), 5);
    assert_eq!(booked[0]["carrier"], "yamato");
    assert_eq!(booked[0]["pieceIndex"], 1);
    assert_eq!(booked[0]["pieceTotal"], 2);
    assert_eq!(booked[4]["carrier"], "sagawa");
}

#[tokio::test]
async fn sagawa_numbers_skip_the_110_and_119_blocks() {
    let env = start().await;
    customers(&env).await;
    let r = env
        .http
        .put(env.control_url("/carriers/sagawa/next-serial"))
        .json(&json!({"serial": 10_999_999_999u64}))
        .send()
        .await
        .expect("serial");
    assert!(r.status().is_success());
    let mut body = sagawa_body();
    body["pieces"] =
        json!([{"weightGrams": 100, "sizeCm": 60}, {"weightGrams": 100, "sizeCm": 60}]);
    let r = sagawa(&env, "k", &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let a = r.body["pieces"][0]["inquiryNumber"].as_str().expect("a");
    let b = r.body["pieces"][1]["inquiryNumber"].as_str().expect("b");
    assert!(a.starts_with("109") && valid_number(a), "{a}");
    assert!(b.starts_with("111") && valid_number(b), "{b}");
}

#[tokio::test]
async fn what_the_carriers_check() {
    let env = start().await;
    customers(&env).await;
    type Edit = fn(&mut Value);
    let sagawa_cases: &[(&str, Edit, &[&str])] = &[
        // 17 full-width characters on an address line; 16 is the limit.
        (
            "line too long",
            |b| b["consignee"]["address1"] = json!("東京都千代田区千代田一丁目一番地一"),
            &["consignee.address1"],
        ),
        (
            "name too long",
            |b| b["consignee"]["name"] = json!("寿限無寿限無五劫の擦り切れ海砂利水"),
            &["consignee.name"],
        ),
        (
            "article too long",
            |b| b["article"] = json!("a".repeat(33)),
            &["article"],
        ),
        (
            "missing zip",
            |b| {
                b["consignee"].as_object_mut().expect("o").remove("zip");
            },
            &["consignee.zip"],
        ),
        (
            "hyphenated zip",
            |b| b["consignee"]["zip"] = json!("100-0001"),
            &["consignee.zip"],
        ),
        (
            "unknown slot",
            |b| b["timeSlotCode"] = json!("0915"),
            &["timeSlotCode"],
        ),
        (
            "no 20-21 at Sagawa",
            |b| b["timeSlotCode"] = json!("2021"),
            &["timeSlotCode"],
        ),
        (
            "date and slot",
            |b| b["deliveryDate"] = json!("2026-06-04"),
            &["timeSlotCode"],
        ),
        (
            "COD on prepaid",
            |b| b["codAmountYen"] = json!(3980),
            &["codAmountYen"],
        ),
        (
            "COD without amount",
            |b| b["paymentType"] = json!("cod"),
            &["codAmountYen"],
        ),
        (
            "too heavy",
            |b| b["pieces"][0]["weightGrams"] = json!(30_001),
            &["pieces[0].weightGrams"],
        ),
        (
            "too big",
            |b| b["pieces"][0]["sizeCm"] = json!(161),
            &["pieces[0].sizeCm"],
        ),
        (
            "cool too big",
            |b| {
                b["coolType"] = json!("frozen");
                b["pieces"][0]["sizeCm"] = json!(141);
            },
            &["pieces[0].sizeCm"],
        ),
        ("no pieces", |b| b["pieces"] = json!([]), &["pieces"]),
        (
            "bad date",
            |b| b["shipDate"] = json!("2026/06/02"),
            &["shipDate"],
        ),
        (
            "phone letters",
            |b| b["consignee"]["tel"] = json!("090-CALL-ME"),
            &["consignee.tel"],
        ),
        (
            "two lines",
            |b| b["consignee"]["name"] = json!("山田\n太郎"),
            &["consignee.name"],
        ),
        (
            "several at once",
            |b| {
                b["paymentType"] = json!("card");
                b["article"] = json!("");
            },
            &["paymentType", "article"],
        ),
    ];
    for (what, edit, want) in sagawa_cases {
        let mut body = sagawa_body();
        edit(&mut body);
        let r = sagawa(&env, &format!("bad-{what}").replace(' ', "-"), &body).await;
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        assert_eq!(fields(&r), *want, "{what}: {}", r.body);
    }
    let yamato_cases: &[(&str, Edit, &[&str])] = &[
        (
            "line 1 fits 32 full-width",
            |b| b["consignee"]["address"][0] = json!("東".repeat(33)),
            &["consignee.address[0].line"],
        ),
        (
            "four lines",
            |b| b["consignee"]["address"] = json!(["a", "b", "c", "d"]),
            &["consignee.address"],
        ),
        (
            "unknown slot",
            |b| b["deliveryTime"] = json!("1719"),
            &["deliveryTime"],
        ),
        (
            "COD on prepaid",
            |b| b["codAmount"] = json!(100),
            &["codAmount"],
        ),
        (
            "COD too high",
            |b| {
                b["invoiceType"] = json!("2");
                b["codAmount"] = json!(300_001);
            },
            &["codAmount"],
        ),
        (
            "unsupported invoice type",
            |b| b["invoiceType"] = json!("7"),
            &["invoiceType"],
        ),
        (
            "delivery before ship",
            |b| b["deliveryDate"] = json!("2026/06/01"),
            &["deliveryDate"],
        ),
        (
            "missing postal code",
            |b| b["consignee"]["postalCode"] = json!(""),
            &["consignee.postalCode"],
        ),
        (
            "cool too heavy",
            |b| {
                b["coolType"] = json!("2");
                b["packages"][0]["weightGrams"] = json!(15_001);
            },
            &["packages[0].weightGrams"],
        ),
    ];
    for (what, edit, want) in yamato_cases {
        let mut body = yamato_body();
        edit(&mut body);
        let r = yamato(&env, Some(&format!("bad-{what}").replace(' ', "-")), &body).await;
        assert_eq!(r.status, 400, "{what}: {}", r.body);
        assert_eq!(fields(&r), *want, "{what}: {}", r.body);
    }
    // What Sagawa refuses and Yamato takes: 20-21, a date with a slot, 17 full-width on line 1.
    let mut body = yamato_body();
    body["deliveryTime"] = json!("2021");
    body["consignee"]["address"][0] = json!("東京都千代田区千代田一丁目一番地一");
    assert_eq!(yamato(&env, Some("ok"), &body).await.status, 201);
    // A valid COD booking.
    let mut body = sagawa_body();
    body["paymentType"] = json!("cod");
    body["codAmountYen"] = json!(3980);
    assert_eq!(sagawa(&env, "cod", &body).await.status, 201);

    let booked = env.ctl_get("/carriers/bookings").await;
    assert_eq!(booked["bookings"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn credentials_are_checked() {
    let env = start().await;
    customers(&env).await;
    let url = format!("{}/v1/shipments", env.sb.urls().yamato);
    let r = read(
        env.http
            .post(&url)
            .bearer_auth("nope")
            .header("Idempotency-Key", "a")
            .json(&yamato_body()),
    )
    .await;
    assert_eq!(r.status, 401);
    let r = read(
        env.http
            .post(&url)
            .header("Idempotency-Key", "a")
            .json(&yamato_body()),
    )
    .await;
    assert_eq!(r.status, 401);
    let mut body = yamato_body();
    body["billingCustomerCode"] = json!("999999999999");
    let r = yamato(&env, Some("a"), &body).await;
    assert_eq!(r.status, 403);
    let r = read(
        env.http
            .post(format!("{}/v1/consignments", env.sb.urls().sagawa))
            .header("X-Api-Key", Y_KEY)
            .header("X-Customer-Code", S_CODE)
            .header("Idempotency-Key", "a")
            .json(&sagawa_body()),
    )
    .await;
    assert_eq!(r.status, 401, "another carrier's key");
    let booked = env.ctl_get("/carriers/bookings").await;
    assert_eq!(booked["bookings"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn voids_and_milestones_follow_the_test_clock() {
    let env = start().await;
    customers(&env).await;
    let r = sagawa(&env, "t-1", &sagawa_body()).await;
    let number = r.body["pieces"][0]["inquiryNumber"]
        .as_str()
        .expect("n")
        .to_owned();
    let inquiry = format!("{}/v1/inquiry/{number}", env.sb.urls().sagawa);
    let track = || async {
        read(
            env.http
                .get(&inquiry)
                .header("X-Api-Key", S_KEY)
                .header("X-Customer-Code", S_CODE),
        )
        .await
    };
    let statuses = |r: &Reply| -> Vec<String> {
        r.body["history"]
            .as_array()
            .expect("history")
            .iter()
            .map(|e| e["status"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert!(statuses(&track().await).is_empty());
    let (s, now) = env
        .ctl_post("/carriers/clock", json!({"advanceMinutes": 60}))
        .await;
    assert!(s.is_success(), "{now}");
    assert_eq!(statuses(&track().await), ["集荷"]);
    env.ctl_post("/carriers/clock", json!({"advanceMinutes": 120}))
        .await;
    assert_eq!(statuses(&track().await), ["集荷", "輸送中"]);
    env.ctl_post("/carriers/clock", json!({"advanceMinutes": 1260}))
        .await;
    let done = track().await;
    assert_eq!(statuses(&done), ["集荷", "輸送中", "配達完了"]);
    assert!(done.body["history"][0]["time"].is_string());

    // Voiding after pickup is refused; before pickup accepted, and then no milestones.
    let env = &env;
    let cancel = |n: String| async move {
        read(
            env.http
                .post(format!(
                    "{}/v1/consignments/{n}/cancel",
                    env.sb.urls().sagawa
                ))
                .header("X-Api-Key", S_KEY)
                .header("X-Customer-Code", S_CODE)
                .json(&json!({"reason": "誤出荷"})),
        )
        .await
    };
    let late = cancel(number.clone()).await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert_eq!(late.body["errors"][0]["code"], "already_picked_up");
    let r = sagawa(env, "t-2", &sagawa_body()).await;
    let fresh = r.body["pieces"][0]["inquiryNumber"]
        .as_str()
        .expect("n")
        .to_owned();
    assert_eq!(cancel(fresh.clone()).await.status, 200);
    assert_eq!(cancel(fresh.clone()).await.status, 200, "idempotent");
    assert_eq!(cancel("512547514300".into()).await.status, 404);
    env.ctl_post("/carriers/clock", json!({"advanceMinutes": 2000}))
        .await;
    let voided = read(
        env.http
            .get(format!("{}/v1/inquiry/{fresh}", env.sb.urls().sagawa))
            .header("X-Api-Key", S_KEY)
            .header("X-Customer-Code", S_CODE),
    )
    .await;
    assert_eq!(voided.status, 200);
    assert!(statuses(&voided).is_empty());

    // Milestone times are configurable.
    let r = env
        .http
        .put(env.control_url("/carriers/milestones"))
        .json(&json!({"pickedUpMinutes": 5, "inTransitMinutes": 10, "deliveredMinutes": 15}))
        .send()
        .await
        .expect("milestones");
    assert!(r.status().is_success());
    let r = env
        .http
        .put(env.control_url("/carriers/milestones"))
        .json(&json!({"pickedUpMinutes": 50, "inTransitMinutes": 10, "deliveredMinutes": 15}))
        .send()
        .await
        .expect("milestones");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn faults_apply_to_carrier_operations() {
    let env = start().await;
    customers(&env).await;
    let (s, v) = env
        .ctl_post(
            "/faults",
            json!({"operation": "yamatoBook", "kind": "serverError", "count": 1}),
        )
        .await;
    assert!(s.is_success(), "{v}");
    assert_eq!(yamato(&env, Some("f"), &yamato_body()).await.status, 500);
    assert_eq!(yamato(&env, Some("f"), &yamato_body()).await.status, 201);
    env.ctl_post(
        "/faults",
        json!({"operation": "sagawaBook", "kind": "throttle"}),
    )
    .await;
    assert_eq!(sagawa(&env, "f", &sagawa_body()).await.status, 429);
    let calls = env.ctl_get("/carriers/calls").await;
    let statuses: Vec<u64> = calls["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c["status"].as_u64().expect("status"))
        .collect();
    assert_eq!(statuses, [500, 201, 429]);
    // Faults on Amazon operations are unaffected by the carriers' names.
    let (s, _) = env
        .ctl_post(
            "/faults",
            json!({"operation": "nosuchOp", "kind": "throttle"}),
        )
        .await;
    assert!(s.is_client_error());
}

#[tokio::test]
async fn carrier_state_survives_a_restart() {
    let env = start().await;
    customers(&env).await;
    assert_eq!(yamato(&env, Some("p"), &yamato_body()).await.status, 201);
    env.ctl_post("/carriers/clock", json!({"advanceMinutes": 30}))
        .await;
    let Env { sb, dir, .. } = env;
    sb.shutdown().await;
    let env = crate::common::start_in(dir).await;
    // The same key answers the same booking; the counter continues; the customer is known.
    let again = yamato(&env, Some("p"), &yamato_body()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["packages"][0]["trackingNumber"], "444413758703");
    let next = yamato(&env, Some("q"), &yamato_body()).await;
    assert_eq!(next.body["packages"][0]["trackingNumber"], "444413758725");
    let clock = env.ctl_get("/carriers/clock").await;
    assert!(clock["now"].is_string());
}
