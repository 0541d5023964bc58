//! The `agentlens` command line.

pub mod keys;
pub mod output;
pub mod prices;
pub mod reprice;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::alerts::webhook::WebhookOptions;
use crate::alerts::AlertOptions;
use crate::import::{collector_pricing_version, import_claude_code, ImportError, ImportOptions};
use crate::mcp::stdio::{serve_stdio, StdioError};
use crate::pricing::load_prices;
use crate::{serve, ServeError, ServeOptions};
use keys::{KeysCommand, KeysError};
use output::print_stdout;
use prices::{PricesCommand, PricesError};

/// Maximum alert interval or webhook retry delay, in seconds: one week. A time near
/// `u64::MAX` would overflow the clock arithmetic of the schedules.
const MAX_SCHEDULE_SECS: u64 = 7 * 24 * 3600;

/// AgentLens: cost tracking for AI agents.
#[derive(Debug, Parser)]
#[command(name = "agentlens", version = env!("AGENTLENS_VERSION_TEXT"), about)]
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
    /// Imports usage logs of another tool as priced cost events.
    #[command(subcommand)]
    Import(ImportSource),
    /// Creates, lists and revokes API keys in the database file.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Quotes, shows, lists and updates model prices.
    #[command(subcommand)]
    Prices(PricesCommand),
    /// Runs an MCP server on stdio that forwards tool calls to a collector.
    Mcp(McpArgs),
}

/// Collector URL used when neither `--url` nor an environment variable sets one.
const DEFAULT_COLLECTOR_URL: &str = "http://localhost:3400";

/// Options of `agentlens mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Collector base URL. Defaults to $AGENTLENS_URL (the name upstream's MCP server
    /// reads), then $AGENTLENS_SERVER_URL (the name `agentlens import` and the SDKs read),
    /// then http://localhost:3400.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// API key of the collector (`als_...`), with write access.
    #[arg(long, env = "AGENTLENS_API_KEY", hide_env_values = true, value_parser = parse_api_key)]
    pub api_key: Option<String>,
}

impl McpArgs {
    /// Returns the collector URL: `--url`, then `AGENTLENS_URL`, then
    /// `AGENTLENS_SERVER_URL`, then the default. Empty variables count as unset.
    pub fn collector_url(&self) -> String {
        let from_env = |name: &str| std::env::var(name).ok().filter(|url| !url.is_empty());
        resolve_collector_url(
            self.url.clone(),
            from_env("AGENTLENS_URL"),
            from_env("AGENTLENS_SERVER_URL"),
        )
    }
}

/// Returns the first URL given, in order of precedence, or the default.
fn resolve_collector_url(
    flag: Option<String>,
    agentlens_url: Option<String>,
    server_url: Option<String>,
) -> String {
    flag.or(agentlens_url)
        .or(server_url)
        .unwrap_or_else(|| DEFAULT_COLLECTOR_URL.to_owned())
}

/// Tools whose logs `agentlens import` reads.
#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// Claude Code transcripts: one cost event per assistant message.
    ClaudeCode(ClaudeCodeArgs),
}

/// Options of `agentlens import claude-code`.
#[derive(Debug, Args)]
pub struct ClaudeCodeArgs {
    /// Claude Code projects folder, or the config folder that contains `projects/`.
    /// Defaults to $CLAUDE_CONFIG_DIR, then ~/.claude.
    pub dir: Option<PathBuf>,
    /// Collector base URL.
    #[arg(long, env = "AGENTLENS_SERVER_URL", default_value = DEFAULT_COLLECTOR_URL)]
    pub url: String,
    /// API key of the collector (`als_...`).
    #[arg(long, env = "AGENTLENS_API_KEY", hide_env_values = true, value_parser = parse_api_key)]
    pub api_key: Option<String>,
    /// Price override file of the collector (its `--prices`), so the printed total uses the
    /// prices the collector stores. The summary reports when the two tables differ.
    #[arg(long, env = "AGENTLENS_PRICES", value_name = "FILE")]
    pub prices: Option<PathBuf>,
}

impl ClaudeCodeArgs {
    fn into_options(self) -> Result<ImportOptions, CliError> {
        let dir = match self.dir {
            Some(dir) => dir,
            None => default_claude_dir().ok_or(CliError::NoClaudeDir)?,
        };
        Ok(ImportOptions {
            dir,
            url: self.url,
            api_key: self.api_key,
            prices: load_prices(self.prices.as_deref())
                .map_err(|error| CliError::Prices(error.into()))?,
        })
    }
}

fn default_claude_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR") {
        return Some(PathBuf::from(dir));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".claude"))
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
    #[arg(
        long,
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=MAX_SCHEDULE_SECS)
    )]
    pub alert_interval_secs: u64,
    /// Price override file (TOML or JSON) applied over the embedded price table. The server
    /// does not start when the file is invalid.
    #[arg(long, env = "AGENTLENS_PRICES", value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Secret that signs alert webhooks with HMAC-SHA256 (`X-AgentLens-Signature`).
    /// Without one, webhooks are sent unsigned.
    #[arg(long, env = "AGENTLENS_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Allows alert webhooks to private, loopback and unique-local addresses. Link-local
    /// addresses, such as the cloud metadata address 169.254.169.254, stay refused.
    #[arg(
        long,
        env = "AGENTLENS_ALLOW_PRIVATE_WEBHOOKS",
        value_parser = clap::builder::BoolishValueParser::new(),
        num_args = 0..=1,
        default_missing_value = "true",
        default_value = "false"
    )]
    pub allow_private_webhooks: bool,
    /// Requests per minute allowed per API key, or per client IP for requests without a
    /// key, on the /api routes (health excepted). Requests that get 401 count in a separate
    /// window per client IP with the same limit. 0 disables the limit.
    #[arg(long, env = "AGENTLENS_RATE_LIMIT", value_name = "N", default_value_t = crate::rate_limit::DEFAULT_RATE_LIMIT)]
    pub rate_limit: u32,
    /// Seconds to wait before each retry of a failed alert webhook, comma-separated, each at
    /// most 604800 (one week). An empty value ('') turns retries off, so each delivery gets
    /// one attempt.
    // The full path keeps clap from reading `Vec` as a repeated option: the parser turns
    // the whole value into the list.
    #[arg(
        long,
        value_name = "SECS,...",
        default_value = "1,5,30",
        value_parser = parse_retry_delays
    )]
    pub webhook_retry_delays_secs: ::std::vec::Vec<u64>,
}

/// Rejects an empty API key, which no collector accepts, before anything is sent.
fn parse_api_key(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err(
            "the API key is empty; pass a key that `agentlens keys create` printed, \
                    or unset AGENTLENS_API_KEY for a collector started with --no-auth"
                .to_owned(),
        );
    }
    Ok(text.to_owned())
}

/// Parses `--webhook-retry-delays-secs`: whole seconds separated by commas, each at most
/// [`MAX_SCHEDULE_SECS`]. An empty or blank value is the empty list.
fn parse_retry_delays(text: &str) -> Result<Vec<u64>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|part| {
            let part = part.trim();
            let secs: u64 = part.parse().map_err(|_| {
                format!("invalid delay {part:?}: expected whole seconds, such as 1,5,30")
            })?;
            if secs > MAX_SCHEDULE_SECS {
                return Err(format!(
                    "delay {secs} is over the maximum of {MAX_SCHEDULE_SECS} seconds (one week)"
                ));
            }
            Ok(secs)
        })
        .collect()
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
            prices: self.prices,
            rate_limit: self.rate_limit,
            alerts: AlertOptions::default().with_webhooks(
                WebhookOptions::default()
                    .with_secret(self.webhook_secret)
                    .with_allow_private(self.allow_private_webhooks)
                    .with_retry_delays(
                        self.webhook_retry_delays_secs
                            .into_iter()
                            .map(Duration::from_secs)
                            .collect(),
                    ),
            ),
        }
    }
}

/// Errors of any subcommand.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// `agentlens serve` failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
    /// `agentlens import` could not start.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// `agentlens keys` failed.
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// `agentlens mcp` failed.
    #[error(transparent)]
    Mcp(#[from] StdioError),
    /// `agentlens prices` failed, or the quoted call has no price.
    #[error(transparent)]
    Prices(#[from] PricesError),
    /// No folder was given and neither $CLAUDE_CONFIG_DIR nor $HOME is set.
    #[error("no Claude Code folder given and $HOME is not set; pass the projects folder")]
    NoClaudeDir,
    /// Some imported events did not reach the collector.
    #[error(
        "{failed} events failed and {pending} were not sent. The warnings above give each \
         failed batch's status: a connection error points at the collector URL, 401 or 403 at \
         the API key, 429 at the collector's rate limit, and 400 at the events themselves, \
         with the field named. Fix the cause and run the import again (it skips events \
         already stored)"
    )]
    Undelivered {
        /// Events the collector rejected or that could not be sent.
        failed: u64,
        /// Events still queued at the deadline.
        pending: usize,
    },
    /// The import read the transcripts but found no Claude Code call to send.
    #[error(
        "no Claude Code events in {}: read {files} .jsonl files and found no assistant message \
         with message.model and message.usage that could be sent; pass a Claude Code projects \
         folder such as ~/.claude/projects",
        dir.display()
    )]
    NoEvents {
        /// The folder given to the import.
        dir: std::path::PathBuf,
        /// Transcript files read.
        files: usize,
    },
    /// The output could not be written to stdout.
    #[error("failed to write to stdout: {0}")]
    Stdout(#[from] std::io::Error),
    /// The import task panicked or was cancelled.
    #[error("import task failed: {0}")]
    Task(String),
}

impl CliError {
    /// Returns the process exit code: [`prices::UNPRICED_EXIT_CODE`] when `agentlens prices
    /// quote` found no price, 1 for every other failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Prices(PricesError::Unpriced(_)) => prices::UNPRICED_EXIT_CODE,
            _ => 1,
        }
    }
}

impl Cli {
    /// Returns true for the long-running servers, `serve` and the stdio MCP server `mcp`,
    /// which log their lifecycle and errors as log lines. The other subcommands run once
    /// and print an error as `error: <message>`.
    pub fn is_server(&self) -> bool {
        matches!(self.command, Command::Serve(_) | Command::Mcp(_))
    }

    /// Runs the chosen subcommand to completion.
    ///
    /// # Errors
    ///
    /// Returns [`CliError`] when the subcommand fails.
    pub async fn run(self) -> Result<(), CliError> {
        match self.command {
            Command::Serve(args) => serve(args.into_options()).await?,
            Command::Import(ImportSource::ClaudeCode(args)) => run_import(args).await?,
            Command::Keys(command) => print_stdout(&command.run().await?)?,
            Command::Prices(command) => command.run().await?,
            Command::Mcp(args) => {
                serve_stdio(&args.collector_url(), args.api_key.as_deref()).await?
            }
        }
        Ok(())
    }
}

/// Runs a Claude Code import on a blocking thread and prints its summary to stdout.
///
/// An import that finds no event to send fails, so a wrong folder does not pass silently.
/// An import whose events were all stored before succeeds.
async fn run_import(args: ClaudeCodeArgs) -> Result<(), CliError> {
    let options = args.into_options()?;
    let dir = options.dir.clone();
    let (url, api_key) = (options.url.clone(), options.api_key.clone());
    let mut summary = tokio::task::spawn_blocking(move || import_claude_code(&options))
        .await
        .map_err(|error| CliError::Task(error.to_string()))??;
    summary.collector_pricing_version = collector_pricing_version(&url, api_key.as_deref()).await;

    print_stdout(&format!("{summary}\n"))?;
    if summary.events == 0 {
        return Err(CliError::NoEvents {
            dir,
            files: summary.files,
        });
    }
    if summary.failed > 0 || summary.pending > 0 {
        return Err(CliError::Undelivered {
            failed: summary.failed,
            pending: summary.pending,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn schedule_times_over_a_week_are_rejected() {
        let week = MAX_SCHEDULE_SECS.to_string();
        let too_long = (MAX_SCHEDULE_SECS + 1).to_string();
        let parse = |args: &[&str]| Cli::try_parse_from([&["agentlens", "serve"], args].concat());

        assert!(parse(&["--alert-interval-secs", &week]).is_ok());
        assert!(parse(&["--alert-interval-secs", &too_long]).is_err());
        assert!(parse(&["--alert-interval-secs", "18446744073709551615"]).is_err());
        assert!(parse(&["--webhook-retry-delays-secs", &format!("1,{week}")]).is_ok());
        assert!(parse(&["--webhook-retry-delays-secs", &format!("1,{too_long}")]).is_err());
    }

    #[test]
    fn empty_api_key_is_rejected() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["agentlens"], args].concat());

        for command in [&["import", "claude-code", "/tmp"][..], &["mcp"]] {
            let empty = parse(&[command, &["--api-key", ""]].concat()).unwrap_err();
            assert!(
                empty.to_string().contains("the API key is empty"),
                "{empty}"
            );
            assert!(parse(&[command, &["--api-key", "  "]].concat()).is_err());
            assert!(parse(&[command, &["--api-key", "als_1"]].concat()).is_ok());
        }
    }

    #[test]
    fn empty_retry_delays_turn_retries_off() {
        let delays = |args: &[&str]| {
            let cli = Cli::try_parse_from([&["agentlens", "serve"], args].concat()).unwrap();
            let Command::Serve(serve) = cli.command else {
                unreachable!("parsed the serve subcommand")
            };
            serve.into_options().alerts.webhooks.retry_delays
        };
        let secs = |list: &[u64]| -> Vec<Duration> {
            list.iter().copied().map(Duration::from_secs).collect()
        };

        assert_eq!(delays(&["--webhook-retry-delays-secs", ""]), secs(&[]));
        assert_eq!(delays(&["--webhook-retry-delays-secs", " "]), secs(&[]));
        assert_eq!(delays(&[]), secs(&[1, 5, 30]));
        assert_eq!(
            delays(&["--webhook-retry-delays-secs", "2, 7"]),
            secs(&[2, 7])
        );
        let invalid =
            Cli::try_parse_from(["agentlens", "serve", "--webhook-retry-delays-secs", "1,,5"]);
        assert!(invalid.is_err());
    }

    #[test]
    fn mcp_url_precedence_order() {
        let resolve = resolve_collector_url;
        assert_eq!(
            resolve(url("http://flag"), url("http://a"), url("http://s")),
            "http://flag"
        );
        assert_eq!(resolve(None, url("http://a"), url("http://s")), "http://a");
        assert_eq!(resolve(None, None, url("http://s")), "http://s");
        assert_eq!(resolve(None, None, None), DEFAULT_COLLECTOR_URL);
    }
}
