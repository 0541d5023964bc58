//! Plain objects that cross the JavaScript boundary, and their conversions to and from
//! the core types.
//!
//! Token counts arrive as JavaScript numbers and are checked to be whole and >= 0. An
//! optional count may be `undefined` or `null`, and both mean that it is absent. Money
//! leaves as decimal strings and arrives only as decimal strings: a float cannot hold
//! every cost exactly, so a number for `costUsd` is rejected with an error that says so.

use agentlens_core::client::CostEvent;
use agentlens_core::money::Usd;
use agentlens_core::pricing::{LineItem, PriceOutcome, PriceTable, UnitLine};
use agentlens_core::usage::Usage;
use agentlens_core::validate::FieldError;
use chrono::{DateTime, Utc};
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// 2^64, the first whole number that does not fit a `u64` token count. Whole numbers
/// below it convert exactly; the core check then rejects counts above 2^53 - 1.
const U64_LIMIT: f64 = 18_446_744_073_709_551_616.0;

/// Creates the `Error` thrown for an invalid argument.
pub(crate) fn invalid_arg(message: impl Into<String>) -> Error {
    Error::new(Status::InvalidArg, message.into())
}

/// Token counts of one model call, in the same terms as `trackCost`.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NapiUsage {
    /// Every prompt token, including cache reads and cache writes.
    pub input_tokens: f64,
    /// Every generated token, including reasoning.
    pub output_tokens: f64,
    /// Prompt tokens read from a cache (part of `inputTokens`).
    pub cache_read_tokens: Option<Either<f64, Null>>,
    /// Prompt tokens written to a five-minute cache (part of `inputTokens`).
    #[napi(js_name = "cacheWrite5mTokens")]
    pub cache_write_5m_tokens: Option<Either<f64, Null>>,
    /// Prompt tokens written to a one-hour cache (part of `inputTokens`).
    #[napi(js_name = "cacheWrite1hTokens")]
    pub cache_write_1h_tokens: Option<Either<f64, Null>>,
    /// Reasoning tokens (part of `outputTokens`).
    pub reasoning_tokens: Option<Either<f64, Null>>,
    /// Server-side web searches, billed per search.
    pub web_searches: Option<Either<f64, Null>>,
    /// File search tool calls, billed per call.
    pub file_searches: Option<Either<f64, Null>>,
    /// Code interpreter sessions (containers), billed per session.
    pub code_interpreter_sessions: Option<Either<f64, Null>>,
    /// Audio prompt tokens, cached or not (part of `inputTokens`).
    pub input_audio_tokens: Option<Either<f64, Null>>,
    /// Image prompt tokens, cached or not (part of `inputTokens`).
    pub input_image_tokens: Option<Either<f64, Null>>,
    /// Video prompt tokens, cached or not (part of `inputTokens`).
    pub input_video_tokens: Option<Either<f64, Null>>,
    /// Audio prompt tokens read from a cache (part of `cacheReadTokens` and
    /// `inputAudioTokens`).
    pub cache_audio_read_tokens: Option<Either<f64, Null>>,
    /// Image prompt tokens read from a cache (part of `cacheReadTokens` and
    /// `inputImageTokens`).
    pub cache_image_read_tokens: Option<Either<f64, Null>>,
    /// Video prompt tokens read from a cache (part of `cacheReadTokens` and
    /// `inputVideoTokens`).
    pub cache_video_read_tokens: Option<Either<f64, Null>>,
    /// Generated audio tokens (part of `outputTokens`).
    pub output_audio_tokens: Option<Either<f64, Null>>,
    /// Generated image tokens (part of `outputTokens`).
    pub output_image_tokens: Option<Either<f64, Null>>,
    /// Generated video tokens (part of `outputTokens`).
    pub output_video_tokens: Option<Either<f64, Null>>,
}

/// One model call for `trackCost`. Counts follow the conventions of `NapiUsage`.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NapiCostInput {
    /// Provider name, such as `openai` or `anthropic`.
    pub provider: String,
    /// Model id as the provider names it.
    pub model: String,
    /// Every prompt token, including cache reads and cache writes.
    pub input_tokens: f64,
    /// Every generated token, including reasoning.
    pub output_tokens: f64,
    /// Prompt tokens read from a cache (part of `inputTokens`).
    pub cache_read_tokens: Option<Either<f64, Null>>,
    /// Prompt tokens written to a five-minute cache (part of `inputTokens`).
    #[napi(js_name = "cacheWrite5mTokens")]
    pub cache_write_5m_tokens: Option<Either<f64, Null>>,
    /// Prompt tokens written to a one-hour cache (part of `inputTokens`).
    #[napi(js_name = "cacheWrite1hTokens")]
    pub cache_write_1h_tokens: Option<Either<f64, Null>>,
    /// Reasoning tokens (part of `outputTokens`).
    pub reasoning_tokens: Option<Either<f64, Null>>,
    /// Server-side web searches, billed per search.
    pub web_searches: Option<Either<f64, Null>>,
    /// File search tool calls, billed per call.
    pub file_searches: Option<Either<f64, Null>>,
    /// Code interpreter sessions (containers), billed per session.
    pub code_interpreter_sessions: Option<Either<f64, Null>>,
    /// Cost you computed, as a decimal string such as `"0.0125"`. Without it the
    /// collector prices the call from its table.
    #[napi(ts_type = "string")]
    pub cost_usd: Option<Either<String, f64>>,
    /// Session of the call; the client's session when absent.
    pub session_id: Option<String>,
    /// Agent of the call; the client's agent when absent.
    pub agent_id: Option<String>,
    /// Cause of the call, such as a tool name.
    pub trigger: Option<String>,
    /// Id of the model call, which lets the collector count it once.
    pub call_id: Option<String>,
}

/// One billed line of a quote.
#[napi(object)]
#[derive(Debug)]
pub struct NapiLineItem {
    /// Units billed on this line.
    pub count: f64,
    /// Rate applied, in dollars per million tokens or per thousand calls; `null` when
    /// the entry has no rate and the count is zero.
    pub rate: Either<String, Null>,
    /// Cost of the line as a decimal string.
    pub cost_usd: String,
}

/// Cost per billed unit. The lines are disjoint, so they add up to the total.
#[napi(object)]
#[derive(Debug)]
pub struct NapiBreakdown {
    /// Prompt tokens neither read from nor written to a cache.
    pub input: NapiLineItem,
    /// Prompt tokens read from a cache.
    pub cache_read: NapiLineItem,
    /// Prompt tokens written to a five-minute cache.
    #[napi(js_name = "cacheWrite5m")]
    pub cache_write_5m: NapiLineItem,
    /// Prompt tokens written to a one-hour cache.
    #[napi(js_name = "cacheWrite1h")]
    pub cache_write_1h: NapiLineItem,
    /// Generated tokens, reasoning included unless `outputReasoning` is present.
    pub output: NapiLineItem,
    /// Reasoning tokens of models that bill them at their own rate, else `null`.
    pub output_reasoning: Either<NapiLineItem, Null>,
    /// Web searches.
    pub web_searches: NapiLineItem,
    /// File search tool calls.
    pub file_searches: NapiLineItem,
    /// Code interpreter sessions.
    pub code_interpreter_sessions: NapiLineItem,
    /// Fixed fee per request as a decimal string.
    pub request_usd: String,
    /// Audio, image and video tokens, one line per unit with tokens; the lines above
    /// exclude them.
    pub modalities: Vec<NapiUnitLine>,
}

/// The line of one audio, image or video unit of a quote.
#[napi(object)]
#[derive(Debug)]
pub struct NapiUnitLine {
    /// Unit of the tokens, such as `input_audio`, `cache_audio_read` or `output_image`.
    pub unit: String,
    /// Price key whose rate billed the tokens, such as `input_audio_mtok`, or `input_mtok`
    /// when the model has no rate of the unit's own.
    pub price_key: String,
    /// Number of tokens.
    pub count: f64,
    /// Rate applied, in dollars per million tokens, as a decimal string.
    pub rate: String,
    /// Cost of the line as a decimal string.
    pub cost_usd: String,
}

/// Converts an option into a value that is `null` in JavaScript when absent, where an
/// `Option` field would leave the property out.
///
/// Fields spell out `Either<T, Null>` because the `.d.ts` generator does not resolve type
/// aliases.
fn nullable<T>(value: Option<T>) -> Either<T, Null> {
    value.map_or(Either::B(Null), Either::A)
}

/// The price of one model call. `costUsd` is `null` when the call cannot be priced.
#[napi(object)]
#[derive(Debug)]
pub struct NapiQuote {
    /// Total cost as a decimal string, or `null` when unpriced.
    pub cost_usd: Either<String, Null>,
    /// Cost per billed unit, or `null` when unpriced.
    pub breakdown: Either<NapiBreakdown, Null>,
    /// Provider whose table entry priced the call, or `null` when unpriced.
    pub provider: Either<String, Null>,
    /// Model entry that priced the call, such as `gpt-4o` for `gpt-4o-2024-08-06`.
    pub model: Either<String, Null>,
    /// First day of the dated price entry used, as `YYYY-MM-DD`; `null` for an undated one.
    pub price_date: Either<String, Null>,
    /// Content hash of the price table.
    pub pricing_version: String,
    /// Why the call has no price, or `null` when priced.
    pub unpriced_reason: Either<String, Null>,
}

/// One validation violation: where it is and what is wrong.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct NapiFieldError {
    /// Dotted path of the offending value, such as `payload.toolName`.
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl From<FieldError> for NapiFieldError {
    fn from(error: FieldError) -> Self {
        NapiFieldError {
            path: error.path,
            message: error.message,
        }
    }
}

impl NapiQuote {
    /// Converts a core outcome, writing every amount as a decimal string.
    pub(crate) fn from_outcome(outcome: &PriceOutcome) -> Self {
        match outcome {
            PriceOutcome::Priced(quote) => {
                let lines = &quote.breakdown;
                NapiQuote {
                    cost_usd: Either::A(quote.total.to_string()),
                    breakdown: Either::A(NapiBreakdown {
                        input: line(&lines.input),
                        cache_read: line(&lines.cache_read),
                        cache_write_5m: line(&lines.cache_write_5m),
                        cache_write_1h: line(&lines.cache_write_1h),
                        output: line(&lines.output),
                        output_reasoning: nullable(lines.output_reasoning.as_ref().map(line)),
                        web_searches: line(&lines.web_searches),
                        file_searches: line(&lines.file_searches),
                        code_interpreter_sessions: line(&lines.code_interpreter_sessions),
                        request_usd: lines.request.to_string(),
                        modalities: lines.modalities.iter().map(unit_line).collect(),
                    }),
                    provider: Either::A(quote.provider.clone()),
                    model: Either::A(quote.model.clone()),
                    price_date: nullable(quote.price_date.map(|date| date.to_string())),
                    pricing_version: quote.pricing_version.clone(),
                    unpriced_reason: Either::B(Null),
                }
            }
            PriceOutcome::Unpriced { reason } => NapiQuote {
                cost_usd: Either::B(Null),
                breakdown: Either::B(Null),
                provider: Either::B(Null),
                model: Either::B(Null),
                price_date: Either::B(Null),
                pricing_version: PriceTable::embedded().version().to_owned(),
                unpriced_reason: Either::A(reason.clone()),
            },
        }
    }
}

fn unit_line(line: &UnitLine) -> NapiUnitLine {
    NapiUnitLine {
        unit: line.unit.to_owned(),
        price_key: line.price_key.to_owned(),
        count: line.count as f64,
        rate: line.rate.normalize().to_string(),
        cost_usd: line.cost.to_string(),
    }
}

fn line(item: &LineItem) -> NapiLineItem {
    NapiLineItem {
        count: item.count as f64,
        rate: nullable(item.rate.map(|rate| rate.normalize().to_string())),
        cost_usd: item.cost.to_string(),
    }
}

/// Reads a token count: a whole JavaScript number from 0 to below 2^64.
pub(crate) fn count(field: &str, value: Option<f64>) -> Result<u64> {
    let Some(value) = value else {
        return Ok(0);
    };
    if value.fract() != 0.0 || !(0.0..U64_LIMIT).contains(&value) {
        return Err(invalid_arg(format!(
            "invalid {field} {value}: expected a whole number >= 0"
        )));
    }
    Ok(value as u64)
}

/// Reads an optional token count, where `null` means absent just as `undefined` does.
fn optional_count(field: &str, value: Option<Either<f64, Null>>) -> Result<u64> {
    match value {
        Some(Either::A(number)) => count(field, Some(number)),
        Some(Either::B(Null)) | None => Ok(0),
    }
}

/// Converts the counts of `usage` without checking how they relate to each other.
fn usage_counts(usage: &NapiUsage) -> Result<Usage> {
    Ok(Usage {
        input_tokens: count("inputTokens", Some(usage.input_tokens))?,
        output_tokens: count("outputTokens", Some(usage.output_tokens))?,
        cache_read_tokens: optional_count("cacheReadTokens", usage.cache_read_tokens)?,
        cache_write_5m_tokens: optional_count("cacheWrite5mTokens", usage.cache_write_5m_tokens)?,
        cache_write_1h_tokens: optional_count("cacheWrite1hTokens", usage.cache_write_1h_tokens)?,
        reasoning_tokens: optional_count("reasoningTokens", usage.reasoning_tokens)?,
        web_searches: optional_count("webSearches", usage.web_searches)?,
        file_searches: optional_count("fileSearches", usage.file_searches)?,
        code_interpreter_sessions: optional_count(
            "codeInterpreterSessions",
            usage.code_interpreter_sessions,
        )?,
        input_audio_tokens: optional_count("inputAudioTokens", usage.input_audio_tokens)?,
        input_image_tokens: optional_count("inputImageTokens", usage.input_image_tokens)?,
        input_video_tokens: optional_count("inputVideoTokens", usage.input_video_tokens)?,
        cache_audio_read_tokens: optional_count(
            "cacheAudioReadTokens",
            usage.cache_audio_read_tokens,
        )?,
        cache_image_read_tokens: optional_count(
            "cacheImageReadTokens",
            usage.cache_image_read_tokens,
        )?,
        cache_video_read_tokens: optional_count(
            "cacheVideoReadTokens",
            usage.cache_video_read_tokens,
        )?,
        output_audio_tokens: optional_count("outputAudioTokens", usage.output_audio_tokens)?,
        output_image_tokens: optional_count("outputImageTokens", usage.output_image_tokens)?,
        output_video_tokens: optional_count("outputVideoTokens", usage.output_video_tokens)?,
    })
}

/// Converts and checks usage for a quote: every part must fit inside its whole.
pub(crate) fn to_usage(usage: &NapiUsage) -> Result<Usage> {
    let usage = usage_counts(usage)?;
    usage
        .check()
        .map_err(|error| invalid_arg(format!("invalid usage: {}", error.with_json_names(""))))?;
    Ok(usage)
}

/// Converts a `trackCost` argument into a core cost event for `default_session`.
///
/// Only the conversions are checked here; the client checks the event with the core's
/// rules ([`CostEvent::check`]) before queueing it.
pub(crate) fn to_cost_event(input: NapiCostInput, default_session: &str) -> Result<CostEvent> {
    let usage = usage_counts(&NapiUsage {
        input_tokens: input.input_tokens,
        output_tokens: input.output_tokens,
        cache_read_tokens: input.cache_read_tokens,
        cache_write_5m_tokens: input.cache_write_5m_tokens,
        cache_write_1h_tokens: input.cache_write_1h_tokens,
        reasoning_tokens: input.reasoning_tokens,
        web_searches: input.web_searches,
        file_searches: input.file_searches,
        code_interpreter_sessions: input.code_interpreter_sessions,
        ..NapiUsage::default()
    })?;
    let cost_usd = input.cost_usd.map(parse_cost).transpose()?;

    Ok(CostEvent {
        session_id: input
            .session_id
            .unwrap_or_else(|| default_session.to_owned()),
        agent_id: input.agent_id,
        cost_usd,
        trigger: input.trigger,
        call_id: input.call_id,
        ..CostEvent::new("", input.provider, input.model, usage)
    })
}

/// Creates the `Error` thrown for a cost event that fails the core check, naming each
/// field as `trackCost` spells it (`costUsd`, not `payload.costUsd`).
pub(crate) fn invalid_cost(errors: Vec<FieldError>) -> Error {
    let details: Vec<String> = errors
        .iter()
        .map(|error| {
            let field = error.path.strip_prefix("payload.").unwrap_or(&error.path);
            format!("{field}: {}", error.message)
        })
        .collect();
    invalid_arg(format!("invalid cost event: {}", details.join("; ")))
}

/// Reads `costUsd`, which must be a decimal string so that no digit is lost.
fn parse_cost(value: Either<String, f64>) -> Result<Usd> {
    let text = match value {
        Either::A(text) => text,
        Either::B(number) => {
            return Err(invalid_arg(format!(
                "invalid costUsd {number}: pass the cost as a decimal string such as \
                 \"{number}\", because a JavaScript number cannot hold every cost exactly"
            )))
        }
    };
    text.parse()
        .map_err(|error| invalid_arg(format!("invalid costUsd: {error}")))
}

/// Reads an optional RFC 3339 string or `Date`; now when absent.
pub(crate) fn parse_at(at: Option<Either<String, Date>>) -> Result<DateTime<Utc>> {
    match at {
        None => Ok(Utc::now()),
        Some(Either::A(text)) => DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| {
                invalid_arg(format!(
                    "invalid time {text:?}: expected RFC 3339 such as 2026-02-07T10:00:00Z"
                ))
            }),
        Some(Either::B(date)) => {
            let ms = date.value_of()?;
            DateTime::from_timestamp_millis(ms as i64)
                .ok_or_else(|| invalid_arg(format!("invalid Date {ms}: out of range")))
        }
    }
}
