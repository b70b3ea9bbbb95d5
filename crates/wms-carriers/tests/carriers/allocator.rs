//! Self-issue numbering: every number distinct and valid, never past the range, the 90 % warning.

use std::collections::BTreeSet;

use proptest::prelude::*;
use wms_carriers::{RangeError, RangeState};
use wms_core::tracking::{Carrier, SERIAL_MAX, TrackingNumber};

fn carrier() -> impl Strategy<Value = Carrier> {
    prop_oneof![
        Just(Carrier::Yamato),
        Just(Carrier::Sagawa),
        Just(Carrier::JapanPost)
    ]
}

/// Small ranges anywhere in the 11-digit space, half of them near Sagawa's forbidden blocks.
fn range() -> impl Strategy<Value = (u64, u64)> {
    let start = prop_oneof![
        0..=SERIAL_MAX - 300,
        (109u64..=120, 99_999_800u64..100_000_000).prop_map(|(p, r)| p * 100_000_000 + r),
    ];
    (start, 0u64..300).prop_map(|(first, len)| (first, first + len))
}

/// Issues until refused; returns the numbers and every warning flag.
fn drain(mut state: RangeState) -> (Vec<TrackingNumber>, Vec<bool>, RangeError) {
    let (mut numbers, mut warned) = (Vec::new(), Vec::new());
    loop {
        match state.issue() {
            Ok(issued) => {
                assert!(issued.state.next > state.next, "state moves forward");
                numbers.push(issued.tracking);
                warned.push(issued.warning.is_some());
                state = issued.state;
            }
            Err(e) => return (numbers, warned, e),
        }
    }
}

proptest! {
    #[test]
    fn every_number_is_valid_distinct_and_in_range((first, last) in range(), carrier in carrier()) {
        let state = RangeState::new(carrier, first, last).unwrap();
        let (numbers, _, err) = drain(state);
        let is_exhausted = matches!(err, RangeError::Exhausted { .. });
        prop_assert!(is_exhausted, "{:?}", err);
        let distinct: BTreeSet<u64> = numbers.iter().map(|t| t.as_u64()).collect();
        prop_assert_eq!(distinct.len(), numbers.len());
        for t in &numbers {
            prop_assert_eq!(t.carrier(), carrier);
            prop_assert!((first..=last).contains(&t.serial()));
            // Valid by the carrier's own rules, read back from its digits.
            prop_assert_eq!(TrackingNumber::new(carrier, &t.digits()), Ok(*t));
        }
        // Every serial of the range is issued, except the ones the carrier never issues.
        let expected = (first..=last)
            .filter(|s| TrackingNumber::from_serial(carrier, *s).is_ok())
            .count();
        prop_assert_eq!(numbers.len(), expected);
        // Ascending: consecutive labels.
        prop_assert!(numbers.windows(2).all(|w| w[0].serial() < w[1].serial()));
    }

    #[test]
    fn exhausted_stays_exhausted((first, last) in range()) {
        let mut state = RangeState::new(Carrier::Yamato, first, last).unwrap();
        while let Ok(i) = state.issue() {
            state = i.state;
        }
        prop_assert!(state.is_exhausted());
        prop_assert_eq!(state.used(), state.total());
        let again = state.issue();
        let refused = matches!(again, Err(RangeError::Exhausted { .. }));
        prop_assert!(refused);
    }

    #[test]
    fn warns_exactly_from_90_percent(len in 1u64..500, first in 0u64..1_000_000) {
        let state = RangeState::new(Carrier::Yamato, first, first + len - 1).unwrap();
        let (numbers, warned, _) = drain(state);
        prop_assert_eq!(numbers.len() as u64, len);
        for (i, w) in warned.iter().enumerate() {
            let used = i as u64 + 1;
            prop_assert_eq!(*w, used * 100 >= len * 90, "used {} of {}", used, len);
        }
        prop_assert_eq!(warned.last().copied(), Some(true));
    }

    #[test]
    fn a_stored_state_is_checked(first in 0u64..1000, len in 0u64..1000, next in 0u64..3000) {
        let last = first + len;
        let st = RangeState { carrier: Carrier::Sagawa, first, next, last };
        prop_assert_eq!(st.checked().is_ok(), (first..=last + 1).contains(&next));
    }
}

#[test]
fn bad_ranges_are_refused() {
    assert!(matches!(
        RangeState::new(Carrier::Yamato, 10, 9),
        Err(RangeError::Empty { .. })
    ));
    assert!(matches!(
        RangeState::new(Carrier::Yamato, 0, SERIAL_MAX + 1),
        Err(RangeError::OutOfRange { .. })
    ));
    // The whole space works, to the last serial.
    let st = RangeState::new(Carrier::Yamato, SERIAL_MAX, SERIAL_MAX).unwrap();
    let issued = st.issue().unwrap();
    assert_eq!(
        issued.tracking.digits(),
        format!("{SERIAL_MAX}{}", SERIAL_MAX % 7)
    );
    assert_eq!(issued.warning.map(|w| w.percent()), Some(100));
    assert!(issued.state.issue().is_err());
}

#[test]
fn sagawa_ranges_skip_the_forbidden_blocks() {
    let st = RangeState::new(Carrier::Sagawa, 10_999_999_999, 12_000_000_001).unwrap();
    let a = st.issue().unwrap();
    assert_eq!(a.tracking.serial(), 10_999_999_999);
    let b = a.state.issue().unwrap();
    assert_eq!(b.tracking.serial(), 11_100_000_000, "110 skipped");
    let near = RangeState {
        next: 11_899_999_999,
        ..b.state
    };
    let c = near.issue().unwrap();
    assert_eq!(c.tracking.serial(), 11_899_999_999);
    let d = c.state.issue().unwrap();
    assert_eq!(d.tracking.serial(), 12_000_000_000, "119 skipped");
    // Skipped serials count as used: the warning is about the range, not the numbers.
    assert!(d.warning.is_some());
}
