//! A rate of a price override file: a decimal string for a flat rate, or a table for a rate
//! by prompt size.
//!
//! ```toml
//! [models.input_mtok]
//! base = "1.25"
//! tiers = [{ start = 200000, price = "2.5" }]
//! rule = { counts = "prompt", comparison = ">", applies_to = "whole_request" }
//! ```
//!
//! `rule` and each of its fields are optional; the defaults are genai-prices' rule (see
//! [`TierRule`]). `counts` is `prompt` (every input token, cache included) or
//! `uncached_prompt`; `comparison` is `">"` or `">="`; `applies_to` is `whole_request` or
//! `excess`.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::overrides::{PriceText, PriceTextVisitor, NUMBER_HINT};
use super::rates::{Rate, Tier, TierRule};

/// A validated rate of an override file.
#[derive(Debug, Clone)]
pub(super) struct OverrideRate(pub(super) Rate);

impl<'de> Deserialize<'de> for OverrideRate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OverrideRateVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TieredFile {
    base: PriceText,
    tiers: Vec<TierFile>,
    #[serde(default)]
    rule: TierRule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierFile {
    start: u64,
    price: PriceText,
}

struct OverrideRateVisitor;

impl<'de> Visitor<'de> for OverrideRateVisitor {
    type Value = OverrideRate;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(
            "a decimal string of dollars such as \"2.5\", or a table with `base`, `tiers` and \
             an optional `rule`",
        )
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<OverrideRate, E> {
        let PriceText(rate) = PriceTextVisitor.visit_str(text)?;
        Ok(OverrideRate(Rate::Flat(rate)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<OverrideRate, E> {
        Err(E::custom(format!(
            "rate {value} is a number; {NUMBER_HINT}"
        )))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<OverrideRate, E> {
        Err(E::custom(format!(
            "rate {value} is a number; {NUMBER_HINT}"
        )))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<OverrideRate, E> {
        Err(E::custom(format!(
            "rate {value} is a number; {NUMBER_HINT}"
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OverrideRate, A::Error> {
        let file = TieredFile::deserialize(de::value::MapAccessDeserializer::new(map))?;
        tiered(file).map_err(de::Error::custom)
    }
}

/// Checks the tiers of a tiered rate and builds it.
fn tiered(file: TieredFile) -> Result<OverrideRate, String> {
    if file.tiers.is_empty() {
        return Err(
            "`tiers` is empty; list at least one {start, price} tier or write a flat rate".into(),
        );
    }
    let starts = file.tiers.iter().map(|tier| tier.start);
    if let Some((before, after)) = starts
        .clone()
        .zip(starts.skip(1))
        .find(|(before, after)| after <= before)
    {
        return Err(format!(
            "tier start {after} follows tier start {before}; list tiers in ascending order of \
             `start`, each start once"
        ));
    }

    let tiers = file
        .tiers
        .into_iter()
        .map(|tier| Tier {
            start: tier.start,
            price: tier.price.0,
        })
        .collect();
    Ok(OverrideRate(Rate::Tiered {
        base: file.base.0,
        tiers,
        rule: file.rule,
    }))
}
