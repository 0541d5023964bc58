//! HTTP tests of the collector: handlers called through the router with `oneshot`, one
//! end-to-end run of the real server on an ephemeral port, and the `agentlens keys`
//! commands checked through the router.

mod agent_tool_analytics;
mod alerts;
mod alerts_engine;
mod analytics;
mod auth;
mod bucket_boundaries;
mod budgets;
mod cli_import;
mod cli_keys;
mod cli_prices;
mod cli_serve;
mod common;
mod cost_fill;
mod cost_fill_migration;
mod cost_rule;
mod cost_rule_migration;
mod deployments;
mod event_detail;
mod event_pricing;
mod fuzz;
mod idempotency;
mod ingest;
mod llm_rollups;
mod mcp;
mod mcp_stdio;
mod metrics;
mod openapi;
mod overview;
mod paging;
mod pricing;
mod queries;
mod rate_limit;
mod repeated_params;
mod reprice;
mod rollup_workload;
mod rollups;
mod server;
mod timeline;
mod top_sessions;
mod truncation;
mod unpriced_analytics;
mod webhook_restart;
mod webhooks;
