//! Offline dispatch: the server stops, dispatches are recorded with their real ship time, a new
//! client process picks up the outbox, a server comes back on the same database, and every
//! dispatch lands exactly once with its original ship time.

use serde_json::Value;
use wms_client::secrets::StorePreference;
use wms_client::station::Station;

use crate::harness::{self, Server};

fn ms(rfc3339: &str) -> i128 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp_nanos()
        / 1_000_000
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_dispatches_replay_exactly_once_with_their_ship_time() {
    const N: usize = 6;
    let mut server = Server::start(10, N).await;
    let admin = server.admin_client(-1).await;
    let ids = admin.order_ids("received").await;
    for (i, id) in ids.iter().enumerate() {
        admin.pack_with_package(id, i as u64 + 10).await;
    }
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let pref = StorePreference::Auto;
    let station = harness::login(&server, &dir, pref).await;
    let report = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!(report.orders, N);

    server.stop();
    let mut recorded = Vec::new();
    for id in &ids {
        let o = station.dispatch(id).await.unwrap();
        assert!(o.replay.offline, "the server is down");
        recorded.push((id.clone(), o.ship_time.clone(), o.idempotency_key.clone()));
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    let st = station.status().await.unwrap();
    assert!(!st.online);
    assert_eq!(st.outbox_pending, N as i64);
    let err = station.dispatch(&ids[0]).await.unwrap_err();
    assert_eq!(
        err.code(),
        "not_packed",
        "recorded locally as dispatched: {err}"
    );
    // The process ends (nothing is flushed on purpose: every row was committed with fsync).
    drop(station);

    server.restart().await;
    let station = Station::open(&dir, harness::options(pref)).await.unwrap();
    assert_eq!(station.status().await.unwrap().outbox_pending, N as i64);
    let replay = station.replay_outbox().await.unwrap();
    assert_eq!(replay.sent, N, "{replay:?}");
    assert_eq!(replay.conflicts, 0);
    assert_eq!(station.status().await.unwrap().outbox_pending, 0);

    let admin = server.admin_client(1).await;
    for (id, ship_time, _) in &recorded {
        let o = admin.get(&format!("/api/v1/orders/{id}")).await;
        assert_eq!(o["status"], "dispatched", "{o}");
        assert_eq!(ms(o["ship_time"].as_str().unwrap()), ms(ship_time), "{id}");
    }

    // A crash between the server's commit and our delete means the row is sent again: the
    // idempotency key makes it a replay, not a second dispatch.
    let (id, ship_time, key) = &recorded[0];
    let movements_before: Value = admin.get_q("/api/v1/movements", &[("limit", "500")]).await;
    station
        .cache()
        .outbox_push(
            key,
            id,
            "dispatch",
            &serde_json::json!({ "ship_time": ship_time }),
        )
        .await
        .unwrap();
    let replay = station.replay_outbox().await.unwrap();
    assert_eq!((replay.sent, replay.conflicts), (1, 0), "{replay:?}");
    let o = admin.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(ms(o["ship_time"].as_str().unwrap()), ms(ship_time));
    let movements_after: Value = admin.get_q("/api/v1/movements", &[("limit", "500")]).await;
    assert_eq!(movements_before, movements_after, "no second ship movement");

    // The dispatched orders leave the working set at the next sync.
    let report = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!(report.orders, 0);
    assert_eq!(report.removed_orders, N);
}
