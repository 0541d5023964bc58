//! The provider of a call that a client prices from a model response.
//!
//! Many providers list models they do not make: Novita and DeepInfra resell Qwen, OpenRouter
//! resells nearly everything, each at its own price. A response in the OpenAI shape does not
//! say who served it, so a table-wide search for its model id could land on any of them. The
//! clients therefore use one rule, [`PriceTable::quote_call`]:
//!
//! 1. a provider the caller or the response names wins (`google` for a Gemini response,
//!    `anthropic` for an Anthropic message);
//! 2. otherwise the model's maker: the provider whose model-match clause claims the id
//!    (`gpt-`… for `openai`, `claude` for `anthropic`, `grok` for `x-ai`);
//! 3. otherwise the provider is unknown, and the call stays unpriced with a reason that
//!    lists the providers that sell the model, so the caller can pass the right one.
//!
//! A reseller's price is only used when the caller names the reseller.

use chrono::{DateTime, Utc};

use crate::usage::Usage;

use super::matching;
use super::quote::PriceOutcome;
use super::table::PriceTable;
use super::variants::PriceContext;

/// Provider name sent with a call whose provider is neither named nor found.
pub const UNKNOWN_PROVIDER: &str = "unknown";

/// Maximum number of providers named in the reason of an unknown provider.
const MAX_LISTED_SELLERS: usize = 5;

/// The provider a call is recorded under, and its price.
#[derive(Debug, Clone, PartialEq)]
pub struct CallQuote {
    /// Provider named by the caller, else the model's maker, else [`UNKNOWN_PROVIDER`].
    pub provider: String,
    /// Price of the call under that provider; unpriced when the provider is unknown.
    pub outcome: PriceOutcome,
}

impl PriceTable {
    /// Returns the id of the provider that makes `model`: the first provider whose
    /// model-match clause claims one of its spellings, such as `x-ai` for `grok-3-mini`.
    ///
    /// Returns `None` when no provider claims the model, even if resellers list it.
    pub fn model_maker(&self, model: &str) -> Option<&str> {
        let candidates = matching::candidates(model);
        self.providers
            .iter()
            .find(|provider| {
                let clause = provider.model_match.as_ref();
                candidates
                    .iter()
                    .any(|candidate| clause.is_some_and(|matcher| matcher.is_match(candidate)))
            })
            .map(|provider| provider.id.as_str())
    }

    /// Prices a call whose provider may be unknown, by the rule in the module docs: the
    /// named `provider`, else [`PriceTable::model_maker`], else unpriced under
    /// [`UNKNOWN_PROVIDER`]. A blank `provider` counts as absent.
    ///
    /// Unlike [`PriceTable::quote`] without a provider, this never prices a call at the
    /// rates of a provider that only resells the model.
    pub fn quote_call(
        &self,
        provider: Option<&str>,
        model: &str,
        usage: &Usage,
        at: DateTime<Utc>,
        context: &PriceContext,
    ) -> CallQuote {
        let named = provider.map(str::trim).filter(|name| !name.is_empty());
        let Some(provider) = named.or_else(|| self.model_maker(model)) else {
            return CallQuote {
                provider: UNKNOWN_PROVIDER.to_owned(),
                outcome: PriceOutcome::Unpriced {
                    reason: self.unknown_maker_reason(model),
                },
            };
        };

        let outcome = self.quote_with(Some(provider), model, usage, at, context);
        CallQuote {
            provider: provider.to_owned(),
            outcome,
        }
    }

    fn unknown_maker_reason(&self, model: &str) -> String {
        let candidates = matching::candidates(model);
        let sellers: Vec<&str> = self
            .providers
            .iter()
            .filter(|provider| {
                provider.models.iter().any(|entry| {
                    candidates
                        .iter()
                        .any(|candidate| entry.matcher.is_match(candidate))
                })
            })
            .map(|provider| provider.id.as_str())
            .take(MAX_LISTED_SELLERS)
            .collect();
        let hint = if sellers.is_empty() {
            String::new()
        } else {
            format!(" (the price table lists it under {})", sellers.join(", "))
        };
        format!(
            "unknown provider for model \"{model}\": the response does not name one and the \
             model id does not name its maker; pass the provider that served the call{hint}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage() -> Usage {
        Usage {
            input_tokens: 24,
            output_tokens: 1668,
            reasoning_tokens: 1353,
            ..Usage::default()
        }
    }

    fn at() -> DateTime<Utc> {
        "2026-02-10T23:08:22Z".parse().unwrap()
    }

    #[test]
    fn reseller_listing_is_not_a_maker() {
        let table = PriceTable::embedded();

        assert_eq!(table.model_maker("qwen3-max"), None);
        assert_eq!(table.model_maker("grok-3-mini"), Some("x-ai"));
        assert_eq!(table.model_maker("gpt-4o-2024-08-06"), Some("openai"));
    }

    #[test]
    fn resold_model_without_provider_is_unpriced() {
        let table = PriceTable::embedded();

        let call = table.quote_call(None, "qwen3-max", &usage(), at(), &PriceContext::default());

        assert_eq!(call.provider, UNKNOWN_PROVIDER);
        let PriceOutcome::Unpriced { reason } = call.outcome else {
            panic!("a resold model without a provider must stay unpriced: {call:?}");
        };
        assert!(reason.contains("dashscope"), "{reason}");
        assert!(reason.contains("pass the provider"), "{reason}");
    }

    #[test]
    fn named_provider_prices_at_its_own_rates() {
        let table = PriceTable::embedded();
        let context = PriceContext::default();

        let call = table.quote_call(Some("alibaba"), "qwen3-max", &usage(), at(), &context);

        let PriceOutcome::Priced(quote) = call.outcome else {
            panic!("alibaba lists qwen3-max: {call:?}");
        };
        assert_eq!(quote.provider, "dashscope");
        assert_eq!(call.provider, "alibaba");
    }

    #[test]
    fn unknown_provider_name_is_unpriced() {
        let table = PriceTable::embedded();

        let outcome = table.quote(Some(UNKNOWN_PROVIDER), "gpt-4o", &usage(), at());

        assert!(
            matches!(outcome, PriceOutcome::Unpriced { .. }),
            "{outcome:?}"
        );
    }
}
