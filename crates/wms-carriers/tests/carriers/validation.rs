//! What the reference says the carriers check is refused locally, with a clear error, and nothing
//! reaches the carrier.

use wms_carriers::{Carrier, Error, PackageSpec};
use wms_core::label::{LabelError, LabelField, PartyRole, ServiceType, TimeSlot};
use wms_core::tracking::{self, TrackingNumber};

use crate::common::{request, start};

#[tokio::test]
async fn refused_locally_and_never_sent() {
    let env = start().await;
    let (y, s) = (env.yamato(), env.sagawa());

    // Sagawa: 16 full-width characters per address line (17 here).
    let mut req = request("v-1");
    req.recipient.address_lines[0] = "東京都千代田区千代田一丁目一番地一".into();
    let err = s.book(&req).await.expect_err("too long");
    assert!(
        matches!(
            &err,
            Error::Label(LabelError::FieldTooLong {
                carrier: tracking::Carrier::Sagawa,
                field: LabelField::AddressLine(PartyRole::Recipient, 1),
                width: 34,
                max: 32
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("17 full-width"), "{err}");
    // Yamato takes the same line (its limits are longer).
    y.book(&req).await.expect("yamato takes it");
    let sent_so_far = env.calls().len();

    // Missing postal code.
    let mut req = request("v-2");
    req.recipient.postal_code = String::new();
    for carrier in [&y as &dyn Carrier, &s] {
        let err = carrier.book(&req).await.expect_err("no postal code");
        match &err {
            Error::Label(e) => assert_eq!(e.code(), "label_postal_code_missing"),
            other => panic!("{other}"),
        }
    }

    // A time slot Sagawa does not offer (20–21); Yamato does.
    let mut req = request("v-3");
    req.time_slot = Some(TimeSlot::From20To21);
    let err = s.book(&req).await.expect_err("slot");
    let fields = err.field_errors();
    assert_eq!(fields.len(), 1);
    assert_eq!(fields[0].field, "timeSlot");
    assert!(fields[0].reason.contains("2021"), "{}", fields[0].reason);
    assert!(err.is_local_refusal());

    // COD amount on 発払 (prepaid), and コレクト without an amount.
    let mut req = request("v-4");
    req.cod_amount_yen = Some(3_980);
    let err = y.book(&req).await.expect_err("cod on prepaid");
    assert!(
        matches!(
            err,
            Error::Label(LabelError::CodAmountWithoutCod { service: "発払" })
        ),
        "{err}"
    );
    req.service = ServiceType::Collect;
    assert!(matches!(
        s.book(&req).await,
        Err(Error::Label(LabelError::CodAmountWithoutCod { .. }))
    ));
    req.service = ServiceType::Cod;
    req.cod_amount_yen = None;
    assert!(matches!(
        y.book(&req).await,
        Err(Error::Label(LabelError::CodAmountMissing))
    ));

    // Sagawa: a delivery date or a time slot, not both.
    let mut req = request("v-5");
    req.delivery_date = Some(time::macros::date!(2026 - 06 - 04));
    assert!(matches!(
        s.book(&req).await,
        Err(Error::Label(LabelError::DateAndTimeSlot { .. }))
    ));

    // Weight and size limits, per class.
    let mut req = request("v-6");
    req.packages.push(PackageSpec {
        weight_grams: 31_000,
        size_cm: 100,
    });
    let err = y.book(&req).await.expect_err("heavy");
    assert_eq!(err.field_errors()[0].field, "packages[1].weightGrams");
    req.packages[1].weight_grams = 10_000;
    req.cool = wms_core::label::CoolType::Frozen;
    req.packages[1].size_cm = 140;
    let err = y.book(&req).await.expect_err("cool too big");
    assert_eq!(err.field_errors()[0].field, "packages[1].sizeCm");
    req.packages.clear();
    assert!(matches!(y.book(&req).await, Err(Error::Invalid(_))));

    // Voids: a reason is required, and a number must be this carrier's.
    let t = TrackingNumber::new(tracking::Carrier::Yamato, "444413758703").expect("number");
    assert!(matches!(y.void(t, "  ").await, Err(Error::Invalid(_))));
    let err = s.void(t, "mistake").await.expect_err("not sagawa's");
    assert_eq!(err.field_errors()[0].field, "trackingNumber");
    assert!(matches!(s.track(t).await, Err(Error::Invalid(_))));

    assert_eq!(
        env.calls().len(),
        sent_so_far,
        "nothing was sent: {:?}",
        env.calls()
    );
    assert_eq!(env.sb.control().carrier_bookings().len(), 1);
}
