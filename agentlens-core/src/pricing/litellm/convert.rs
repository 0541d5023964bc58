//! Conversion of LiteLLM cost fields into genai-prices price keys and price variants.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::pricing::rates::{
    Rate, Tier, TierRule, CODE_INTERPRETER_KEY, FILE_SEARCH_KEY, MAX_RATE,
};

/// Per-token keys and the genai-prices key each becomes, per million tokens. Each pair names
/// the same unit: LiteLLM bills audio, image and video tokens, cached audio and image reads
/// and reasoning tokens at these rates and the rest at the text rate, as genai-prices does.
pub(super) const TOKEN_KEYS: &[(&str, &str)] = &[
    ("input_cost_per_token", "input_mtok"),
    ("output_cost_per_token", "output_mtok"),
    ("cache_read_input_token_cost", "cache_read_mtok"),
    ("cache_creation_input_token_cost", "cache_write_mtok"),
    (
        "cache_creation_input_token_cost_above_1hr",
        "cache_write_1h_mtok",
    ),
    ("output_cost_per_reasoning_token", "output_reasoning_mtok"),
    ("input_cost_per_audio_token", "input_audio_mtok"),
    ("output_cost_per_audio_token", "output_audio_mtok"),
    ("cache_read_input_audio_token_cost", "cache_audio_read_mtok"),
    (
        "cache_creation_input_audio_token_cost",
        "cache_audio_write_mtok",
    ),
    ("input_cost_per_image_token", "input_image_mtok"),
    ("output_cost_per_image_token", "output_image_mtok"),
    ("cache_read_input_image_token_cost", "cache_image_read_mtok"),
    ("input_cost_per_video_token", "input_video_mtok"),
    ("output_cost_per_video_token", "output_video_mtok"),
];

/// Built-in tool fees, the price key each becomes and the factor that turns the LiteLLM value
/// into dollars per thousand calls.
const TOOL_KEYS: &[(&str, &str, i64)] = &[
    ("file_search_cost_per_1k_calls", FILE_SEARCH_KEY, 1),
    (
        "code_interpreter_cost_per_session",
        CODE_INTERPRETER_KEY,
        1000,
    ),
];

/// Key suffixes of price variants and the request context each applies to, in the order
/// the variants are listed.
pub(super) const VARIANTS: &[(&str, &str, &str)] = &[
    ("flex", "service_tier", "flex"),
    ("priority", "service_tier", "priority"),
    ("batches", "processing", "batch"),
];

/// Rates of one price variant: the request context it applies to and its partial rates,
/// which replace the standard rate of the same key.
pub(super) type VariantRates = (BTreeMap<String, String>, BTreeMap<String, Rate>);

/// Returns the standard rates of an entry by genai-prices price key.
pub(super) fn convert_rates(entry: &Value) -> BTreeMap<String, Rate> {
    let Some(object) = entry.as_object() else {
        return BTreeMap::new();
    };
    let mut rates = token_rates(object, None);
    add_range_tiers(&mut rates, object.get("tiered_pricing"));

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
    for (source, target, factor) in TOOL_KEYS {
        if let Some(rate) = scaled(entry.get(*source), *factor) {
            rates.insert((*target).to_owned(), Rate::Flat(rate));
        }
    }
    rates
}

/// Returns only the built-in tool fees of `rates`.
pub(super) fn tool_fees(rates: &BTreeMap<String, Rate>) -> BTreeMap<String, Rate> {
    TOOL_KEYS
        .iter()
        .filter_map(|(_, target, _)| Some(((*target).to_owned(), rates.get(*target)?.clone())))
        .collect()
}

/// Returns the `_flex`, `_priority` and `_batches` rates of an entry as price variants.
pub(super) fn convert_variants(entry: &Value) -> Vec<VariantRates> {
    let Some(object) = entry.as_object() else {
        return Vec::new();
    };
    VARIANTS
        .iter()
        .filter_map(|(suffix, name, value)| {
            let rates = token_rates(object, Some(suffix));
            let when = BTreeMap::from([((*name).to_owned(), (*value).to_owned())]);
            (!rates.is_empty()).then_some((when, rates))
        })
        .collect()
}

/// Splits a cost key into its genai-prices price key, its prompt-size threshold and its
/// variant suffix: `input_cost_per_token_above_272k_tokens_priority` is
/// `("input_mtok", Some(272_000), Some("priority"))`.
fn parse_key(key: &str) -> Option<(&'static str, Option<u64>, Option<&'static str>)> {
    let (rest, variant) = VARIANTS
        .iter()
        .find_map(|(suffix, _, _)| {
            let rest = key.strip_suffix(suffix)?.strip_suffix('_')?;
            Some((rest, Some(*suffix)))
        })
        .unwrap_or((key, None));
    let threshold = rest
        .strip_suffix("k_tokens")
        .and_then(|head| head.rsplit_once("_above_"))
        .and_then(|(base, thousands)| Some((base, thousands.parse::<u64>().ok()? * 1000)));
    let (base, start) = match threshold {
        Some((base, start)) => (base, Some(start)),
        None => (rest, None),
    };
    let target = TOKEN_KEYS
        .iter()
        .find(|(source, _)| *source == base)
        .map(|(_, target)| *target)?;
    Some((target, start, variant))
}

/// Returns the per-token rates of one variant (`None` for standard prices), with the
/// prompt-size tiers of its `*_above_<N>k_tokens` keys.
fn token_rates(object: &Map<String, Value>, variant: Option<&str>) -> BTreeMap<String, Rate> {
    let mut rates = BTreeMap::new();
    let mut tiers = Vec::new();
    for (key, value) in object {
        let Some((target, start, suffix)) = parse_key(key) else {
            continue;
        };
        let Some(price) = scaled(Some(value), 1_000_000) else {
            continue;
        };
        if suffix != variant {
            continue;
        }
        match start {
            None => {
                rates.insert(target.to_owned(), Rate::Flat(price));
            }
            Some(start) => tiers.push((target, start, price)),
        }
    }
    for (target, start, price) in tiers {
        add_tier(&mut rates, target, start, price);
    }
    rates
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

/// Adds a tier to the rate of `key`; a tier without a base rate is dropped.
fn add_tier(rates: &mut BTreeMap<String, Rate>, key: &str, start: u64, price: Decimal) {
    let Some(current) = rates.get_mut(key) else {
        return;
    };
    if let Rate::Flat(base) = current {
        // LiteLLM compares its `prompt_tokens`, cache included, with `> N`, and bills the
        // whole request at the tier rate, which is the default rule.
        *current = Rate::Tiered {
            base: *base,
            tiers: Vec::new(),
            rule: TierRule::default(),
        };
    }
    if let Rate::Tiered { tiers, .. } = current {
        tiers.push(Tier { start, price });
        tiers.sort_by_key(|tier| tier.start);
    }
}

/// Multiplies a JSON number by `factor` and rounds away binary float noise. Returns `None`
/// for a number that is not finite, below zero, or above [`MAX_RATE`] once multiplied.
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
        .checked_mul(Decimal::from(factor))
        .filter(|exact| *exact <= MAX_RATE)?;
    if exact.is_zero() {
        return Some(Decimal::ZERO);
    }
    let tolerance = exact.abs() * Decimal::new(1, 12);
    let rounded = (1..=15)
        .filter_map(|digits| exact.round_sf(digits))
        .find(|rounded| (*rounded - exact).abs() <= tolerance);
    Some(rounded.unwrap_or(exact).normalize())
}

/// Names the first invalid field of an entry: an entry that is not an object, a missing or
/// non-string `litellm_provider`, or a cost field that is neither `null` nor a finite
/// number of at least zero. Returns `None` for a valid entry.
pub(super) fn invalid_field(entry: &Value) -> Option<String> {
    let Some(object) = entry.as_object() else {
        return Some(format!("the entry is {entry}, expected a JSON object"));
    };
    match object.get("litellm_provider") {
        Some(Value::String(_)) => {}
        None => return Some("missing litellm_provider".to_owned()),
        Some(other) => return Some(format!("litellm_provider is {other}, expected a string")),
    }
    object
        .iter()
        .filter(|(_, value)| !value.is_null())
        .filter_map(|(key, value)| Some((key, value, cost_key_factor(key)?)))
        .find(|(_, value, factor)| scaled(Some(value), *factor).is_none())
        .map(|(key, value, factor)| {
            let max = MAX_RATE / Decimal::from(factor);
            format!("{key} is {value}, expected a number from 0 to {max}")
        })
}

/// Returns the factor that turns the value of a LiteLLM cost field into a rate per million
/// tokens or per thousand units, or `None` for a key that is not a cost field.
fn cost_key_factor(key: &str) -> Option<i64> {
    if parse_key(key).is_some() {
        return Some(1_000_000);
    }
    if let Some((_, _, factor)) = TOOL_KEYS.iter().find(|(source, _, _)| *source == key) {
        return Some(*factor);
    }
    ["input_cost_per_query", "input_cost_per_request"]
        .contains(&key)
        .then_some(1000)
}

/// Returns true when every standard and variant rate of an entry is zero and neither the
/// model id (ending in `:free` or `-free`) nor the entry's `metadata.notes` state the model is
/// free. LiteLLM writes $0 for models it has no price for, and such a model must stay
/// unpriced rather than cost $0.
pub(super) fn is_placeholder(model: &str, entry: &Value, rates: &BTreeMap<String, Rate>) -> bool {
    let variants = convert_variants(entry);
    let mut all_rates = rates
        .values()
        .chain(variants.iter().flat_map(|(_, rates)| rates.values()));
    if !all_rates.all(is_zero) {
        return false;
    }

    let lower = model.to_lowercase();
    let named_free = lower.ends_with(":free") || lower.ends_with("-free");
    let notes = entry.pointer("/metadata/notes").and_then(Value::as_str);
    !(named_free || notes.is_some_and(notes_state_free))
}

fn is_zero(rate: &Rate) -> bool {
    match rate {
        Rate::Flat(value) => value.is_zero(),
        Rate::Tiered { base, tiers, .. } => {
            base.is_zero() && tiers.iter().all(|tier| tier.price.is_zero())
        }
    }
}

/// Returns true when the text has the word `free`, as `\bfree\b` matches it.
fn notes_state_free(notes: &str) -> bool {
    notes
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word.eq_ignore_ascii_case("free"))
}

/// Returns true when the rates include one that a call is always billed by: input, output,
/// a per-request fee or a web search fee.
pub(super) fn has_billable_rate(rates: &BTreeMap<String, Rate>) -> bool {
    [
        "input_mtok",
        "output_mtok",
        "requests_kcount",
        "web_searches_kcount",
    ]
    .iter()
    .any(|key| rates.contains_key(*key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(text: &str) -> Rate {
        Rate::Flat(text.parse().unwrap())
    }

    #[test]
    fn cost_above_maximum_rate_is_invalid() {
        let entry = serde_json::json!({"litellm_provider": "openai", "input_cost_per_token": 2.0});
        assert_eq!(
            invalid_field(&entry).unwrap(),
            "input_cost_per_token is 2.0, expected a number from 0 to 1"
        );
        let entry = serde_json::json!({"litellm_provider": "openai",
            "code_interpreter_cost_per_session": 1000.5});
        assert_eq!(
            invalid_field(&entry).unwrap(),
            "code_interpreter_cost_per_session is 1000.5, expected a number from 0 to 1000"
        );
        let entry = serde_json::json!({"litellm_provider": "openai", "input_cost_per_token": 1.0});
        assert_eq!(invalid_field(&entry), None);
    }

    #[test]
    fn float_noise_rounds_to_short_decimal() {
        let noisy = serde_json::json!(7.999999999999999e-07);
        assert_eq!(scaled(Some(&noisy), 1_000_000).unwrap().to_string(), "0.8");
        let plain = serde_json::json!(1.25e-06);
        assert_eq!(scaled(Some(&plain), 1_000_000).unwrap().to_string(), "1.25");
    }

    #[test]
    fn modality_and_reasoning_keys_map_to_genai_names() {
        let cases = [
            ("input_cost_per_audio_token", "input_audio_mtok"),
            ("output_cost_per_audio_token", "output_audio_mtok"),
            ("cache_read_input_audio_token_cost", "cache_audio_read_mtok"),
            (
                "cache_creation_input_audio_token_cost",
                "cache_audio_write_mtok",
            ),
            ("input_cost_per_image_token", "input_image_mtok"),
            ("output_cost_per_image_token", "output_image_mtok"),
            ("cache_read_input_image_token_cost", "cache_image_read_mtok"),
            ("input_cost_per_video_token", "input_video_mtok"),
            ("output_cost_per_video_token", "output_video_mtok"),
            ("output_cost_per_reasoning_token", "output_reasoning_mtok"),
        ];
        for (source, target) in cases {
            let entry = serde_json::json!({ "input_cost_per_token": 1e-06, source: 4e-05 });
            let rates = convert_rates(&entry);
            assert_eq!(rates.get(target), Some(&flat("40")), "{source}");
            assert_eq!(rates.get("input_mtok"), Some(&flat("1")), "{source}");
        }
    }

    #[test]
    fn unknown_units_are_left_out() {
        let entry = serde_json::json!({
            "input_cost_per_token": 1e-06,
            "input_cost_per_token_ultrafast": 2e-06,
            "cache_creation_input_token_cost_above_12hr": 3e-06,
            "input_cost_per_character": 1e-06,
        });
        let rates = convert_rates(&entry);
        assert_eq!(rates.len(), 1);
        assert!(convert_variants(&entry).is_empty());
    }

    #[test]
    fn invalid_cost_field_is_named() {
        let text = serde_json::json!({"litellm_provider": "openai", "input_cost_per_token": "abc"});
        let negative = serde_json::json!({"litellm_provider": "openai",
            "input_cost_per_token": 1e-06, "output_cost_per_token_flex": -1.0});
        let valid = serde_json::json!({"litellm_provider": "openai",
            "input_cost_per_token": 1e-06, "output_cost_per_token": null, "mode": "chat"});

        assert_eq!(
            invalid_field(&text).as_deref(),
            Some("input_cost_per_token is \"abc\", expected a number from 0 to 1")
        );
        assert_eq!(
            invalid_field(&negative).as_deref(),
            Some("output_cost_per_token_flex is -1.0, expected a number from 0 to 1")
        );
        assert_eq!(
            invalid_field(&serde_json::json!({"input_cost_per_token": 1e-06})).as_deref(),
            Some("missing litellm_provider")
        );
        assert_eq!(invalid_field(&valid), None);
    }

    #[test]
    fn tool_fees_become_per_thousand_rates() {
        let entry = serde_json::json!({
            "input_cost_per_token": 1e-06,
            "file_search_cost_per_1k_calls": 2.5,
            "code_interpreter_cost_per_session": 0.03,
        });

        let rates = convert_rates(&entry);

        assert_eq!(rates.get("storage_searches_kcount"), Some(&flat("2.5")));
        assert_eq!(
            rates.get("code_interpreter_sessions_kcount"),
            Some(&flat("30"))
        );
        assert_eq!(tool_fees(&rates).len(), 2);
    }

    #[test]
    fn variant_suffixes_become_price_variants() {
        let entry = serde_json::json!({
            "input_cost_per_token": 1.25e-06,
            "input_cost_per_token_flex": 6.25e-07,
            "output_cost_per_token_flex": 5e-06,
            "input_cost_per_token_priority": 2.5e-06,
            "cache_read_input_token_cost_priority": 2.5e-07,
            "input_cost_per_audio_token_batches": 5e-07,
            "output_cost_per_token_batches": 5e-06,
        });
        let variants = convert_variants(&entry);
        let contexts: Vec<Vec<(&str, &str)>> = variants
            .iter()
            .map(|(when, _)| when.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            .collect();
        assert_eq!(
            contexts,
            [
                vec![("service_tier", "flex")],
                vec![("service_tier", "priority")],
                vec![("processing", "batch")],
            ]
        );
        assert_eq!(variants[0].1.get("input_mtok"), Some(&flat("0.625")));
        assert_eq!(variants[0].1.get("output_mtok"), Some(&flat("5")));
        assert_eq!(variants[1].1.get("cache_read_mtok"), Some(&flat("0.25")));
        assert_eq!(variants[2].1.get("input_audio_mtok"), Some(&flat("0.5")));
        assert_eq!(convert_rates(&entry).len(), 1, "variant keys leaked");
    }

    #[test]
    fn threshold_keys_tier_their_own_variant() {
        let entry = serde_json::json!({
            "input_cost_per_token": 1e-06,
            "input_cost_per_token_above_272k_tokens": 2e-06,
            "input_cost_per_token_priority": 3e-06,
            "input_cost_per_token_above_272k_tokens_priority": 6e-06,
            "cache_creation_input_token_cost_above_1hr": 2e-06,
        });
        let standard = convert_rates(&entry);
        let tiered = |base: &str, price: &str| Rate::Tiered {
            base: base.parse().unwrap(),
            tiers: vec![Tier {
                start: 272_000,
                price: price.parse().unwrap(),
            }],
            rule: TierRule::default(),
        };
        assert_eq!(standard.get("input_mtok"), Some(&tiered("1", "2")));
        assert_eq!(standard.get("cache_write_1h_mtok"), Some(&flat("2")));
        let variants = convert_variants(&entry);
        assert_eq!(variants[0].1.get("input_mtok"), Some(&tiered("3", "6")));
    }
}
