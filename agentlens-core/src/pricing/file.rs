//! The layout of the table file written by `scripts/build_prices.py`, and its conversion
//! into indexed providers. Fields the engine does not use (names, pricing URLs,
//! `prices_checked`) stay in the file and are skipped here.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;

use super::matching::{Clause, Matcher};
use super::rates::{PriceEntry, Rate, Rates, MAX_RATE};
use super::table::{Model, PriceTableError, Provider};
use super::variants::PriceVariant;

/// Builds one provider; models without a `source` field get `default_source`.
pub(crate) fn build_provider(
    file: ProviderFile,
    provider_ids: &HashMap<String, usize>,
    default_source: &Arc<str>,
) -> Result<Provider, PriceTableError> {
    let compile = |clause: Option<Clause>| {
        clause
            .map(Matcher::compile)
            .transpose()
            .map_err(|message| PriceTableError::InvalidClause {
                owner: file.id.clone(),
                message,
            })
    };
    let provider_match = compile(file.provider_match.clone())?;
    let model_match = compile(file.model_match.clone())?;
    let fallbacks = file
        .fallback_model_providers
        .iter()
        .map(|fallback| {
            provider_ids
                .get(&fallback.to_lowercase())
                .copied()
                .ok_or_else(|| PriceTableError::UnknownFallback {
                    provider: file.id.clone(),
                    fallback: fallback.clone(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let models = file
        .models
        .into_iter()
        .map(|model| build_model(&file.id, model, default_source))
        .collect::<Result<Vec<_>, _>>()?;
    let tool_fees = match file.tool_rates {
        Some(tool_rates) => {
            check_rates(&file.id, &tool_rates.rates)?;
            Rates::from_keys(tool_rates.rates)
        }
        None => Rates::default(),
    };

    Ok(Provider {
        id: file.id,
        provider_match,
        model_match,
        fallbacks,
        models,
        tool_fees,
    })
}

/// Checks that every rate of `rates`, tiers included, lies from 0 to [`MAX_RATE`], so
/// that pricing a call cannot overflow `Decimal`.
fn check_rates(owner: &str, rates: &BTreeMap<String, Rate>) -> Result<(), PriceTableError> {
    for (key, rate) in rates {
        let values: Vec<_> = match rate {
            Rate::Flat(value) => vec![*value],
            Rate::Tiered { base, tiers, .. } => std::iter::once(*base)
                .chain(tiers.iter().map(|tier| tier.price))
                .collect(),
        };
        if let Some(value) = values
            .into_iter()
            .find(|value| (value.is_sign_negative() && !value.is_zero()) || *value > MAX_RATE)
        {
            return Err(PriceTableError::InvalidRate {
                owner: owner.to_owned(),
                key: key.clone(),
                rate: value,
            });
        }
    }
    Ok(())
}

fn build_model(
    provider: &str,
    file: ModelFile,
    default_source: &Arc<str>,
) -> Result<Model, PriceTableError> {
    let owner = format!("{provider}/{}", file.id);
    let matcher =
        Matcher::compile(file.clause).map_err(|message| PriceTableError::InvalidClause {
            owner: owner.clone(),
            message,
        })?;
    for rates in file.prices.iter().map(|entry| &entry.rates) {
        check_rates(&owner, rates)?;
    }
    for rates in file.price_variants.iter().map(|variant| &variant.rates) {
        check_rates(&owner, rates)?;
    }
    let entries = file
        .prices
        .into_iter()
        .map(|entry| PriceEntry {
            start_date: entry.start_date,
            time_of_day: entry.time_of_day.map(|window| (window.start, window.end)),
            rates: Rates::from_keys(entry.rates),
        })
        .collect();
    let variants = file
        .price_variants
        .into_iter()
        .map(|variant| PriceVariant {
            when: variant.when.into_iter().collect(),
            start_date: variant.start_date,
            rates: Rates::from_keys(variant.rates),
        })
        .collect();
    let source = match file.source {
        Some(source) if *source != **default_source => Arc::from(source),
        _ => Arc::clone(default_source),
    };
    Ok(Model {
        id: file.id,
        matcher,
        entries,
        variants,
        source,
    })
}

#[derive(Deserialize)]
pub(crate) struct TableFile {
    pub(crate) format_version: u32,
    pub(crate) sources: Vec<SourceFile>,
    pub(crate) generated: NaiveDate,
    pub(crate) providers: Vec<ProviderFile>,
}

#[derive(Deserialize)]
pub(crate) struct SourceFile {
    pub(crate) package: String,
    pub(crate) version: String,
}

#[derive(Deserialize)]
pub(crate) struct ProviderFile {
    pub(crate) id: String,
    provider_match: Option<Clause>,
    model_match: Option<Clause>,
    #[serde(default)]
    fallback_model_providers: Vec<String>,
    models: Vec<ModelFile>,
    /// Per-call tool fees that apply to every model of the provider without its own.
    tool_rates: Option<ToolRatesFile>,
}

/// Tool fees that a source lists once per provider, such as LiteLLM's
/// `code_interpreter_cost_per_session` on its `openai/container` entry. The file also names
/// the source entry in `from`, which the engine does not read.
#[derive(Deserialize)]
struct ToolRatesFile {
    rates: BTreeMap<String, Rate>,
}

#[derive(Deserialize)]
struct ModelFile {
    id: String,
    #[serde(rename = "match")]
    clause: Clause,
    prices: Vec<EntryFile>,
    #[serde(default)]
    price_variants: Vec<VariantFile>,
    /// Package and version the prices come from, such as `litellm 1.110.2`.
    source: Option<String>,
}

#[derive(Deserialize)]
struct EntryFile {
    start_date: Option<NaiveDate>,
    time_of_day: Option<WindowFile>,
    rates: BTreeMap<String, Rate>,
}

/// Rates that replace the standard ones when every `when` condition holds.
#[derive(Deserialize)]
struct VariantFile {
    when: BTreeMap<String, String>,
    start_date: Option<NaiveDate>,
    rates: BTreeMap<String, Rate>,
}

#[derive(Deserialize)]
struct WindowFile {
    start: NaiveTime,
    end: NaiveTime,
}
