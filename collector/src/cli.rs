//! The `agentlens` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::{serve, ServeError, ServeOptions};

/// AgentLens: cost tracking for AI agents.
#[derive(Debug, Parser)]
#[command(name = "agentlens", version, about)]
pub struct Cli {
    /// Subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands of `agentlens`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the collector HTTP server.
    Serve(ServeArgs),
    // Further subcommands (such as `import`) are added here, each with a match arm in
    // `Cli::run`.
}

/// Options of `agentlens serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "AGENTLENS_BIND", default_value = "127.0.0.1:3400")]
    pub bind: SocketAddr,
    /// SQLite database file; created and migrated at start.
    #[arg(long, env = "AGENTLENS_DB", default_value = "./agentlens.db")]
    pub db: PathBuf,
    /// Serves every request without an API key, with full access. For local use only.
    #[arg(long)]
    pub no_auth: bool,
    /// Seconds between alert rule evaluations.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub alert_interval_secs: u64,
}

impl ServeArgs {
    /// Converts the arguments into server options, reading `AGENTLENS_API_KEY`.
    pub fn into_options(self) -> ServeOptions {
        ServeOptions {
            bind: self.bind,
            db: self.db,
            auth_enabled: !self.no_auth,
            alert_interval: Duration::from_secs(self.alert_interval_secs),
            // Read from the environment only: a key on the command line would show in `ps`.
            preset_key: std::env::var("AGENTLENS_API_KEY")
                .ok()
                .filter(|key| !key.is_empty()),
        }
    }
}

/// Errors of any subcommand.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// `agentlens serve` failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

impl Cli {
    /// Runs the chosen subcommand to completion.
    ///
    /// # Errors
    ///
    /// Returns [`CliError`] when the subcommand fails.
    pub async fn run(self) -> Result<(), CliError> {
        match self.command {
            Command::Serve(args) => serve(args.into_options()).await?,
        }
        Ok(())
    }
}
