//! The cache's limits: a working set older than its TTL is dropped when the station opens (an
//! order with an action in the outbox is kept), recipients outlive their own TTL by nothing, and a
//! sync that leaves the cache over its size cap evicts the least recently written orders — which
//! are then still found online.

use std::time::Duration;

use serde_json::json;
use wms_client::secrets::StorePreference;
use wms_client::station::{Station, StationOptions};
use wms_client::sync::SyncMode;

use crate::harness::{self, Server};

fn options() -> StationOptions {
    harness::options(StorePreference::Auto)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_working_set_expires_and_recipients_do_not_linger() {
    let server = Server::start(8, 6).await;
    let admin = server.admin_client(-1).await;
    let ids = admin.order_ids("received").await;
    for id in &ids[1..] {
        admin.allocate(id).await;
    }
    let packed = ids[0].clone();
    admin.pack_with_package(&packed, 1).await;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let station = harness::login(&server, &dir, StorePreference::Auto).await;
    let first = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!((first.orders, first.skus), (6, 8));
    harness::write_profile(&dir);
    station.render_label(&packed, None).await.unwrap();
    assert_eq!(station.status().await.unwrap().cached_recipients, 1);
    // An action waiting in the outbox for one order.
    let kept = ids[1].clone();
    station
        .cache()
        .outbox_push("idem-kept", &kept, "dispatch", &json!({"note": "waiting"}))
        .await
        .unwrap();
    drop(station);

    // Reopened within both TTLs: nothing goes.
    let station = Station::open(&dir, options()).await.unwrap();
    let s = station.status().await.unwrap();
    assert_eq!(
        (s.cached_orders, s.cached_skus, s.cached_recipients),
        (6, 8, 1)
    );
    drop(station);

    // A recipient TTL of zero: the recipient goes, the orders stay.
    let mut o = options();
    o.recipient_ttl = Duration::ZERO;
    let station = Station::open(&dir, o).await.unwrap();
    let s = station.status().await.unwrap();
    assert_eq!((s.cached_orders, s.cached_recipients), (6, 0));

    // The last successful sync eight days ago (the TTL is a week): the working set is dropped,
    // except the order whose action is still to be sent; no cursor is left.
    let eight_days_ago = time::OffsetDateTime::now_utc() - time::Duration::days(8);
    let ms = (eight_days_ago.unix_timestamp_nanos() / 1_000_000).to_string();
    station.cache().set_meta("last_sync_ms", &ms).await.unwrap();
    drop(station);
    let station = Station::open(&dir, options()).await.unwrap();
    let s = station.status().await.unwrap();
    assert_eq!((s.cached_orders, s.cached_skus), (1, 0));
    assert_eq!(
        station.cache().order_ids().await.unwrap(),
        vec![kept.clone()]
    );
    assert_eq!(station.feed_cursor().await.unwrap(), None);
    // Nothing was lost: the outbox still holds the action.
    assert_eq!(
        station.cache().outbox_rows("pending").await.unwrap().len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_over_the_size_cap_evicts_the_oldest_orders() {
    let server = Server::start(5, 120).await;
    let admin = server.admin_client(-1).await;
    let ids = admin.order_ids("received").await;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let mut o = options();
    o.working_set = vec!["received".into()];
    clear_and_login(&server, &dir, o.clone()).await;
    let station = Station::open(&dir, o.clone()).await.unwrap();
    let full = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!((full.orders, full.evicted_orders), (120, 0));
    let used = station.cache().used_bytes().await.unwrap();
    drop(station);

    // A cap below what the rows take: the next sync evicts until they fit.
    let cap = used * 3 / 4;
    let mut small = o.clone();
    small.cache_cap_bytes = cap;
    let station = Station::open(&dir, small).await.unwrap();
    let delta = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!(delta.mode, SyncMode::Delta);
    assert!(
        delta.evicted_orders > 0 && delta.evicted_orders < 120,
        "{delta:?}"
    );
    assert!(station.cache().used_bytes().await.unwrap() <= cap);
    let left = station.cache().order_ids().await.unwrap();
    assert_eq!(left.len(), 120 - delta.evicted_orders);
    // An evicted order scanned at the bench is read from the server.
    let evicted = ids
        .iter()
        .find(|id| !left.contains(id))
        .expect("an evicted order");
    let found = station.find_order(evicted).await.unwrap();
    assert_eq!(&found.id, evicted);
}

async fn clear_and_login(server: &Server, dir: &std::path::Path, o: StationOptions) {
    harness::clear_of_step_boundary().await;
    Station::login(dir, server.login_params(Some(server.totp(0))), o)
        .await
        .unwrap();
}
