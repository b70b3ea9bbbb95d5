//! Retries: every call of the adapters is safe to repeat (bookings carry their idempotency key).

use std::time::Duration;

use wms_carriers::{Carrier, Error};
use wms_sandbox::{CarrierOperation, Fault, FaultKind};

use crate::common::{request, start};

#[tokio::test]
async fn a_server_error_then_success_is_retried() {
    let env = start().await;
    let ctl = env.sb.control();
    ctl.add_fault(Fault::next(
        CarrierOperation::YamatoBook,
        FaultKind::ServerError,
        1,
    ))
    .expect("fault");
    ctl.add_fault(Fault::next(
        CarrierOperation::SagawaBook,
        FaultKind::Throttle,
        2,
    ))
    .expect("fault");
    let y = env.yamato().book(&request("retry-1")).await.expect("book");
    let s = env.sagawa().book(&request("retry-2")).await.expect("book");
    assert_eq!(
        env.calls(),
        [
            ("book".to_owned(), 500),
            ("book".to_owned(), 201),
            ("book".to_owned(), 429),
            ("book".to_owned(), 429),
            ("book".to_owned(), 201),
        ]
    );
    assert_eq!(ctl.carrier_bookings().len(), 2);

    // Tracking and voids are retried too.
    ctl.add_fault(Fault::next(
        CarrierOperation::YamatoTrack,
        FaultKind::ServerError,
        1,
    ))
    .expect("fault");
    ctl.add_fault(Fault::next(
        CarrierOperation::SagawaVoid,
        FaultKind::ServerError,
        2,
    ))
    .expect("fault");
    let yamato = env.yamato();
    assert!(
        yamato
            .track(y.packages[0].tracking)
            .await
            .expect("track")
            .is_empty()
    );
    env.sagawa()
        .void(s.packages[0].tracking, "cancelled order")
        .await
        .expect("void");

    // Until the attempts run out.
    ctl.add_fault(Fault::next(
        CarrierOperation::YamatoBook,
        FaultKind::ServerError,
        3,
    ))
    .expect("fault");
    let err = yamato
        .book(&request("retry-3"))
        .await
        .expect_err("gives up");
    assert!(
        matches!(
            err,
            Error::Status {
                status: 500,
                attempts: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_lost_response_is_retried_with_the_same_key_and_yields_the_same_number() {
    let env = start().await;
    let ctl = env.sb.control();
    // The booking is made, then the answer is held back past the client's timeout.
    ctl.add_fault(
        Fault::next(CarrierOperation::YamatoBook, FaultKind::DropAfterEffect, 1)
            .with_delay_ms(5_000),
    )
    .expect("fault");
    let y = env.yamato_with(|c| c.request_timeout = Duration::from_millis(1_500));
    let booking = y.book(&request("lost-1")).await.expect("book");
    let held = ctl.carrier_bookings();
    assert_eq!(held.len(), 1, "booked once");
    assert_eq!(
        held[0].tracking_number,
        booking.packages[0].tracking.digits()
    );
    let calls = ctl.carrier_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].status, 201, "the first call booked");
    assert_eq!(calls[1].status, 200, "the retry was answered from the key");
    assert_eq!(calls[0].idempotency_key, calls[1].idempotency_key);
    assert_eq!(calls[0].idempotency_key.as_deref(), Some("lost-1"));
}

#[tokio::test]
async fn transport_errors_are_retried_then_reported() {
    let env = start().await;
    // Nothing listens on the sandbox's port after shutdown: every attempt fails to connect.
    let y = env.yamato();
    let env_sb = env.sb;
    env_sb.shutdown().await;
    let err = y.book(&request("gone")).await.expect_err("down");
    assert!(matches!(err, Error::Transport { attempts: 3, .. }), "{err}");
}
