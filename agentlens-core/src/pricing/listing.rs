//! Read-only views of the models and dated prices of a [`PriceTable`], for tools that print
//! or export the table.
//!
//! [`PriceTable::models`] walks every model in lookup order, and [`PriceTable::find_model`]
//! returns the model that [`PriceTable::quote`] would use for a spelling. Each
//! [`ModelPrices`] lists its [`DatedPrices`], whose rates are keyed by the genai-prices
//! price keys (`input_mtok`, `cache_read_mtok`, `output_mtok`, ...), the same keys that a
//! price override file uses.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::matching;
use super::rates::{self, PriceEntry, Rate, Rates};
use super::table::{self, Lookup, Model, PriceTable, Provider};
use super::variants::{self, PriceContext, PriceVariant};

/// One model of a price table together with the provider that lists it.
#[derive(Debug, Clone, Copy)]
pub struct ModelPrices<'a> {
    provider: &'a str,
    model: &'a Model,
    deployment: Option<&'a str>,
    /// Tool fees of the provider the caller named, then of the listing provider.
    provider_fees: [&'a Rates; 2],
}

impl<'a> ModelPrices<'a> {
    /// Returns the id of the provider that lists the model, such as `openai`.
    pub fn provider(&self) -> &'a str {
        self.provider
    }

    /// Returns the model id, such as `gpt-4o`.
    pub fn id(&self) -> &'a str {
        &self.model.id
    }

    /// Returns the deployment name that [`PriceTable::find_model`] was given when it maps
    /// to this model, as in [`Quote::deployment`](super::Quote::deployment).
    pub fn deployment(&self) -> Option<&'a str> {
        self.deployment
    }

    /// Returns where the prices come from, as in [`Quote::source`](super::Quote::source).
    pub fn source(&self) -> &'a str {
        &self.model.source
    }

    /// Returns the match clause of the model as it reads in the table file, such as
    /// `starts_with "claude-haiku-4-5"`.
    pub fn match_clause(&self) -> String {
        self.model.matcher.to_string()
    }

    /// Returns the lowercased spellings other than the id that an `equals` clause of the
    /// model accepts. Spellings matched by prefix, suffix or regex are not listed.
    pub fn aliases(&self) -> Vec<&'a str> {
        let id = self.model.id.to_lowercase();
        let mut aliases = self.model.matcher.exact_spellings();
        aliases.retain(|spelling| *spelling != id);
        aliases
    }

    /// Returns the web search, file search and code interpreter fees of the provider, keyed
    /// by price key. A quote bills them when the model's own price entry has no such fee.
    pub fn provider_tool_fees(&self) -> Vec<(&'static str, &'a Rate)> {
        let [named, listing] = self.provider_fees;
        let mut fees = named.keyed();
        for (key, rate) in listing.keyed() {
            if fees.iter().all(|(known, _)| *known != key) {
                fees.push((key, rate));
            }
        }
        fees
    }

    /// Returns the dated price entries in table order. The entry in force at a moment is
    /// the last one whose condition holds, see [`ModelPrices::prices_at`].
    pub fn prices(&self) -> impl ExactSizeIterator<Item = DatedPrices<'a>> + 'a {
        self.model.entries.iter().map(|entry| DatedPrices { entry })
    }

    /// Returns the service-tier and batch price variants in table order; the first variant
    /// that matches a call wins for each key it sets.
    pub fn price_variants(&self) -> impl ExactSizeIterator<Item = VariantPrices<'a>> + 'a {
        self.model
            .variants
            .iter()
            .map(|variant| VariantPrices { variant })
    }

    /// Returns the service tiers that the model has prices for on some day, such as `flex`
    /// and `priority`, sorted. The list contains `batch` when the model has batch prices,
    /// because a call in the tier `batch` is priced as batch processing. The standard names
    /// of [`super::STANDARD_TIERS`] are left out, because they select the standard prices.
    pub fn service_tiers(&self) -> Vec<&'a str> {
        variants::special_tiers(&self.model.variants)
    }

    /// Returns whether a call in service tier `tier` (any case) can be priced by this model
    /// on some day: a standard name always, any other name when [`Self::service_tiers`]
    /// contains it. A `true` does not promise a price on a given day, because tier prices
    /// can start later.
    pub fn offers_service_tier(&self, tier: &str) -> bool {
        let context = PriceContext::from_service_tier(tier);
        if context.is_standard() {
            return true;
        }
        let requested = context
            .special_tier()
            .unwrap_or_else(|| variants::BATCH_TIER.to_owned());
        self.service_tiers()
            .iter()
            .any(|known| known.eq_ignore_ascii_case(&requested))
    }

    /// Returns the price entry in force at `at`, chosen as [`PriceTable::quote`] chooses it;
    /// `None` for a model without prices.
    pub fn prices_at(&self, at: DateTime<Utc>) -> Option<DatedPrices<'a>> {
        rates::entry_at(&self.model.entries, at).map(|entry| DatedPrices { entry })
    }
}

/// One price variant of a model: its conditions and the rates that replace the standard
/// ones when they hold.
#[derive(Debug, Clone, Copy)]
pub struct VariantPrices<'a> {
    variant: &'a PriceVariant,
}

impl<'a> VariantPrices<'a> {
    /// Returns the conditions, such as `("service_tier", "flex")` or `("processing",
    /// "batch")`.
    pub fn when(&self) -> Vec<(&'a str, &'a str)> {
        let when = self.variant.when.iter();
        when.map(|(key, value)| (key.as_str(), value.as_str()))
            .collect()
    }

    /// Returns the first UTC day on which the variant applies; `None` when it always has.
    pub fn start_date(&self) -> Option<NaiveDate> {
        self.variant.start_date
    }

    /// Returns the rates of the variant, keyed by price key as in [`DatedPrices::rates`].
    pub fn rates(&self) -> Vec<(&'static str, &'a Rate)> {
        self.variant.rates.keyed()
    }
}

/// One price entry of a model, with the condition under which it applies.
#[derive(Debug, Clone, Copy)]
pub struct DatedPrices<'a> {
    entry: &'a PriceEntry,
}

impl<'a> DatedPrices<'a> {
    /// Returns the first UTC day on which the entry applies; `None` for an undated entry.
    pub fn start_date(&self) -> Option<NaiveDate> {
        self.entry.start_date
    }

    /// Returns the daily UTC window `[start, end)` of an off-peak entry. The window wraps
    /// past midnight when `end < start`.
    pub fn time_of_day(&self) -> Option<(NaiveTime, NaiveTime)> {
        self.entry.time_of_day
    }

    /// Returns the rates that the entry has, keyed by price key, in a fixed order: input,
    /// cache read, cache writes, output, reasoning output, web searches, requests.
    pub fn rates(&self) -> Vec<(&'static str, &'a Rate)> {
        self.entry.rates.keyed()
    }

    /// Returns the rate of one price key, such as `input_mtok`.
    pub fn rate(&self, key: &str) -> Option<&'a Rate> {
        self.rates()
            .into_iter()
            .find(|(name, _)| *name == key)
            .map(|(_, rate)| rate)
    }
}

impl PriceTable {
    /// Returns every model of the table, provider by provider in lookup order.
    ///
    /// A model that an override file gave aliases appears once, although the table keeps a
    /// second matcher for its aliases.
    pub fn models(&self) -> impl Iterator<Item = ModelPrices<'_>> {
        self.providers.iter().flat_map(|provider| {
            let last = last_positions(provider);
            provider
                .models
                .iter()
                .enumerate()
                .filter(move |(index, model)| last.get(model.id.as_str()) == Some(index))
                .map(|(_, model)| ModelPrices {
                    deployment: None,
                    provider: &provider.id,
                    model,
                    provider_fees: [&provider.tool_fees, &provider.tool_fees],
                })
        })
    }

    /// Returns the id of the provider that a provider name resolves to, by id or by the
    /// provider's match clause, as [`PriceTable::quote`] resolves it (`bedrock` is `aws`).
    /// Returns `None` when no provider matches.
    pub fn provider_id(&self, name: &str) -> Option<&str> {
        matching::find_provider(self, name).map(|index| self.providers[index].id.as_str())
    }

    /// Returns the number of models that [`PriceTable::models`] lists.
    pub fn model_count(&self) -> usize {
        self.providers
            .iter()
            .map(|provider| last_positions(provider).len())
            .sum()
    }

    /// Finds the model that [`PriceTable::quote`] would use for `provider` and `model`,
    /// following a deployment name of the provider to the model it is mapped to.
    ///
    /// # Errors
    ///
    /// Returns the reason, the same text that an unpriced quote carries, when the provider
    /// or the model is unknown.
    pub fn find_model<'a>(
        &'a self,
        provider: Option<&str>,
        model: &'a str,
    ) -> Result<ModelPrices<'a>, String> {
        let provider = provider.filter(|name| !name.trim().is_empty());
        let deployed = self.deployment_target(provider, model);
        match self.lookup(provider, deployed.unwrap_or(model)) {
            Lookup::Found {
                provider: provider_index,
                model: model_index,
            } => {
                let listing = &self.providers[provider_index];
                let named = provider
                    .and_then(|name| matching::find_provider(self, name))
                    .map_or(listing, |index| &self.providers[index]);
                Ok(ModelPrices {
                    provider: &listing.id,
                    model: &listing.models[model_index],
                    deployment: deployed.map(|_| model.trim()),
                    provider_fees: [&named.tool_fees, &listing.tool_fees],
                })
            }
            Lookup::UnknownProvider => Err(table::unknown_provider(provider, model)),
            Lookup::UnknownModel => Err(self.unknown_model_reason(provider, model)),
        }
    }
}

/// Maps each model id of a provider to the position of its last model, which is the
/// original entry when an override inserted an alias copy in front of it.
fn last_positions(provider: &Provider) -> HashMap<&str, usize> {
    provider
        .models
        .iter()
        .enumerate()
        .map(|(index, model)| (model.id.as_str(), index))
        .collect()
}
