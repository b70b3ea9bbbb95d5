//! One integration-test binary for wms-amazon (each test file is another linked binary).

// Test helpers outside #[test] functions panic on purpose: a malformed model is a failure.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod conformance;
mod http;
mod sandbox;
