//! Delta sync from the change feed: after the first full load only what changed is fetched, orders
//! leaving the working set leave the cache, the cursor survives a restart, and a sync cut between
//! pages resumes from the stored cursor without losing or repeating anything.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use wms_client::api::{ApiError, Call};
use wms_client::secrets::StorePreference;
use wms_client::station::{Station, StationError};
use wms_client::sync::{self, ChangeBatch, ChangeSource, FeedSource, SyncMode};

use crate::harness::{self, Server};

async fn cached_ids(station: &Station) -> BTreeSet<String> {
    station
        .cache()
        .order_ids()
        .await
        .unwrap()
        .into_iter()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_sync_fetches_only_what_changed_and_keeps_its_cursor() {
    let server = Server::start(10, 12).await;
    let admin = server.admin_client(-1).await;
    let ids = admin.order_ids("received").await;
    assert_eq!(ids.len(), 12);
    for id in &ids[..6] {
        admin.allocate(id).await;
    }
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let station = harness::login(&server, &dir, StorePreference::Auto).await;

    let mut events = Vec::new();
    let first = station
        .sync(&mut |e: &wms_client::SyncEvent| events.push(e.clone()))
        .await
        .unwrap();
    assert_eq!(first.mode, SyncMode::Full);
    assert_eq!((first.orders, first.skus), (6, 10));
    let c0 = first.cursor.expect("a full load stores the feed head");
    assert_eq!(c0, admin.feed_head().await);
    assert_eq!(station.feed_cursor().await.unwrap(), Some(c0));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, wms_client::SyncEvent::Feed { cursor, .. } if *cursor == c0))
    );

    // Nothing changed: a delta that reads and fetches nothing.
    let idle = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!(idle.mode, SyncMode::Delta);
    assert_eq!(
        (
            idle.changes,
            idle.fetched_orders,
            idle.orders,
            idle.removed_orders
        ),
        (0, 0, 0, 0),
        "{idle:?}"
    );
    assert_eq!(idle.cursor, Some(c0));

    // On the server: one order enters the working set, one moves within it, one is packed and
    // dispatched (several changes, one order), one is cancelled; a SKU is renamed.
    admin.allocate(&ids[6]).await;
    admin
        .post(&format!("/api/v1/orders/{}/pick", ids[0]), Value::Null)
        .await;
    admin.pick_and_pack(&ids[1]).await;
    admin.add_tracked_package(&ids[1], 5).await;
    admin.dispatch(&ids[1]).await;
    admin.cancel(&ids[2]).await;
    let skus: Vec<Value> =
        serde_json::from_value(admin.get_q("/api/v1/skus", &[("limit", "1000")]).await).unwrap();
    let sku = &skus[3];
    let sku_id = sku["id"].as_str().unwrap().to_owned();
    let mut patch = Call::post(
        format!("/api/v1/skus/{sku_id}"),
        json!({"version": sku["version"], "name": "改名された商品"}),
    )
    .bearer(&admin.token);
    patch.method = reqwest::Method::PATCH;
    admin.api.unit(patch).await.unwrap();
    let head = admin.feed_head().await;
    assert!(head > c0 + 5, "every write is in the feed: {c0} → {head}");

    let mut events = Vec::new();
    let delta = station
        .sync(&mut |e: &wms_client::SyncEvent| events.push(e.clone()))
        .await
        .unwrap();
    assert_eq!(delta.mode, SyncMode::Delta);
    assert_eq!(
        delta.changes as i64,
        head - c0,
        "every feed entry read once: {delta:?}"
    );
    assert_eq!(
        delta.fetched_orders, 4,
        "only the changed orders: {delta:?}"
    );
    assert_eq!(
        delta.orders, 2,
        "the allocated and the picking one: {delta:?}"
    );
    assert_eq!(
        delta.removed_orders, 2,
        "dispatched and cancelled: {delta:?}"
    );
    assert_eq!((delta.skus, delta.removed_skus), (1, 0), "{delta:?}");
    assert_eq!(delta.cursor, Some(head));
    assert!(matches!(
        events.last(),
        Some(wms_client::SyncEvent::Finished(_))
    ));
    assert!(events.iter().any(
        |e| matches!(e, wms_client::SyncEvent::Feed { cursor, head: h } if *cursor == head && *h == head)
    ));

    let expected: BTreeSet<String> = [0, 3, 4, 5, 6].iter().map(|i| ids[*i].clone()).collect();
    assert_eq!(cached_ids(&station).await, expected);
    let picking = station.cache().order(&ids[0]).await.unwrap().unwrap();
    assert_eq!(picking.status, "picking");
    assert!(station.cache().order(&ids[1]).await.unwrap().is_none());
    assert!(station.cache().order(&ids[2]).await.unwrap().is_none());
    assert_eq!(
        station.cache().sku(&sku_id).await.unwrap().unwrap().name,
        "改名された商品"
    );

    // The cursor survives the process: a new one continues from it.
    drop(station);
    let station = Station::open(&dir, harness::options(StorePreference::Auto))
        .await
        .unwrap();
    assert_eq!(station.feed_cursor().await.unwrap(), Some(head));
    let again = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!(again.mode, SyncMode::Delta);
    assert_eq!((again.changes, again.fetched_orders), (0, 0), "{again:?}");
    assert_eq!(cached_ids(&station).await, expected);
}

/// Passes `pages` batches through, then fails as a dropped connection would.
struct CutAfter<S> {
    inner: S,
    pages: usize,
}

impl<S: ChangeSource> ChangeSource for CutAfter<S> {
    async fn next_batch(&mut self) -> Result<Option<ChangeBatch>, StationError> {
        if self.pages == 0 {
            return Err(StationError::Api(ApiError::Unreachable(
                "connection reset between pages".into(),
            )));
        }
        self.pages -= 1;
        self.inner.next_batch().await
    }

    fn mode(&self) -> SyncMode {
        self.inner.mode()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_cut_between_pages_resumes_from_the_stored_cursor() {
    let server = Server::start(10, 14).await;
    let admin = server.admin_client(-1).await;
    let ids = admin.order_ids("received").await;
    for id in &ids[..4] {
        admin.allocate(id).await;
    }
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let station = harness::login(&server, &dir, StorePreference::Auto).await;
    let c0 = station.sync(&mut |_| {}).await.unwrap().cursor.unwrap();

    // Ten orders released, one feed entry each.
    for id in &ids[4..] {
        admin.allocate(id).await;
    }
    let after = c0.to_string();
    let feed = admin
        .get_q(
            "/api/v1/changes",
            &[("after", after.as_str()), ("limit", "1000")],
        )
        .await;
    let entries = feed["changes"].as_array().unwrap();
    assert_eq!(entries.len(), 10, "{feed}");
    let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (c0 + 1..=c0 + 10).collect::<Vec<_>>(), "dense");
    let distinct: BTreeSet<&str> = entries.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(distinct.len(), 10);

    // Pages of three; the connection drops after the second page.
    let source = CutAfter {
        inner: FeedSource::new(station.session(), &station.options().working_set, c0, 3),
        pages: 2,
    };
    let err = sync::run(station.cache(), source, &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "offline", "{err}");
    assert_eq!(
        station.feed_cursor().await.unwrap(),
        Some(c0 + 6),
        "the cursor of the last applied page"
    );
    assert_eq!(cached_ids(&station).await.len(), 4 + 6);

    // A new process resumes from the stored cursor.
    drop(station);
    let mut options = harness::options(StorePreference::Auto);
    options.feed_page = 3;
    let station = Station::open(&dir, options).await.unwrap();
    let r = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!(r.mode, SyncMode::Delta);
    assert_eq!(
        r.changes, 4,
        "only what the cut sync had not applied: {r:?}"
    );
    assert_eq!(r.fetched_orders, 4, "{r:?}");
    assert_eq!(r.orders, 4, "{r:?}");
    assert_eq!(r.cursor, Some(c0 + 10));
    let all: BTreeSet<String> = ids.iter().cloned().collect();
    assert_eq!(cached_ids(&station).await, all, "nothing lost");
    assert_eq!(station.cache().counts().await.unwrap().orders, 14);
}

/// The size: an initial sync of 10,000 orders (the station's working set set to the
/// received orders, so no allocation pass is needed to put them there), every one in the cache and
/// readable, then an idle delta that reads nothing; one order changed is one order fetched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_of_ten_thousand_orders() {
    const N: usize = 10_000;
    let server = Server::start(200, N).await;
    // Signed in before the station (its TOTP step must not be older than the station's).
    let admin = server.admin_client(-1).await;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    harness::clear_of_step_boundary().await;
    let mut options = harness::options(StorePreference::Auto);
    options.working_set = vec!["received".into()];
    let station = Station::login(&dir, server.login_params(Some(server.totp(0))), options)
        .await
        .unwrap();
    let mut last_progress = 0;
    let report = station
        .sync(&mut |e: &wms_client::SyncEvent| {
            if let wms_client::SyncEvent::Orders { loaded, total } = e {
                assert!(*loaded >= last_progress && loaded <= total, "{e:?}");
                last_progress = *loaded;
            }
        })
        .await
        .unwrap();
    assert_eq!(report.mode, SyncMode::Full);
    assert_eq!((report.orders, report.skus), (N, 200));
    assert_eq!(report.fetched_orders, N);
    assert_eq!(last_progress, N);
    let cached = cached_ids(&station).await;
    assert_eq!(cached.len(), N);
    let server_ids: BTreeSet<String> = admin.order_ids("received").await.into_iter().collect();
    assert_eq!(cached, server_ids, "exactly the server's received orders");
    // Every row opens (sealed under the cache key, bound to its id).
    for id in cached.iter().step_by(997) {
        let o = station.cache().order(id).await.unwrap().expect("cached");
        assert_eq!(&o.id, id);
        assert_eq!(o.status, "received");
    }

    let idle = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!(idle.mode, SyncMode::Delta);
    assert_eq!((idle.changes, idle.fetched_orders), (0, 0));

    let one = cached.iter().next().unwrap().clone();
    admin.cancel(&one).await;
    let delta = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!((delta.fetched_orders, delta.removed_orders), (1, 1));
    assert_eq!(cached_ids(&station).await.len(), N - 1);
}
