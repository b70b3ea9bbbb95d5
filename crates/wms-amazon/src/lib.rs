//! Amazon Selling Partner API client for Jilian WMS.
//!
//! - Login with Amazon refresh-token grant, access tokens cached per seller authorization
//!   ([`lwa::TokenCache`]).
//! - Orders API v2026-01-01 `searchOrders` / `getOrder` and v0 `confirmShipment`
//!   ([`Client`]), with wire types in [`model`] checked against the official models' examples.
//! - Token buckets per (seller, operation) seeded from the documented usage plans ([`rate`]),
//!   bounded retries with jittered exponential backoff for 429, 5xx and transport errors.
//! - rustls (ring) with TLS 1.2+ only; plain HTTP only to loopback and only when asked.

pub mod client;
pub mod config;
pub mod error;
pub mod lwa;
pub mod model;
pub mod rate;
pub mod secret;

pub use client::{Client, SpApi};
pub use config::{ClientOptions, Endpoints, MARKETPLACE_JP, RetryPolicy, TlsTrust};
pub use error::{ApiError, Error, TransportKind, code_matches};
pub use lwa::{AuthError, Credentials, TokenCache};
pub use rate::{Operation, RatePlan, RatePlans};
pub use secret::Secret;
