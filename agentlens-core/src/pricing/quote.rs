//! The cost of one model call under one price entry.
//!
//! Every token is billed exactly once, in the bucket of the most specific rate the entry
//! has. When an entry lacks a specific rate, the tokens fall back to the rate of the wider
//! unit that contains them, which is how genai-prices 0.2.5 bills them (its
//! `compute_leaf_values` prices only units that have a rate and leaves the rest in their
//! parent). The units and their nesting are listed in `units.rs`:
//!
//! | tokens               | rates tried, in order                                      |
//! |----------------------|------------------------------------------------------------|
//! | uncached input       | `input_mtok`                                               |
//! | cache reads          | `cache_read_mtok`, `input_mtok`                            |
//! | 5-minute writes      | `cache_write_5m_mtok`, `cache_write_mtok`, `input_mtok`    |
//! | 1-hour writes        | `cache_write_1h_mtok`, `cache_write_mtok`, `input_mtok`    |
//! | uncached audio input | `input_audio_mtok`, `input_mtok` (image and video alike)   |
//! | cached audio reads   | `cache_audio_read_mtok`, then `input_audio_mtok` or `cache_read_mtok`, then `input_mtok` |
//! | output               | `output_mtok`                                              |
//! | reasoning            | `output_reasoning_mtok`, else billed inside output         |
//! | audio output         | `output_audio_mtok`, `output_mtok` (image and video alike) |
//!
//! Web searches, file search calls and code interpreter sessions are billed per thousand at
//! `web_searches_kcount`, `storage_searches_kcount` and `code_interpreter_sessions_kcount`,
//! with no fallback rate.
//!
//! Cached audio reads of an entry that has both `input_audio_mtok` and `cache_read_mtok`
//! but no `cache_audio_read_mtok` have no single fallback, so genai-prices rejects such an
//! entry and a call with such tokens is unpriced here. A call is also unpriced when no rate
//! in the chain exists and the count is above zero. It is never billed at $0.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::money::Usd;
use crate::usage::Usage;

use super::rates::{Rate, CODE_INTERPRETER_KEY, FILE_SEARCH_KEY};
use super::tiers::{reached_rate, token_cost, Position, Prompt};
use super::units::{self, Unit};
use super::variants::Resolved;

/// The result of pricing one model call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[expect(
    clippy::large_enum_variant,
    reason = "a quote is built once per call; boxing it would only add an allocation"
)]
pub enum PriceOutcome {
    /// The call has a price.
    Priced(Quote),
    /// The call could not be priced; the reason names the model or unit and the fix.
    Unpriced {
        /// Human-readable cause.
        reason: String,
    },
}

/// The price of one model call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    /// Sum of every line of the breakdown.
    pub total: Usd,
    /// Cost per billed unit.
    pub breakdown: Breakdown,
    /// Id of the provider whose table entry priced the call. For a provider that resells
    /// another's models (Azure listing OpenAI models) this is the listing provider.
    pub provider: String,
    /// Id of the model entry used, such as `gpt-4o` for `gpt-4o-2024-08-06`.
    pub model: String,
    /// Source of the model's prices: `genai-prices 0.2.5`, `litellm 1.110.2`, or
    /// `overrides <origin>` for a price from [`super::PriceTable::with_overrides`].
    pub source: String,
    /// First day of the dated price entry used; `None` for an undated entry.
    pub price_date: Option<NaiveDate>,
    /// Content hash of the price table, see [`super::PriceTable::version`].
    pub pricing_version: String,
    /// Condition of the price variant applied, such as `service_tier=flex` or
    /// `processing=batch`; `None` for standard prices.
    pub price_variant: Option<String>,
    /// Deployment name of the request when the model id was one (Azure OpenAI), priced as
    /// the model it maps to in the overrides file; `model` is then the entry of that model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
}

/// Cost of each billed unit of a call. The lines are disjoint, so their sum is the total.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Breakdown {
    /// Prompt tokens that were neither read from nor written to a cache.
    pub input: LineItem,
    /// Prompt tokens read from a cache.
    pub cache_read: LineItem,
    /// Prompt tokens written to a five-minute cache.
    pub cache_write_5m: LineItem,
    /// Prompt tokens written to a one-hour cache.
    pub cache_write_1h: LineItem,
    /// Generated tokens, reasoning included unless `output_reasoning` is present.
    pub output: LineItem,
    /// Reasoning tokens, present only for models that bill them at their own rate.
    pub output_reasoning: Option<LineItem>,
    /// Web searches; the rate is per thousand searches.
    pub web_searches: LineItem,
    /// File search tool calls; the rate is per thousand calls. Left out of the JSON when
    /// the call made none.
    #[serde(skip_serializing_if = "LineItem::is_unused")]
    pub file_searches: LineItem,
    /// Code interpreter sessions; the rate is per thousand sessions. Left out of the JSON
    /// when the call opened none.
    #[serde(skip_serializing_if = "LineItem::is_unused")]
    pub code_interpreter_sessions: LineItem,
    /// Fixed fee per request, zero for models without one.
    pub request: Usd,
    /// Reasoning tokens of the call, for information; they are billed inside `output`
    /// unless `output_reasoning` is present.
    pub reasoning_tokens: u64,
    /// Audio, image and video tokens, one line per unit with tokens. The text lines above
    /// exclude them.
    pub modalities: Vec<UnitLine>,
}

impl Breakdown {
    /// Returns the sum of all lines.
    pub fn total(&self) -> Usd {
        let reasoning = self.output_reasoning.map_or(Usd::ZERO, |line| line.cost);
        [
            self.input.cost,
            self.cache_read.cost,
            self.cache_write_5m.cost,
            self.cache_write_1h.cost,
            self.output.cost,
            reasoning,
            self.web_searches.cost,
            self.file_searches.cost,
            self.code_interpreter_sessions.cost,
            self.request,
        ]
        .iter()
        .chain(self.modalities.iter().map(|line| &line.cost))
        .sum()
    }
}

/// The line of one audio, image or video unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitLine {
    /// Unit of the tokens: `input_audio`, `input_image`, `input_video`, `cache_audio_read`,
    /// `cache_image_read`, `cache_video_read`, `output_audio`, `output_image` or
    /// `output_video`. Input units count uncached tokens only.
    pub unit: &'static str,
    /// Price key whose rate billed the tokens; a wider unit's key, such as `input_mtok`,
    /// when the entry has no rate of the unit's own.
    pub price_key: &'static str,
    /// Number of tokens.
    pub count: u64,
    /// Rate applied, in dollars per million tokens.
    pub rate: Decimal,
    /// Cost of the line.
    pub cost: Usd,
}

/// One billed unit: how many, at which rate, for how much.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LineItem {
    /// Number of units billed on this line.
    pub count: u64,
    /// Rate applied, in dollars per million tokens or per thousand calls; `None` when the
    /// entry has no rate and the count is zero. For a rate whose tiers apply to the excess
    /// only, the rate of the highest tier reached: the cost then charges the tokens before
    /// each tier start at the lower rates.
    pub rate: Option<Decimal>,
    /// Cost of the line.
    pub cost: Usd,
}

impl LineItem {
    /// Returns whether the line billed nothing because its count is zero.
    pub fn is_unused(&self) -> bool {
        self.count == 0 && self.cost == Usd::ZERO
    }
}

/// Computes the breakdown of `usage` under `rates`.
///
/// # Errors
///
/// Returns the reason when a unit with a non-zero count has no rate in the entry.
pub(crate) fn price_usage(
    rates: &Resolved<'_>,
    usage: &Usage,
    model: &str,
) -> Result<Breakdown, String> {
    let priced = rates.priced_units();
    let prompt = Prompt {
        all: usage.input_tokens,
        uncached: usage.uncached_input_tokens(),
    };
    let mut breakdown = Breakdown {
        reasoning_tokens: usage.reasoning_tokens,
        ..Breakdown::default()
    };

    let mut in_prompt = 0u64;
    let mut in_uncached = 0u64;
    for atom in units::atoms(usage) {
        let position = (!units::is_output(atom.unit)).then(|| Position {
            in_prompt,
            in_uncached: (!atom.cached).then_some(in_uncached),
        });
        if position.is_some() {
            in_prompt = in_prompt.saturating_add(atom.count);
            if !atom.cached {
                in_uncached = in_uncached.saturating_add(atom.count);
            }
        }

        let billed = match atom.unit.billed_as(priced) {
            Ok(unit) => unit,
            Err(_) if atom.count == 0 => continue,
            Err(reason) => return Err(missing_rate(model, &reason, atom.count, "tokens")),
        };
        let Some(rate) = rates.token(billed) else {
            continue;
        };
        let (shown, cost) = token_cost(rate, atom.count, prompt, position);
        let line = LineItem {
            count: atom.count,
            rate: Some(shown),
            cost,
        };
        add_line(&mut breakdown, atom.unit, billed, line);
    }

    let searches = usage.web_searches;
    breakdown.web_searches = count_line(searches, rates.web_searches, prompt)
        .ok_or_else(|| missing_rate(model, "no price for web search", searches, "requests"))?;
    let files = usage.file_searches;
    breakdown.file_searches = count_line(files, rates.file_searches, prompt).ok_or_else(|| {
        let reason = format!("no price for file search ({FILE_SEARCH_KEY})");
        missing_rate(model, &reason, files, "calls")
    })?;
    let sessions = usage.code_interpreter_sessions;
    breakdown.code_interpreter_sessions =
        count_line(sessions, rates.code_interpreter_sessions, prompt).ok_or_else(|| {
            let reason = format!("no price for code interpreter sessions ({CODE_INTERPRETER_KEY})");
            missing_rate(model, &reason, sessions, "sessions")
        })?;
    breakdown.request = rates.requests.map_or(Usd::ZERO, |rate| {
        Usd::per_thousand(reached_rate(rate, prompt), 1)
    });
    Ok(breakdown)
}

/// Puts the line of the tokens of `unit`, billed at the rate of `billed`, into its place.
fn add_line(breakdown: &mut Breakdown, unit: Unit, billed: Unit, line: LineItem) {
    match unit {
        Unit::Input => breakdown.input = line,
        Unit::CacheRead => breakdown.cache_read = line,
        Unit::CacheWrite5m => breakdown.cache_write_5m = line,
        Unit::CacheWrite1h => breakdown.cache_write_1h = line,
        Unit::Output => {
            breakdown.output.count += line.count;
            breakdown.output.rate = line.rate;
            breakdown.output.cost += line.cost;
        }
        Unit::OutputReasoning if billed == Unit::OutputReasoning => {
            breakdown.output_reasoning = Some(line);
        }
        // Reasoning without its own rate is billed inside the output line.
        Unit::OutputReasoning => add_line(breakdown, Unit::Output, billed, line),
        _ if line.count == 0 => {}
        _ => breakdown.modalities.push(UnitLine {
            unit: unit.def().price_key.trim_end_matches("_mtok"),
            price_key: billed.def().price_key,
            count: line.count,
            rate: line.rate.unwrap_or_default(),
            cost: line.cost,
        }),
    }
}

/// Returns the line of a unit billed per thousand, or `None` when the count is above zero
/// and the entry has no rate for it.
fn count_line(count: u64, rate: Option<&Rate>, prompt: Prompt) -> Option<LineItem> {
    match rate {
        Some(rate) => {
            let rate = reached_rate(rate, prompt);
            let cost = Usd::per_thousand(rate, count);
            Some(LineItem {
                count,
                rate: Some(rate),
                cost,
            })
        }
        None if count == 0 => Some(LineItem::default()),
        None => None,
    }
}

fn missing_rate(model: &str, reason: &str, count: u64, noun: &str) -> String {
    format!(
        "model \"{model}\" has {reason} ({count} {noun}) in the price table; add a price \
         override for it"
    )
}
