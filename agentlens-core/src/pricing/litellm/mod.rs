//! Reading a price file in LiteLLM's layout (`model_prices_and_context_window.json`).
//!
//! The rules are those of `scripts/litellm_prices.py`, which merges the same layout into the
//! embedded table, so a change to one belongs in the other:
//!
//! - [`keys`]: `litellm_provider` picks the provider, with the routes of one vendor folded
//!   onto one id (`bedrock_mantle` is `aws`, `vertex_ai-*` is `google`, `azure_ai` is
//!   `azure`). The key without its route segment is the model id. Keys with a region,
//!   commitment or image-size segment are skipped. When two keys give the same provider and
//!   model, the first wins, and entries of secondary endpoints are read last.
//! - [`convert`]: per-token costs become rates per million tokens under the genai-prices
//!   price keys, audio, image, video and reasoning units included, with binary float noise
//!   rounded away. `*_above_<N>k_tokens` keys become prompt-size tiers, and the `_flex`,
//!   `_priority` and `_batches` forms become price variants. File search and code interpreter
//!   fees become `storage_searches_kcount` and `code_interpreter_sessions_kcount`. A
//!   `<route>/container` entry contains the code interpreter fee of its whole provider, so that
//!   fee applies to every model of the provider without one of its own.
//! - Entries whose rates are all zero are $0 placeholders for models LiteLLM has no price
//!   for, and are left out so those models stay unpriced. An entry whose model id ends in
//!   `:free` or `-free`, or whose `metadata.notes` state it is free, keeps its zero rates.
//!
//! NOTE: an entry with an invalid cost field (a string or a negative number) is left out
//! whole here and reported, while `scripts/litellm_prices.py` ignores only that field.

mod convert;
mod keys;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::matching::Matcher;
use super::rates::{PriceEntry, Rates};
use super::table::{Model, PriceTable, PriceTableError, Provider};
use super::variants::PriceVariant;

/// Routers whose model ids keep the vendor prefix, so the last segment is no alias.
const ROUTERS: &[&str] = &["openrouter", "vercel_ai_gateway"];

/// Model id of the entries that carry a provider's tool fees (`openai/container`).
const CONTAINER_MODEL: &str = "container";

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
        Self::from_litellm_json_with_skips(text).map(|(table, _)| table)
    }

    /// Parses a price file in LiteLLM's layout, as [`PriceTable::from_litellm_json`] does,
    /// and also returns the entries it left out.
    ///
    /// An entry with an invalid field is left out whole, so a model never gets only part of
    /// its prices. Invalid are an entry that is not an object, a missing `litellm_provider`,
    /// and a cost field that is not a number of at least zero.
    ///
    /// # Errors
    ///
    /// Returns [`PriceTableError::InvalidJson`] when the text is not a JSON object of entries.
    pub fn from_litellm_json_with_skips(
        text: &str,
    ) -> Result<(PriceTable, LiteLlmSkips), PriceTableError> {
        let entries: Map<String, Value> = serde_json::from_str(text)
            .map_err(|error| PriceTableError::InvalidJson(error.to_string()))?;
        let mut skips = LiteLlmSkips::default();
        let source: Arc<str> = Arc::from("litellm json");
        let mut providers: Vec<Provider> = Vec::new();
        let mut positions: HashMap<String, usize> = HashMap::new();
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut provider_fees: HashMap<String, Rates> = HashMap::new();

        for (key, entry) in ordered_entries(&entries) {
            // LiteLLM's documentation of the fields, whose values are descriptions.
            if key == "sample_spec" {
                skips.deliberate += 1;
                continue;
            }
            if let Some(reason) = convert::invalid_field(entry) {
                skips.invalid.push(InvalidLiteLlmEntry {
                    key: key.clone(),
                    reason,
                });
                continue;
            }
            let Some((provider_id, model_id)) = keys::provider_and_model(key, entry) else {
                skips.deliberate += 1;
                continue;
            };
            let rates = convert::convert_rates(entry);
            if model_id == CONTAINER_MODEL {
                let fees = convert::tool_fees(&rates);
                if !fees.is_empty() {
                    provider_fees
                        .entry(provider_id)
                        .or_insert_with(|| Rates::from_keys(fees));
                }
                continue;
            }
            if !convert::has_billable_rate(&rates)
                || convert::is_placeholder(&model_id, entry, &rates)
                || !seen.insert((provider_id.clone(), model_id.to_lowercase()))
            {
                skips.deliberate += 1;
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
                variants: variants(entry),
                source: Arc::clone(&source),
            });
        }

        for provider in &mut providers {
            if let Some(fees) = provider_fees.remove(&provider.id) {
                provider.tool_fees = fees;
            }
        }

        let digest = Sha256::digest(text.as_bytes());
        let table = PriceTable::from_parts(
            format!("pv_{}", &hex::encode(digest)[..12]),
            source.to_string(),
            Utc::now().date_naive(),
            providers,
        );
        Ok((table, skips))
    }
}

/// Entries of a LiteLLM price file that were not read into the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiteLlmSkips {
    /// Entries left out by the reading rules: keys with a region, commitment or image-size
    /// segment, entries without a per-token, per-request or web search rate (such as
    /// image and audio-second models), $0 placeholders, repeats of a model already read, and the
    /// `sample_spec` entry.
    pub deliberate: usize,
    /// Entries left out because a field is invalid, in the order they were read.
    pub invalid: Vec<InvalidLiteLlmEntry>,
}

impl LiteLlmSkips {
    /// Returns the number of entries left out for any reason.
    pub fn total(&self) -> usize {
        self.deliberate + self.invalid.len()
    }
}

/// One LiteLLM entry with an invalid field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidLiteLlmEntry {
    /// The entry's key, such as `gpt-4o`.
    pub key: String,
    /// Reason the entry is invalid, such as
    /// `input_cost_per_token is "abc", expected a number from 0 to 1`.
    pub reason: String,
}

/// Returns the entries in file order, those of secondary routes last.
fn ordered_entries(entries: &Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
    let main = entries
        .iter()
        .filter(|(_, entry)| !keys::is_secondary(entry));
    let secondary = entries
        .iter()
        .filter(|(_, entry)| keys::is_secondary(entry));
    main.chain(secondary)
}

fn variants(entry: &Value) -> Vec<PriceVariant> {
    convert::convert_variants(entry)
        .into_iter()
        .map(|(when, rates)| PriceVariant {
            when: when.into_iter().collect(),
            start_date: None,
            rates: Rates::from_keys(rates),
        })
        .collect()
}

fn new_provider(id: &str) -> Provider {
    // Every LiteLLM route name that folds onto this id finds the provider.
    let mut names: Vec<Matcher> = keys::PROVIDER_IDS
        .iter()
        .filter(|(_, target)| *target == id)
        .map(|(name, _)| Matcher::Equals((*name).to_owned()))
        .collect();
    if id == "google" {
        names.push(Matcher::Contains("vertex".to_owned()));
    }
    if id == "azure" {
        // The spellings `scripts/build_prices.py` adds for Azure OpenAI: `azure_openai` and
        // OpenTelemetry's `azure.ai.openai` and `az.ai.openai`.
        names.push(Matcher::Contains("azure".to_owned()));
        names.push(Matcher::StartsWith("az.ai.".to_owned()));
    }
    Provider {
        id: id.to_owned(),
        provider_match: (!names.is_empty()).then_some(Matcher::Or(names)),
        model_match: None,
        fallbacks: Vec::new(),
        models: Vec::new(),
        tool_fees: Rates::default(),
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
    use serde_json::{json, Value};

    use super::*;
    use crate::pricing::PriceOutcome;

    /// Real entries of litellm 1.110.2, cost fields only.
    const SAMPLE: &str = include_str!("testdata/sample.json");
    /// The output of `python3 scripts/litellm_prices.py testdata/sample.json`.
    const EXPECTED: &str = include_str!("testdata/sample.expected.json");

    /// Returns the rates as the Python side writes them, without the keys that the engine
    /// does not bill and so drops on reading (`cache_audio_write_mtok`).
    fn billed(rates: &Value) -> Value {
        let kept = Rates::from_keys(serde_json::from_value(rates.clone()).unwrap());
        let keys: Vec<&str> = kept.keyed().into_iter().map(|(key, _)| key).collect();
        let object = rates.as_object().unwrap();
        let filtered: Map<String, Value> = object
            .iter()
            .filter(|(key, _)| keys.contains(&key.as_str()))
            .map(|(key, rate)| (key.clone(), rate.clone()))
            .collect();
        Value::Object(filtered)
    }

    fn rates_json(rates: &Rates) -> Value {
        let keyed: Map<String, Value> = rates
            .keyed()
            .into_iter()
            .map(|(key, rate)| (key.to_owned(), serde_json::to_value(rate).unwrap()))
            .collect();
        Value::Object(keyed)
    }

    #[test]
    fn sample_matches_python_conversion() {
        let table = PriceTable::from_litellm_json(SAMPLE).unwrap();
        let expected: Value = serde_json::from_str(EXPECTED).unwrap();

        let mut actual = Map::new();
        for provider in &table.providers {
            let mut models = Map::new();
            for model in &provider.models {
                let variants: Vec<Value> = model
                    .variants
                    .iter()
                    .map(|variant| {
                        let when: Map<String, Value> = variant
                            .when
                            .iter()
                            .map(|(key, value)| (key.clone(), json!(value)))
                            .collect();
                        json!({"when": when, "rates": rates_json(&variant.rates)})
                    })
                    .collect();
                // The Python side writes the provider's container fees into each model.
                let mut rates = rates_json(&model.entries[0].rates);
                if let (Value::Object(own), Value::Object(fees)) =
                    (&mut rates, rates_json(&provider.tool_fees))
                {
                    for (key, fee) in fees {
                        own.entry(key).or_insert(fee);
                    }
                }
                models.insert(
                    model.id.clone(),
                    json!({"rates": rates, "price_variants": variants}),
                );
            }
            actual.insert(provider.id.clone(), Value::Object(models));
        }

        let mut wanted = expected.as_object().unwrap().clone();
        for models in wanted.values_mut() {
            for model in models.as_object_mut().unwrap().values_mut() {
                model["rates"] = billed(&model["rates"]);
                for variant in model["price_variants"].as_array_mut().unwrap() {
                    variant["rates"] = billed(&variant["rates"]);
                }
            }
        }
        assert_eq!(Value::Object(actual), Value::Object(wanted));
    }

    #[test]
    fn main_api_wins_over_secondary_route() {
        let table = PriceTable::from_litellm_json(SAMPLE).unwrap();
        let aws = table.providers.iter().find(|p| p.id == "aws").unwrap();
        let haiku = &aws.models[0];
        let input = haiku.entries[0].rates.keyed()[0];

        // bedrock_mantle lists $0.11 per million input tokens, Bedrock's own API $0.10.
        assert_eq!(input.0, "input_mtok");
        assert_eq!(input.1.at(0).to_string(), "0.1");
    }

    #[test]
    fn container_fee_prices_models_of_its_provider() {
        let table = PriceTable::from_litellm_json(SAMPLE).unwrap();
        let openai = table.providers.iter().find(|p| p.id == "openai").unwrap();

        let fee = openai.tool_fees.code_interpreter_sessions.as_ref();

        assert!(openai.models.iter().all(|model| model.id != "container"));
        // litellm 1.110.2 lists $0.03 per session on `openai/container`.
        assert_eq!(
            fee.map(|rate| rate.at(0).to_string()).as_deref(),
            Some("30")
        );
        let usage = crate::usage::Usage {
            code_interpreter_sessions: 1,
            ..crate::usage::Usage::default()
        };
        let at = "2026-02-10T00:00:00Z".parse().unwrap();
        let PriceOutcome::Priced(quote) = table.quote(Some("openai"), "gpt-5", &usage, at) else {
            panic!("gpt-5 is in the sample");
        };
        assert_eq!(quote.total.to_string(), "0.03");
    }

    #[test]
    fn zero_placeholders_are_left_out_unless_named_free() {
        let text = r#"{
            "ollama/llama3": {"litellm_provider": "ollama",
                "input_cost_per_token": 0.0, "output_cost_per_token": 0.0},
            "opencode_go/beam-free": {"litellm_provider": "opencode_go",
                "input_cost_per_token": 0, "output_cost_per_token": 0},
            "duckduckgo/search": {"litellm_provider": "duckduckgo", "input_cost_per_query": 0.0,
                "metadata": {"notes": "The API is free to use."}},
            "batch/model": {"litellm_provider": "batch", "input_cost_per_token": 0,
                "input_cost_per_token_batches": 5e-7}
        }"#;

        let (table, skips) = PriceTable::from_litellm_json_with_skips(text).unwrap();

        let ids: Vec<(&str, &str)> = table
            .providers
            .iter()
            .flat_map(|p| p.models.iter().map(|m| (p.id.as_str(), m.id.as_str())))
            .collect();
        assert_eq!(
            ids,
            [
                ("opencode_go", "beam-free"),
                ("duckduckgo", "search"),
                ("batch", "model")
            ]
        );
        assert_eq!(skips.deliberate, 1);
    }

    #[test]
    fn folded_routes_find_their_provider() {
        let table = PriceTable::from_litellm_json(SAMPLE).unwrap();
        let names = [
            ("qwencloud", "dashscope"),
            ("azure_ai", "azure"),
            ("azure.ai.openai", "azure"),
            ("bedrock_mantle", "aws"),
        ];
        for (route, id) in names {
            let index = crate::pricing::matching::find_provider(&table, route).unwrap();
            assert_eq!(table.providers[index].id, id, "{route}");
        }
    }
}
