//! Jilian WMS domain core: pure, synchronous, no I/O.
//!
//! Everything here is plain functions over plain types so that it can be tested to exhaustion;
//! the server and the workstation are glue around it.

pub mod audit;
pub mod fulfilment;
pub mod ids;
pub mod label;
pub mod ledger;
pub mod mask;
pub mod password;
pub mod release;
pub mod retention;
pub mod role;
pub mod seal;
pub mod totp;
pub mod tracking;
pub mod wire;
