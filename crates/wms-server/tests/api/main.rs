#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]
//! One integration-test binary for the server (every extra test file is another linked binary).
//! Storage-touching tests run on both backends via `both_backends!`.

mod harness;

mod amazon;
mod auth;
mod carriers;
mod devices;
mod hardening;
mod isolation;
mod ops;
mod privacy;
mod releases;
mod warehouse;
