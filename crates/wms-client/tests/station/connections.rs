//! The admin's connections through the station against the real server: carrier accounts and
//! Amazon seller authorizations listed, connected and revoked by an admin with a fresh TOTP
//! step-up, the server's refusals reaching the caller as their codes with nothing created;
//! carrier accounts changed, disabled, enabled and removed; a failed confirmation marked handled.

use wms_client::connections::{CarrierAccountChange, NewAuthorization, NewCarrierAccount, Sender};
use wms_client::station::StationError;
use zeroize::Zeroizing;

use crate::harness::{self, Server};

fn code<T: std::fmt::Debug>(r: Result<T, StationError>) -> String {
    r.expect_err("refused").code().to_owned()
}

fn self_issue(first: u64, last: u64) -> NewCarrierAccount {
    NewCarrierAccount {
        carrier: "sagawa".into(),
        mode: "self_issue".into(),
        base_url: None,
        customer_code: None,
        api_key: None,
        range_first: Some(first),
        range_last: Some(last),
        sender: Sender {
            name: "ジリアン物流 東京第一倉庫".into(),
            postal_code: "135-0061".into(),
            address_lines: vec!["東京都江東区豊洲3-3-3".into()],
            phone: "03-1234-5678".into(),
        },
        label: None,
    }
}

/// The tenant admin's station, with a fresh step-up.
async fn stepped_up_admin(server: &Server, dir: &std::path::Path) -> wms_client::station::Station {
    let station = harness::admin_station(server, dir).await;
    station
        .step_up(&harness::admin_code(server, 1))
        .await
        .unwrap();
    station
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_carriers_and_amazon_after_a_step_up() {
    let server = Server::start(3, 0).await;
    let data = tempfile::tempdir().unwrap();
    let station = stepped_up_admin(&server, data.path()).await;

    let before = station.carrier_accounts().await.unwrap();
    assert!(before.iter().all(|a| a.carrier != "sagawa"), "{before:?}");

    // A range the allocator refuses (last before first): the server's code, nothing created.
    assert_eq!(
        code(station.connect_carrier(&self_issue(200, 100)).await),
        "invalid_range"
    );
    let mut no_sender = self_issue(100_000, 199_999);
    no_sender.sender.address_lines.clear();
    assert_eq!(
        code(station.connect_carrier(&no_sender).await),
        "validation_failed"
    );
    assert_eq!(
        station.carrier_accounts().await.unwrap().len(),
        before.len()
    );

    let made = station
        .connect_carrier(&self_issue(100_000, 199_999))
        .await
        .unwrap();
    assert_eq!(
        (made.carrier.as_str(), made.mode.as_str()),
        ("sagawa", "self_issue")
    );
    assert_eq!(made.range_total, Some(100_000));
    let listed = station.carrier_accounts().await.unwrap();
    assert_eq!(listed.len(), before.len() + 1);
    assert_eq!(
        code(station.connect_carrier(&self_issue(300_000, 399_999)).await),
        "conflict"
    );

    // Amazon: connect (the secrets are not returned), refuse a bad seller id, revoke once.
    let new = |spid: &str| NewAuthorization {
        selling_partner_id: spid.into(),
        marketplaces: vec![],
        lwa_client_id: "amzn1.application-oa2-client.test".into(),
        lwa_client_secret: Zeroizing::new("client-secret".into()),
        refresh_token: Zeroizing::new("Atzr|refresh".into()),
        warehouse: None,
        pii_recipient: true,
        pii_buyer_email: false,
    };
    assert_eq!(
        code(station.connect_amazon(&new("not a seller id!")).await),
        "validation_failed"
    );
    assert!(station.amazon_authorizations().await.unwrap().is_empty());
    let a = station.connect_amazon(&new("A3TESTSELLER")).await.unwrap();
    assert_eq!(
        (a.status.as_str(), a.pii.recipient.as_str()),
        ("active", "granted")
    );
    assert_eq!(a.marketplaces.len(), 1);
    let listed = station.amazon_authorizations().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        code(station.purge_amazon_pii(&a.id).await),
        "authorization_active"
    );
    let r = station
        .revoke_amazon(&a.id, Some("seller left"))
        .await
        .unwrap();
    assert_eq!(r.status, "revoked");
    assert_eq!(r.revoked_reason.as_deref(), Some("seller left"));
    assert_eq!(
        code(station.revoke_amazon(&a.id, None).await),
        "already_revoked"
    );
    assert_eq!(
        code(station.sync_amazon(&a.id).await),
        "authorization_revoked"
    );
    let p = station.purge_amazon_pii(&a.id).await.unwrap();
    assert_eq!(p.orders_purged, 0);
    assert!(
        station
            .amazon_feedback(Some("failed"), None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        code(station.amazon_feedback(Some("nonsense"), None).await),
        "validation_failed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carrier_accounts_are_changed_disabled_and_removed() {
    let server = Server::start(3, 1).await;
    let data = tempfile::tempdir().unwrap();
    let station = stepped_up_admin(&server, data.path()).await;
    let mut new = self_issue(100_000, 199_999);
    new.label = Some("佐川 自社発番".into());
    let made = station.connect_carrier(&new).await.unwrap();
    assert_eq!(made.label.as_deref(), Some("佐川 自社発番"));
    assert!(made.enabled);

    // Refusals reach the caller as their codes, and change nothing.
    let key = CarrierAccountChange {
        api_key: Some(Zeroizing::new("new-key-xyz".into())),
        ..CarrierAccountChange::default()
    };
    assert!(!format!("{key:?}").contains("xyz"));
    assert_eq!(
        code(station.update_carrier("sagawa", &key).await),
        "carrier_not_api"
    );
    assert_eq!(
        code(
            station
                .update_carrier("sagawa", &CarrierAccountChange::default())
                .await
        ),
        "validation_failed"
    );
    let relabel = CarrierAccountChange {
        label: Some("本社契約".into()),
        ..CarrierAccountChange::default()
    };
    assert_eq!(
        code(station.update_carrier("yamato/../sagawa", &relabel).await),
        "not_found"
    );
    let listed = station.carrier_accounts().await.unwrap();
    let sagawa = listed.iter().find(|a| a.carrier == "sagawa").unwrap();
    assert_eq!(sagawa.label.as_deref(), Some("佐川 自社発番"));

    let changed = station.update_carrier("sagawa", &relabel).await.unwrap();
    assert_eq!(changed.label.as_deref(), Some("本社契約"));
    let off = CarrierAccountChange {
        enabled: Some(false),
        ..CarrierAccountChange::default()
    };
    let disabled = station.update_carrier("sagawa", &off).await.unwrap();
    assert!(!disabled.enabled && disabled.disabled_at.is_some());
    let on = CarrierAccountChange {
        enabled: Some(true),
        ..CarrierAccountChange::default()
    };
    assert!(station.update_carrier("sagawa", &on).await.unwrap().enabled);

    // Nothing was booked with it: it can be removed, once.
    station.remove_carrier("sagawa").await.unwrap();
    assert!(
        station
            .carrier_accounts()
            .await
            .unwrap()
            .iter()
            .all(|a| a.carrier != "sagawa")
    );
    let e = station.remove_carrier("sagawa").await.expect_err("gone");
    assert_eq!(e.code(), "not_found");
    assert!(e.to_string().contains("carrier account"), "{e}");

    // A confirmation that was never sent cannot be marked handled: the handler's answer (not the
    // router's "route not found").
    let order = server.admin_client(-1).await.order_ids("received").await;
    let e = station
        .feedback_handled(&order[0], 1)
        .await
        .expect_err("no feedback");
    assert_eq!(e.code(), "not_found");
    assert!(e.to_string().contains("shipment feedback"), "{e}");
}
