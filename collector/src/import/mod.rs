//! `agentlens import`: turns other tools' usage logs into priced `cost_tracked` events and
//! sends them to a collector through the core [`Client`].
//!
//! Every imported event carries an id derived from the source (for Claude Code, the
//! message id and request id), so importing the same folder twice stores nothing new. The
//! collector reports such events as duplicates, and the summary counts them as already
//! stored.
//!
//! The collector may already store other content under an event's id, for example when an
//! earlier import ran while Claude Code was still writing the message. Then only that event
//! fails. The client sends the rest of its batch again, and the summary lists the id as a
//! conflict.

mod collector_table;
mod summary;
mod transcript;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentlens_core::client::{Client, ClientError, CostEvent, IdConflicts, RateLimitWaits};
use agentlens_core::pricing::{PriceOutcome, PriceTable};
use agentlens_core::usage::{from_anthropic, usage_price_context};
use agentlens_core::validate::validate_event;
use agentlens_core::Usd;
use indicatif::{ProgressBar, ProgressStyle};

pub use collector_table::collector_pricing_version;
pub use transcript::{scan, AssistantMessage, Scan, ScanError};

/// Maximum time the import waits for the collector to accept another event, counted from
/// the last event accepted or from the end of the last wait the collector's rate limit
/// requested.
const STALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Source folder and destination collector of an import.
#[derive(Clone)]
pub struct ImportOptions {
    /// Claude Code projects folder, or the config folder that contains `projects/`.
    pub dir: PathBuf,
    /// Collector base URL.
    pub url: String,
    /// API key for the collector.
    pub api_key: Option<String>,
    /// Price table for the summary's total: the collector's table when the import is given
    /// the collector's `--prices` file.
    pub prices: Arc<PriceTable>,
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ImportOptions")
            .field("dir", &self.dir)
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("prices", &self.prices.version())
            .finish()
    }
}

/// Totals of one import run.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Transcript files read.
    pub files: usize,
    /// Unique model calls found.
    pub events: usize,
    /// Events the collector accepted, new or already stored.
    pub sent: u64,
    /// Sent events that the collector had already stored, as from an earlier import.
    pub already_stored: u64,
    /// Events that could not be delivered, other than id conflicts.
    pub failed: u64,
    /// Events whose ids the collector already stores with other content, which importing
    /// again does not change.
    pub id_conflicts: IdConflicts,
    /// Events still unsent when the import gave up waiting.
    pub pending: usize,
    /// Priced cost of all events found, delivered or not, by the import's price table.
    pub total_usd: Usd,
    /// Content hash of the import's price table, see [`PriceTable::version`].
    pub pricing_version: String,
    /// Content hash of the collector's price table, when the collector reported it.
    pub collector_pricing_version: Option<String>,
    /// Events without a price, by model.
    pub unpriced: BTreeMap<String, u64>,
    /// The price table's reason for the first unpriced event of each model.
    pub unpriced_reasons: BTreeMap<String, String>,
    /// Calls whose usage or event was invalid and that were not sent.
    pub invalid_usage: usize,
    /// The first few of those calls, as `file:line: reason`.
    pub invalid_examples: Vec<String>,
    /// Transcript lines that could not be read.
    pub skipped_lines: usize,
    /// The first few of those lines, as `file:line: reason`.
    pub unreadable_examples: Vec<String>,
    /// Assistant lines without a usage object or model, which carry no cost.
    pub no_usage_lines: usize,
    /// Messages Claude Code generated without a model call (model `<synthetic>`), which
    /// are not imported.
    pub synthetic_messages: usize,
}

/// Errors that stop an import before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The transcripts could not be read.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// The client could not be built, for example because the URL is invalid.
    #[error(transparent)]
    Client(#[from] ClientError),
}

/// Retries of each batch the import sends.
const IMPORT_RETRIES: u32 = 12;

/// Number of conflicting ids that the summary names.
const MAX_CONFLICT_EXAMPLES: usize = 10;

/// Imports a Claude Code projects folder and waits until the collector has the events.
///
/// # Errors
///
/// Returns [`ImportError`] when the folder cannot be read or the client cannot be built.
/// Delivery failures are not errors here; the summary counts them.
pub fn import_claude_code(options: &ImportOptions) -> Result<ImportSummary, ImportError> {
    let scan = scan(&options.dir)?;
    let mut summary = ImportSummary::from_scan(&scan);
    summary.pricing_version = options.prices.version().to_owned();
    let events = price_messages(&options.prices, &scan, &mut summary);

    let mut builder = Client::builder(options.url.clone())
        .agent_id("claude-code")
        .batch_size(1000)
        .queue_capacity(scan.messages.len().max(1))
        // A one-off import waits out a collector's rate limit, and a restart of up to two
        // minutes (`STALL_TIMEOUT`), where an agent gives up sooner. Each wait lasts as long
        // as the collector's `Retry-After`, which is up to 60 s for its rate limit.
        .max_retries(IMPORT_RETRIES);
    if let Some(key) = &options.api_key {
        builder = builder.api_key(key.clone());
    }
    let client = builder.build()?;

    for event in events {
        client.log(event);
    }

    wait_for_delivery(&client, summary.events);
    summary.pending = client.shutdown(Duration::from_secs(5));
    summary.sent = client.sent();
    summary.already_stored = client.duplicates();
    summary.id_conflicts = client.id_conflicts();
    summary.failed = client.failed() - summary.id_conflicts.total;
    Ok(summary)
}

/// Prices every scanned call and builds its event, counting valid events and unpriced
/// calls in `summary`.
fn price_messages(
    table: &PriceTable,
    scan: &Scan,
    summary: &mut ImportSummary,
) -> Vec<agentlens_core::event::Event> {
    let events: Vec<_> = scan
        .messages
        .iter()
        .filter_map(|message| cost_event(table, message, summary))
        .collect();
    summary.events = events.len();
    events
}

/// Prices one call and builds its event; returns `None` when the usage is invalid.
fn cost_event(
    table: &PriceTable,
    message: &AssistantMessage,
    summary: &mut ImportSummary,
) -> Option<agentlens_core::event::Event> {
    let usage = match from_anthropic(&message.usage) {
        Ok(usage) => usage,
        Err(error) => {
            tracing::warn!(
                transcript.line = %message.location,
                message.id = %message.message_id,
                %error,
                "invalid usage skipped"
            );
            summary.add_invalid(message, &format!("invalid usage: {error}"));
            return None;
        }
    };

    // `usage.service_tier` and `usage.speed` select batch, priority or fast prices. A tier
    // the model has no price for leaves the call unpriced.
    let context = usage_price_context(&message.usage);
    let outcome = table.quote_with(
        Some("anthropic"),
        &message.model,
        &usage,
        message.timestamp,
        &context,
    );
    // The event carries usage and no `costUsd`, so the collector prices it with its own
    // table and stores it as derived, with the table's version and the entry it used. The
    // quote above only feeds the summary.
    let cost = CostEvent {
        agent_id: Some(message.project.clone()),
        cost_usd: None,
        trigger: Some("claude-code".to_owned()),
        call_id: Some(message.message_id.clone()),
        timestamp: Some(message.timestamp),
        ..CostEvent::new(
            message.session_id.clone(),
            "anthropic",
            message.model.clone(),
            usage,
        )
    };
    let mut event = cost.into_event("claude-code");
    event.id = Some(format!(
        "claude-code:{}:{}",
        message.message_id, message.request_id
    ));
    // The collector reads these to price the event at the same tier.
    if let Some(tier) = context.special_tier() {
        event.payload.insert("serviceTier".into(), tier.into());
    }
    if context.batch {
        event.payload.insert("batch".into(), true.into());
    }

    // Checks the event as the collector will, so one bad line cannot make the collector
    // reject a whole batch of good events.
    let json = serde_json::to_value(&event).unwrap_or_default();
    if let Err(errors) = validate_event(&json) {
        let details: Vec<String> = errors
            .iter()
            .map(|error| format!("{}: {}", error.path, error.message))
            .collect();
        let details = details.join("; ");
        tracing::warn!(
            transcript.line = %message.location,
            message.id = %message.message_id,
            errors = %details,
            "invalid event skipped"
        );
        summary.add_invalid(message, &format!("invalid event: {details}"));
        return None;
    }

    // Only events that will be sent count towards the summary's total and unpriced lines.
    match outcome {
        PriceOutcome::Priced(quote) => summary.total_usd += quote.total,
        PriceOutcome::Unpriced { reason } => {
            *summary.unpriced.entry(message.model.clone()).or_default() += 1;
            summary
                .unpriced_reasons
                .entry(message.model.clone())
                .or_insert(reason);
        }
    }
    Some(event)
}

/// Shows a progress bar on stderr until every event is delivered or given up on, and
/// prints a line on stderr for each wait on the collector's rate limit.
fn wait_for_delivery(client: &Client, total: usize) {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} sending {pos}/{len} events {wide_bar} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut stall = StallClock::new(Instant::now(), total);
    loop {
        let pending = client.flush(Duration::from_millis(200));
        bar.set_position((total - pending.min(total)) as u64);
        let waits = client.rate_limit_waits();
        if stall.observe(Instant::now(), pending, &waits) {
            // `println` of the bar prints nothing while the bar is hidden, as it is when
            // stderr is not a terminal, so the line goes out through `suspend`.
            bar.suspend(|| {
                eprintln!(
                    "the collector's rate limit was reached; waiting {:.1} s before sending \
                     again",
                    waits.latest.as_secs_f64()
                );
            });
        }
        if pending == 0 || stall.expired(Instant::now()) {
            break;
        }
    }
    bar.finish_and_clear();
}

/// Deadline of an import: [`STALL_TIMEOUT`] after the last event the
/// collector accepted, or after the end of the last wait its rate limit requested. So a
/// large import against a tight rate limit still finishes.
#[derive(Debug)]
struct StallClock {
    give_up_at: Instant,
    last_pending: usize,
    waits_seen: u64,
}

impl StallClock {
    fn new(now: Instant, pending: usize) -> Self {
        Self {
            give_up_at: now + STALL_TIMEOUT,
            last_pending: pending,
            waits_seen: 0,
        }
    }

    /// Moves the time to give up on after progress or a new rate limit wait, and returns
    /// true when `waits` contains a wait not seen before.
    fn observe(&mut self, now: Instant, pending: usize, waits: &RateLimitWaits) -> bool {
        if pending < self.last_pending {
            self.last_pending = pending;
            self.give_up_at = self.give_up_at.max(now + STALL_TIMEOUT);
        }
        if waits.count <= self.waits_seen {
            return false;
        }
        self.waits_seen = waits.count;
        self.give_up_at = self.give_up_at.max(now + waits.latest + STALL_TIMEOUT);
        true
    }

    fn expired(&self, now: Instant) -> bool {
        now >= self.give_up_at
    }
}

impl ImportSummary {
    /// Creates a summary with the line counts of a transcript scan.
    fn from_scan(scan: &Scan) -> Self {
        Self {
            files: scan.files,
            skipped_lines: scan.skipped_lines,
            unreadable_examples: scan.unreadable_examples.clone(),
            no_usage_lines: scan.no_usage_lines,
            synthetic_messages: scan.synthetic_messages,
            ..Self::default()
        }
    }

    /// Counts a call that is not sent because it is invalid, and names the first few by
    /// their transcript line.
    fn add_invalid(&mut self, message: &AssistantMessage, reason: &str) {
        self.invalid_usage += 1;
        if self.invalid_examples.len() < transcript::MAX_UNREADABLE_EXAMPLES {
            let example = format!("{}: {reason}", message.location);
            self.invalid_examples.push(example);
        }
    }

    /// Writes the number of id conflicts, the first few ids with the field that differs,
    /// and what they mean.
    fn write_id_conflicts(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let conflicts = &self.id_conflicts;
        if conflicts.total == 0 {
            return Ok(());
        }

        writeln!(
            formatter,
            "id conflicts:    {} (stored earlier with other content, not changed)",
            conflicts.total
        )?;
        for conflict in conflicts.listed.iter().take(MAX_CONFLICT_EXAMPLES) {
            let id = conflict.id.as_deref().unwrap_or("(no id)");
            writeln!(formatter, "  {id}: {}", conflict_reason(&conflict.message))?;
        }
        let unlisted = conflicts.total.saturating_sub(MAX_CONFLICT_EXAMPLES as u64);
        if unlisted > 0 {
            writeln!(formatter, "  and {unlisted} more")?;
        }
        writeln!(
            formatter,
            "  these messages were stored before with other usage or another time: by an \
             import that ran while Claude Code was still writing them, or by an older \
             agentlens, which dated a message by its last copy. The stored events stay as \
             they are, and each import lists them here. Import after a Claude Code session \
             has ended to avoid new conflicts"
        )
    }

    /// Returns the number of sent events that the collector stored for the first time.
    pub fn new_events(&self) -> u64 {
        self.sent.saturating_sub(self.already_stored)
    }
}

/// Returns the part of a collector's id conflict message that names the field that
/// differs, such as `a different payload`, or the whole message when it names none.
fn conflict_reason(message: &str) -> String {
    let field = message
        .split_once("with a different ")
        .map(|(_, rest)| rest.split(';').next().unwrap_or(rest));
    match field {
        Some(field) => format!("already stored with a different {field}"),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests;
