//! One integration-test binary for wms-sandbox: real TLS over loopback with reqwest, trusting
//! only the sandbox's own certificate.

// Test helpers panic on purpose: a failed setup is a failed test.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod binary;
mod carriers;
mod common;
mod confirm;
mod examples;
mod faults;
mod lwa;
mod models_copy;
mod persistence;
mod printer;
mod search;
