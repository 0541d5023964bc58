//! A price variant of a price override file: the rates of a model under a service tier or
//! in batch processing.
//!
//! ```toml
//! [[models.price_variants]]
//! when = { service_tier = "flex" }
//! rates = { input_mtok = "1.25", output_mtok = "5" }
//! ```
//!
//! The shape is that of the table's `price_variants`. `when` contains one or more conditions,
//! `service_tier` (such as `flex` or `priority`), `speed` (Anthropic's `fast`) and
//! `processing = "batch"`, and every condition must hold for the variant to apply. `rates`
//! uses the price keys of the model entry and replaces only the keys it lists, so a flex
//! variant without `cache_read_mtok` keeps the standard cache-read rate. A variant applies
//! from the entry's `valid_from` day on, when the entry has one. Errors are raised while the
//! file is parsed, so they carry the parser's line and column.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::override_rate::OverrideRate;
use super::rates::{Rate, Rates, CODE_INTERPRETER_KEY, FILE_SEARCH_KEY};
use super::units::UNITS;
use super::variants::PriceVariant;

/// Service tier names that mean the standard prices, which a variant cannot be for.
const STANDARD_TIERS: [&str; 4] = ["standard", "default", "auto", "on_demand"];

/// A validated price variant of an override entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OverrideVariant {
    when: VariantWhen,
    rates: VariantRates,
}

impl OverrideVariant {
    /// Converts the variant into the table's form, in force from `start_date` on.
    pub(super) fn into_variant(self, start_date: Option<chrono::NaiveDate>) -> PriceVariant {
        PriceVariant {
            when: self.when.0,
            start_date,
            rates: Rates::from_keys(self.rates.0),
        }
    }
}

/// The conditions of a variant as `(key, value)` pairs, such as `("service_tier", "flex")`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "WhenFile")]
struct VariantWhen(Vec<(String, String)>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhenFile {
    service_tier: Option<String>,
    speed: Option<String>,
    processing: Option<String>,
}

impl TryFrom<WhenFile> for VariantWhen {
    type Error = String;

    fn try_from(file: WhenFile) -> Result<Self, String> {
        let mut when = Vec::new();
        for (key, value) in [("service_tier", file.service_tier), ("speed", file.speed)] {
            let Some(value) = value else { continue };
            let tier = value.trim().to_ascii_lowercase();
            if tier.is_empty() || STANDARD_TIERS.contains(&tier.as_str()) {
                return Err(format!(
                    "invalid `when.{key}` {value:?}: name a tier with its own prices, such as \
                     \"flex\" or \"priority\"; standard prices belong in the entry itself"
                ));
            }
            when.push((key.to_owned(), tier));
        }
        if let Some(processing) = file.processing {
            if processing.trim() != "batch" {
                return Err(format!(
                    "invalid `when.processing` {processing:?}: the only processing mode with \
                     its own prices is \"batch\""
                ));
            }
            when.push(("processing".to_owned(), "batch".to_owned()));
        }
        if when.is_empty() {
            return Err(
                "`when` is empty; set service_tier, speed or processing = \"batch\"".into(),
            );
        }
        Ok(VariantWhen(when))
    }
}

/// The partial rates of a variant by price key.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "BTreeMap<String, OverrideRate>")]
struct VariantRates(BTreeMap<String, Rate>);

impl TryFrom<BTreeMap<String, OverrideRate>> for VariantRates {
    type Error = String;

    fn try_from(file: BTreeMap<String, OverrideRate>) -> Result<Self, String> {
        if file.is_empty() {
            return Err(
                "`rates` is empty; list the rates that differ from the standard ones".into(),
            );
        }
        let known = price_keys();
        if let Some(unknown) = file.keys().find(|key| !known.contains(&key.as_str())) {
            return Err(format!(
                "unknown price key {unknown:?} in `rates`: expected one of {}",
                known.join(", ")
            ));
        }
        let rates = file.into_iter().map(|(key, rate)| (key, rate.0)).collect();
        Ok(VariantRates(rates))
    }
}

/// Returns every price key that the engine bills, the keys a variant may set.
fn price_keys() -> Vec<&'static str> {
    let counted = [
        "web_searches_kcount",
        FILE_SEARCH_KEY,
        CODE_INTERPRETER_KEY,
        "requests_kcount",
    ];
    UNITS
        .iter()
        .map(|unit| unit.price_key)
        .chain(counted)
        .collect()
}
