//! The packing bench through the station (what the desktop app's packer screen calls): the
//! certificate fingerprint on first contact, an order found by its channel order id, item scans
//! (a wrong item and one too many refused with nothing counted), a package, a carrier booking, a
//! label preview that is not a print, a void with its reason, and the supervisor's reads (stock
//! balances, the movement history).

use wms_client::Station;
use wms_client::api::Call;
use wms_client::desk::{self, MovementKind, MovementQuery, StockQuery};
use wms_client::secrets::StorePreference;

use crate::harness::{self, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_contact_shows_the_servers_fingerprint() {
    let server = Server::start(2, 0).await;
    let seen = desk::probe_fingerprint(&server.url()).await.unwrap();
    assert_eq!(
        seen.to_hex(),
        server.fingerprint.replace(':', "").to_lowercase(),
        "the probe reports the certificate the server presents"
    );
    // Nothing listening: offline, not a fingerprint.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let err = desk::probe_fingerprint(&format!("https://{dead}"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "offline", "{err}");
    let err = desk::probe_fingerprint("http://example.com")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "insecure_url", "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pack_book_preview_void_at_the_bench() {
    let (sandbox, _sandbox_dir, server, root) = harness::with_yamato().await;
    let admin = server.admin_client(-1).await;
    let ids = admin.order_ids("received").await;
    let id = ids[0].clone();
    admin.allocate(&id).await;
    admin
        .post(
            &format!("/api/v1/orders/{id}/pick"),
            serde_json::Value::Null,
        )
        .await;
    let external = admin.get(&format!("/api/v1/orders/{id}")).await["external_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("station");
    let station = harness::login(&server, &dir, StorePreference::Auto).await;

    // Scanned by its channel order id, never synced before: found (one delta brings it).
    let order = station.find_order(&external).await.unwrap();
    assert_eq!(order.id, id);
    assert_eq!(order.status, "picking");
    let err = station.find_order("NO-SUCH-ORDER").await.unwrap_err();
    assert_eq!(err.code(), "order_not_found", "{err}");

    // A SKU that is not on this order: refused, nothing counted.
    let on_order: Vec<String> = order.lines.iter().map(|l| l.sku.clone()).collect();
    let other = (1..=10)
        .map(|i| format!("JP-{i:05}"))
        .find(|s| !on_order.contains(s))
        .unwrap();
    let err = station.scan_item(&id, &other, None).await.unwrap_err();
    assert_eq!(err.code(), "wrong_item", "{err}");
    let err = station
        .scan_item(&id, "NOT-A-BARCODE", None)
        .await
        .unwrap_err();
    assert!(err.code() == "unknown_barcode", "{err}");
    let fresh = station.find_order(&id).await.unwrap();
    assert!(fresh.lines.iter().all(|l| l.packed == 0), "nothing counted");

    // One line at a time; a line's unit too many is refused while the order is open.
    if order.lines[0].quantity > 0 && order.lines.len() > 1 {
        let l = &order.lines[0];
        let mut n = 0;
        while n < l.quantity {
            station.scan_item(&id, &l.sku, None).await.unwrap();
            n += 1;
        }
        let err = station.scan_item(&id, &l.sku, None).await.unwrap_err();
        assert_eq!(err.code(), "over_quantity", "{err}");
    }
    // Every unit, then one too many: refused, the count stays.
    let mut last = None;
    let done_first = usize::from(order.lines.len() > 1);
    for line in &order.lines[done_first..] {
        for _ in 0..line.quantity {
            let (r, o) = station.scan_item(&id, &line.sku, None).await.unwrap();
            assert_eq!(r.sku, line.sku);
            last = Some((r, o));
        }
    }
    let (r, o) = last.unwrap();
    assert!(r.order_complete, "{r:?}");
    assert!(o.lines.iter().all(|l| l.packed == l.quantity));
    let err = station
        .scan_item(&id, &order.lines[0].sku, None)
        .await
        .unwrap_err();
    assert!(err.code() == "order_not_packable", "{err}");
    let after = station.find_order(&id).await.unwrap();
    assert_eq!(after.lines, o.lines, "one too many counts nothing");

    // Package, booking, preview (not a print), void with a reason, booking again.
    let o = station.add_package(&id, "60", 800).await.unwrap();
    assert_eq!(o.packages.len(), 1);
    let (booked, o) = station.book(&id, 1, "yamato").await.unwrap();
    assert_eq!(
        o.packages[0].tracking_number.as_deref(),
        Some(booked.tracking_number.as_str())
    );
    let png = station.label_preview(&id, 1).await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG preview");
    assert_eq!(
        admin.label(&id, 1, "png").await.1,
        0,
        "a preview is not a print"
    );
    let o = station.void_label(&id, 1, "label smudged").await.unwrap();
    assert_eq!(
        o.packages[0].tracking_number, None,
        "voided: {:?}",
        o.packages
    );
    let (again, _) = station.book(&id, 1, "yamato").await.unwrap();
    assert_ne!(again.tracking_number, booked.tracking_number);
    let audit = root.get("/api/v1/audit").await.to_string();
    assert!(
        audit.contains("label smudged"),
        "the void's reason is audited"
    );

    // The supervisor's reads through the same session.
    let stock = station.stock(&StockQuery::default()).await.unwrap();
    assert!(!stock.is_empty());
    let one = station
        .stock(&StockQuery {
            sku: Some(stock[0].sku.clone()),
            ..StockQuery::default()
        })
        .await
        .unwrap();
    assert!(one.iter().all(|r| r.sku == stock[0].sku));
    assert!(station.feedback("failed").await.unwrap().is_empty());
    let users = station.users().await;
    // The harness logs in as the supervisor: the user list is an admin's.
    if let Err(e) = users {
        assert_eq!(e.code(), "forbidden", "{e}");
    }
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn movement_history_newest_first_filtered_and_paged() {
    let server = Server::start(3, 0).await;
    let admin = server.admin_client(-1).await;
    // JP-00002 is not lot-tracked; the demo received 40 of it. Three more receipts, in order.
    for reference in ["GRN-1", "GRN-2", "GRN-3"] {
        admin
            .api
            .raw(
                Call::post(
                    "/api/v1/stock/receive",
                    serde_json::json!({"sku": "JP-00002", "location": "RCV-01-01", "quantity": 5, "reference": reference}),
                )
                .bearer(&admin.token),
            )
            .await
            .unwrap();
    }
    let data = tempfile::tempdir().unwrap();
    let station =
        harness::login(&server, &data.path().join("station"), StorePreference::Auto).await;

    let all = station.movements(&MovementQuery::default()).await.unwrap();
    assert!(
        all.iter().any(|m| m.sku != "JP-00002"),
        "unfiltered: every SKU"
    );
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");

    let q = MovementQuery {
        sku: Some(" JP-00002 ".into()),
        ..MovementQuery::default()
    };
    let mine = station.movements(&q).await.unwrap();
    let refs: Vec<Option<&str>> = mine.iter().map(|m| m.reference.as_deref()).collect();
    assert_eq!(
        refs,
        [Some("GRN-3"), Some("GRN-2"), Some("GRN-1"), Some("demo")],
        "{mine:?}"
    );
    let newest = &mine[0];
    assert_eq!(newest.kind, MovementKind::Receive);
    assert_eq!(
        (newest.from.as_deref(), newest.to.as_deref()),
        (None, Some("RCV-01-01"))
    );
    assert_eq!(
        (newest.quantity, newest.reason_code.as_str()),
        (5, "receipt")
    );
    assert!(newest.lot.is_none());
    assert!(
        mine.windows(2).all(|w| w[0].at >= w[1].at),
        "newest first: {mine:?}"
    );

    // Two at a time, then the older ones with `before`.
    let page = |before: Option<String>| MovementQuery {
        before,
        limit: Some(2),
        ..q.clone()
    };
    let first = station.movements(&page(None)).await.unwrap();
    let ids = |rows: &[desk::MovementRow]| rows.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&mine[..2]));
    let older = station
        .movements(&page(Some(first[1].id.clone())))
        .await
        .unwrap();
    assert_eq!(ids(&older), ids(&mine[2..]));
    let none = station
        .movements(&page(Some(older[1].id.clone())))
        .await
        .unwrap();
    assert!(none.is_empty(), "nothing older: {none:?}");

    // The kind filter: no moves yet; the receipts are there.
    let moves = MovementQuery {
        kind: Some(MovementKind::Move),
        ..q.clone()
    };
    assert!(station.movements(&moves).await.unwrap().is_empty());
    let receipts = MovementQuery {
        kind: Some(MovementKind::Receive),
        ..q.clone()
    };
    assert_eq!(station.movements(&receipts).await.unwrap().len(), 4);
    // Since a time after every movement: none.
    let later = MovementQuery {
        since_ms: Some(i64::MAX / 2),
        ..q.clone()
    };
    assert!(station.movements(&later).await.unwrap().is_empty());

    // A limit out of range: refused by the server with the field named.
    let err = station
        .movements(&MovementQuery {
            limit: Some(0),
            ..MovementQuery::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), "validation_failed", "{err}");
    assert!(err.to_string().contains("limit"), "{err}");

    // A packer may not read the ledger.
    let packer_data = tempfile::tempdir().unwrap();
    let packer = Station::login(
        &packer_data.path().join("station"),
        server.packer_login_params(),
        harness::options(StorePreference::Auto),
    )
    .await
    .unwrap();
    let err = packer
        .movements(&MovementQuery::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "forbidden", "{err}");
}

/// Several packages per order at the bench (the packer's "another package"): the server numbers
/// them 1, 2, …; each is booked with its own label, previewed and voided on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_packages_each_with_its_own_label() {
    let (sandbox, _sandbox_dir, server, _root) = harness::with_yamato().await;
    let admin = server.admin_client(-1).await;
    let id = admin.order_ids("received").await[0].clone();
    admin.allocate(&id).await;
    admin.pick_and_pack(&id).await;
    let data = tempfile::tempdir().unwrap();
    let station =
        harness::login(&server, &data.path().join("station"), StorePreference::Auto).await;

    let o = station.add_package(&id, "60", 800).await.unwrap();
    assert_eq!(o.packages.len(), 1);
    let o = station.add_package(&id, "A4 mailer", 1500).await.unwrap();
    let seqs: Vec<(i64, &str, i64)> = o
        .packages
        .iter()
        .map(|p| (p.seq, p.box_type.as_str(), p.weight_g))
        .collect();
    assert_eq!(seqs, [(1, "60", 800), (2, "A4 mailer", 1500)]);
    // A box type the core's rule refuses: nothing added.
    let err = station
        .add_package(&id, &"x".repeat(33), 800)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "validation_failed", "{err}");
    assert_eq!(station.find_order(&id).await.unwrap().packages.len(), 2);

    let (first, _) = station.book(&id, 1, "yamato").await.unwrap();
    let (second, o) = station.book(&id, 2, "yamato").await.unwrap();
    assert_ne!(first.tracking_number, second.tracking_number);
    let numbers: Vec<Option<&str>> = o
        .packages
        .iter()
        .map(|p| p.tracking_number.as_deref())
        .collect();
    assert_eq!(
        numbers,
        [
            Some(first.tracking_number.as_str()),
            Some(second.tracking_number.as_str())
        ]
    );
    let png = station.label_preview(&id, 2).await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "package 2's label");
    let err = station.label_preview(&id, 3).await.unwrap_err();
    assert_eq!(err.code(), "not_found", "{err}");

    // Voiding package 2's label leaves package 1's alone.
    let o = station.void_label(&id, 2, "box crushed").await.unwrap();
    assert_eq!(
        o.packages[0].tracking_number.as_deref(),
        Some(first.tracking_number.as_str())
    );
    assert_eq!(o.packages[1].tracking_number, None);
    let (again, _) = station.book(&id, 2, "yamato").await.unwrap();
    assert_ne!(again.tracking_number, second.tracking_number);

    let d = station.dispatch(&id).await.unwrap();
    assert_eq!(d.replay.pending, 0, "{:?}", d.replay);
    let shipped = admin.get(&format!("/api/v1/orders/{id}")).await;
    assert_eq!(shipped["status"], "dispatched");
    let tracking: Vec<&str> = shipped["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["tracking_number"].as_str())
        .collect();
    assert_eq!(
        tracking,
        [
            first.tracking_number.as_str(),
            again.tracking_number.as_str()
        ]
    );
    sandbox.shutdown().await;
}
