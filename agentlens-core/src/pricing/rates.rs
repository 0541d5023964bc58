//! Rates of one dated price entry and the choice of the entry in force at a moment.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use super::tiers::{TierApplication, TierComparison, TierCounts, TierRule};
use super::units::{UNITS, UNIT_COUNT};

/// A price per unit, either flat or by the size of the prompt.
///
/// In JSON a flat rate is a decimal string (`"2.5"`) and a tiered rate is
/// `{"base": "1.25", "tiers": [{"start": 200000, "price": "2.5"}]}`, with an optional
/// `"rule"` object (see [`TierRule`]).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Rate {
    /// One rate for every request.
    Flat(Decimal),
    /// A base rate and the rates of higher tiers.
    Tiered {
        /// Rate while no tier applies.
        base: Decimal,
        /// Tiers in ascending order of `start`.
        tiers: Vec<Tier>,
        /// Which prompt tokens the tier starts count, how they compare, and which tokens
        /// pay the tier rate.
        #[serde(default, skip_serializing_if = "TierRule::is_default")]
        rule: TierRule,
    },
}

/// A rate that applies once the prompt passes `start` tokens, as the tier rule counts and
/// compares them.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Tier {
    /// Number of prompt tokens the tier starts at.
    pub start: u64,
    /// Rate of the tier.
    pub price: Decimal,
}

impl Rate {
    /// Returns the rate of the highest tier that a prompt of `prompt` tokens reaches under
    /// the rate's rule; `prompt` is the count the rule's [`TierCounts`] names.
    ///
    /// With the default rule, as in genai-prices 0.2.5 (`calc_unit_price`), the highest
    /// tier whose start is below the prompt size applies.
    pub fn at(&self, prompt: u64) -> Decimal {
        match self {
            Rate::Flat(rate) => *rate,
            Rate::Tiered { base, tiers, rule } => tiers
                .iter()
                .rev()
                .find(|tier| rule.reaches(prompt, tier.start))
                .map_or(*base, |tier| tier.price),
        }
    }
}

/// The rates of one price entry, by the genai-prices price keys that this engine bills.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Rates {
    /// Token rates in dollars per million, by unit (`input_mtok`, `input_audio_mtok`…), in
    /// the order of [`UNITS`].
    pub(crate) tokens: [Option<Rate>; UNIT_COUNT],
    /// `web_searches_kcount`: dollars per thousand web searches.
    pub(crate) web_searches: Option<Rate>,
    /// `storage_searches_kcount`: dollars per thousand file search tool calls.
    pub(crate) file_searches: Option<Rate>,
    /// `code_interpreter_sessions_kcount`: dollars per thousand code interpreter sessions.
    pub(crate) code_interpreter_sessions: Option<Rate>,
    /// `requests_kcount`: dollars per thousand requests.
    pub(crate) requests: Option<Rate>,
}

/// Largest accepted rate, in dollars per million tokens or per thousand units: one
/// dollar per token. Counts are `u64`, so a rate times a count stays below about 1.8e25,
/// far below the 7.9e28 at which `Decimal` arithmetic panics. The highest rate in the
/// embedded table is 600 dollars per million output tokens.
pub(crate) const MAX_RATE: rust_decimal::Decimal =
    rust_decimal::Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// Price key of the file search fee, the genai-prices 0.2.5 unit `storage_searches`.
pub(crate) const FILE_SEARCH_KEY: &str = "storage_searches_kcount";

/// Price key of the code interpreter fee, this engine's own. genai-prices 0.2.5 has no unit
/// for it, because its `code_executions_kcount` counts executions, not sessions.
/// `scripts/litellm_prices.py` fills it from LiteLLM's `code_interpreter_cost_per_session`.
pub(crate) const CODE_INTERPRETER_KEY: &str = "code_interpreter_sessions_kcount";

impl Rates {
    /// Creates the rates from the price keys of the table file.
    ///
    /// Keys for units that [`crate::usage::Usage`] does not count (audio seconds, pages,
    /// characters, cached audio writes and others) are dropped.
    ///
    /// `cache_audio_write_mtok` stays unbilled on purpose. litellm 1.110.2 sets it (as
    /// `cache_creation_input_audio_token_cost`) only on OpenAI and Azure realtime models, and
    /// OpenAI caches prompts without reporting any cache write: its usage objects count
    /// cached reads (`cached_tokens`, `cached_tokens_details.audio_tokens`) and nothing
    /// else. No provider usage that AgentLens reads names cached audio writes, and
    /// genai-prices 0.2.5 has no such unit, so `Usage` has no count to bill at that rate.
    pub(crate) fn from_keys(mut keys: BTreeMap<String, Rate>) -> Self {
        let tokens = std::array::from_fn(|index| keys.remove(UNITS[index].price_key));
        Rates {
            tokens,
            web_searches: keys.remove("web_searches_kcount"),
            file_searches: keys.remove(FILE_SEARCH_KEY),
            code_interpreter_sessions: keys.remove(CODE_INTERPRETER_KEY),
            requests: keys.remove("requests_kcount"),
        }
    }

    /// Returns whether no rate is set.
    pub(crate) fn is_empty(&self) -> bool {
        self.keyed().is_empty()
    }

    /// Returns the rates that are present, by their price key: the token units in the
    /// order of [`UNITS`], then web searches, file searches, code interpreter sessions and
    /// requests.
    pub(crate) fn keyed(&self) -> Vec<(&'static str, &Rate)> {
        let tokens = UNITS
            .iter()
            .zip(&self.tokens)
            .map(|(unit, rate)| (unit.price_key, rate));
        let counted = [
            ("web_searches_kcount", &self.web_searches),
            (FILE_SEARCH_KEY, &self.file_searches),
            (CODE_INTERPRETER_KEY, &self.code_interpreter_sessions),
            ("requests_kcount", &self.requests),
        ];
        tokens
            .chain(counted)
            .filter_map(|(key, rate)| rate.as_ref().map(|rate| (key, rate)))
            .collect()
    }
}

/// One price entry of a model, with the condition under which it applies.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PriceEntry {
    /// First UTC day on which the entry applies; `None` for an entry without a start date.
    pub(crate) start_date: Option<NaiveDate>,
    /// Daily UTC window `[start, end)` in which the entry applies, as for off-peak prices.
    /// The window wraps past midnight when `end < start`.
    pub(crate) time_of_day: Option<(NaiveTime, NaiveTime)>,
    /// The rates of the entry.
    pub(crate) rates: Rates,
}

impl PriceEntry {
    fn is_active(&self, at: DateTime<Utc>) -> bool {
        if let Some(start) = self.start_date {
            return at.date_naive() >= start;
        }
        if let Some((start, end)) = self.time_of_day {
            let time = at.time();
            return if end < start {
                time >= start || time < end
            } else {
                start <= time && time < end
            };
        }
        true
    }
}

/// Returns the entry in force at `at`: the last entry whose condition holds, or the first
/// entry when none holds, the rule of genai-prices 0.2.5 (`ModelInfo.get_prices`).
///
/// Returns `None` only for an empty list.
pub(crate) fn entry_at(entries: &[PriceEntry], at: DateTime<Utc>) -> Option<&PriceEntry> {
    entries
        .iter()
        .rev()
        .find(|entry| entry.is_active(at))
        .or_else(|| entries.first())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiered() -> Rate {
        Rate::Tiered {
            base: Decimal::new(125, 2),
            tiers: vec![Tier {
                start: 200_000,
                price: Decimal::new(25, 1),
            }],
            rule: TierRule::default(),
        }
    }

    #[test]
    fn tier_starts_above_threshold() {
        assert_eq!(tiered().at(200_000), Decimal::new(125, 2));
        assert_eq!(tiered().at(200_001), Decimal::new(25, 1));
        assert_eq!(tiered().at(0), Decimal::new(125, 2));
    }

    #[test]
    fn later_dated_entry_wins_once_active() {
        let entry = |day: Option<&str>| PriceEntry {
            start_date: day.map(|day| day.parse().unwrap()),
            time_of_day: None,
            rates: Rates::default(),
        };
        let entries = [entry(None), entry(Some("2026-03-13"))];
        let before: DateTime<Utc> = "2026-02-10T00:00:00Z".parse().unwrap();
        let after: DateTime<Utc> = "2026-03-13T00:00:00Z".parse().unwrap();

        assert_eq!(entry_at(&entries, before).unwrap().start_date, None);
        assert!(entry_at(&entries, after).unwrap().start_date.is_some());
    }

    #[test]
    fn off_peak_window_wraps_midnight() {
        let window = PriceEntry {
            start_date: None,
            time_of_day: Some(("16:30:00".parse().unwrap(), "00:30:00".parse().unwrap())),
            rates: Rates::default(),
        };

        assert!(window.is_active("2026-01-01T23:00:00Z".parse().unwrap()));
        assert!(window.is_active("2026-01-01T00:10:00Z".parse().unwrap()));
        assert!(!window.is_active("2026-01-01T12:00:00Z".parse().unwrap()));
    }
}
