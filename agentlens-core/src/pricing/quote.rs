//! The cost of one model call under one price entry.
//!
//! Every token is billed exactly once, in the bucket of the most specific rate the entry
//! has. When an entry lacks a specific rate, the tokens fall back to the rate of the wider
//! unit that contains them, which is how genai-prices 0.2.3 bills them (its
//! `compute_leaf_values` prices only units that have a rate and leaves the rest in their
//! parent):
//!
//! | tokens               | rates tried, in order                                |
//! |----------------------|------------------------------------------------------|
//! | uncached input       | `input_mtok`                                         |
//! | cache reads          | `cache_read_mtok`, `input_mtok`                      |
//! | 5-minute writes      | `cache_write_5m_mtok`, `cache_write_mtok`, `input_mtok` |
//! | 1-hour writes        | `cache_write_1h_mtok`, `cache_write_mtok`, `input_mtok` |
//! | output               | `output_mtok`                                        |
//! | reasoning            | `output_reasoning_mtok`, else billed inside output   |
//!
//! When no rate in the chain exists and the count is above zero, the call is unpriced;
//! it is never billed at $0.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::money::Usd;
use crate::usage::Usage;

use super::rates::{Rate, Rates};

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
    /// Source of the model's prices: `genai-prices 0.2.3`, `litellm 1.80.0`, or
    /// `overrides <origin>` for a price from [`super::PriceTable::with_overrides`].
    pub source: String,
    /// First day of the dated price entry used; `None` for an undated entry.
    pub price_date: Option<NaiveDate>,
    /// Content hash of the price table, see [`super::PriceTable::version`].
    pub pricing_version: String,
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
    /// Fixed fee per request, zero for models without one.
    pub request: Usd,
    /// Reasoning tokens of the call, for information; they are billed inside `output`
    /// unless `output_reasoning` is present.
    pub reasoning_tokens: u64,
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
            self.request,
        ]
        .iter()
        .sum()
    }
}

/// One billed unit: how many, at which rate, for how much.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LineItem {
    /// Number of units billed on this line.
    pub count: u64,
    /// Rate applied, in dollars per million tokens or per thousand searches; `None` when the
    /// entry has no rate and the count is zero.
    pub rate: Option<Decimal>,
    /// Cost of the line.
    pub cost: Usd,
}

/// Computes the breakdown of `usage` under `rates`.
///
/// # Errors
///
/// Returns the reason when a unit with a non-zero count has no rate in the entry.
pub(crate) fn price_usage(rates: &Rates, usage: &Usage, model: &str) -> Result<Breakdown, String> {
    let prompt = usage.input_tokens;
    let line = |count: u64, chain: &[&Option<Rate>], unit: &str| {
        token_line(count, chain, prompt).ok_or_else(|| missing_rate(model, unit, count, "tokens"))
    };
    let (output_count, output_reasoning) = match &rates.output_reasoning {
        Some(_) => {
            let reasoning = usage.reasoning_tokens;
            let chain = [&rates.output_reasoning];
            let reasoning_line = line(reasoning, &chain, "reasoning output")?;
            (
                usage.output_tokens.saturating_sub(reasoning),
                Some(reasoning_line),
            )
        }
        None => (usage.output_tokens, None),
    };

    let uncached = usage.uncached_input_tokens();
    let input = line(uncached, &[&rates.input], "input")?;
    let read_chain = [&rates.cache_read, &rates.input];
    let cache_read = line(usage.cache_read_tokens, &read_chain, "cache read")?;
    let write_5m_chain = [&rates.cache_write_5m, &rates.cache_write, &rates.input];
    let cache_write_5m = line(
        usage.cache_write_5m_tokens,
        &write_5m_chain,
        "5-minute cache write",
    )?;
    let write_1h_chain = [&rates.cache_write_1h, &rates.cache_write, &rates.input];
    let cache_write_1h = line(
        usage.cache_write_1h_tokens,
        &write_1h_chain,
        "1-hour cache write",
    )?;
    let output = line(output_count, &[&rates.output], "output")?;
    let web_searches = search_line(usage.web_searches, rates.web_searches.as_ref(), prompt)
        .ok_or_else(|| missing_rate(model, "web search", usage.web_searches, "requests"))?;
    let request = rates
        .requests
        .as_ref()
        .map_or(Usd::ZERO, |rate| Usd::per_thousand(rate.at(prompt), 1));

    Ok(Breakdown {
        input,
        cache_read,
        cache_write_5m,
        cache_write_1h,
        output,
        output_reasoning,
        web_searches,
        request,
        reasoning_tokens: usage.reasoning_tokens,
    })
}

/// Prices `count` tokens at the first rate of `chain` that exists; `None` when none exists
/// and the count is above zero.
fn token_line(count: u64, chain: &[&Option<Rate>], prompt: u64) -> Option<LineItem> {
    let rate = chain.iter().find_map(|rate| rate.as_ref());
    match rate {
        Some(rate) => {
            let rate = rate.at(prompt);
            let cost = Usd::per_million(rate, count);
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

fn search_line(count: u64, rate: Option<&Rate>, prompt: u64) -> Option<LineItem> {
    match rate {
        Some(rate) => {
            let rate = rate.at(prompt);
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

fn missing_rate(model: &str, unit: &str, count: u64, noun: &str) -> String {
    format!(
        "model \"{model}\" has no price for {unit} {noun} ({count} {noun}) in the price table; \
         add a price override for it"
    )
}
