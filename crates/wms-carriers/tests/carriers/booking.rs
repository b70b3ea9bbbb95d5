//! Booking, idempotency, void and tracking against the stand-ins.

use std::sync::Arc;

use wms_carriers::{Carrier, Error, MilestoneKind, PackageSpec};
use wms_core::tracking::{self, TrackingNumber, parse_scanned};

use crate::common::{YAMATO_CODE, request, start};

#[tokio::test]
async fn both_carriers_book_valid_numbers_and_printable_labels() {
    let env = start().await;
    let carriers: Vec<Arc<dyn Carrier>> = vec![Arc::new(env.yamato()), Arc::new(env.sagawa())];
    for carrier in carriers {
        let id = carrier.carrier();
        let mut req = request(&format!("pkg-{id}-1"));
        req.packages.push(PackageSpec {
            weight_grams: 800,
            size_cm: 80,
        });
        let booking = carrier.book(&req).await.expect("book");
        assert_eq!(booking.carrier, id);
        assert_eq!(booking.packages.len(), 2);
        for (i, p) in booking.packages.iter().enumerate() {
            // The number decodes as the carrier's, printed or scanned.
            let digits = p.tracking.digits();
            assert_eq!(TrackingNumber::new(id, &digits), Ok(p.tracking));
            assert_eq!(
                parse_scanned(id, &format!("A{digits}A")),
                Ok(p.tracking),
                "{digits}"
            );
            assert_eq!(u64::from(p.tracking.check()), p.tracking.serial() % 7);
            for prefix in id.forbidden_prefixes() {
                assert!(!digits.starts_with(prefix), "{digits}");
            }
            assert!(!p.sorting_code.is_empty());
            assert_eq!((p.piece.index, p.piece.total), (i as u16 + 1, 2));
        }
        assert_ne!(booking.packages[0].tracking, booking.packages[1].tracking);
        // The labels the booking fills are valid labels, with the carrier's sorting code.
        let labels = booking.labels(&req);
        assert_eq!(labels.len(), 2);
        for (label, p) in labels.iter().zip(&booking.packages) {
            label.validate().expect("label");
            assert_eq!(label.tracking, p.tracking);
            assert_eq!(label.sorting_code.as_deref(), Some(p.sorting_code.as_str()));
        }
        // The stand-in holds what the adapter returned.
        let held: Vec<String> = env
            .sb
            .control()
            .carrier_bookings()
            .into_iter()
            .filter(|b| b.shipment_id == booking.shipment_id)
            .map(|b| b.tracking_number)
            .collect();
        let got: Vec<String> = booking
            .packages
            .iter()
            .map(|p| p.tracking.digits())
            .collect();
        assert_eq!(held, got);
    }
    // The reference's samples are where the stand-ins' counters start.
    let first: Vec<String> = env
        .sb
        .control()
        .carrier_bookings()
        .into_iter()
        .map(|b| b.tracking_number)
        .collect();
    assert_eq!(first[0], "444413758703");
    assert_eq!(first[2], "512547514334");
}

#[tokio::test]
async fn a_repeated_key_returns_the_same_booking_and_books_nothing_more() {
    let env = start().await;
    let y = env.yamato();
    let req = request("pkg-42");
    let first = y.book(&req).await.expect("first");
    let again = y.book(&req).await.expect("again");
    assert_eq!(first, again);
    assert_eq!(env.sb.control().carrier_bookings().len(), 1);

    // The same key for another booking is refused, not silently answered with the first one.
    let mut other = request("pkg-42");
    other.recipient.name = "佐藤 花子".into();
    let err = y.book(&other).await.expect_err("reused key");
    assert!(
        matches!(
            err,
            Error::IdempotencyConflict {
                carrier: tracking::Carrier::Yamato
            }
        ),
        "{err}"
    );
    assert_eq!(env.sb.control().carrier_bookings().len(), 1);

    // Keys are per carrier contract: Sagawa books its own.
    let s = env.sagawa().book(&req).await.expect("sagawa");
    assert_eq!(s.carrier, tracking::Carrier::Sagawa);
}

#[tokio::test]
async fn void_before_pickup_only() {
    let env = start().await;
    for carrier in [
        Arc::new(env.yamato()) as Arc<dyn Carrier>,
        Arc::new(env.sagawa()) as Arc<dyn Carrier>,
    ] {
        let id = carrier.carrier();
        let b = carrier
            .book(&request(&format!("void-{id}")))
            .await
            .expect("book");
        let t = b.packages[0].tracking;
        carrier.void(t, "宛先誤り").await.expect("void");
        // Voiding again is fine (a retried void must not fail).
        carrier.void(t, "宛先誤り").await.expect("void again");
        assert!(carrier.track(t).await.expect("track").is_empty());
        let held = env
            .sb
            .control()
            .carrier_bookings()
            .into_iter()
            .find(|x| x.tracking_number == t.digits())
            .expect("held");
        assert_eq!(held.voided.expect("voided").reason, "宛先誤り");

        // A number the carrier never issued.
        let unknown = TrackingNumber::from_serial(id, 12_345_678).expect("number");
        let err = carrier.void(unknown, "x").await.expect_err("unknown");
        assert!(
            matches!(err, Error::NotFound { tracking, .. } if tracking == unknown),
            "{err}"
        );
    }

    // After pickup the carrier refuses.
    let y = env.yamato();
    let b = y.book(&request("void-late")).await.expect("book");
    env.sb.control().advance_carrier_clock(61).expect("clock");
    let err = y
        .void(b.packages[0].tracking, "too late")
        .await
        .expect_err("picked up");
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
}

#[tokio::test]
async fn milestones_follow_the_test_clock() {
    let env = start().await;
    for carrier in [
        Arc::new(env.yamato()) as Arc<dyn Carrier>,
        Arc::new(env.sagawa()) as Arc<dyn Carrier>,
    ] {
        let id = carrier.carrier();
        let b = carrier
            .book(&request(&format!("track-{id}")))
            .await
            .expect("book");
        let t = b.packages[0].tracking;
        let booked_at = env
            .sb
            .control()
            .carrier_bookings()
            .into_iter()
            .find(|x| x.tracking_number == t.digits())
            .expect("held")
            .booked_at;
        let kinds = |m: &[wms_carriers::Milestone]| m.iter().map(|m| m.kind).collect::<Vec<_>>();
        assert!(carrier.track(t).await.expect("track").is_empty());
        env.sb.control().advance_carrier_clock(61).expect("clock");
        let m = carrier.track(t).await.expect("track");
        assert_eq!(kinds(&m), [MilestoneKind::PickedUp]);
        assert_eq!(m[0].at, booked_at + time::Duration::hours(1));
        env.sb.control().advance_carrier_clock(120).expect("clock");
        let m = carrier.track(t).await.expect("track");
        assert_eq!(
            kinds(&m),
            [MilestoneKind::PickedUp, MilestoneKind::InTransit]
        );
        env.sb
            .control()
            .advance_carrier_clock(21 * 60)
            .expect("clock");
        let m = carrier.track(t).await.expect("track");
        assert_eq!(
            kinds(&m),
            [
                MilestoneKind::PickedUp,
                MilestoneKind::InTransit,
                MilestoneKind::Delivered
            ]
        );
        assert_eq!(m[2].at, booked_at + time::Duration::hours(24));
        assert!(m.windows(2).all(|w| w[0].at <= w[1].at));
        let unknown = TrackingNumber::from_serial(id, 777).expect("number");
        assert!(matches!(
            carrier.track(unknown).await,
            Err(Error::NotFound { .. })
        ));
    }
}

#[tokio::test]
async fn wrong_credentials_are_an_auth_error() {
    let env = start().await;
    let y = env.yamato_with(|c| {
        c.credentials.api_key = wms_carriers::Secret::new("not-the-key");
    });
    let err = y.book(&request("auth-1")).await.expect_err("auth");
    assert!(matches!(err, Error::Auth { status: 401, .. }), "{err}");
    // The customer code must be the key's.
    let y = env.yamato_with(|c| c.credentials.customer_code = "999999999999".into());
    let err = y.book(&request("auth-2")).await.expect_err("auth");
    assert!(matches!(err, Error::Auth { status: 403, .. }), "{err}");
    assert_ne!(YAMATO_CODE, "999999999999");
    assert!(env.sb.control().carrier_bookings().is_empty());
    // Nothing secret in the error or the adapter's Debug.
    assert!(!format!("{err} {err:?} {y:?}").contains("yamato-api-key"));
}

#[tokio::test]
async fn field_errors_the_carrier_returns_are_typed() {
    let env = start().await;
    // Yamato's name limit (B2 layout, 16 full-width) is the carrier's to enforce: the adapter only
    // checks locally what the reference states, so this one comes back from the carrier.
    let mut req = request("long-name");
    req.recipient.name = "寿限無寿限無五劫の擦り切れ海砂利水魚".into();
    let err = env.yamato().book(&req).await.expect_err("refused");
    let Error::Rejected { carrier, errors } = &err else {
        panic!("{err}");
    };
    assert_eq!(*carrier, tracking::Carrier::Yamato);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].field, "consignee.name");
    assert!(
        errors[0].reason.contains("at most 32"),
        "{}",
        errors[0].reason
    );
    assert!(!err.is_local_refusal());
    assert!(env.sb.control().carrier_bookings().is_empty());
}
