//! Offline dispatch: the server stops, dispatches are recorded with their real ship time, a new
//! client process picks up the outbox, a server comes back on the same database, and every
//! dispatch lands exactly once with its original ship time.

use serde_json::Value;
use wms_client::desk::NewPackage;
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

/// `wms-station replay` as a child process, SIGKILLed once it has reported `after` rows sent.
/// Returns how many it reported (the kill lands wherever the child then is: between a request
/// and the server's commit, between the commit and the local delete, or between rows).
fn replay_child_killed_after(data: &std::path::Path, after: usize) -> usize {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_wms-station"))
        .arg("--data")
        .arg(data)
        .arg("replay")
        .env("WMS_LABEL_FONT", harness::font_path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut sent = 0;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        assert!(
            line.starts_with("sent "),
            "the replay ended before it was killed: {line}"
        );
        sent += 1;
        if sent == after {
            child.kill().unwrap(); // SIGKILL
            break;
        }
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "killed, not finished: {err}");
    assert_eq!(sent, after, "the child stopped early: {err}");
    sent
}

/// A package with a pre-printed Yamato label (serial `n`): the number the dispatch's label scan
/// matches at the desktop.
fn labelled_package(n: u64) -> NewPackage {
    let tracking = wms_core::tracking::TrackingNumber::from_serial(
        wms_core::tracking::Carrier::Yamato,
        44_441_376_000 + n,
    )
    .unwrap()
    .digits();
    NewPackage {
        box_type: "60".into(),
        weight_g: 800,
        carrier: Some("yamato".into()),
        tracking_number: Some(tracking),
    }
}

/// The barcode a scanner reads for an order line (the SKU's first barcode; else its seller SKU).
fn barcode_of(sku: Option<&wms_client::model::Sku>, seller_sku: &str) -> String {
    sku.and_then(|s| s.barcodes.first())
        .map_or_else(|| seller_sku.to_owned(), |b| b.code.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_packing_and_dispatch_of_20_orders_survives_a_killed_replay() {
    const N: usize = 20;
    let pref = StorePreference::File;
    // One order more: cancelled on the server while the station packs it offline.
    let mut server = Server::start(10, N + 1).await;
    let admin = server.admin_client(-1).await;
    let mut ids = admin.order_ids("received").await;
    assert_eq!(ids.len(), N + 1);
    for id in &ids {
        admin.allocate(id).await;
        // The server packs only orders being picked (stock at the packing bench).
        admin
            .post(&format!("/api/v1/orders/{id}/pick"), Value::Null)
            .await;
    }
    let cancelled = ids.pop().unwrap();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let station = harness::login(&server, &dir, pref).await;
    let report = station.sync(&mut |_| {}).await.unwrap();
    assert_eq!(report.orders, N + 1);

    server.stop();
    let mut recorded = Vec::new();
    let mut checked_refusals = false;
    for (n, id) in ids.iter().chain(std::iter::once(&cancelled)).enumerate() {
        let order = station.order(id).await.unwrap();
        assert_eq!(order.status, "picking");
        let skus = station.line_skus(&order).await;
        for (line, sku) in order.lines.iter().zip(&skus) {
            let code = barcode_of(sku.as_ref(), &line.sku);
            for _ in 0..line.quantity {
                let (r, _) = station.scan_item(id, &code, None).await.unwrap();
                assert!(r.recorded_offline, "{r:?}");
                assert_eq!(r.line_no, line.line_no);
            }
            if !checked_refusals && order.lines.len() > 1 {
                checked_refusals = true;
                // Refused offline with the server's codes; nothing recorded, nothing counted.
                let pending = station.status().await.unwrap().outbox_pending;
                let before = station.order(id).await.unwrap();
                let err = station.scan_item(id, &code, None).await.unwrap_err();
                assert_eq!(err.code(), "over_quantity", "{err}");
                let mut other = None;
                for sku_id in station.cache().sku_ids().await.unwrap() {
                    let sku = station.cache().sku(&sku_id).await.unwrap().unwrap();
                    if order.lines.iter().all(|l| l.sku != sku.seller_sku) {
                        other = Some(sku);
                        break;
                    }
                }
                let other = other.expect("a cached SKU that is not in this order");
                let wrong = barcode_of(Some(&other), &other.seller_sku);
                let err = station.scan_item(id, &wrong, None).await.unwrap_err();
                assert_eq!(err.code(), "wrong_item", "{err}");
                let err = station
                    .scan_item(id, "NOT-A-BARCODE", None)
                    .await
                    .unwrap_err();
                assert_eq!(err.code(), "unknown_barcode", "{err}");
                let next = &order.lines[1];
                let next_code = barcode_of(skus[1].as_ref(), &next.sku);
                let err = station
                    .scan_item(id, &next_code, Some("LOT-1"))
                    .await
                    .unwrap_err();
                assert_eq!(err.code(), "lot_unverifiable_offline", "{err}");
                let err = station.dispatch(id).await.unwrap_err();
                assert_eq!(err.code(), "not_packed", "{err}");
                let mut misread = labelled_package(999);
                if let Some(t) = misread.tracking_number.as_mut() {
                    let last = if t.ends_with('0') { '1' } else { '0' };
                    t.pop();
                    t.push(last);
                }
                let err = station.add_package_with(id, &misread).await.unwrap_err();
                assert_eq!(err.code(), "tracking_check_digit_mismatch", "{err}");
                assert_eq!(station.status().await.unwrap().outbox_pending, pending);
                assert_eq!(station.order(id).await.unwrap(), before);
            }
        }
        let packed = station.order(id).await.unwrap();
        assert_eq!(packed.status, "packed", "the last scan completed it");
        assert!(packed.lines.iter().all(|l| l.packed == l.quantity));
        let err = station.dispatch(id).await.unwrap_err();
        assert_eq!(err.code(), "no_package", "{err}");
        let label = labelled_package(n as u64);
        let o = station.add_package_with(id, &label).await.unwrap();
        assert_eq!(o.packages.len(), 1);
        assert_eq!(o.packages[0].tracking_number, label.tracking_number);
        let d = station.dispatch(id).await.unwrap();
        assert!(d.replay.offline, "the server is down");
        recorded.push((id.clone(), d.ship_time, label.tracking_number));
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(checked_refusals, "no order with two lines");
    let rows = station.status().await.unwrap().outbox_pending;
    let mut units = 0;
    for (id, _, _) in &recorded {
        let o = station.order(id).await.unwrap();
        assert_eq!(o.status, "dispatched");
        units += o.lines.iter().map(|l| l.quantity).sum::<i64>();
    }
    // Every scan, one package and one dispatch per order (the cancelled order included).
    assert_eq!(rows, units + 2 * (N as i64 + 1));
    // The process ends; every row was committed (fsync) when it was recorded.
    drop(station);

    server.restart().await;
    let admin = server.admin_client(1).await;
    admin.cancel(&cancelled).await;
    let sent = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || replay_child_killed_after(&dir, 12)
    })
    .await
    .unwrap();

    // A new process on the same data directory finishes the outbox.
    let station = Station::open(&dir, harness::options(pref)).await.unwrap();
    let left = station.status().await.unwrap().outbox_pending;
    assert!(
        left <= rows - sent as i64 && left > 0,
        "killed mid-outbox: {left} of {rows} left"
    );
    let replay = station.replay_outbox().await.unwrap();
    assert_eq!(replay.pending, 0, "{replay:?}");
    let st = station.status().await.unwrap();
    assert_eq!(st.outbox_pending, 0);

    // The cancelled order: its first scan refused by the server, the rest held back with it.
    let conflicts = station.cache().outbox_rows("conflict").await.unwrap();
    assert!(
        conflicts.iter().all(|r| r.order_id == cancelled),
        "{conflicts:?}"
    );
    assert_eq!(conflicts[0].kind, "pack");
    assert_eq!(
        conflicts[0].last_error.as_deref(),
        Some("order_not_packable")
    );
    assert!(
        conflicts[1..]
            .iter()
            .all(|r| r.last_error.as_deref() == Some("depends_on_conflict"))
    );
    assert_eq!(conflicts.last().unwrap().kind, "dispatch");
    assert_eq!(st.outbox_conflicts, conflicts.len() as i64);

    // All 20 dispatched exactly once, with the ship time recorded offline.
    let ships: Value = admin
        .get_q("/api/v1/movements", &[("kind", "ship"), ("limit", "1000")])
        .await;
    let ships = ships.as_array().unwrap();
    let mut shipped_units = 0;
    for (id, ship_time, tracking) in &recorded[..N] {
        let o = admin.get(&format!("/api/v1/orders/{id}")).await;
        assert_eq!(o["status"], "dispatched", "{o}");
        assert_eq!(ms(o["ship_time"].as_str().unwrap()), ms(ship_time), "{id}");
        assert_eq!(
            o["packages"].as_array().unwrap().len(),
            1,
            "one package: {o}"
        );
        assert_eq!(o["packages"][0]["carrier"], "yamato");
        assert_eq!(
            o["packages"][0]["tracking_number"].as_str(),
            tracking.as_deref()
        );
        let ordered: i64 = o["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                assert_eq!(l["packed"], l["quantity"], "{o}");
                l["quantity"].as_i64().unwrap()
            })
            .sum();
        let moved: i64 = ships
            .iter()
            .filter(|m| m["reference"] == format!("order:{id}"))
            .map(|m| m["quantity"].as_i64().unwrap())
            .sum();
        assert_eq!(moved, ordered, "ship movements of {id} not doubled");
        shipped_units += moved;
    }
    assert_eq!(
        ships
            .iter()
            .map(|m| m["quantity"].as_i64().unwrap())
            .sum::<i64>(),
        shipped_units,
        "nothing else shipped"
    );
    let c = admin.get(&format!("/api/v1/orders/{cancelled}")).await;
    assert_eq!(c["status"], "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_after_the_connection_returns_goes_after_the_ones_recorded_offline() {
    let mut server = Server::start(10, 6).await;
    let admin = server.admin_client(-1).await;
    for id in admin.order_ids("received").await {
        admin.allocate(&id).await;
        admin
            .post(&format!("/api/v1/orders/{id}/pick"), Value::Null)
            .await;
    }
    let data = tempfile::tempdir().unwrap();
    let station = harness::login(&server, data.path(), StorePreference::File).await;
    station.sync(&mut |_| {}).await.unwrap();
    // An order of at least two units.
    let mut order = None;
    for id in station.cache().order_ids().await.unwrap() {
        let o = station.order(&id).await.unwrap();
        if o.lines.iter().map(|l| l.quantity).sum::<i64>() >= 2 {
            order = Some(o);
            break;
        }
    }
    let order = order.expect("an order of two units or more");
    let units: Vec<String> = order
        .lines
        .iter()
        .flat_map(|l| std::iter::repeat_n(l.sku.clone(), l.quantity as usize))
        .collect();

    server.stop();
    let (r, o) = station.scan_item(&order.id, &units[0], None).await.unwrap();
    assert!(r.recorded_offline);
    assert_eq!(o.lines.iter().map(|l| l.packed).sum::<i64>(), 1);

    server.restart().await;
    assert!(station.status().await.unwrap().online);
    // The server's copy (nothing packed) does not replace the local one while the scan waits.
    let seen = station.find_order(&order.id).await.unwrap();
    assert_eq!(seen.lines.iter().map(|l| l.packed).sum::<i64>(), 1);
    assert_eq!(station.status().await.unwrap().outbox_pending, 1);

    // The next scan goes to the server, after the one recorded offline.
    let (r, o) = station.scan_item(&order.id, &units[1], None).await.unwrap();
    assert!(!r.recorded_offline, "{r:?}");
    assert_eq!(o.lines.iter().map(|l| l.packed).sum::<i64>(), 2);
    assert_eq!(station.status().await.unwrap().outbox_pending, 0);
    let admin = server.admin_client(1).await;
    let on_server = admin.get(&format!("/api/v1/orders/{}", order.id)).await;
    let packed: i64 = on_server["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["packed"].as_i64().unwrap())
        .sum();
    assert_eq!(packed, 2, "{on_server}");
}

/// "Another package" offline: each package carries a pre-printed label (booking needs the
/// server), the station numbers them as the server will (1, 2), and the replay creates both with
/// their numbers before the dispatch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_packages_recorded_offline_replay_as_two() {
    let mut server = Server::start(10, 1).await;
    let admin = server.admin_client(-1).await;
    let id = admin.order_ids("received").await[0].clone();
    admin.allocate(&id).await;
    admin.pick_and_pack(&id).await;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let station = harness::login(&server, &dir, StorePreference::File).await;
    station.sync(&mut |_| {}).await.unwrap();

    server.stop();
    let first = labelled_package(71);
    let second = NewPackage {
        box_type: "80".into(),
        weight_g: 1500,
        ..labelled_package(72)
    };
    let added = station.add_package_noting(&id, &first).await.unwrap();
    assert!(added.recorded_offline);
    let added = station.add_package_noting(&id, &second).await.unwrap();
    assert!(added.recorded_offline);
    let cached: Vec<(i64, Option<String>)> = added
        .order
        .packages
        .iter()
        .map(|p| (p.seq, p.tracking_number.clone()))
        .collect();
    assert_eq!(
        cached,
        [
            (1, first.tracking_number.clone()),
            (2, second.tracking_number.clone())
        ]
    );
    // A half label (a carrier without its number) is refused by the core's rule: nothing recorded.
    let half = NewPackage {
        tracking_number: None,
        ..labelled_package(73)
    };
    let err = station.add_package_with(&id, &half).await.unwrap_err();
    assert_eq!(err.code(), "validation_failed", "{err}");
    assert_eq!(station.order(&id).await.unwrap().packages.len(), 2);
    let d = station.dispatch(&id).await.unwrap();
    assert!(d.replay.offline);

    server.restart().await;
    let replay = station.replay_outbox().await.unwrap();
    assert_eq!(replay.pending, 0, "{replay:?}");
    let admin = server.admin_client(1).await;
    let o = admin.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(o["status"], "dispatched");
    let packages: Vec<(i64, &str, i64, &str)> = o["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["seq"].as_i64().unwrap(),
                p["box_type"].as_str().unwrap(),
                p["weight_g"].as_i64().unwrap(),
                p["tracking_number"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        packages,
        [
            (1, "60", 800, first.tracking_number.as_deref().unwrap()),
            (2, "80", 1500, second.tracking_number.as_deref().unwrap()),
        ]
    );
}
