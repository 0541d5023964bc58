//! HTTP tests of the collector: handlers called through the router with `oneshot`, one
//! end-to-end run of the real server on an ephemeral port, and the `agentlens keys`
//! commands checked through the router.

mod alerts;
mod analytics;
mod auth;
mod cli_keys;
mod common;
mod cost_rule;
mod ingest;
mod queries;
mod server;
mod timeline;
mod truncation;
