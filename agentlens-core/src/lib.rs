//! The native core of AgentLens: typed events, exact money, the price engine and the
//! batching client.
//!
//! Every language binding and the collector use this crate, so a cost is computed one way
//! everywhere:
//!
//! - [`money::Usd`] is the only type that holds an amount of money. It is an exact decimal;
//!   no cost is ever an `f64` sum.
//! - [`event`] defines the wire format shared with upstream AgentLens (camelCase JSON) and
//!   [`validate`] checks it, reporting one error per violation.
//! - [`usage`] turns provider usage objects into exclusive token buckets, and [`pricing`]
//!   prices them from an embedded, generated price table. A model the table does not know
//!   is *unpriced*, never $0.
//! - `client` (feature `net`) batches events on a background task and ships them to a
//!   collector without blocking the caller.

pub mod canonical;
pub mod errors;
pub mod event;
pub mod json;
pub mod money;
pub mod pricing;
pub mod usage;
pub mod validate;

#[cfg(feature = "net")]
pub mod client;

pub use money::Usd;

// Compiles the Rust examples of the README as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
