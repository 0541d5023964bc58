//! `agentlens prices quote|show|list|update|reprice`: the price table from the command line.
//!
//! Every subcommand reads the embedded price table with the overrides file of `--prices`
//! (or `AGENTLENS_PRICES`) applied, the same table that `agentlens serve --prices` uses.
//! `update` turns a LiteLLM price file into such an overrides file.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use agentlens_core::pricing::{
    LiteLlmSkips, ModelPrices, PriceOverridesError, PriceTable, PriceTableError, Rate, TierRule,
    STANDARD_TIERS,
};
use agentlens_core::validate::FieldError;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::reprice::RepriceArgs;
use crate::db_lock::DatabaseLockError;
use crate::pricing::{load_prices, quote, QuoteReport};
use crate::store::StoreError;

/// Exit code of `agentlens prices quote` when the table has no price for the call.
pub const UNPRICED_EXIT_CODE: u8 = 3;

/// Subcommands of `agentlens prices`.
#[derive(Debug, Subcommand)]
pub enum PricesCommand {
    /// Prices one model call and prints the cost, its breakdown and the table entry as JSON.
    #[command(
        after_help = "Exit status: 0 when the call is priced, 3 when the price table \
        has no price for it (the JSON then carries the `unpriced` reason), 1 for any other \
        error."
    )]
    Quote(QuoteArgs),
    /// Prints, as JSON, the table entry that a model id resolves to, all its dated prices,
    /// and its service-tier and batch prices (`priceVariants`).
    Show(ShowArgs),
    /// Prints a table of every model with its current rates in US dollars per million
    /// tokens.
    List(ListArgs),
    /// Converts a LiteLLM price file into a price overrides file for `--prices`.
    Update(UpdateArgs),
    /// Prices the stored unpriced cost events with the current price table and moves the
    /// totals. Fails while `agentlens serve` runs on the database.
    Reprice(RepriceArgs),
}

/// The `--prices` option shared by every subcommand.
#[derive(Debug, Args)]
pub struct PriceFileArgs {
    /// Price overrides file (TOML, or JSON such as the output of `agentlens prices update`)
    /// applied over the embedded price table.
    #[arg(long = "prices", env = "AGENTLENS_PRICES", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Options of `agentlens prices quote`.
#[derive(Debug, Args)]
pub struct QuoteArgs {
    /// Provider id or name, such as `openai`, `anthropic` or `vertex_ai`.
    #[arg(long)]
    pub provider: String,
    /// Model id as the provider reports it, such as `gpt-4o-2024-08-06`.
    #[arg(long)]
    pub model: String,
    /// Token usage as JSON: the normalized shape (`{"inputTokens":1200,"outputTokens":300,
    /// "cacheReadTokens":1000}`), or the usage object of the provider's response.
    #[arg(long, value_name = "JSON")]
    pub usage: String,
    /// Time whose prices apply, in RFC 3339 such as `2026-02-10T12:00:00Z`; defaults to now.
    #[arg(long, value_name = "RFC3339")]
    pub at: Option<String>,
    /// Service tier that served the call, such as `flex` or `priority`, to price it at the
    /// model's tier prices; `standard`, `default` and `auto` mean standard prices.
    #[arg(long, value_name = "TIER")]
    pub service_tier: Option<String>,
    /// Prices the call at the model's batch prices.
    #[arg(long)]
    pub batch: bool,
    /// Price overrides.
    #[command(flatten)]
    pub prices: PriceFileArgs,
}

/// Options of `agentlens prices show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Model id, such as `claude-haiku-4-5-20251001`.
    pub model: String,
    /// Provider id or name; without it every provider is searched.
    #[arg(long)]
    pub provider: Option<String>,
    /// Price overrides.
    #[command(flatten)]
    pub prices: PriceFileArgs,
}

/// Options of `agentlens prices list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Lists only the models of this provider, given by id or name as in `quote`, such as
    /// `openai` or `bedrock`.
    #[arg(long)]
    pub provider: Option<String>,
    /// Price overrides.
    #[command(flatten)]
    pub prices: PriceFileArgs,
}

/// Options of `agentlens prices update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// LiteLLM price file (`model_prices_and_context_window.json`).
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Overrides file to write, in JSON.
    #[arg(long, value_name = "FILE", default_value = "./agentlens-prices.json")]
    pub out: PathBuf,
}

/// Errors of `agentlens prices`.
#[derive(Debug, thiserror::Error)]
pub enum PricesError {
    /// The overrides file of `--prices` could not be read or is invalid.
    #[error(
        "cannot load the price overrides: {0}; fix the file named by --prices or \
         AGENTLENS_PRICES"
    )]
    Overrides(#[from] PriceOverridesError),
    /// `--usage` is not JSON.
    #[error(
        "invalid --usage JSON: {0}; pass an object such as \
         '{{\"inputTokens\":1200,\"outputTokens\":300}}'"
    )]
    UsageJson(String),
    /// An option of `quote` is invalid; one entry per option.
    #[error("{}", describe_fields(.0))]
    InvalidOptions(Vec<FieldError>),
    /// The table has no price for the quoted call; the reason is in the printed JSON.
    #[error("no price for the call: {0}")]
    Unpriced(String),
    /// The output could not be written to stdout.
    #[error("failed to write to stdout: {0}")]
    Stdout(std::io::Error),
    /// The model or provider of `show` is not in the price table.
    #[error("{0}")]
    UnknownModel(String),
    /// No provider of the table matches the provider name given to `list`.
    #[error(
        "no provider \"{0}\" in the price table; run `agentlens prices list` to see the \
         provider ids"
    )]
    UnknownProvider(String),
    /// The LiteLLM file could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// Path of the file.
        path: String,
        /// The I/O error.
        message: String,
    },
    /// The LiteLLM file has no model that an override file can hold.
    #[error(
        "{path} has no model that an override file can hold, so {out} was not written; \
         check that it is LiteLLM's model_prices_and_context_window.json"
    )]
    NoModels {
        /// Path of the LiteLLM file.
        path: String,
        /// Path of the override file that was not written.
        out: String,
    },
    /// The LiteLLM file is not in LiteLLM's layout.
    #[error("invalid LiteLLM price file {path}: {source}")]
    LiteLlm {
        /// Path of the file.
        path: String,
        /// The parse error.
        source: PriceTableError,
    },
    /// The database file of `reprice` does not exist.
    #[error(
        "database {} not found; pass --db with the database file of the collector \
         (the --db of `agentlens serve`)",
        .0.display()
    )]
    MissingDatabase(PathBuf),
    /// The `--db` path of `reprice` is a directory.
    #[error(
        "--db {} is a directory; pass the database file of the collector (the --db of \
         `agentlens serve`), such as {}",
        .0.display(),
        .0.join("agentlens.db").display()
    )]
    DatabaseIsDirectory(PathBuf),
    /// The file of `reprice` is not a collector database, such as an empty file or another
    /// program's database; it is left as it was.
    #[error(
        "{} is not an AgentLens database ({reason}), so reprice left it untouched; pass --db \
         with the database file of the collector, or start `agentlens serve --db {}` first \
         to create one",
        path.display(),
        path.display()
    )]
    NotCollectorDatabase {
        /// Path of the file.
        path: PathBuf,
        /// The missing table, or the SQLite error that opening or reading the file returned.
        reason: String,
    },
    /// A running collector has locked the database of `reprice`.
    #[error(transparent)]
    Locked(#[from] DatabaseLockError),
    /// The database of `reprice` could not be opened or written.
    #[error("database error: {0}")]
    Store(#[from] StoreError),
    /// The overrides file could not be written.
    #[error("cannot write {path}: {message}; choose another path with --out")]
    Write {
        /// Path of the file.
        path: String,
        /// The I/O error.
        message: String,
    },
}

impl PricesCommand {
    /// Runs the subcommand and prints its output on stdout.
    ///
    /// # Errors
    ///
    /// Returns [`PricesError::Unpriced`] after printing the JSON of an unpriced quote, and
    /// the other [`PricesError`]s when an option, a file or the database is invalid.
    pub async fn run(self) -> Result<(), PricesError> {
        let output = match self {
            PricesCommand::Quote(args) => run_quote(args)?,
            PricesCommand::Show(args) => run_show(args)?,
            PricesCommand::List(args) => run_list(args)?,
            PricesCommand::Update(args) => run_update(args)?,
            PricesCommand::Reprice(args) => super::reprice::run(args).await?,
        };
        super::output::print_stdout(&output).map_err(PricesError::Stdout)
    }
}

fn run_quote(args: QuoteArgs) -> Result<String, PricesError> {
    let table = load_prices(args.prices.file.as_deref())?;
    let usage: Value = agentlens_core::json::from_slice_unique_keys(args.usage.as_bytes())
        .map_err(|error| PricesError::UsageJson(error.to_string()))?;
    let mut request = json!({"provider": args.provider, "model": args.model, "usage": usage});
    if let Some(tier) = args.service_tier {
        check_service_tier(&table, &args.provider, &args.model, &tier)?;
        request["serviceTier"] = Value::String(tier);
    }
    if let Some(at) = args.at {
        request["at"] = Value::String(at);
    }
    if args.batch {
        request["batch"] = Value::Bool(true);
    }

    let report = quote(&table, &request, Utc::now()).map_err(PricesError::InvalidOptions)?;
    let text = pretty_json(&report);
    if let Some(reason) = unpriced_reason(&report) {
        // The JSON goes to stdout before the error, so scripts can read the reason.
        super::output::print_stdout(&format!("{text}\n")).map_err(PricesError::Stdout)?;
        return Err(PricesError::Unpriced(reason));
    }
    Ok(format!("{text}\n"))
}

/// Rejects a `--service-tier` that the model has no prices for on any day, naming the
/// tiers it has. `batch` counts as one of those tiers when the model has batch prices. A
/// standard tier name passes, and so does a model that the table does not know, which the
/// quote reports as unpriced. A tier whose prices start after the quoted time passes too,
/// and the quote reports it as unpriced on that day.
fn check_service_tier(
    table: &PriceTable,
    provider: &str,
    model: &str,
    tier: &str,
) -> Result<(), PricesError> {
    let Ok(found) = table.find_model(Some(provider), model) else {
        return Ok(());
    };
    if found.offers_service_tier(tier) {
        return Ok(());
    }
    let tiers = found.service_tiers();

    let standard = STANDARD_TIERS.join(", ");
    let message = if tiers.is_empty() {
        format!(
            "model \"{}\" has no service tier \"{}\" and no other service tier prices; \
             pass one of {standard} for the standard prices, or leave out --service-tier",
            found.id(),
            tier.trim()
        )
    } else {
        format!(
            "model \"{}\" has no service tier \"{}\"; pass one of its tiers ({}), or one of \
             {standard} for the standard prices",
            found.id(),
            tier.trim(),
            tiers.join(", ")
        )
    };
    Err(PricesError::InvalidOptions(vec![FieldError {
        path: "serviceTier".to_owned(),
        message,
    }]))
}

fn unpriced_reason(report: &QuoteReport) -> Option<String> {
    if report.is_priced() {
        return None;
    }
    report.unpriced.clone()
}

fn run_show(args: ShowArgs) -> Result<String, PricesError> {
    let table = load_prices(args.prices.file.as_deref())?;
    let model = table
        .find_model(args.provider.as_deref(), &args.model)
        .map_err(PricesError::UnknownModel)?;

    let prices: Vec<Value> = model
        .prices()
        .map(|entry| {
            let window = entry
                .time_of_day()
                .map(|(start, end)| json!({"start": start, "end": end}));
            json!({
                "startDate": entry.start_date(),
                "timeOfDay": window,
                "rates": rates_json(entry.rates()),
            })
        })
        .collect();
    let mut entry_json = json!({
        "provider": model.provider(),
        "model": model.id(),
        "match": model.match_clause(),
        "source": model.source(),
        "prices": prices,
        "priceVariants": price_variants_json(&model),
        "pricingVersion": table.version(),
    });
    if let Some(deployment) = model.deployment() {
        entry_json["deployment"] = deployment.into();
    }
    let fees: Map<String, Value> = model
        .provider_tool_fees()
        .into_iter()
        .map(|(key, rate)| (key.to_owned(), json!(rate)))
        .collect();
    if !fees.is_empty() {
        entry_json["providerToolFees"] = Value::Object(fees);
    }
    Ok(format!("{}\n", pretty_json(&entry_json)))
}

/// Writes the service-tier and batch prices of `model` in table order, each as its `when`
/// conditions, its first day and the rates that replace the standard ones. A variant
/// without rates, such as genai-prices' `{"service_tier": "default"}`, changes no price
/// and is left out.
fn price_variants_json(model: &ModelPrices<'_>) -> Vec<Value> {
    model
        .price_variants()
        .filter(|variant| !variant.rates().is_empty())
        .map(|variant| {
            let when: Map<String, Value> = variant
                .when()
                .into_iter()
                .map(|(key, value)| (key.to_owned(), json!(value)))
                .collect();
            json!({
                "when": when,
                "startDate": variant.start_date(),
                "rates": rates_json(variant.rates()),
            })
        })
        .collect()
}

fn rates_json(rates: Vec<(&str, &Rate)>) -> Map<String, Value> {
    rates
        .into_iter()
        .map(|(key, rate)| (key.to_owned(), json!(rate)))
        .collect()
}

fn run_list(args: ListArgs) -> Result<String, PricesError> {
    let table = load_prices(args.prices.file.as_deref())?;
    // The provider name resolves as in `quote`, so `bedrock` lists the `aws` models.
    let provider_filter = match args.provider.as_deref() {
        Some(name) => Some(
            table
                .provider_id(name)
                .ok_or_else(|| PricesError::UnknownProvider(name.to_owned()))?,
        ),
        None => None,
    };
    let now = Utc::now();

    let mut text =
        String::from("PROVIDER\tMODEL\tINPUT/M\tOUTPUT/M\tCACHE_READ/M\tCACHE_WRITE/M\n");
    for model in table.models() {
        if provider_filter.is_some_and(|provider| model.provider() != provider) {
            continue;
        }
        text.push_str(&list_row(&model, now));
    }
    Ok(text)
}

/// Formats one model's rates in force at `now`; `-` marks a unit without a rate.
fn list_row(model: &ModelPrices<'_>, now: DateTime<Utc>) -> String {
    let prices = model.prices_at(now);
    let rate = |keys: &[&str]| {
        let found = prices.and_then(|prices| keys.iter().find_map(|key| prices.rate(key)));
        found.map_or_else(|| "-".to_owned(), format_rate)
    };
    let mut row = String::new();
    let _ = writeln!(
        row,
        "{}\t{}\t{}\t{}\t{}\t{}",
        model.provider(),
        model.id(),
        rate(&["input_mtok"]),
        rate(&["output_mtok"]),
        rate(&["cache_read_mtok"]),
        rate(&["cache_write_5m_mtok", "cache_write_mtok"]),
    );
    row
}

/// Writes a flat rate as its decimal, and a tiered rate as its base followed by each tier,
/// such as `1.25 (>200000: 2.5)`.
fn format_rate(rate: &Rate) -> String {
    match rate {
        Rate::Flat(price) => price.to_string(),
        Rate::Tiered { base, tiers, .. } => {
            let mut text = base.to_string();
            for tier in tiers {
                let _ = write!(text, " (>{}: {})", tier.start, tier.price);
            }
            text
        }
    }
}

fn run_update(args: UpdateArgs) -> Result<String, PricesError> {
    let from = args.from.display().to_string();
    let text = std::fs::read_to_string(&args.from).map_err(|error| PricesError::Read {
        path: from.clone(),
        message: error.to_string(),
    })?;
    let (litellm, skips) =
        PriceTable::from_litellm_json_with_skips(&text).map_err(|source| PricesError::LiteLlm {
            path: from.clone(),
            source,
        })?;

    let models = override_models(&litellm);
    if models.is_empty() {
        return Err(PricesError::NoModels {
            path: from,
            out: args.out.display().to_string(),
        });
    }
    let file = json!({ "models": models });
    write_file(&args.out, &format!("{}\n", pretty_json(&file)))?;
    // Reading the file back proves that `--prices` accepts it.
    PriceTable::embedded().with_overrides_file(&args.out)?;

    let out = args.out.display();
    let mut summary = format!("wrote {} models from {from} to {out}\n", models.len());
    summary.push_str(&describe_skips(&skips));
    let _ = writeln!(
        summary,
        "apply it with --prices {out} or AGENTLENS_PRICES={out}"
    );
    Ok(summary)
}

/// Maximum number of invalid LiteLLM entries that `update` names one by one.
const MAX_LISTED_INVALID: usize = 20;

/// Describes the LiteLLM entries that were not read, naming each invalid one with its
/// reason, up to [`MAX_LISTED_INVALID`].
fn describe_skips(skips: &LiteLlmSkips) -> String {
    let mut text = String::new();
    if skips.total() == 0 {
        return text;
    }
    let _ = writeln!(
        text,
        "skipped {} entries: {} by the reading rules (no per-token or per-request price, a \
         region or commitment in the key, or a repeated model) and {} invalid",
        skips.total(),
        skips.deliberate,
        skips.invalid.len()
    );
    for entry in skips.invalid.iter().take(MAX_LISTED_INVALID) {
        let _ = writeln!(text, "  invalid {}: {}", entry.key, entry.reason);
    }
    if skips.invalid.len() > MAX_LISTED_INVALID {
        let more = skips.invalid.len() - MAX_LISTED_INVALID;
        let _ = writeln!(text, "  and {more} more invalid entries");
    }
    text
}

/// Returns the override entries of every model. A rate with prompt-size tiers is written as
/// the override file's table of `base`, `tiers` and, unless it is the default, `rule`.
fn override_models(table: &PriceTable) -> Vec<Value> {
    let now = Utc::now();
    let mut models = Vec::new();
    for model in table.models() {
        let Some(prices) = model.prices_at(now) else {
            continue;
        };
        let mut entry = Map::new();
        entry.insert("provider".to_owned(), json!(model.provider()));
        entry.insert("model".to_owned(), json!(model.id()));
        let aliases = model.aliases();
        if !aliases.is_empty() {
            entry.insert("aliases".to_owned(), json!(aliases));
        }
        for (key, rate) in prices.rates() {
            entry.insert(key.to_owned(), override_rate(rate));
        }
        let mut variants = Vec::new();
        for variant in model.price_variants() {
            let when: Map<String, Value> = variant
                .when()
                .into_iter()
                .map(|(key, value)| (key.to_owned(), json!(value)))
                .collect();
            let mut rates = Map::new();
            for (key, rate) in variant.rates() {
                rates.insert(key.to_owned(), override_rate(rate));
            }
            variants.push(json!({"when": when, "rates": rates}));
        }
        if !variants.is_empty() {
            entry.insert("price_variants".to_owned(), Value::Array(variants));
        }
        models.push(Value::Object(entry));
    }
    models
}

/// Returns a rate in the form of an override file: a flat rate as its decimal string, a tiered
/// one as `{"base": "1.25", "tiers": [{"start": 200000, "price": "2.5"}], "rule": {...}}`.
fn override_rate(rate: &Rate) -> Value {
    match rate {
        Rate::Flat(price) => json!(price.to_string()),
        Rate::Tiered { base, tiers, rule } => {
            let tiers: Vec<Value> = tiers
                .iter()
                .map(|tier| json!({"start": tier.start, "price": tier.price.to_string()}))
                .collect();
            let mut table = json!({"base": base.to_string(), "tiers": tiers});
            if *rule != TierRule::default() {
                table["rule"] = serde_json::to_value(rule).unwrap_or_default();
            }
            table
        }
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), PricesError> {
    std::fs::write(path, text).map_err(|error| PricesError::Write {
        path: path.display().to_string(),
        message: error.to_string(),
    })
}

fn pretty_json(value: &impl Serialize) -> String {
    // Serializing these types cannot fail: every map key is a string.
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Names each invalid option by its flag, such as `--usage (usage.inputTokens)`.
/// Converts a request field name (`serviceTier`) into its option name (`service-tier`).
fn kebab_case(field: &str) -> String {
    let mut flag = String::with_capacity(field.len() + 2);
    for letter in field.chars() {
        if letter.is_ascii_uppercase() {
            flag.push('-');
        }
        flag.push(letter.to_ascii_lowercase());
    }
    flag
}

fn describe_fields(errors: &[FieldError]) -> String {
    let described: Vec<String> = errors
        .iter()
        .map(|error| {
            let (option, inner) = error.path.split_once('.').unwrap_or((&error.path, ""));
            let flag = kebab_case(option);
            // A message that names its field already, such as "usage field `input_tokens`
            // is missing", is not preceded by the field again.
            let field = if inner.is_empty() || error.message.contains(inner) {
                String::new()
            } else {
                format!(" field {}", error.path)
            };
            format!("invalid --{flag}{field}: {}", error.message)
        })
        .collect();
    described.join("; ")
}
