//! Reading a price file in LiteLLM's layout (`model_prices_and_context_window.json`).
//!
//! The rules are those of `scripts/litellm_prices.py`, which merges the same layout into the
//! embedded table, so a change to one belongs in the other. `litellm_provider` picks the
//! provider, folded onto genai-prices ids (`bedrock` is `aws`, `vertex_ai-*` is `google`). The
//! key without its route segment is the model id. Keys with a region, commitment or image-size
//! segment are skipped. Per-token costs become rates per million tokens, with binary float
//! noise rounded away.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::matching::Matcher;
use super::rates::{PriceEntry, Rate, Rates, Tier};
use super::table::{Model, PriceTable, PriceTableError, Provider};

/// LiteLLM `litellm_provider` values that map to a genai-prices provider id.
const PROVIDER_IDS: &[(&str, &str)] = &[
    ("azure_text", "azure"),
    ("bedrock", "aws"),
    ("bedrock_converse", "aws"),
    ("codestral", "mistral"),
    ("cohere_chat", "cohere"),
    ("fireworks_ai", "fireworks"),
    ("fireworks_ai-embedding-models", "fireworks"),
    ("gemini", "google"),
    ("meta_llama", "meta"),
    ("moonshot", "moonshotai"),
    ("palm", "google"),
    ("text-completion-codestral", "mistral"),
    ("text-completion-openai", "openai"),
    ("together_ai", "together"),
    ("vertex_ai", "google"),
    ("voyage", "voyageai"),
    ("xai", "x-ai"),
];

/// Extra leading key segments that name a route, by `litellm_provider`.
const ROUTE_SEGMENTS: &[(&str, &str)] = &[
    ("bedrock_converse", "bedrock"),
    ("fireworks_ai-embedding-models", "fireworks_ai"),
    ("text-completion-codestral", "codestral"),
    ("cohere_chat", "cohere"),
    ("azure_text", "azure"),
];

/// Routers whose model ids keep the vendor prefix, so the last segment is no alias.
const ROUTERS: &[&str] = &["openrouter", "vercel_ai_gateway"];

/// Per-token keys and the genai-prices key each becomes, per million tokens.
const TOKEN_KEYS: &[(&str, &str)] = &[
    ("input_cost_per_token", "input_mtok"),
    ("output_cost_per_token", "output_mtok"),
    ("cache_read_input_token_cost", "cache_read_mtok"),
    ("cache_creation_input_token_cost", "cache_write_mtok"),
    (
        "cache_creation_input_token_cost_above_1hr",
        "cache_write_1h_mtok",
    ),
    ("output_cost_per_reasoning_token", "output_reasoning_mtok"),
];

impl PriceTable {
    /// Parses a price file in LiteLLM's JSON layout into a table of its own.
    ///
    /// The table's [`source`](PriceTable::source) is `litellm json`, its version hashes the
    /// text, and its generation day is the day of the call, because the file records none.
    /// Entries without a rate that [`Usage`](crate::usage::Usage) can bill (per-image or
    /// per-second prices) are left out.
    ///
    /// # Errors
    ///
    /// Returns [`PriceTableError::InvalidJson`] when the text is not a JSON object of entries.
    pub fn from_litellm_json(text: &str) -> Result<PriceTable, PriceTableError> {
        let entries: Map<String, Value> = serde_json::from_str(text)
            .map_err(|error| PriceTableError::InvalidJson(error.to_string()))?;
        let source: Arc<str> = Arc::from("litellm json");
        let mut providers: Vec<Provider> = Vec::new();
        let mut positions: HashMap<String, usize> = HashMap::new();
        let mut seen: HashMap<(String, String), ()> = HashMap::new();

        for (key, entry) in &entries {
            let Some((provider_id, model_id)) = provider_and_model(key, entry) else {
                continue;
            };
            let rates = convert_rates(entry);
            if !has_billable_rate(&rates) {
                continue;
            }
            if seen
                .insert((provider_id.clone(), model_id.to_lowercase()), ())
                .is_some()
            {
                continue;
            }
            let index = *positions.entry(provider_id.clone()).or_insert_with(|| {
                providers.push(new_provider(&provider_id));
                providers.len() - 1
            });
            providers[index].models.push(Model {
                matcher: aliases(&provider_id, &model_id),
                id: model_id,
                entries: vec![PriceEntry {
                    start_date: None,
                    time_of_day: None,
                    rates: Rates::from_keys(rates),
                }],
                source: Arc::clone(&source),
            });
        }

        let digest = Sha256::digest(text.as_bytes());
        Ok(PriceTable::from_parts(
            format!("pv_{}", &hex::encode(digest)[..12]),
            source.to_string(),
            Utc::now().date_naive(),
            providers,
        ))
    }
}

/// Maps a key to `(provider id, model id)`, or `None` for a skipped key.
fn provider_and_model(key: &str, entry: &Value) -> Option<(String, String)> {
    let route = entry.get("litellm_provider")?.as_str()?;
    if route.contains(' ') {
        return None;
    }
    let family = if route.starts_with("vertex_ai-") {
        "vertex_ai"
    } else {
        route
    };
    let provider = lookup(PROVIDER_IDS, family).unwrap_or(family).to_owned();

    let mut segments: Vec<&str> = key.split('/').collect();
    let extra_route = lookup(ROUTE_SEGMENTS, route);
    let is_route =
        |segment: &str| segment == route || segment == family || Some(segment) == extra_route;
    if segments.len() > 1 && is_route(segments[0]) {
        segments.remove(0);
    }
    let (_, path) = segments.split_last()?;
    if path.iter().any(|segment| is_skipped_segment(segment)) {
        return None;
    }
    let model = segments.join("/").trim().to_owned();
    (!model.is_empty()).then_some((provider, model))
}

fn lookup(pairs: &[(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    pairs
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, value)| *value)
}

/// Returns true for a region (`us-east-1`), data zone, commitment term or image size segment.
fn is_skipped_segment(segment: &str) -> bool {
    const WORDS: &[&str] = &[
        "*",
        "eu",
        "us",
        "global",
        "global-standard",
        "data-zone",
        "max-x-max",
        "low",
        "medium",
        "high",
        "hd",
        "standard",
    ];
    if WORDS.contains(&segment) {
        return true;
    }
    let parts: Vec<&str> = segment.split('-').collect();
    let is_number = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let is_word = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [count, "month", "commitment"] | [count, "steps"] => is_number(count),
        [width, "x", height] => is_number(width) && is_number(height),
        [area, place, number] => {
            area.len() == 2 && is_word(area) && is_word(place) && is_number(number)
        }
        [area, "gov", place, number] => area.len() == 2 && is_word(place) && is_number(number),
        _ => false,
    }
}

fn convert_rates(entry: &Value) -> BTreeMap<String, Rate> {
    let mut rates = BTreeMap::new();
    for (source, target) in TOKEN_KEYS {
        if let Some(rate) = scaled(entry.get(*source), 1_000_000) {
            rates.insert((*target).to_owned(), Rate::Flat(rate));
        }
    }
    if let Some(object) = entry.as_object() {
        for (key, value) in object {
            add_threshold_tier(&mut rates, key, value);
        }
        add_range_tiers(&mut rates, object.get("tiered_pricing"));
    }

    let search = entry.get("search_context_cost_per_query");
    let medium = search.and_then(|search| search.get("search_context_size_medium"));
    if let Some(rate) = scaled(medium, 1000) {
        // LiteLLM bills the medium search context when the request does not choose one.
        rates.insert("web_searches_kcount".to_owned(), Rate::Flat(rate));
    }
    for fee in ["input_cost_per_query", "input_cost_per_request"] {
        if let Some(rate) = scaled(entry.get(fee), 1000) {
            rates.insert("requests_kcount".to_owned(), Rate::Flat(rate));
        }
    }
    rates
}

/// Adds a tier from a key such as `input_cost_per_token_above_200k_tokens`.
fn add_threshold_tier(rates: &mut BTreeMap<String, Rate>, key: &str, value: &Value) {
    let Some(rest) = key.strip_suffix("k_tokens") else {
        return;
    };
    let Some((base_key, thousands)) = rest.rsplit_once("_above_") else {
        return;
    };
    let Some((_, target)) = TOKEN_KEYS.iter().find(|(source, _)| *source == base_key) else {
        return;
    };
    let (Ok(thousands), Some(price)) = (thousands.parse::<u64>(), scaled(Some(value), 1_000_000))
    else {
        return;
    };
    add_tier(rates, target, thousands * 1000, price);
}

/// Converts `tiered_pricing` ranges (`[start, end)` prompt sizes) into tiered rates.
fn add_range_tiers(rates: &mut BTreeMap<String, Rate>, tiers: Option<&Value>) {
    let Some(tiers) = tiers
        .and_then(Value::as_array)
        .filter(|tiers| !tiers.is_empty())
    else {
        return;
    };
    let start = |tier: &Value| {
        let range = tier.get("range").and_then(Value::as_array);
        let first = range
            .and_then(|range| range.first())
            .and_then(Value::as_f64);
        first.unwrap_or(0.0) as u64
    };
    let mut ordered: Vec<&Value> = tiers.iter().collect();
    ordered.sort_by_key(|tier| start(tier));
    for (source, target) in [
        ("input_cost_per_token", "input_mtok"),
        ("output_cost_per_token", "output_mtok"),
    ] {
        let prices: Option<Vec<Decimal>> = ordered
            .iter()
            .map(|tier| scaled(tier.get(source), 1_000_000))
            .collect();
        let Some(prices) = prices else {
            continue;
        };
        rates.insert(target.to_owned(), Rate::Flat(prices[0]));
        for (tier, price) in ordered.iter().zip(prices).skip(1) {
            add_tier(rates, target, start(tier), price);
        }
    }
}

fn add_tier(rates: &mut BTreeMap<String, Rate>, key: &str, start: u64, price: Decimal) {
    let Some(current) = rates.get_mut(key) else {
        return;
    };
    if let Rate::Flat(base) = current {
        *current = Rate::Tiered {
            base: *base,
            tiers: Vec::new(),
        };
    }
    if let Rate::Tiered { tiers, .. } = current {
        tiers.push(Tier { start, price });
        tiers.sort_by_key(|tier| tier.start);
    }
}

/// Multiplies a JSON number by `factor` and rounds away binary float noise.
///
/// The number's shortest round-trip text is read as a decimal. The product is rounded to the
/// fewest significant digits (at most 15) within one part in 10^12 of it, as
/// `scripts/litellm_prices.py` does, so `7.999999999999999e-07` per token is 0.8 per million.
fn scaled(value: Option<&Value>, factor: i64) -> Option<Decimal> {
    let number = value?
        .as_f64()
        .filter(|number| number.is_finite() && *number >= 0.0)?;
    let exact = Decimal::from_str(&number.to_string())
        .ok()?
        .checked_mul(Decimal::from(factor))?;
    if exact.is_zero() {
        return Some(Decimal::ZERO);
    }
    let tolerance = exact.abs() * Decimal::new(1, 12);
    let rounded = (1..=15)
        .filter_map(|digits| exact.round_sf(digits))
        .find(|rounded| (*rounded - exact).abs() <= tolerance);
    Some(rounded.unwrap_or(exact).normalize())
}

fn has_billable_rate(rates: &BTreeMap<String, Rate>) -> bool {
    [
        "input_mtok",
        "output_mtok",
        "requests_kcount",
        "web_searches_kcount",
    ]
    .iter()
    .any(|key| rates.contains_key(*key))
}

fn new_provider(id: &str) -> Provider {
    // Every LiteLLM route name that folds onto this id finds the provider.
    let mut names: Vec<Matcher> = PROVIDER_IDS
        .iter()
        .filter(|(_, target)| *target == id)
        .map(|(name, _)| Matcher::Equals((*name).to_owned()))
        .collect();
    if id == "google" {
        names.push(Matcher::Contains("vertex".to_owned()));
    }
    Provider {
        id: id.to_owned(),
        provider_match: (!names.is_empty()).then_some(Matcher::Or(names)),
        model_match: None,
        fallbacks: Vec::new(),
        models: Vec::new(),
    }
}

fn aliases(provider: &str, model: &str) -> Matcher {
    let lowered = model.to_lowercase();
    let last = lowered.rsplit('/').next().unwrap_or(&lowered).to_owned();
    if last == lowered || ROUTERS.contains(&provider) {
        return Matcher::Equals(lowered);
    }
    Matcher::Or(vec![Matcher::Equals(lowered), Matcher::Equals(last)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_noise_rounds_to_short_decimal() {
        let noisy = serde_json::json!(7.999999999999999e-07);
        assert_eq!(scaled(Some(&noisy), 1_000_000).unwrap().to_string(), "0.8");
        let plain = serde_json::json!(1.25e-06);
        assert_eq!(scaled(Some(&plain), 1_000_000).unwrap().to_string(), "1.25");
    }

    #[test]
    fn region_and_commitment_keys_are_skipped() {
        let entry = serde_json::json!({"litellm_provider": "bedrock"});
        let skipped = [
            "bedrock/us-east-1/meta.llama3-8b-instruct-v1:0",
            "bedrock/us-gov-west-1/meta.llama3-8b-instruct-v1:0",
            "bedrock/*/1-month-commitment/cohere.command-text-v14",
        ];
        for key in skipped {
            assert_eq!(provider_and_model(key, &entry), None, "{key}");
        }
        let kept = provider_and_model("bedrock/us.anthropic.claude-3-haiku-v1:0", &entry);
        assert_eq!(
            kept,
            Some(("aws".into(), "us.anthropic.claude-3-haiku-v1:0".into()))
        );
    }

    #[test]
    fn vertex_families_fold_onto_google() {
        let entry = serde_json::json!({"litellm_provider": "vertex_ai-mistral_models"});
        let mapped = provider_and_model("vertex_ai/mistral-large@2407", &entry);
        assert_eq!(mapped, Some(("google".into(), "mistral-large@2407".into())));
    }
}
