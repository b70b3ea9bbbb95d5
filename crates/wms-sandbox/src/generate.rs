//! Realistic Japanese merchant-fulfilled orders for demos and benchmarks (fictional people).

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::orders::rfc3339;

pub const MARKETPLACE_JP: &str = "A1VC38T7YXB528";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkuDetail {
    pub seller_sku: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Unit price in yen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_jpy: Option<u64>,
}

/// A SKU to sell: a bare seller SKU, or one with its ASIN/title/price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SkuSpec {
    Sku(String),
    Detailed(SkuDetail),
}

impl SkuSpec {
    fn detail(&self) -> SkuDetail {
        match self {
            SkuSpec::Sku(s) => SkuDetail {
                seller_sku: s.clone(),
                asin: None,
                title: None,
                price_jpy: None,
            },
            SkuSpec::Detailed(d) => d.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerateOrders {
    pub count: u32,
    pub skus: Vec<SkuSpec>,
    /// Same seed, same orders (ids included, unless they collide with existing ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Default: amazon.co.jp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_id: Option<String>,
    /// Lines per order: 1..=max (default 3, capped by the number of SKUs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lines: Option<u32>,
    /// Units per line: 1..=max (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_quantity: Option<u32>,
    /// Orders are created within `spreadMinutes` (default 60) before this instant (default: now
    /// minus the search lag minus one minute, so they are searchable at once).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_before: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_minutes: Option<u32>,
    /// Share of orders (0..=1) in the Prime program (default 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prime_share: Option<f64>,
}

impl GenerateOrders {
    pub fn new(count: u32, skus: &[&str]) -> Self {
        Self {
            count,
            skus: skus.iter().map(|s| SkuSpec::Sku((*s).to_owned())).collect(),
            seed: None,
            marketplace_id: None,
            max_lines: None,
            max_quantity: None,
            created_before: None,
            spread_minutes: None,
            prime_share: None,
        }
    }
}

const FAMILY: [&str; 20] = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
];
const GIVEN: [&str; 20] = [
    "太郎",
    "花子",
    "翔太",
    "美咲",
    "健一",
    "陽菜",
    "大輔",
    "さくら",
    "直樹",
    "結衣",
    "拓海",
    "葵",
    "一郎",
    "優子",
    "蓮",
    "七海",
    "誠",
    "由美",
    "悠真",
    "真由美",
];
/// (prefecture, city/ward, town, postal code)
const PLACES: [(&str, &str, &str, &str); 16] = [
    ("東京都", "渋谷区", "神宮前", "150-0001"),
    ("東京都", "新宿区", "西新宿", "160-0023"),
    ("東京都", "千代田区", "丸の内", "100-0005"),
    ("東京都", "世田谷区", "三軒茶屋", "154-0024"),
    ("東京都", "江東区", "豊洲", "135-0061"),
    ("大阪府", "大阪市北区", "梅田", "530-0001"),
    ("大阪府", "大阪市中央区", "難波", "542-0076"),
    ("神奈川県", "横浜市西区", "みなとみらい", "220-0012"),
    ("神奈川県", "川崎市中原区", "小杉町", "211-0063"),
    ("愛知県", "名古屋市中村区", "名駅", "450-0002"),
    ("福岡県", "福岡市博多区", "博多駅前", "812-0011"),
    ("北海道", "札幌市中央区", "北一条西", "060-0001"),
    ("宮城県", "仙台市青葉区", "一番町", "980-0811"),
    ("広島県", "広島市中区", "紙屋町", "730-0031"),
    ("京都府", "京都市中京区", "烏丸通", "604-8166"),
    ("埼玉県", "さいたま市大宮区", "桜木町", "330-0854"),
];
const BUILDINGS: [&str; 6] = [
    "メゾン桜",
    "グランドハイツ",
    "コーポ青葉",
    "パークサイド",
    "サンライズマンション",
    "レジデンス緑",
];
const SERVICE_LEVELS: [&str; 3] = ["STANDARD", "STANDARD", "EXPEDITED"];

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

fn asin(rng: &mut StdRng) -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let tail: String = (0..8)
        .map(|_| char::from(ALNUM[rng.gen_range(0..ALNUM.len())]))
        .collect();
    format!("B0{tail}")
}

/// `count` orders; ids avoid `taken`. Errors on an empty SKU list or a zero count.
pub fn generate(
    req: &GenerateOrders,
    now: OffsetDateTime,
    search_lag: time::Duration,
    taken: &BTreeSet<String>,
) -> Result<Vec<Value>, String> {
    if req.skus.is_empty() {
        return Err("skus must name at least one seller SKU".into());
    }
    if req.count == 0 || req.count > 100_000 {
        return Err("count must be within 1..=100000".into());
    }
    let mut rng = match req.seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::from_entropy(),
    };
    let skus: Vec<SkuDetail> = req.skus.iter().map(SkuSpec::detail).collect();
    // ASINs and prices stay the same for a SKU across orders.
    let catalogue: Vec<(SkuDetail, String, u64)> = skus
        .into_iter()
        .map(|d| {
            let a = d.asin.clone().unwrap_or_else(|| asin(&mut rng));
            let p = d
                .price_jpy
                .unwrap_or_else(|| u64::from(rng.gen_range(5u32..=300)) * 100 - 20);
            (d, a, p)
        })
        .collect();
    let marketplace = req.marketplace_id.as_deref().unwrap_or(MARKETPLACE_JP);
    let max_lines = req.max_lines.unwrap_or(3).clamp(1, 50) as usize;
    let max_qty = req.max_quantity.unwrap_or(3).clamp(1, 1000);
    let spread = i64::from(req.spread_minutes.unwrap_or(60).max(1)) * 60;
    let newest = req
        .created_before
        .unwrap_or(now - search_lag - time::Duration::minutes(1));
    let prime_share = req.prime_share.unwrap_or(0.3).clamp(0.0, 1.0);
    let mut ids = BTreeSet::new();
    let mut out = Vec::with_capacity(req.count as usize);
    for _ in 0..req.count {
        let order_id = loop {
            let id = format!("503-{}-{}", digits(&mut rng, 7), digits(&mut rng, 7));
            if !taken.contains(&id) && ids.insert(id.clone()) {
                break id;
            }
        };
        let created = newest - time::Duration::seconds(rng.gen_range(0..spread));
        let created = created.replace_nanosecond(0).unwrap_or(created);
        let family = FAMILY[rng.gen_range(0..FAMILY.len())];
        let given = GIVEN[rng.gen_range(0..GIVEN.len())];
        let name = format!("{family} {given}");
        let (pref, city, town, postal) = PLACES[rng.gen_range(0..PLACES.len())];
        let line1 = format!(
            "{town}{}-{}-{}",
            rng.gen_range(1..6),
            rng.gen_range(1..30),
            rng.gen_range(1..20)
        );
        let mut address = json!({
            "name": name,
            "addressLine1": line1,
            "city": city,
            "stateOrRegion": pref,
            "postalCode": postal,
            "countryCode": "JP",
            "phone": format!("0{}-{}-{}", [70, 80, 90][rng.gen_range(0..3)], digits(&mut rng, 4), digits(&mut rng, 4)),
            "addressType": "RESIDENTIAL",
        });
        if rng.gen_bool(0.5)
            && let Some(a) = address.as_object_mut()
        {
            let building = BUILDINGS[rng.gen_range(0..BUILDINGS.len())];
            a.insert(
                "addressLine2".into(),
                json!(format!("{building}{}号室", rng.gen_range(101..1210))),
            );
        }
        let lines = rng.gen_range(1..=max_lines.min(catalogue.len()));
        let mut picks: Vec<usize> = (0..catalogue.len()).collect();
        let mut items = Vec::new();
        let mut total = 0u64;
        for n in 0..lines {
            let j = rng.gen_range(n..picks.len());
            picks.swap(n, j);
            let (d, a, price) = &catalogue[picks[n]];
            let qty = rng.gen_range(1..=max_qty);
            let sub = price * u64::from(qty);
            total += sub;
            items.push(json!({
                "orderItemId": digits(&mut rng, 14),
                "quantityOrdered": qty,
                "product": {
                    "asin": a,
                    "title": d.title.clone().unwrap_or_else(|| format!("商品 {}", d.seller_sku)),
                    "sellerSku": d.seller_sku,
                    "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                    "price": {"unitPrice": {"amount": price.to_string(), "currencyCode": "JPY"}}
                },
                "proceeds": {"proceedsTotal": {"amount": sub.to_string(), "currencyCode": "JPY"}},
                "fulfillment": {"quantityFulfilled": 0, "quantityUnfulfilled": qty}
            }));
        }
        let level = SERVICE_LEVELS[rng.gen_range(0..SERVICE_LEVELS.len())];
        let ship_days = if level == "EXPEDITED" { 1 } else { 2 };
        let mut order = json!({
            "orderId": order_id,
            "createdTime": rfc3339(created),
            "lastUpdatedTime": rfc3339(created),
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": marketplace, "marketplaceName": "Amazon.co.jp"},
            "buyer": {"buyerName": name, "buyerEmail": format!("{}@marketplace.amazon.co.jp", digits(&mut rng, 12))},
            "recipient": {"deliveryAddress": address},
            "proceeds": {"grandTotal": {"amount": total.to_string(), "currencyCode": "JPY"}},
            "fulfillment": {
                "fulfillmentStatus": "UNSHIPPED",
                "fulfilledBy": "MERCHANT",
                "fulfillmentServiceLevel": level,
                "shipByWindow": {"earliestDateTime": rfc3339(created), "latestDateTime": rfc3339(created + time::Duration::days(ship_days))},
                "deliverByWindow": {"earliestDateTime": rfc3339(created + time::Duration::days(ship_days)), "latestDateTime": rfc3339(created + time::Duration::days(ship_days + 3))}
            },
            "orderItems": items,
        });
        if rng.gen_bool(prime_share)
            && let Some(o) = order.as_object_mut()
        {
            o.insert("programs".into(), json!(["PRIME"]));
        }
        out.push(order);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn deterministic_japanese_orders() {
        let mut req = GenerateOrders::new(20, &["SKU-A", "SKU-B", "SKU-C"]);
        req.seed = Some(7);
        let now = datetime!(2026-01-11 01:00 UTC);
        let a = generate(&req, now, time::Duration::minutes(2), &BTreeSet::new());
        let b = generate(&req, now, time::Duration::minutes(2), &BTreeSet::new());
        assert_eq!(a, b);
        let orders = a.unwrap_or_default();
        assert_eq!(orders.len(), 20);
        for mut o in orders {
            let addr = &o["recipient"]["deliveryAddress"];
            let postal = addr["postalCode"].as_str().unwrap_or_default();
            assert!(
                postal.len() == 8 && postal.as_bytes()[3] == b'-',
                "{postal}"
            );
            assert!(
                addr["stateOrRegion"]
                    .as_str()
                    .is_some_and(|p| p.ends_with(['都', '道', '府', '県']))
            );
            assert!(crate::orders::normalise_seeded(&mut o).is_ok());
        }
    }
}
