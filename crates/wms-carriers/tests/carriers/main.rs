//! One integration-test binary for wms-carriers: the adapters against wms-sandbox's carrier
//! stand-ins over real TLS on loopback (pinned to the sandbox's certificate), and the self-issue
//! allocator's properties.

// Test helpers panic on purpose: a failed setup is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod allocator;
mod booking;
mod common;
mod faults;
mod validation;
