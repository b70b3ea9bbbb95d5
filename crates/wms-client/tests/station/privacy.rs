//! The admin's privacy duties through the station against the real server: retention settings and
//! data-subject requests, changed by an admin with a fresh TOTP step-up, the server's rules
//! (days 30–3650, `pii_purged`) reaching the caller as their codes.

use wms_client::privacy::{NewDataRequest, Recipient, RetentionPolicy};
use wms_client::station::StationError;

use crate::harness::{self, Server};

fn request(kind: &str, order_id: &str, recipient: Option<Recipient>) -> NewDataRequest {
    NewDataRequest {
        kind: kind.into(),
        order_id: order_id.into(),
        reason: "requester verified by a call-back".into(),
        recipient,
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, StationError>) -> String {
    r.expect_err("refused").code().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_retention_and_data_requests_after_a_step_up() {
    let server = Server::start(3, 2).await;
    let ids = server.admin_client(0).await.order_ids("received").await;
    assert_eq!(ids.len(), 2);
    let data = tempfile::tempdir().unwrap();
    let station = harness::admin_station(&server, data.path()).await;

    assert_eq!(
        station.retention().await.unwrap(),
        RetentionPolicy::default()
    );
    let wanted = RetentionPolicy::new(365, 730).unwrap();
    // The login's TOTP counts as a fresh step-up for a few minutes (the server's refusal after
    // that, step_up_required, is the UI tests' matter); a step-up takes the next step's code, the
    // login's own being a replay.
    station
        .step_up(&harness::admin_code(&server, 1))
        .await
        .unwrap();
    assert_eq!(station.set_retention(wanted).await.unwrap(), wanted);
    assert_eq!(station.retention().await.unwrap(), wanted);
    let out_of_range = RetentionPolicy {
        business_days: 20,
        audit_days: 90,
    };
    assert_eq!(
        code(station.set_retention(out_of_range).await),
        "validation_failed"
    );

    // Export: the order with its full recipient.
    let out = station
        .record_data_request(&request("export", &ids[0], None))
        .await
        .unwrap();
    assert_eq!(
        (out.request.kind.as_str(), out.request.status.as_str()),
        ("export", "done")
    );
    let export = out.export.expect("the order's data");
    assert_eq!(export["id"], ids[0].as_str());
    assert!(export["recipient"]["name"].is_string(), "{export}");

    // Correction, then the export shows it.
    let corrected = Recipient {
        name: "鈴木 一郎".into(),
        postal_code: "1000001".into(),
        prefecture: "東京都".into(),
        city: "千代田区".into(),
        address1: "千代田2-2".into(),
        address2: None,
        phone: None,
        email: None,
    };
    let out = station
        .record_data_request(&request("correct", &ids[0], Some(corrected.clone())))
        .await
        .unwrap();
    assert!(out.export.is_none());
    let again = station
        .record_data_request(&request("export", &ids[0], None))
        .await
        .unwrap()
        .export
        .unwrap();
    assert_eq!(again["recipient"]["name"], "鈴木 一郎");
    assert_eq!(again["recipient"]["postal_code"], "100-0001");

    // Deletion erases at once; a correction of the erased recipient is refused.
    let out = station
        .record_data_request(&request("delete", &ids[1], None))
        .await
        .unwrap();
    assert!(out.request.result.unwrap().starts_with("recipient erased"));
    assert_eq!(
        code(
            station
                .record_data_request(&request("correct", &ids[1], Some(corrected)))
                .await
        ),
        "pii_purged"
    );
    assert_eq!(
        code(
            station
                .record_data_request(&request("delete", "no-such-order", None))
                .await
        ),
        "not_found"
    );

    // The record: what was done, newest first; refusals are not recorded.
    let list = station.data_requests(None).await.unwrap();
    let kinds: Vec<&str> = list.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["delete", "export", "correct", "export"]);
    assert!(
        list.iter()
            .all(|r| r.status == "done" && r.done_at.is_some())
    );
    assert_eq!(list[0].order_id, ids[1]);
    assert_eq!(station.data_requests(Some(1)).await.unwrap().len(), 1);
    assert_eq!(
        code(station.data_requests(Some(0)).await),
        "validation_failed"
    );
}
