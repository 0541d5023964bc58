//! Price overrides: model prices of your own, in TOML or JSON, that take precedence over the
//! price table.
//!
//! A file lists models. Each names its provider and model id and gives its rates as decimal
//! strings, in dollars per million tokens (per thousand for `web_searches_kcount`,
//! `storage_searches_kcount` (file search calls), `code_interpreter_sessions_kcount` and
//! `requests_kcount`). A `valid_from` day and `aliases` are optional:
//!
//! ```toml
//! [[models]]
//! provider = "openai"
//! model = "gpt-4o"
//! valid_from = "2026-01-01"
//! input_mtok = "2.25"
//! output_mtok = "9"
//!
//! [[models]]
//! provider = "mycorp"
//! model = "inhouse-llm"
//! aliases = ["inhouse-llm-v2"]
//! input_mtok = "0.1"
//! output_mtok = "0.2"
//! ```
//!
//! The same layout in JSON is `{"models": [{"provider": "openai", ...}]}`. A
//! `[deployments.<provider>]` table maps Azure deployment names to model ids, as
//! `pricing::deployments` describes. Entries without `valid_from` are applied first, then
//! dated ones from the earliest day to the latest, so a model's latest dated entry is its
//! price from that day on whatever the file order. Two entries for one model with the same
//! day, or both without one, are rejected. Each entry is applied as follows:
//!
//! - the provider is found as [`PriceTable::quote`] finds it (`vertex_ai` finds `google`);
//!   an unknown provider is added after the table's providers;
//! - a model whose id equals an existing model id of that provider gets the override's rates:
//!   without `valid_from` they replace its prices and drop its service-tier and batch
//!   prices, with `valid_from` they become its latest dated price, in force from that UTC
//!   day on over every table price;
//! - any other model id is added in front of the provider's models and matches only its id
//!   and aliases, so it wins over the broader match rules of the table;
//! - aliases of an existing model are matched before the provider's own models.
//!
//! A rate is either a decimal string or a table of prompt-size tiers with their rule; the
//! module `override_rate` describes that table. An entry may list `price_variants`, its
//! rates under a service tier or in batch processing, as the module `override_variant`
//! describes. An entry that replaces a model's prices without `valid_from` replaces its
//! variants with these, and one with `valid_from` puts them before the table's, in force
//! from that day on.
//!
//! NOTE: a new model whose only price has a `valid_from` day is priced before that day too,
//! because a model without an entry in force falls back to its first entry.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::deployments::DeploymentsFile;
use super::matching::Matcher;
use super::override_rate::OverrideRate;
use super::override_variant::OverrideVariant;
use super::rates::MAX_RATE;
use super::rates::{PriceEntry, Rates};
use super::table::{Model, PriceTable, Provider};
use super::variants::PriceVariant;

/// Errors from reading or applying a price override file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceOverridesError {
    /// The override file could not be read.
    #[error("cannot read price overrides {origin}: {message}")]
    Read {
        /// Path of the file.
        origin: String,
        /// The I/O error.
        message: String,
    },
    /// The text is not valid TOML or JSON, or a field has a wrong name, type or value. The
    /// message carries the parser's line and column.
    #[error("invalid price overrides {origin}: {message}")]
    Parse {
        /// Path of the file, or `<overrides>` for text.
        origin: String,
        /// Parser message with the position and the field.
        message: String,
    },
    /// An override entry is well-formed but cannot be applied.
    #[error("invalid price override {origin} models[{index}] ({provider}/{model}): {message}")]
    InvalidEntry {
        /// Path of the file, or `<overrides>` for text.
        origin: String,
        /// Zero-based position of the entry in `models`.
        index: usize,
        /// Provider named by the entry.
        provider: String,
        /// Model named by the entry.
        model: String,
        /// Cause of the rejection and the fix.
        message: String,
    },
    /// A deployment name of the `deployments` table cannot be mapped.
    #[error("invalid deployment {origin} [deployments.{provider}] {deployment:?}: {message}")]
    InvalidDeployment {
        /// Path of the file, or `<overrides>` for text.
        origin: String,
        /// Provider named by the table.
        provider: String,
        /// The deployment name.
        deployment: String,
        /// Cause of the rejection and the fix.
        message: String,
    },
}

/// Origin reported for overrides given as text.
const TEXT_ORIGIN: &str = "<overrides>";

impl PriceTable {
    /// Returns a copy of the table with the prices of an override file applied on top.
    ///
    /// `text` is TOML, or JSON when its first non-blank character is `{`. The module
    /// documentation of `pricing::overrides` describes the layout. The new table's
    /// [`version`](PriceTable::version) hashes this table's version with the override text, so
    /// it changes whenever the overrides change.
    ///
    /// # Errors
    ///
    /// Returns [`PriceOverridesError::Parse`] with the line and field for invalid text, an
    /// unknown field or a rate that is not a non-negative decimal string, and
    /// [`PriceOverridesError::InvalidEntry`] for an entry without rates or with an empty id.
    ///
    /// # Examples
    ///
    /// ```
    /// use agentlens_core::pricing::PriceTable;
    ///
    /// let overrides = r#"
    /// [[models]]
    /// provider = "mycorp"
    /// model = "inhouse-llm"
    /// input_mtok = "0.1"
    /// output_mtok = "0.2"
    /// "#;
    /// let table = PriceTable::embedded().with_overrides(overrides)?;
    /// assert_ne!(table.version(), PriceTable::embedded().version());
    /// # Ok::<(), agentlens_core::pricing::PriceOverridesError>(())
    /// ```
    pub fn with_overrides(&self, text: &str) -> Result<PriceTable, PriceOverridesError> {
        let is_json = text.trim_start().starts_with('{');
        apply(self, text, TEXT_ORIGIN, is_json)
    }

    /// Reads an override file and returns a copy of the table with its prices applied, as
    /// [`PriceTable::with_overrides`] does. A `.json` file is read as JSON, any other as TOML
    /// unless its first non-blank character is `{`. Errors name the path.
    ///
    /// # Errors
    ///
    /// Returns [`PriceOverridesError::Read`] when the file cannot be read, and the errors of
    /// [`PriceTable::with_overrides`].
    pub fn with_overrides_file(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<PriceTable, PriceOverridesError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| PriceOverridesError::Read {
            origin: origin.clone(),
            message: error.to_string(),
        })?;
        let is_json =
            path.extension().is_some_and(|ext| ext == "json") || text.trim_start().starts_with('{');
        apply(self, &text, &origin, is_json)
    }
}

fn apply(
    table: &PriceTable,
    text: &str,
    origin: &str,
    is_json: bool,
) -> Result<PriceTable, PriceOverridesError> {
    let parsed = parse(text, origin, is_json)?;
    let source: Arc<str> = Arc::from(format!("overrides {origin}"));
    let mut providers = table.providers.clone();

    check_repeated_entries(&parsed.models, origin)?;
    // Entries without `valid_from` replace a model's prices, and each dated one becomes its
    // latest price, so undated entries go first and dated ones in date order, whatever
    // the file order. The sort is stable, so other entries keep the file order.
    let mut entries: Vec<(usize, OverrideModel)> = parsed.models.into_iter().enumerate().collect();
    entries.sort_by_key(|(_, entry)| entry.valid_from);

    for (index, entry) in entries {
        let invalid = |message: &str| PriceOverridesError::InvalidEntry {
            origin: origin.to_owned(),
            index,
            provider: entry.provider.clone(),
            model: entry.model.clone(),
            message: message.to_owned(),
        };
        if entry.provider.trim().is_empty() || entry.model.trim().is_empty() {
            return Err(invalid("`provider` and `model` must not be empty"));
        }
        let rates = entry.rates();
        if rates.is_empty() {
            return Err(invalid(
                "no rates given; set at least input_mtok and output_mtok as decimal strings",
            ));
        }
        apply_entry(&mut providers, entry, rates, &source);
    }

    let digest = Sha256::digest(format!("{}\n{text}", table.version()).as_bytes());
    let mut applied = PriceTable::from_parts(
        format!("pv_{}", &hex::encode(digest)[..12]),
        format!("{} + overrides {origin}", table.source()),
        table.generated(),
        providers,
    );
    // Deployments are checked against the new models, so they may map to one of them.
    let mut deployments = table.deployments.clone();
    deployments.add(&applied, parsed.deployments, origin)?;
    applied.deployments = deployments;
    Ok(applied)
}

/// Rejects a second entry for the same provider, model and `valid_from` day (or for the
/// same model without a day), which would leave one of the two prices unused.
fn check_repeated_entries(
    models: &[OverrideModel],
    origin: &str,
) -> Result<(), PriceOverridesError> {
    let mut seen = std::collections::HashMap::new();
    for (index, entry) in models.iter().enumerate() {
        let key = (
            entry.provider.trim().to_ascii_lowercase(),
            entry.model.trim().to_ascii_lowercase(),
            entry.valid_from,
        );
        let Some(first) = seen.insert(key, index) else {
            continue;
        };
        let day = match entry.valid_from {
            Some(day) => format!("the `valid_from` day {day}"),
            None => "no `valid_from` day".to_owned(),
        };
        return Err(PriceOverridesError::InvalidEntry {
            origin: origin.to_owned(),
            index,
            provider: entry.provider.clone(),
            model: entry.model.clone(),
            message: format!(
                "entry {first} already prices this model with {day}; \
                 keep one of the two, or give each its own `valid_from` day"
            ),
        });
    }
    Ok(())
}

fn parse(text: &str, origin: &str, is_json: bool) -> Result<OverridesFile, PriceOverridesError> {
    let parse_error = |message: String| PriceOverridesError::Parse {
        origin: origin.to_owned(),
        message: message.trim_end().to_owned(),
    };
    if is_json {
        serde_json::from_str(text).map_err(|error| parse_error(error.to_string()))
    } else {
        toml::from_str(text).map_err(|error| parse_error(error.to_string()))
    }
}

fn apply_entry(
    providers: &mut Vec<Provider>,
    mut entry: OverrideModel,
    rates: Rates,
    source: &Arc<str>,
) {
    let variants: Vec<PriceVariant> = std::mem::take(&mut entry.price_variants)
        .into_iter()
        .map(|variant| variant.into_variant(entry.valid_from))
        .collect();
    let provider_index = match find_provider(providers, &entry.provider) {
        Some(index) => index,
        None => {
            providers.push(Provider {
                id: entry.provider.trim().to_owned(),
                provider_match: None,
                model_match: None,
                fallbacks: Vec::new(),
                models: Vec::new(),
                tool_fees: Rates::default(),
            });
            providers.len() - 1
        }
    };
    let provider = &mut providers[provider_index];
    let price = PriceEntry {
        start_date: entry.valid_from,
        time_of_day: None,
        rates,
    };
    let model_id = entry.model.trim();
    let existing = provider
        .models
        .iter()
        .position(|model| model.id.eq_ignore_ascii_case(model_id));

    let Some(position) = existing else {
        let spellings = std::iter::once(model_id).chain(entry.aliases.iter().map(String::as_str));
        provider.models.insert(
            0,
            Model {
                id: model_id.to_owned(),
                matcher: equals_any(spellings),
                entries: vec![price],
                variants,
                source: Arc::clone(source),
            },
        );
        return;
    };

    let model = &mut provider.models[position];
    match price.start_date {
        Some(_) => {
            model.entries.push(price);
            // Earlier variants win, so the override's come before the table's.
            model.variants.splice(0..0, variants);
        }
        None => {
            // The table's tier and batch rates belong to the prices being replaced.
            model.entries = vec![price];
            model.variants = variants;
        }
    }
    model.source = Arc::clone(source);
    if !entry.aliases.is_empty() {
        let alias = Model {
            matcher: equals_any(entry.aliases.iter().map(String::as_str)),
            ..model.clone()
        };
        provider.models.insert(0, alias);
    }
}

/// Finds a provider by id, then by provider-match clause, as the quote lookup does.
fn find_provider(providers: &[Provider], name: &str) -> Option<usize> {
    let name = name.trim().to_lowercase();
    let by_id = providers
        .iter()
        .position(|provider| provider.id.to_lowercase() == name);
    by_id.or_else(|| {
        providers.iter().position(|provider| {
            let clause = provider.provider_match.as_ref();
            clause.is_some_and(|matcher| matcher.is_match(&name))
        })
    })
}

fn equals_any<'a>(spellings: impl Iterator<Item = &'a str>) -> Matcher {
    let clauses = spellings
        .map(|spelling| Matcher::Equals(spelling.trim().to_lowercase()))
        .collect();
    Matcher::Or(clauses)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverridesFile {
    #[serde(default)]
    models: Vec<OverrideModel>,
    /// Model id by deployment name, by provider: `[deployments.azure]`.
    #[serde(default)]
    deployments: DeploymentsFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideModel {
    provider: String,
    model: String,
    #[serde(default)]
    valid_from: Option<NaiveDate>,
    #[serde(default)]
    aliases: Vec<String>,
    /// Rates under a service tier or in batch processing, see `override_variant`.
    #[serde(default)]
    price_variants: Vec<OverrideVariant>,
    input_mtok: Option<OverrideRate>,
    cache_read_mtok: Option<OverrideRate>,
    cache_write_mtok: Option<OverrideRate>,
    cache_write_5m_mtok: Option<OverrideRate>,
    cache_write_1h_mtok: Option<OverrideRate>,
    input_audio_mtok: Option<OverrideRate>,
    input_image_mtok: Option<OverrideRate>,
    input_video_mtok: Option<OverrideRate>,
    cache_audio_read_mtok: Option<OverrideRate>,
    cache_image_read_mtok: Option<OverrideRate>,
    cache_video_read_mtok: Option<OverrideRate>,
    output_mtok: Option<OverrideRate>,
    output_reasoning_mtok: Option<OverrideRate>,
    output_audio_mtok: Option<OverrideRate>,
    output_image_mtok: Option<OverrideRate>,
    output_video_mtok: Option<OverrideRate>,
    web_searches_kcount: Option<OverrideRate>,
    storage_searches_kcount: Option<OverrideRate>,
    code_interpreter_sessions_kcount: Option<OverrideRate>,
    requests_kcount: Option<OverrideRate>,
}

impl OverrideModel {
    fn rates(&self) -> Rates {
        let keyed = [
            ("input_mtok", &self.input_mtok),
            ("cache_read_mtok", &self.cache_read_mtok),
            ("cache_write_mtok", &self.cache_write_mtok),
            ("cache_write_5m_mtok", &self.cache_write_5m_mtok),
            ("cache_write_1h_mtok", &self.cache_write_1h_mtok),
            ("input_audio_mtok", &self.input_audio_mtok),
            ("input_image_mtok", &self.input_image_mtok),
            ("input_video_mtok", &self.input_video_mtok),
            ("cache_audio_read_mtok", &self.cache_audio_read_mtok),
            ("cache_image_read_mtok", &self.cache_image_read_mtok),
            ("cache_video_read_mtok", &self.cache_video_read_mtok),
            ("output_mtok", &self.output_mtok),
            ("output_reasoning_mtok", &self.output_reasoning_mtok),
            ("output_audio_mtok", &self.output_audio_mtok),
            ("output_image_mtok", &self.output_image_mtok),
            ("output_video_mtok", &self.output_video_mtok),
            ("web_searches_kcount", &self.web_searches_kcount),
            ("storage_searches_kcount", &self.storage_searches_kcount),
            (
                "code_interpreter_sessions_kcount",
                &self.code_interpreter_sessions_kcount,
            ),
            ("requests_kcount", &self.requests_kcount),
        ];
        let rates = keyed
            .into_iter()
            .filter_map(|(key, rate)| Some((key.to_owned(), rate.clone()?.0)))
            .collect();
        Rates::from_keys(rates)
    }
}

/// A non-negative rate written as a decimal string. Numbers are rejected because TOML and
/// JSON readers turn them into binary floats, which cannot hold most decimal prices exactly.
#[derive(Debug, Clone, Copy)]
pub(super) struct PriceText(pub(super) Decimal);

impl<'de> Deserialize<'de> for PriceText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PriceTextVisitor)
    }
}

pub(super) struct PriceTextVisitor;

pub(super) const NUMBER_HINT: &str = "write rates as decimal strings such as \"2.5\", not numbers";

impl Visitor<'_> for PriceTextVisitor {
    type Value = PriceText;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a decimal string of dollars such as \"2.5\"")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<PriceText, E> {
        let value = Decimal::from_str(text.trim()).map_err(|_| {
            E::custom(format!(
                "invalid rate {text:?}: expected a decimal string of dollars such as \"2.5\""
            ))
        })?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(E::custom(format!(
                "invalid rate {text:?}: rates must be zero or more"
            )));
        }
        if value > MAX_RATE {
            return Err(E::custom(format!(
                "invalid rate {text:?}: rates must be at most {MAX_RATE} dollars per million \
                 tokens or per thousand units; check that the rate is not per token or per unit"
            )));
        }
        // `2.500000` is shown as `2.5` wherever the rate appears.
        Ok(PriceText(value.normalize()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<PriceText, E> {
        Err(E::custom(format!(
            "rate {value} is a number; {NUMBER_HINT}"
        )))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<PriceText, E> {
        Err(E::custom(format!(
            "rate {value} is a number; {NUMBER_HINT}"
        )))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<PriceText, E> {
        Err(E::custom(format!(
            "rate {value} is a number; {NUMBER_HINT}"
        )))
    }
}
