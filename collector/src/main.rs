//! The `agentlens` binary: parses the command line, installs the log subscriber and runs.

use std::io::IsTerminal;
use std::process::ExitCode;

use agentlens_collector::cli::Cli;
use agentlens_collector::log_filter;
use clap::Parser;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

// Every ingest batch allocates thousands of small JSON values and strings on an HTTP worker
// and frees them on the SQLite writer thread. Under the load of `examples/loadgen.rs`,
// glibc's malloc and free took 12% of the server's CPU time and mimalloc takes 8.4%.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();

    // Logs go to stderr, so stdout carries only command output such as a new API key.
    // Servers log their lifecycle at INFO. One-shot commands show only warnings unless
    // RUST_LOG sets another level, so their stderr contains problems and the final error.
    // rmcp stays at INFO unless RUST_LOG names it, see `log_filter`.
    let is_server = cli.is_server();
    let default_level = if is_server {
        LevelFilter::INFO
    } else {
        LevelFilter::WARN
    };
    let directives = std::env::var(EnvFilter::DEFAULT_ENV).ok();
    let filter = log_filter::build(directives.as_deref(), default_level);
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter);
    tracing_subscriber::registry().with(logs).init();

    match cli.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_server => {
            tracing::error!(%error, "agentlens failed");
            ExitCode::from(error.exit_code())
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
