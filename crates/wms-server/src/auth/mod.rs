//! Authentication (passwords, TOTP, sessions and tokens) and authorisation (the extractor that
//! hands out a tenant-scoped transaction only to requests that hold the required permission).

pub mod extract;
pub mod hashing;
pub mod service;
pub mod tokens;
