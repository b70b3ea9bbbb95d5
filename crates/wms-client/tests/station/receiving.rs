//! Goods in and returns through the station against the real server: an inbound shipment
//! announced, received in part (a lot-tracked line with its lot and expiry), put away from the
//! receiving bin, the ledger showing each movement; a customer return received and restocked;
//! and every refusal (unknown SKU, zero quantity, another tenant's id, an over-receipt) reaching
//! the caller as the server's code with nothing changed.

use serde_json::json;
use wms_client::desk::{MovementKind, MovementQuery, MovementRow, StockQuery};
use wms_client::office::StockPlace;
use wms_client::receiving::{
    Disposition, NewInbound, NewLine, NewReturn, Receipt, ReturnReceipt, StockMove,
};
use wms_client::secrets::StorePreference;
use wms_client::station::{Station, StationError};

use crate::harness::{self, Admin, Server};

const RECEIVING: &str = "RCV-01-01";
const BIN: &str = "A-01-01-01";
const OTHER_BIN: &str = "A-01-01-02";

fn code<T: std::fmt::Debug>(r: Result<T, StationError>) -> String {
    r.expect_err("refused").code().to_owned()
}

fn line(sku: &str, quantity: i64) -> NewLine {
    NewLine {
        sku: sku.into(),
        quantity,
    }
}

/// On hand of a SKU at a location (0 when there is no balance row).
async fn on_hand(station: &Station, sku: &str, location: &str) -> i64 {
    let q = StockQuery {
        sku: Some(sku.into()),
        location: Some(location.into()),
        ..StockQuery::default()
    };
    station
        .stock(&q)
        .await
        .unwrap()
        .iter()
        .map(|r| r.on_hand)
        .sum()
}

async fn ledger(station: &Station) -> Vec<MovementRow> {
    station
        .movements(&MovementQuery {
            limit: Some(1000),
            ..MovementQuery::default()
        })
        .await
        .unwrap()
}

/// A supervisor of a second tenant on the same server, by the plain API.
async fn other_tenant(server: &Server) -> Admin {
    let summary = wms_server::demo::seed(&server.state, "other", 3, 1)
        .await
        .unwrap();
    let sup = summary
        .users
        .iter()
        .find(|u| u.email.starts_with("supervisor@"))
        .unwrap();
    let secret = wms_core::totp::secret_from_base32(sup.totp_secret.as_deref().unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let api = wms_client::ApiClient::new(&wms_client::ApiConfig::new(
        server.url(),
        Some(wms_client::Fingerprint::parse(&server.fingerprint).unwrap()),
    ))
    .unwrap();
    let t: serde_json::Value = api
        .json(wms_client::api::Call::post(
            "/api/v1/auth/login",
            json!({"tenant": "other", "email": sup.email, "password": sup.password,
                   "totp": wms_core::totp::code_at(&secret, now).unwrap()}),
        ))
        .await
        .unwrap();
    Admin {
        api,
        token: t["access_token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiving_an_inbound_in_part_putaway_and_the_refusals_that_change_nothing() {
    // JP-00001 is lot-tracked; JP-00002 and JP-00003 are not.
    let server = Server::start(3, 0).await;
    let data = tempfile::tempdir().unwrap();
    let station = harness::login(&server, data.path(), StorePreference::File).await;
    station.sync(&mut |_| {}).await.unwrap();

    // The catalogue answers a seller SKU or a scanned barcode, and says which need a lot.
    let lotted = station.catalogue_sku("JP-00001").await.unwrap().unwrap();
    assert_eq!(lotted.lot_tracked, Some(true));
    let jan = lotted.barcodes[0].code.clone();
    let by_scan = station.catalogue_sku(&jan).await.unwrap().unwrap();
    assert_eq!(by_scan.seller_sku, "JP-00001");
    let plain = station.catalogue_sku(" JP-00002 ").await.unwrap().unwrap();
    assert_eq!(plain.lot_tracked, Some(false));
    assert!(station.catalogue_sku("NO-SUCH").await.unwrap().is_none());

    let locations = station.locations(None).await.unwrap();
    assert!(
        locations
            .iter()
            .any(|l| l.code == RECEIVING && l.kind == "receiving" && l.level == "bin")
    );
    assert!(
        locations
            .iter()
            .any(|l| l.code == BIN && l.kind == "storage")
    );

    let asn = station
        .create_inbound(&NewInbound {
            warehouse: None,
            reference: "ASN-2026-0001".into(),
            expected_on: Some("2026-12-01".into()),
            lines: vec![line("JP-00002", 10), line("JP-00001", 5)],
        })
        .await
        .unwrap();
    assert_eq!(asn.status, "open");
    assert_eq!(
        asn.lines
            .iter()
            .map(|l| (l.sku.as_str(), l.expected, l.received))
            .collect::<Vec<_>>(),
        [("JP-00002", 10, 0), ("JP-00001", 5, 0)]
    );
    let open = station.inbound_shipments(Some("open"), None).await.unwrap();
    assert_eq!(
        open.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        [asn.id.as_str()]
    );
    assert!(open[0].created_at.is_some());
    assert!(
        station
            .inbound_shipments(Some("received"), None)
            .await
            .unwrap()
            .is_empty()
    );

    // Received in part: 4 of 10; the lot-tracked line with its lot and expiry.
    let receipt = |sku: &str, quantity: i64| Receipt {
        location: RECEIVING.into(),
        sku: sku.into(),
        quantity,
        inbound_id: Some(asn.id.clone()),
        reference: Some("DN-778".into()),
        ..Receipt::default()
    };
    station.receive(&receipt("JP-00002", 4)).await.unwrap();
    assert_eq!(
        code(station.receive(&receipt("JP-00001", 5)).await),
        "lot_required"
    );
    station
        .receive(&Receipt {
            lot: Some("L-2026-NEW".into()),
            expiry: Some("2027-06-30".into()),
            ..receipt("JP-00001", 5)
        })
        .await
        .unwrap();
    let now = station.inbound(&asn.id).await.unwrap();
    assert_eq!(now.status, "open", "one line is still short");
    assert_eq!(
        now.lines
            .iter()
            .map(|l| (l.expected, l.received))
            .collect::<Vec<_>>(),
        [(10, 4), (5, 5)]
    );
    assert_eq!(on_hand(&station, "JP-00002", RECEIVING).await, 4);

    // A blind receipt (nothing announced) straight to the receiving bin.
    station
        .receive(&Receipt {
            inbound_id: None,
            ..receipt("JP-00003", 2)
        })
        .await
        .unwrap();

    // Putaway from the receiving bin to storage.
    let before_bin = on_hand(&station, "JP-00002", BIN).await;
    station
        .move_stock(&StockMove {
            sku: "JP-00002".into(),
            from: RECEIVING.into(),
            to: BIN.into(),
            quantity: 4,
            putaway: true,
            ..StockMove::default()
        })
        .await
        .unwrap();
    assert_eq!(on_hand(&station, "JP-00002", RECEIVING).await, 0);
    assert_eq!(on_hand(&station, "JP-00002", BIN).await, before_bin + 4);
    station
        .move_stock(&StockMove {
            sku: "JP-00001".into(),
            from: RECEIVING.into(),
            to: BIN.into(),
            quantity: 5,
            lot: Some("L-2026-NEW".into()),
            putaway: true,
            ..StockMove::default()
        })
        .await
        .unwrap();

    // The ledger, newest first: each receipt and putaway as it happened.
    let moves = ledger(&station).await;
    let ours: Vec<(
        MovementKind,
        &str,
        Option<&str>,
        Option<&str>,
        Option<&str>,
        i64,
    )> = moves
        .iter()
        .take(5)
        .map(|m| {
            (
                m.kind,
                m.sku.as_str(),
                m.from.as_deref(),
                m.to.as_deref(),
                m.lot.as_deref(),
                m.quantity,
            )
        })
        .collect();
    assert_eq!(
        ours,
        [
            (
                MovementKind::Putaway,
                "JP-00001",
                Some(RECEIVING),
                Some(BIN),
                Some("L-2026-NEW"),
                5
            ),
            (
                MovementKind::Putaway,
                "JP-00002",
                Some(RECEIVING),
                Some(BIN),
                None,
                4
            ),
            (
                MovementKind::Receive,
                "JP-00003",
                None,
                Some(RECEIVING),
                None,
                2
            ),
            (
                MovementKind::Receive,
                "JP-00001",
                None,
                Some(RECEIVING),
                Some("L-2026-NEW"),
                5
            ),
            (
                MovementKind::Receive,
                "JP-00002",
                None,
                Some(RECEIVING),
                None,
                4
            ),
        ]
    );
    assert_eq!(moves[4].reference.as_deref(), Some("DN-778"));
    let batch = station
        .stock(&StockQuery {
            sku: Some("JP-00001".into()),
            location: Some(BIN.into()),
            batch: Some("L-2026-NEW".into()),
            ..StockQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(batch[0].expiry.as_deref(), Some("2027-06-30"));

    // Refusals: the server's code, and nothing changes.
    let foreign = other_tenant(&server).await;
    let foreign_asn = foreign
        .post(
            "/api/v1/inbound",
            json!({"reference": "ASN-OTHER", "lines": [{"sku": "JP-00002", "quantity": 3}]}),
        )
        .await;
    let foreign_id = foreign_asn["id"].as_str().unwrap().to_owned();
    let ledger_before = ledger(&station).await.len();
    let shipments_before = station.inbound_shipments(None, None).await.unwrap();
    for (what, r, expected) in [
        ("an unknown SKU", receipt("NO-SUCH-SKU", 1), "unknown_sku"),
        (
            "zero against the inbound",
            receipt("JP-00002", 0),
            "ledger_non_positive_quantity",
        ),
        (
            "zero blind",
            Receipt {
                inbound_id: None,
                ..receipt("JP-00002", 0)
            },
            "ledger_non_positive_quantity",
        ),
        (
            "more than announced",
            receipt("JP-00002", 7),
            "over_receipt",
        ),
        (
            "a SKU not on the shipment",
            receipt("JP-00003", 1),
            "not_on_inbound",
        ),
        (
            "another tenant's inbound",
            Receipt {
                inbound_id: Some(foreign_id.clone()),
                ..receipt("JP-00002", 1)
            },
            "unknown_inbound",
        ),
        (
            "an unknown location",
            Receipt {
                location: "NOWHERE".into(),
                ..receipt("JP-00002", 1)
            },
            "unknown_location",
        ),
    ] {
        assert_eq!(code(station.receive(&r).await), expected, "{what}");
    }
    assert_eq!(code(station.inbound(&foreign_id).await), "not_found");
    assert_eq!(
        code(
            station
                .create_inbound(&NewInbound {
                    warehouse: None,
                    reference: "ASN-2026-0001".into(),
                    expected_on: None,
                    lines: vec![line("JP-00002", 1)],
                })
                .await
        ),
        "conflict",
        "the reference is taken"
    );
    assert_eq!(
        code(
            station
                .move_stock(&StockMove {
                    sku: "JP-00002".into(),
                    from: RECEIVING.into(),
                    to: BIN.into(),
                    quantity: 1,
                    putaway: true,
                    ..StockMove::default()
                })
                .await
        ),
        "ledger_insufficient_available",
        "nothing left in receiving"
    );
    assert_eq!(ledger(&station).await.len(), ledger_before);
    assert_eq!(
        station.inbound_shipments(None, None).await.unwrap(),
        shipments_before
    );
    assert_eq!(
        foreign.get(&format!("/api/v1/inbound/{foreign_id}")).await["lines"][0]["received"],
        0
    );
    assert_eq!(
        code(station.inbound_shipments(Some("closed"), None).await),
        "validation_failed"
    );

    // The rest of the shipment closes it.
    station.receive(&receipt("JP-00002", 6)).await.unwrap();
    let done = station
        .inbound_shipments(Some("received"), None)
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(
        code(station.receive(&receipt("JP-00002", 1)).await),
        "inbound_closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiving_a_return_restocked_and_the_refusals_that_change_nothing() {
    let server = Server::start(3, 1).await;
    let order = server.admin_client(-1).await.order_ids("received").await[0].clone();
    let data = tempfile::tempdir().unwrap();
    let station = harness::login(&server, data.path(), StorePreference::File).await;

    let rma = station
        .create_return(&NewReturn {
            order_id: Some(order.clone()),
            reason_code: "damaged".into(),
            lines: vec![line("JP-00002", 2)],
        })
        .await
        .unwrap();
    assert_eq!(
        (rma.status.as_str(), rma.order_id.as_deref()),
        ("expected", Some(order.as_str()))
    );
    let expected = station
        .customer_returns(Some("expected"), None)
        .await
        .unwrap();
    assert_eq!(expected.len(), 1);
    assert_eq!(expected[0].lines[0].sku, "JP-00002");
    assert_eq!(expected[0].lines[0].quantity, 2);
    assert_eq!(station.customer_return(&rma.id).await.unwrap(), expected[0]);

    // Refusals first: nothing is received, listed or moved.
    let foreign = other_tenant(&server).await;
    let foreign_order = foreign.order_ids("received").await[0].clone();
    let foreign_rma = foreign
        .post(
            "/api/v1/returns",
            json!({"reason_code": "unwanted", "lines": [{"sku": "JP-00001", "quantity": 1}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ledger_before = ledger(&station).await.len();
    let new_return = |order_id: Option<&str>, sku: &str, quantity: i64| NewReturn {
        order_id: order_id.map(Into::into),
        reason_code: "unwanted".into(),
        lines: vec![line(sku, quantity)],
    };
    for (what, n, expected) in [
        (
            "an unknown SKU",
            new_return(Some(&order), "NO-SUCH-SKU", 1),
            "unknown_sku",
        ),
        (
            "zero units",
            new_return(Some(&order), "JP-00002", 0),
            "invalid_quantity",
        ),
        (
            "another tenant's order",
            new_return(Some(&foreign_order), "JP-00002", 1),
            "not_found",
        ),
    ] {
        assert_eq!(code(station.create_return(&n).await), expected, "{what}");
    }
    let restock = |location: &str| ReturnReceipt {
        disposition: Disposition::Restock,
        location: Some(location.into()),
        warehouse: None,
        lot: None,
        reason_code: "resellable".into(),
    };
    assert_eq!(
        code(station.receive_return(&foreign_rma, &restock(BIN)).await),
        "not_found"
    );
    assert_eq!(
        code(station.customer_return(&foreign_rma).await),
        "not_found"
    );
    assert_eq!(
        code(
            station
                .receive_return(
                    &rma.id,
                    &ReturnReceipt {
                        disposition: Disposition::Quarantine,
                        ..restock(BIN)
                    }
                )
                .await
        ),
        "not_a_quarantine_location"
    );
    assert_eq!(
        code(station.receive_return(&rma.id, &restock("NOWHERE")).await),
        "unknown_location"
    );
    assert_eq!(ledger(&station).await.len(), ledger_before);
    assert_eq!(
        station.customer_returns(None, None).await.unwrap(),
        expected
    );
    assert_eq!(
        foreign.get(&format!("/api/v1/returns/{foreign_rma}")).await["status"],
        "expected"
    );

    // Inspected and restocked to a chosen bin: a `return` movement into it.
    let before = on_hand(&station, "JP-00002", OTHER_BIN).await;
    let received = station
        .receive_return(&rma.id, &restock(OTHER_BIN))
        .await
        .unwrap();
    assert_eq!(received.status, "restocked");
    assert_eq!(on_hand(&station, "JP-00002", OTHER_BIN).await, before + 2);
    let last = &ledger(&station).await[0];
    assert_eq!(
        (
            last.kind,
            last.to.as_deref(),
            last.quantity,
            last.reference.as_deref()
        ),
        (
            MovementKind::Return,
            Some(OTHER_BIN),
            2,
            Some(format!("return:{}", rma.id).as_str())
        )
    );
    assert_eq!(
        code(station.receive_return(&rma.id, &restock(OTHER_BIN)).await),
        "return_already_received"
    );
    assert!(
        station
            .customer_returns(Some("expected"), None)
            .await
            .unwrap()
            .is_empty()
    );

    // Another, disposed of with the inspection's reason: received, then written off.
    let broken = station
        .create_return(&new_return(None, "JP-00003", 1))
        .await
        .unwrap();
    let disposed = station
        .receive_return(
            &broken.id,
            &ReturnReceipt {
                disposition: Disposition::Dispose,
                location: None,
                warehouse: None,
                lot: None,
                reason_code: "crushed".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(disposed.status, "disposed");
    let moves = ledger(&station).await;
    assert_eq!(
        (moves[0].kind, moves[0].reason_code.as_str()),
        (MovementKind::Dispose, "crushed")
    );
    assert_eq!(moves[1].kind, MovementKind::Return);
    let statuses: Vec<String> = station
        .customer_returns(None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, ["disposed", "restocked"], "newest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_are_listed_by_status() {
    let server = Server::start(3, 0).await;
    let data = tempfile::tempdir().unwrap();
    let station = harness::login(&server, data.path(), StorePreference::File).await;
    let place = |sku: &str| StockPlace {
        sku: sku.into(),
        location: "A-01-01-02".into(),
        warehouse: None,
        lot: None,
    };
    let first = station.create_count(&place("JP-00002")).await.unwrap();
    let second = station.create_count(&place("JP-00003")).await.unwrap();
    station.enter_count(&second.id, 39).await.unwrap();
    let all = station.counts(None, None).await.unwrap();
    assert_eq!(
        all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [second.id.as_str(), first.id.as_str()],
        "newest first"
    );
    assert!(all.iter().all(|c| c.created_at.is_some()));
    let open = station.counts(Some("open"), None).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, first.id);
    let counted = station.counts(Some("counted"), Some(1)).await.unwrap();
    assert_eq!(
        counted[0].variance,
        counted[0]
            .counted
            .zip(counted[0].expected)
            .map(|(c, e)| c - e)
    );
    assert_eq!(
        code(station.counts(Some("lost"), None).await),
        "validation_failed"
    );
    assert_eq!(
        code(station.counts(None, Some(0)).await),
        "validation_failed"
    );
}
