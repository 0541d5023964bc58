//! The price table of the collector and price quotes for `agentlens prices quote` and
//! `POST /api/pricing/quote`.
//!
//! [`load_prices`] builds the table once: the embedded table, with the overrides file of
//! `--prices` or `AGENTLENS_PRICES` applied on top when one is given. [`quote`] reads a
//! request `{provider, model, usage, at?, serviceTier?, batch?}`, prices it and returns a
//! [`QuoteReport`], the JSON that both the command and the endpoint print. The usage is either our normalized shape
//! (`{"inputTokens": 1200, "outputTokens": 300, "cacheReadTokens": 1000}`) or a provider's
//! raw usage object, which [`agentlens_core::usage::extract`] reads.

use std::path::Path;
use std::sync::Arc;

use agentlens_core::pricing::{
    Breakdown, LineItem, PriceContext, PriceOutcome, PriceOverridesError, PriceTable, UnitLine,
};
use agentlens_core::usage::{self, TierFields, Usage, UsageError};
use agentlens_core::validate::{
    check_camel_case_keys, is_normalized_usage, normalized_usage, usage_count_errors, FieldError,
    MAX_NAME_CHARS,
};
use agentlens_core::Usd;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// Returns the embedded price table, with the overrides file at `overrides` applied.
///
/// # Errors
///
/// Returns [`PriceOverridesError`] naming the file, and the line and field, when the file
/// cannot be read or is not a valid override file.
pub fn load_prices(overrides: Option<&Path>) -> Result<Arc<PriceTable>, PriceOverridesError> {
    let Some(path) = overrides else {
        return Ok(PriceTable::shared_embedded());
    };
    let table = PriceTable::embedded().with_overrides_file(path)?;
    tracing::info!(
        prices.file = %path.display(),
        prices.version = table.version(),
        prices.models = table.model_count(),
        "price overrides loaded"
    );
    Ok(Arc::new(table))
}

/// The result of a quote: the price with its breakdown and the table entry used, or the
/// reason there is no price.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteReport {
    /// `priced` or `unpriced`.
    pub status: &'static str,
    /// Total cost in US dollars, exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::openapi::schemas::exact_decimal, required = false)]
    pub total: Option<Usd>,
    /// Count, rate and cost of every billed unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<BreakdownReport>,
    /// The table entry whose rates were applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<EntryReport>,
    /// Source of the entry's prices, such as `genai-prices 0.2.5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Reason the call has no price, with the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpriced: Option<String>,
    /// Content hash of the price table, see [`PriceTable::version`].
    pub pricing_version: String,
    /// Time whose prices were applied, RFC 3339 in UTC.
    pub at: DateTime<Utc>,
    /// The usage as read, in the normalized shape.
    #[schema(value_type = Object)]
    pub usage: Usage,
    /// Condition of the tier or batch prices applied, such as `service_tier=flex`; absent
    /// for standard prices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_variant: Option<String>,
}

impl QuoteReport {
    /// Returns true when the call has a price.
    pub fn is_priced(&self) -> bool {
        self.total.is_some()
    }
}

/// The cost lines of a quote. Rates are dollars per million tokens, and per thousand for
/// web searches, file search calls and code interpreter sessions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BreakdownReport {
    /// Prompt tokens neither read from nor written to a cache.
    #[schema(value_type = Object)]
    pub input: LineItem,
    /// Prompt tokens read from a cache.
    #[schema(value_type = Object)]
    pub cache_read: LineItem,
    /// Prompt tokens written to a five-minute cache.
    #[schema(value_type = Object)]
    pub cache_write_5m: LineItem,
    /// Prompt tokens written to a one-hour cache.
    #[schema(value_type = Object)]
    pub cache_write_1h: LineItem,
    /// Generated tokens, reasoning included unless `outputReasoning` is present.
    #[schema(value_type = Object)]
    pub output: LineItem,
    /// Reasoning tokens, for models that bill them at their own rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub output_reasoning: Option<LineItem>,
    /// Web searches.
    #[schema(value_type = Object)]
    pub web_searches: LineItem,
    /// File search tool calls; absent when the call made none.
    #[serde(skip_serializing_if = "LineItem::is_unused")]
    #[schema(value_type = Option<Object>)]
    pub file_searches: LineItem,
    /// Code interpreter sessions; absent when the call opened none.
    #[serde(skip_serializing_if = "LineItem::is_unused")]
    #[schema(value_type = Option<Object>)]
    pub code_interpreter_sessions: LineItem,
    /// Fixed fee per request.
    #[schema(schema_with = crate::openapi::schemas::exact_decimal)]
    pub request: Usd,
    /// Audio, image and video tokens: `unit`, the `priceKey` whose rate applied, `count`,
    /// `rate` and `cost`. The lines above exclude them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub modalities: Vec<UnitLine>,
}

impl From<Breakdown> for BreakdownReport {
    fn from(breakdown: Breakdown) -> Self {
        BreakdownReport {
            input: breakdown.input,
            cache_read: breakdown.cache_read,
            cache_write_5m: breakdown.cache_write_5m,
            cache_write_1h: breakdown.cache_write_1h,
            output: breakdown.output,
            output_reasoning: breakdown.output_reasoning,
            web_searches: breakdown.web_searches,
            file_searches: breakdown.file_searches,
            code_interpreter_sessions: breakdown.code_interpreter_sessions,
            request: breakdown.request,
            modalities: breakdown.modalities,
        }
    }
}

/// The price table entry used for a quote.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryReport {
    /// Provider id of the table, such as `google` for `vertex_ai`.
    pub provider: String,
    /// Model id of the entry, such as `gpt-4o` for `gpt-4o-2024-08-06`.
    pub model: String,
    /// First day of the dated price used; `null` for an undated price.
    pub price_date: Option<NaiveDate>,
    /// Deployment name of the request when its model was one (Azure OpenAI), mapped to
    /// `model` by the `deployments` table of the price overrides file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
}

/// Prices a quote request `{provider, model, usage, at?, serviceTier?, batch?}` with `table`.
///
/// `at` is an RFC 3339 time and defaults to `now`. A call that the table cannot price is
/// not an error: the report then carries the `unpriced` reason.
///
/// # Errors
///
/// Returns one [`FieldError`] per invalid field, with its path (`provider`, `model`,
/// `usage.inputTokens`, `at`).
pub fn quote(
    table: &PriceTable,
    request: &Value,
    now: DateTime<Utc>,
) -> Result<QuoteReport, Vec<FieldError>> {
    let Some(body) = request.as_object() else {
        return Err(vec![field_error("", "expected a JSON object")]);
    };
    let mut errors = Vec::new();
    reject_unknown_fields(body, &mut errors);
    let provider = required_text(body, "provider", &mut errors);
    let model = required_text(body, "model", &mut errors);
    let at = match body.get("at") {
        None | Some(Value::Null) => Some(now),
        Some(value) => parse_at(value, &mut errors),
    };
    let usage = match (body.get("usage"), provider) {
        (Some(usage), Some(provider)) => read_usage(provider, usage, &mut errors),
        (None, _) => {
            errors.push(field_error("usage", "usage is required"));
            None
        }
        (Some(_), None) => None,
    };
    let context = read_context(body, &mut errors);
    let (Some(provider), Some(model), Some(at), Some(usage), Some(context)) =
        (provider, model, at, usage, context)
    else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }

    Ok(report(table, provider, model, &usage, at, &context))
}

/// Builds the report of one priced or unpriced call.
fn report(
    table: &PriceTable,
    provider: &str,
    model: &str,
    usage: &Usage,
    at: DateTime<Utc>,
    context: &PriceContext,
) -> QuoteReport {
    let mut report = QuoteReport {
        status: "unpriced",
        total: None,
        breakdown: None,
        entry: None,
        source: None,
        unpriced: None,
        pricing_version: table.version().to_owned(),
        at,
        usage: *usage,
        price_variant: None,
    };
    match table.quote_with(Some(provider), model, usage, at, context) {
        PriceOutcome::Priced(quote) => {
            report.status = "priced";
            report.total = Some(quote.total);
            report.breakdown = Some(quote.breakdown.into());
            report.entry = Some(EntryReport {
                provider: quote.provider,
                model: quote.model,
                price_date: quote.price_date,
                deployment: quote.deployment,
            });
            report.source = Some(quote.source);
            report.price_variant = quote.price_variant;
        }
        PriceOutcome::Unpriced { reason } => report.unpriced = Some(reason),
    }
    report
}

/// Fields of a quote request.
const QUOTE_FIELDS: &[&str] = &["provider", "model", "usage", "at", "serviceTier", "batch"];

/// Rejects every request field outside [`QUOTE_FIELDS`], so a misspelled option such as
/// `servicetier` is reported instead of ignored.
fn reject_unknown_fields(body: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    for key in body.keys() {
        if !QUOTE_FIELDS.contains(&key.as_str()) {
            let message = format!(
                "unknown field {key:?}: expected one of {}",
                QUOTE_FIELDS.join(", ")
            );
            errors.push(field_error(key, &message));
        }
    }
}

fn required_text<'a>(
    body: &'a Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match body.get(field) {
        Some(Value::String(text)) if text.trim().is_empty() => {
            errors.push(field_error(field, &format!("{field} must not be empty")));
            None
        }
        Some(Value::String(text)) if text.chars().count() > MAX_NAME_CHARS => {
            let message = format!(
                "{field} must be at most {MAX_NAME_CHARS} characters, got {}",
                text.chars().count()
            );
            errors.push(field_error(field, &message));
            None
        }
        Some(Value::String(text)) => Some(text),
        Some(_) => {
            errors.push(field_error(field, &format!("{field} must be a string")));
            None
        }
        None => {
            errors.push(field_error(field, &format!("{field} is required")));
            None
        }
    }
}

fn parse_at(value: &Value, errors: &mut Vec<FieldError>) -> Option<DateTime<Utc>> {
    let parsed = value
        .as_str()
        .and_then(|text| DateTime::parse_from_rfc3339(text.trim()).ok());
    if parsed.is_none() {
        let message = format!(
            "invalid time {value}: expected an RFC 3339 time such as \"2026-02-10T12:00:00Z\""
        );
        errors.push(field_error("at", &message));
    }
    parsed.map(|at| at.with_timezone(&Utc))
}

/// Reads `serviceTier` and `batch`, with the tier (`usage.service_tier`) and speed
/// (`usage.speed`) that a provider's usage object reports. Fields that name different
/// tiers are rejected with both names and values.
fn read_context(body: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<PriceContext> {
    let before = errors.len();
    let mut fields = TierFields::default();
    match body.get("serviceTier") {
        None | Some(Value::Null) => {}
        Some(Value::String(tier)) if !tier.trim().is_empty() => {
            fields.tiers.push(("serviceTier", tier));
        }
        Some(Value::String(_)) => {
            let message = "serviceTier must not be empty: send a tier such as \"flex\" or \
                           \"priority\", or leave it out for standard prices";
            errors.push(field_error("serviceTier", message));
        }
        Some(other) => {
            let message = format!(
                "invalid serviceTier {other}: expected a string such as \"flex\" or \"priority\""
            );
            errors.push(field_error("serviceTier", &message));
        }
    }
    if let Some(Value::Object(usage)) = body.get("usage") {
        if let Some(Value::String(tier)) = usage.get("service_tier") {
            fields.tiers.push(("usage.service_tier", tier));
        }
        match usage.get("speed") {
            None | Some(Value::Null) => {}
            Some(Value::String(speed)) => fields.speeds.push(("usage.speed", speed)),
            Some(other) => {
                let message = format!(
                    "invalid usage.speed {other}: expected a string such as \"fast\" or \
                     \"standard\""
                );
                errors.push(field_error("usage.speed", &message));
            }
        }
    }
    match body.get("batch") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(batch)) => fields.batch = Some(("batch", *batch)),
        Some(other) => {
            let message = format!("invalid batch {other}: expected true or false");
            errors.push(field_error("batch", &message));
        }
    }
    if errors.len() > before {
        return None;
    }
    fields
        .resolve()
        .map_err(|conflict| errors.push(field_error(&conflict.second, &conflict.to_string())))
        .ok()
}

/// Reads `usage` as the normalized shape when it has only normalized keys, and as the usage
/// object of `provider` otherwise.
fn read_usage(provider: &str, usage: &Value, errors: &mut Vec<FieldError>) -> Option<Usage> {
    let Some(object) = usage.as_object() else {
        errors.push(field_error("usage", "usage must be a JSON object"));
        return None;
    };
    let read = if is_normalized_usage(object) {
        normalized_usage(object)
    } else if let Err(error) = check_camel_case_keys(object) {
        Err(error)
    } else {
        usage::extract(provider, usage).map_err(|error| usage_error(&error))
    };
    let usage = read.map_err(|error| errors.push(error)).ok()?;
    // The same limit as ingest, so a quote never prices counts that no event can store.
    let too_large = usage_count_errors(&usage, "usage.");
    if too_large.is_empty() {
        Some(usage)
    } else {
        errors.extend(too_large);
        None
    }
}

/// Maps a usage reader error to the path of the field it names.
fn usage_error(error: &UsageError) -> FieldError {
    let field = match error {
        UsageError::NotAnObject { field }
        | UsageError::NotAnArray { field }
        | UsageError::MissingField { field }
        | UsageError::InvalidCount { field, .. }
        | UsageError::Overflow { field } => Some(field.as_str()),
        UsageError::PartExceedsWhole { part, .. } => Some(part.as_str()),
        _ => None,
    };
    let path = match field {
        Some("usage") | None => "usage".to_owned(),
        Some(field) => format!("usage.{field}"),
    };
    field_error(&path, &error.to_string())
}

fn field_error(path: &str, message: &str) -> FieldError {
    FieldError {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-02-10T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn normalized_and_openai_usage_agree() {
        let table = PriceTable::embedded();
        let normalized = json!({"provider": "openai", "model": "gpt-4o",
            "usage": {"inputTokens": 2006, "cacheReadTokens": 1920, "outputTokens": 300}});
        let raw = json!({"provider": "openai", "model": "gpt-4o", "usage": {
            "prompt_tokens": 2006, "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 1920}}});

        let first = quote(table, &normalized, now()).unwrap();
        let second = quote(table, &raw, now()).unwrap();

        assert_eq!(first.total, Some("0.005615".parse().unwrap()));
        assert_eq!(first.total, second.total);
        assert_eq!(first.usage, second.usage);
    }

    #[test]
    fn service_tier_selects_flex_prices() {
        let table = PriceTable::embedded();
        let body = json!({"provider": "openai", "model": "gpt-5", "serviceTier": "flex",
            "at": "2026-12-01T00:00:00Z",
            "usage": {"inputTokens": 1_000_000, "outputTokens": 1_000_000}});

        let report = quote(table, &body, now()).unwrap();

        assert_eq!(report.total, Some("5.625".parse().unwrap()));
        assert_eq!(report.price_variant.as_deref(), Some("service_tier=flex"));
    }

    #[test]
    fn batch_without_batch_price_is_unpriced() {
        let table = PriceTable::embedded();
        let body = json!({"provider": "openai", "model": "gpt-4o-audio-preview", "batch": true,
            "usage": {"inputTokens": 10, "outputTokens": 1}});

        let report = quote(table, &body, now()).unwrap();

        assert_eq!(report.status, "unpriced");
        assert!(report.unpriced.unwrap().contains("batch processing"));
    }

    #[test]
    fn invalid_service_tier_is_named() {
        let table = PriceTable::embedded();
        let body = json!({"provider": "openai", "model": "gpt-5", "serviceTier": 2,
            "batch": "yes", "usage": {"inputTokens": 10, "outputTokens": 1}});

        let errors = quote(table, &body, now()).unwrap_err();

        assert_eq!(errors[0].path, "serviceTier");
    }

    #[test]
    fn normalized_modality_counts_are_read() {
        let table = PriceTable::embedded();
        let body = json!({"provider": "openai", "model": "gpt-realtime", "usage": {
            "inputTokens": 1000, "inputAudioTokens": 600,
            "outputTokens": 500, "outputAudioTokens": 400}});

        let report = quote(table, &body, now()).unwrap();

        // 400 x $4 + 600 x $32 + 100 x $16 + 400 x $64, per million.
        assert_eq!(report.total, Some("0.048".parse().unwrap()));
        assert_eq!(report.breakdown.unwrap().modalities.len(), 2);
    }

    #[test]
    fn normalized_tool_call_counts_are_priced() {
        let table = PriceTable::embedded();
        let body = json!({"provider": "openai", "model": "gpt-4o", "usage": {
            "inputTokens": 1000, "outputTokens": 100,
            "fileSearches": 4, "codeInterpreterSessions": 1}});

        let report = quote(table, &body, now()).unwrap();
        let breakdown = serde_json::to_value(report.breakdown.unwrap()).unwrap();

        // 4 x $2.50 and 1 x $30 per thousand.
        assert_eq!(breakdown["fileSearches"]["cost"], json!(0.01));
        assert_eq!(breakdown["codeInterpreterSessions"]["cost"], json!(0.03));
        assert_eq!(report.usage.file_searches, 4);
    }

    #[test]
    fn tool_call_count_without_rate_is_unpriced() {
        let table = PriceTable::embedded();
        let body = json!({"provider": "anthropic", "model": "claude-haiku-4-5", "usage": {
            "inputTokens": 1000, "outputTokens": 100, "codeInterpreterSessions": 1}});

        let report = quote(table, &body, now()).unwrap();

        assert_eq!(report.status, "unpriced");
        let reason = report.unpriced.unwrap();
        assert!(reason.contains("code interpreter sessions"), "{reason}");
    }

    #[test]
    fn counts_over_ingest_limit_are_named() {
        let table = PriceTable::embedded();
        let body = json!({"provider": "openai", "model": "gpt-4o", "usage": {
            "inputTokens": 18_446_744_073_709_551_615_u64, "outputTokens": 1}});
        let raw = json!({"provider": "openai", "model": "gpt-4o", "usage": {
            "prompt_tokens": 9_007_199_254_740_992_u64, "completion_tokens": 1}});

        let errors = quote(table, &body, now()).unwrap_err();
        let raw_errors = quote(table, &raw, now()).unwrap_err();

        assert_eq!(errors[0].path, "usage.inputTokens");
        assert!(errors[0].message.contains("maximum of 9007199254740991"));
        assert_eq!(raw_errors[0].path, "usage.inputTokens");
    }

    #[test]
    fn misspelt_usage_key_is_named() {
        let table = PriceTable::embedded();
        let body = json!({"provider": "openai", "model": "gpt-4o", "usage": {
            "inputTokens": 1000, "outputTokens": 0, "cachedTokens": 900}});

        let errors = quote(table, &body, now()).unwrap_err();

        assert_eq!(errors[0].path, "usage.cachedTokens");
        assert!(errors[0].message.contains("cacheReadTokens"), "{errors:?}");
    }

    #[test]
    fn service_tier_keeps_normalized_shape() {
        let table = PriceTable::embedded();
        let plain = json!({"provider": "openai", "model": "gpt-4o", "usage": {
            "inputTokens": 1000, "cacheReadTokens": 900, "outputTokens": 0}});
        let mut tiered = plain.clone();
        tiered["usage"]["service_tier"] = json!("default");

        let plain = quote(table, &plain, now()).unwrap();
        let tiered = quote(table, &tiered, now()).unwrap();

        assert_eq!(plain.total, tiered.total);
        assert_eq!(plain.total.unwrap().to_string(), "0.001375");
    }

    #[test]
    fn overlong_model_is_rejected_without_echo() {
        let table = PriceTable::embedded();
        let model = "m".repeat(100_000);
        let body = json!({"provider": "openai", "model": model,
            "usage": {"inputTokens": 1, "outputTokens": 1}});

        let errors = quote(table, &body, now()).unwrap_err();

        assert_eq!(errors[0].path, "model");
        assert_eq!(
            errors[0].message,
            "model must be at most 256 characters, got 100000"
        );
    }

    #[test]
    fn normalized_usage_error_names_key_as_sent() {
        let table = PriceTable::embedded();
        let body = json!({"provider": "openai", "model": "gpt-realtime", "usage": {
            "inputTokens": 1000, "cacheReadTokens": 100, "inputAudioTokens": 400,
            "cacheAudioReadTokens": 150, "outputTokens": 10}});

        let errors = quote(table, &body, now()).unwrap_err();

        assert_eq!(errors[0].path, "usage.cacheAudioReadTokens");
        let message = &errors[0].message;
        assert!(
            message.contains("`usage.cacheReadTokens` (100)"),
            "{message}"
        );
        assert!(!message.contains("cache_audio_read_tokens"), "{message}");
    }

    #[test]
    fn override_variant_prices_service_tier() {
        let overrides = r#"
[[models]]
provider = "mycorp"
model = "inhouse-llm"
input_mtok = "2"
output_mtok = "8"

[[models.price_variants]]
when = { service_tier = "priority" }
rates = { input_mtok = "4", output_mtok = "16" }
"#;
        let table = PriceTable::embedded().with_overrides(overrides).unwrap();
        let body = json!({"provider": "mycorp", "model": "inhouse-llm",
            "serviceTier": "priority",
            "usage": {"inputTokens": 1_000_000, "outputTokens": 1_000_000}});

        let report = quote(&table, &body, now()).unwrap();

        assert_eq!(report.total, Some("20".parse().unwrap()));
        assert_eq!(
            report.price_variant.as_deref(),
            Some("service_tier=priority")
        );
    }

    #[test]
    fn invalid_fields_are_named() {
        let table = PriceTable::embedded();
        let body = json!({"provider": 3, "usage": {"inputTokens": -1}, "at": "yesterday"});

        let errors = quote(table, &body, now()).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();

        assert_eq!(paths, ["provider", "model", "at"]);
    }

    #[test]
    fn bad_normalized_count_names_field() {
        let table = PriceTable::embedded();
        let body = json!({"provider": "openai", "model": "gpt-4o",
            "usage": {"inputTokens": 1.5, "outputTokens": 1}});

        let errors = quote(table, &body, now()).unwrap_err();

        assert_eq!(errors[0].path, "usage.inputTokens");
    }

    #[test]
    fn provider_usage_error_names_field() {
        let table = PriceTable::embedded();
        let body = json!({"provider": "anthropic", "model": "claude-haiku-4-5",
            "usage": {"output_tokens": 5}});

        let errors = quote(table, &body, now()).unwrap_err();

        assert_eq!(errors[0].path, "usage.input_tokens");
        assert!(
            errors[0].message.contains("missing"),
            "{}",
            errors[0].message
        );
    }
}
