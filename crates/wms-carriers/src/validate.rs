//! Local checks before a booking is sent: what the carriers would refuse is refused here, with a
//! clear error, and nothing is booked.
//!
//! The label rules (postal code, parties, COD only with コレクト, Sagawa's 16 full-width characters
//! and date-or-slot) are wms-core's `LabelModel::validate`, applied to the very label each package
//! would print: one copy of those rules, and a booking can never produce a label the printer path
//! refuses. The adapter adds what the label model does not know: which time slots this carrier
//! offers, the package count, weights and sizes.

use wms_core::label::{CoolType, Piece};
use wms_core::tracking::{Carrier, TrackingNumber};

use crate::config::CarrierRules;
use crate::error::{Error, FieldError};
use crate::model::{BookingRequest, label_model};

pub(crate) fn check_booking(
    carrier: Carrier,
    rules: &CarrierRules,
    request: &BookingRequest,
) -> Result<(), Error> {
    let invalid =
        |field: String, reason: String| Err(Error::Invalid(FieldError::new(field, reason)));
    let count = request.packages.len();
    if count == 0 || count > rules.max_packages {
        return invalid(
            "packages".into(),
            format!(
                "1 to {} packages per booking, got {count}",
                rules.max_packages
            ),
        );
    }
    let total = u16::try_from(count)
        .map_err(|_| Error::Invalid(FieldError::new("packages", "too many packages")))?;

    // Any valid number of the carrier will do: the number is the carrier's to allocate, and no
    // label rule depends on its value.
    let placeholder = TrackingNumber::from_serial(carrier, 0)?;
    label_model(request, placeholder, Piece { index: 1, total }, None).validate()?;

    if let Some(slot) = request.time_slot
        && !rules.time_slots.contains(&slot)
    {
        return invalid(
            "timeSlot".into(),
            format!(
                "{carrier} does not offer the time slot {} ({})",
                slot.code(),
                slot.japanese()
            ),
        );
    }

    let (limits, class) = match request.cool {
        CoolType::Normal => (rules.limits, "a parcel"),
        CoolType::Chilled | CoolType::Frozen => (rules.cool_limits, "a cool parcel"),
    };
    for (i, p) in request.packages.iter().enumerate() {
        let n = i + 1;
        if p.weight_grams == 0 || p.weight_grams > limits.max_weight_grams {
            return invalid(
                format!("packages[{i}].weightGrams"),
                format!(
                    "package {n} weighs {} g; {carrier} takes {class} of 1 to {} g",
                    p.weight_grams, limits.max_weight_grams
                ),
            );
        }
        if p.size_cm == 0 || p.size_cm > limits.max_size_cm {
            return invalid(
                format!("packages[{i}].sizeCm"),
                format!(
                    "package {n} measures {} cm (length + width + height); {carrier} takes {class} up to {} cm",
                    p.size_cm, limits.max_size_cm
                ),
            );
        }
    }
    Ok(())
}
