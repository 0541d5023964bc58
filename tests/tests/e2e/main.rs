//! End-to-end tests: each one starts the real `agentlens` binary on a free loopback port
//! with a temporary SQLite file and talks to it over HTTP.

mod client;
mod common;
mod import_claude_code;
mod ingest;
