//! Price variants: the rates of a model under a service tier or in batch processing.
//!
//! A model's `price_variants` each carry a `when` condition such as
//! `{"service_tier": "flex"}` or `{"processing": "batch"}`, an optional start day, and the
//! rates that differ from the standard entry. As in genai-prices 0.2.5
//! (`ModelInfo.get_prices`), every variant whose condition is met overrides the standard rates
//! key by key, the first such variant winning for each key, so a variant that lists no
//! cache-read rate keeps the standard one.
//!
//! A call in a tier or mode that the model has no variant for is not priced at standard
//! rates: it is unpriced with a reason naming the tier.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::rates::{Rate, Rates};
use super::units::{Unit, UNIT_COUNT};

/// Service tier names that mean the standard prices: OpenAI's `default` and `auto`,
/// Anthropic's and Gemini's `standard`, and Groq's `on_demand`.
pub const STANDARD_TIERS: [&str; 4] = ["standard", "default", "auto", "on_demand"];

/// Service tier name that Anthropic reports for a call of its batch API. It selects the
/// batch prices, not a tier of its own.
pub const BATCH_TIER: &str = "batch";

/// The conditions of a call that select a price variant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PriceContext {
    /// Service tier that served the call, such as `flex` or `priority`, as the provider
    /// reports it. `None` and the standard names (`standard`, `default`, `auto`,
    /// `on_demand`) select the standard prices.
    pub service_tier: Option<String>,
    /// Whether the call ran through a batch API.
    pub batch: bool,
    /// Whether `service_tier` contains a speed rather than a service tier, such as the `fast`
    /// of Anthropic's `usage.speed`. It changes only the wording of errors and of the
    /// applied variant.
    #[serde(skip)]
    pub from_speed: bool,
}

impl PriceContext {
    /// Creates the context of a call reported in `service_tier`. Anthropic reports batch
    /// calls as the tier `batch`, which sets [`PriceContext::batch`] instead of a tier.
    pub fn from_service_tier(service_tier: &str) -> Self {
        let tier = service_tier.trim().to_ascii_lowercase();
        if tier == BATCH_TIER {
            return PriceContext {
                service_tier: None,
                batch: true,
                from_speed: false,
            };
        }
        PriceContext {
            service_tier: Some(tier),
            batch: false,
            from_speed: false,
        }
    }

    /// Returns the service tier when it is not a standard one, lowercased.
    pub fn special_tier(&self) -> Option<String> {
        let tier = self.service_tier.as_deref()?.trim().to_ascii_lowercase();
        let is_standard = tier.is_empty() || STANDARD_TIERS.contains(&tier.as_str());
        (!is_standard).then_some(tier)
    }

    /// Returns whether the call is priced at the standard rates.
    pub fn is_standard(&self) -> bool {
        !self.batch && self.special_tier().is_none()
    }
}

/// One price variant of a model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PriceVariant {
    /// Condition keys and values, such as `("service_tier", "flex")`.
    pub(crate) when: Vec<(String, String)>,
    /// First UTC day on which the variant applies.
    pub(crate) start_date: Option<NaiveDate>,
    /// The rates that replace the standard ones.
    pub(crate) rates: Rates,
}

/// The rates that price one call: the standard entry with the matching variants on top.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Resolved<'a> {
    pub(crate) tokens: [Option<&'a Rate>; UNIT_COUNT],
    pub(crate) web_searches: Option<&'a Rate>,
    pub(crate) file_searches: Option<&'a Rate>,
    pub(crate) code_interpreter_sessions: Option<&'a Rate>,
    pub(crate) requests: Option<&'a Rate>,
}

impl<'a> Resolved<'a> {
    /// Returns the standard rates.
    pub(crate) fn standard(rates: &'a Rates) -> Self {
        Resolved {
            tokens: std::array::from_fn(|index| rates.tokens[index].as_ref()),
            web_searches: rates.web_searches.as_ref(),
            file_searches: rates.file_searches.as_ref(),
            code_interpreter_sessions: rates.code_interpreter_sessions.as_ref(),
            requests: rates.requests.as_ref(),
        }
    }

    /// Sets the web search, file search and code interpreter fees that are still missing to
    /// those of `fees`.
    pub(crate) fn fill_tool_fees(&mut self, fees: &'a Rates) {
        let slots = [
            (&mut self.web_searches, &fees.web_searches),
            (&mut self.file_searches, &fees.file_searches),
            (
                &mut self.code_interpreter_sessions,
                &fees.code_interpreter_sessions,
            ),
        ];
        for (slot, fee) in slots {
            if slot.is_none() {
                *slot = fee.as_ref();
            }
        }
    }

    /// Returns the rate of a token unit.
    pub(crate) fn token(&self, unit: Unit) -> Option<&'a Rate> {
        self.tokens[unit as usize]
    }

    /// Returns the bit mask of the token units that have a rate.
    pub(crate) fn priced_units(&self) -> u32 {
        self.tokens
            .iter()
            .enumerate()
            .filter(|(_, rate)| rate.is_some())
            .fold(0, |mask, (index, _)| mask | 1 << index)
    }
}

/// Applies the variants that `context` selects to the standard `rates`.
///
/// # Errors
///
/// Returns the reason when the context requests a service tier or batch processing that no
/// variant of the model in force at `at` covers.
pub(crate) fn resolve<'a>(
    rates: &'a Rates,
    variants: &'a [PriceVariant],
    context: &PriceContext,
    at: DateTime<Utc>,
    model: &str,
) -> Result<(Resolved<'a>, Option<String>), String> {
    let mut resolved = Resolved::standard(rates);
    if context.is_standard() {
        return Ok((resolved, None));
    }

    let tier = context.special_tier();
    let mut matching: Vec<&PriceVariant> = variants
        .iter()
        .filter(|variant| in_force(variant, at))
        .filter(|variant| matches(variant, tier.as_deref(), context.batch))
        .collect();
    if let (Some(tier), true) = (&tier, context.batch) {
        // A tier price and a batch price each assume the other dimension is standard, so
        // stacking them would invent a price. Only a variant that names both applies.
        matching.retain(|variant| has_condition(variant, "processing") && names_tier(variant));
        if matching.is_empty() {
            return Err(missing_variant(
                model,
                &format!("{} \"{tier}\" with batch processing", tier_word(context)),
                at,
            ));
        }
    }
    let covers = |key: &str| {
        matching
            .iter()
            .any(|variant| variant.when.iter().any(|(name, _)| name == key))
    };
    if let Some(tier) = &tier {
        if !covers("service_tier") && !covers("speed") {
            let known = special_tiers(variants.iter().filter(|variant| in_force(variant, at)));
            let missing = if known.is_empty() {
                format!(
                    "{} \"{tier}\", nor for any other service tier,",
                    tier_word(context)
                )
            } else {
                format!(
                    "{} \"{tier}\" (its service tiers are {})",
                    tier_word(context),
                    known.join(", ")
                )
            };
            return Err(missing_variant(model, &missing, at));
        }
    }
    if context.batch && !covers("processing") {
        return Err(missing_variant(model, "batch processing", at));
    }

    // Earlier variants win, so they are applied last.
    for variant in matching.iter().rev() {
        let slots = resolved.tokens.iter_mut().zip(&variant.rates.tokens);
        for (slot, rate) in slots {
            if let Some(rate) = rate {
                *slot = Some(rate);
            }
        }
        let counted = [
            (&mut resolved.web_searches, &variant.rates.web_searches),
            (&mut resolved.file_searches, &variant.rates.file_searches),
            (
                &mut resolved.code_interpreter_sessions,
                &variant.rates.code_interpreter_sessions,
            ),
        ];
        for (slot, rate) in counted {
            if let Some(rate) = rate {
                *slot = Some(rate);
            }
        }
        if let Some(rate) = &variant.rates.requests {
            resolved.requests = Some(rate);
        }
    }
    Ok((resolved, Some(describe(tier.as_deref(), context))))
}

/// Returns whether the variant applies on the day of `at`.
fn in_force(variant: &PriceVariant, at: DateTime<Utc>) -> bool {
    variant.start_date.is_none_or(|day| at.date_naive() >= day)
}

/// Returns the service tiers, other than the standard names, that `variants` price, sorted
/// and without repeats. These are the values of their `service_tier` and `speed`
/// conditions, and [`BATCH_TIER`] when a variant has the sole condition
/// `processing = "batch"`, because [`PriceContext::from_service_tier`] reads that tier name
/// as batch processing.
pub(crate) fn special_tiers<'a>(
    variants: impl IntoIterator<Item = &'a PriceVariant>,
) -> Vec<&'a str> {
    let mut tiers: Vec<&str> = Vec::new();
    for variant in variants {
        if is_batch_only(variant) {
            tiers.push(BATCH_TIER);
            continue;
        }
        let named = variant
            .when
            .iter()
            .filter(|(key, _)| key == "service_tier" || key == "speed")
            .map(|(_, value)| value.as_str())
            .filter(|tier| !STANDARD_TIERS.contains(&tier.to_ascii_lowercase().as_str()));
        tiers.extend(named);
    }
    tiers.sort_unstable();
    tiers.dedup();
    tiers
}

/// Returns whether the variant prices batch processing in the standard tier, which is what
/// a call in the tier `batch` selects.
fn is_batch_only(variant: &PriceVariant) -> bool {
    matches!(variant.when.as_slice(), [(key, value)] if key == "processing" && value == "batch")
}

/// Returns whether the variant has a condition on `key`.
fn has_condition(variant: &PriceVariant, key: &str) -> bool {
    variant.when.iter().any(|(name, _)| name == key)
}

/// Returns whether the variant is conditioned on a service tier or a speed.
fn names_tier(variant: &PriceVariant) -> bool {
    has_condition(variant, "service_tier") || has_condition(variant, "speed")
}

/// Returns whether every condition of the variant holds for the call.
fn matches(variant: &PriceVariant, tier: Option<&str>, batch: bool) -> bool {
    variant.when.iter().all(|(key, value)| match key.as_str() {
        // Anthropic's fast mode is reported as `usage.speed: "fast"` and priced through the
        // `fast` tier, so a `speed` condition matches that tier name.
        "service_tier" | "speed" => tier.is_some_and(|tier| tier.eq_ignore_ascii_case(value)),
        "processing" => batch && value == "batch",
        _ => false,
    })
}

fn describe(tier: Option<&str>, context: &PriceContext) -> String {
    let field = if context.from_speed {
        "speed"
    } else {
        "service_tier"
    };
    match (tier, context.batch) {
        (Some(tier), true) => format!("{field}={tier}, processing=batch"),
        (Some(tier), false) => format!("{field}={tier}"),
        (None, _) => "processing=batch".to_owned(),
    }
}

/// Returns what the context's `service_tier` is, for messages: a service tier or a speed.
fn tier_word(context: &PriceContext) -> &'static str {
    if context.from_speed {
        "speed"
    } else {
        "service tier"
    }
}

fn missing_variant(model: &str, what: &str, at: DateTime<Utc>) -> String {
    format!(
        "model \"{model}\" has no price for {what} in force on {} in the price table; add a \
         price override for it or quote the call at standard rates",
        at.date_naive()
    )
}

#[cfg(test)]
mod tests;
