//! HTTP tests of the collector: handlers called through the router with `oneshot`, and one
//! end-to-end run of the real server on an ephemeral port.

mod alerts;
mod analytics;
mod auth;
mod common;
mod cost_rule;
mod ingest;
mod queries;
mod server;
