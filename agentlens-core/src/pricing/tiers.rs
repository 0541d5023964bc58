//! Rules of prompt-size tiers: which prompt tokens the tier starts count, how the count
//! compares with a start, and which tokens pay the tier rate.
//!
//! The default rule is the one genai-prices 0.2.5 applies to every tiered price
//! (`calc_unit_price`). The prompt counts every input token, cache reads and writes
//! included. A tier applies once the prompt is above its start (`>`), and the tier rate
//! then applies to every token of the request. LiteLLM's `*_above_200k_tokens` keys follow
//! the same rule, since LiteLLM compares its `prompt_tokens`, which include the cache, with
//! `> 200000`.
//!
//! With [`TierApplication::Excess`], only the prompt tokens past a tier start pay that tier's
//! rate. A prompt is read in cache order, cache reads first, then cache writes, then the
//! uncached tokens, so the tail past the start is the uncached part. Tokens outside the
//! counted prompt (the output, and the cache when the rule counts only uncached tokens) pay
//! the rate of the highest tier the prompt reached.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::Usd;

use super::rates::Rate;

/// The selection and application rule of a rate's tiers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TierRule {
    /// Prompt tokens that the tier starts count.
    pub counts: TierCounts,
    /// Comparison of the count with a tier start.
    pub comparison: TierComparison,
    /// Tokens that pay the tier rate.
    pub applies_to: TierApplication,
}

/// The prompt tokens that a tier start counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TierCounts {
    /// Every input token, cache reads and writes included.
    #[default]
    Prompt,
    /// Input tokens that were neither read from nor written to a cache.
    UncachedPrompt,
}

/// Comparison of the prompt count with a tier start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum TierComparison {
    /// The tier applies when the count is greater than the start (`>`).
    #[default]
    #[serde(rename = ">")]
    Above,
    /// The tier applies when the count is greater than or equal to the start (`>=`).
    #[serde(rename = ">=")]
    AtLeast,
}

/// The tokens that pay a tier rate once the tier applies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TierApplication {
    /// Every token of the request.
    #[default]
    WholeRequest,
    /// Only the prompt tokens past the tier start.
    Excess,
}

impl TierRule {
    /// Returns whether the rule is genai-prices' rule, which the table file leaves out.
    pub fn is_default(&self) -> bool {
        *self == TierRule::default()
    }

    /// Returns whether a prompt of `count` tokens reaches a tier starting at `start`.
    pub fn reaches(&self, count: u64, start: u64) -> bool {
        match self.comparison {
            TierComparison::Above => count > start,
            TierComparison::AtLeast => count >= start,
        }
    }

    /// Returns the zero-based position of the first prompt token that pays a tier starting
    /// at `start` when only the excess pays it.
    fn first_excess_position(&self, start: u64) -> u64 {
        match self.comparison {
            TierComparison::Above => start,
            TierComparison::AtLeast => start.saturating_sub(1),
        }
    }
}

/// The prompt of a call, as the tier counts see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prompt {
    /// Every input token.
    pub(crate) all: u64,
    /// Input tokens neither read from nor written to a cache.
    pub(crate) uncached: u64,
}

/// Position of a bucket of prompt tokens in the prompt, read in cache order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Position {
    /// Position of the bucket's first token among all prompt tokens.
    pub(crate) in_prompt: u64,
    /// Position among the uncached tokens; `None` for cached tokens.
    pub(crate) in_uncached: Option<u64>,
}

/// Returns the rate of the highest tier that the prompt reaches, as the rate's rule counts
/// the prompt.
pub(crate) fn reached_rate(rate: &Rate, prompt: Prompt) -> Decimal {
    match rate {
        Rate::Tiered { rule, .. } if rule.counts == TierCounts::UncachedPrompt => {
            rate.at(prompt.uncached)
        }
        _ => rate.at(prompt.all),
    }
}

/// Returns the rate shown for `count` tokens and their cost at `rate`.
///
/// `position` is `None` for output tokens. For a rate whose tiers apply to the excess only,
/// the shown rate is that of the highest tier reached, and the cost charges the tokens
/// before each tier start at the lower rates.
pub(crate) fn token_cost(
    rate: &Rate,
    count: u64,
    prompt: Prompt,
    position: Option<Position>,
) -> (Decimal, Usd) {
    let Rate::Tiered { base, tiers, rule } = rate else {
        let shown = rate.at(prompt.all);
        return (shown, Usd::per_million(shown, count));
    };
    let start = match rule.counts {
        TierCounts::Prompt => position.map(|at| at.in_prompt),
        TierCounts::UncachedPrompt => position.and_then(|at| at.in_uncached),
    };
    let shown = reached_rate(rate, prompt);
    let Some(start) = start.filter(|_| rule.applies_to == TierApplication::Excess) else {
        return (shown, Usd::per_million(shown, count));
    };

    // Each band runs from one tier's first excess position to the next one's.
    let end = start.saturating_add(count);
    let mut band_start = 0;
    let mut band_price = *base;
    let mut cost = Usd::ZERO;
    for tier in tiers {
        let next_start = rule.first_excess_position(tier.start);
        cost += band_cost(band_price, band_start, next_start, start, end);
        band_start = next_start;
        band_price = tier.price;
    }
    cost += band_cost(band_price, band_start, u64::MAX, start, end);
    (shown, cost)
}

/// Returns the cost of the tokens of `[start, end)` that fall in the band
/// `[band_start, band_end)`.
fn band_cost(price: Decimal, band_start: u64, band_end: u64, start: u64, end: u64) -> Usd {
    let overlap = end.min(band_end).saturating_sub(start.max(band_start));
    if overlap == 0 {
        return Usd::ZERO;
    }
    Usd::per_million(price, overlap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::rates::Tier;

    fn tiered(rule: TierRule) -> Rate {
        Rate::Tiered {
            base: Decimal::from(1),
            tiers: vec![Tier {
                start: 200_000,
                price: Decimal::from(2),
            }],
            rule,
        }
    }

    fn rule(comparison: TierComparison, applies_to: TierApplication) -> TierRule {
        TierRule {
            comparison,
            applies_to,
            ..TierRule::default()
        }
    }

    fn prompt(all: u64) -> Prompt {
        Prompt { all, uncached: all }
    }

    fn start_of_prompt() -> Option<Position> {
        Some(Position {
            in_prompt: 0,
            in_uncached: Some(0),
        })
    }

    #[test]
    fn above_rule_excludes_the_start() {
        let rate = tiered(TierRule::default());

        assert_eq!(rate.at(200_000), Decimal::from(1));
        assert_eq!(rate.at(200_001), Decimal::from(2));
    }

    #[test]
    fn at_least_rule_includes_the_start() {
        let rate = tiered(rule(TierComparison::AtLeast, TierApplication::WholeRequest));

        assert_eq!(rate.at(199_999), Decimal::from(1));
        assert_eq!(rate.at(200_000), Decimal::from(2));
    }

    #[test]
    fn whole_request_pays_tier_rate_on_every_token() {
        let rate = tiered(TierRule::default());

        let (shown, cost) = token_cost(&rate, 300_000, prompt(300_000), start_of_prompt());

        assert_eq!(shown, Decimal::from(2));
        assert_eq!(cost.to_string(), "0.6");
    }

    #[test]
    fn excess_pays_tier_rate_past_the_start_only() {
        let rate = tiered(rule(TierComparison::Above, TierApplication::Excess));

        let (shown, cost) = token_cost(&rate, 300_000, prompt(300_000), start_of_prompt());

        assert_eq!(shown, Decimal::from(2));
        // 200,000 tokens at $1/M and 100,000 at $2/M.
        assert_eq!(cost.to_string(), "0.4");
    }

    #[test]
    fn excess_at_least_moves_the_boundary_token() {
        let rate = tiered(rule(TierComparison::AtLeast, TierApplication::Excess));

        let (_, cost) = token_cost(&rate, 200_000, prompt(200_000), start_of_prompt());

        // 199,999 tokens at $1/M and the 200,000th at $2/M.
        assert_eq!(cost.to_string(), "0.200001");
    }

    #[test]
    fn excess_falls_on_the_uncached_tail() {
        let rate = tiered(rule(TierComparison::Above, TierApplication::Excess));
        let prompt = Prompt {
            all: 300_000,
            uncached: 100_000,
        };
        let tail = Some(Position {
            in_prompt: 200_000,
            in_uncached: Some(0),
        });

        let (_, cost) = token_cost(&rate, 100_000, prompt, tail);

        assert_eq!(cost.to_string(), "0.2");
    }

    #[test]
    fn uncached_counts_ignore_cache_reads() {
        let rate = tiered(TierRule {
            counts: TierCounts::UncachedPrompt,
            ..TierRule::default()
        });
        let prompt = Prompt {
            all: 300_000,
            uncached: 150_000,
        };

        let (shown, _) = token_cost(&rate, 150_000, prompt, start_of_prompt());

        assert_eq!(shown, Decimal::from(1));
    }

    #[test]
    fn output_under_excess_pays_reached_tier() {
        let rate = tiered(rule(TierComparison::Above, TierApplication::Excess));

        let (shown, cost) = token_cost(&rate, 1_000_000, prompt(250_000), None);

        assert_eq!(shown, Decimal::from(2));
        assert_eq!(cost.to_string(), "2");
    }
}
