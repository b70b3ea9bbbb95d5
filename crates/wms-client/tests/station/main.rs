//! wms-client against the real server (in-process, SQLite in a temp dir, real TLS) and the
//! sandbox printer. One test binary, modules inside.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::field_reassign_with_default
)]

mod harness;

mod bench;
mod cli;
mod connections;
mod devices;
mod feed;
mod limits;
mod login_gates;
mod offline;
mod printing;
mod privacy;
mod receiving;
mod secret_service;
mod session_cache;
