//! Validation of the money fields of `cost_tracked` and `llm_response` payloads.
//!
//! In a `cost_tracked` payload `inputTokens` counts every prompt token, cached or not, and
//! the cache fields are parts of it. `outputTokens` includes `reasoningTokens`. When
//! `totalTokens` is sent, it must equal input plus output. `costUsd` is optional: an
//! event without it is priced by the collector or counted as unpriced, never as $0.
//!
//! A `cost_tracked` payload may also carry the provider's own `usage` object. Every count
//! the payload leaves out (the cache, reasoning, web search and modality counts) is then
//! taken from that object, and a count the payload sends wins over it. `inputTokens` and
//! `outputTokens` are required, and the object's prompt and output totals (as
//! [`crate::usage::extract`] normalizes them) must equal them. The parts taken from it must
//! fit inside them.

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::counts::{part_counts, provider_usage, set_part_counts};
use super::fields::{describe, lookup, optional_string, required_string, token_count, Errors};
use super::tier;
use crate::event::CostFacts;
use crate::money::{MoneyError, Usd, PICO_SCALE};
use crate::usage::{Usage, UsageError};

/// Reads and checks the cost fields of a `cost_tracked` payload.
pub(crate) fn cost_tracked(
    payload: &Map<String, Value>,
    errors: &mut Errors<'_>,
) -> Option<CostFacts> {
    let before = errors.list.len();
    let provider = required_string(payload, "provider", true, errors);
    let model = required_string(payload, "model", true, errors);
    let input = token_count(payload, "inputTokens", true, errors);
    let output = token_count(payload, "outputTokens", true, errors);
    let total = token_count(payload, "totalTokens", false, errors);
    let cache_read = token_count(payload, "cacheReadTokens", false, errors);
    let cache_write_5m = token_count(payload, "cacheWrite5mTokens", false, errors).or(token_count(
        payload,
        "cacheWriteTokens",
        false,
        errors,
    ));
    let cache_write_1h = token_count(payload, "cacheWrite1hTokens", false, errors);
    let reasoning = token_count(payload, "reasoningTokens", false, errors);
    let parts = part_counts(payload, errors);
    let cost_usd = cost(payload, errors);
    optional_string(payload, "trigger", errors);
    let call_id = optional_string(payload, "callId", errors);
    let context = tier::price_context(payload, errors);
    let reported = provider.and_then(|provider| provider_usage(provider, payload, errors));
    if let (Some(reported), Some(input), Some(output)) = (&reported, input, output) {
        check_reported_totals(reported, input, output, errors);
    }
    if errors.list.len() > before {
        return None;
    }

    let fallback = reported.unwrap_or_default();
    let mut usage = Usage {
        input_tokens: input?,
        cache_read_tokens: cache_read.unwrap_or(fallback.cache_read_tokens),
        cache_write_5m_tokens: cache_write_5m.unwrap_or(fallback.cache_write_5m_tokens),
        cache_write_1h_tokens: cache_write_1h.unwrap_or(fallback.cache_write_1h_tokens),
        output_tokens: output?,
        reasoning_tokens: reasoning.unwrap_or(fallback.reasoning_tokens),
        ..Usage::default()
    };
    set_part_counts(&mut usage, &parts, reported.as_ref());
    if let Some(total) = total {
        if total != usage.total_tokens() {
            errors.push(
                "totalTokens",
                format!(
                    "totalTokens ({total}) must equal inputTokens + outputTokens ({})",
                    usage.total_tokens()
                ),
            );
            return None;
        }
    }
    if let Err(error) = usage.check() {
        let (field, message) = usage_violation(&error, "");
        errors.push(&field, message);
        return None;
    }

    Some(CostFacts {
        provider: provider?.to_owned(),
        model: model?.to_owned(),
        cost_usd,
        usage,
        call_id: call_id.map(str::to_owned),
        context: context?,
    })
}

/// Rejects a provider usage object whose prompt or output total differs from the payload's
/// `inputTokens` or `outputTokens`, because the event would be priced from counts that its
/// own usage object contradicts.
fn check_reported_totals(reported: &Usage, input: u64, output: u64, errors: &mut Errors<'_>) {
    let totals = [
        ("inputTokens", input, reported.input_tokens, "prompt"),
        ("outputTokens", output, reported.output_tokens, "output"),
    ];
    for (field, sent, read, kind) in totals {
        if sent != read {
            errors.push(
                "usage",
                format!(
                    "usage reports {read} {kind} tokens but {field} is {sent}; send counts \
                     that agree, or leave out the usage object"
                ),
            );
        }
    }
}

/// Reads and checks the cost fields of an `llm_response` payload.
///
/// Upstream SDKs fill `usage.inputTokens` the way each provider reports it, and for
/// Anthropic that excludes cached tokens. When the cache parts do not fit inside
/// `inputTokens`, they are added to it instead of rejecting the event.
pub(crate) fn llm_response(
    payload: &Map<String, Value>,
    errors: &mut Errors<'_>,
) -> Option<CostFacts> {
    let before = errors.list.len();
    let provider = lookup(payload, "provider").and_then(Value::as_str);
    let model = lookup(payload, "model").and_then(Value::as_str);
    let call_id = lookup(payload, "callId").and_then(Value::as_str);
    let cost_usd = cost(payload, errors);
    let context = tier::price_context(payload, errors);
    let usage = match lookup(payload, "usage") {
        Some(Value::Object(usage)) => llm_usage(usage, &mut errors.nested("usage")),
        Some(other) => {
            errors.push(
                "usage",
                format!("expected an object, got {}", describe(other)),
            );
            None
        }
        None => {
            errors.push("usage", "usage is required");
            None
        }
    };
    if errors.list.len() > before {
        return None;
    }

    Some(CostFacts {
        provider: provider?.to_owned(),
        model: model?.to_owned(),
        cost_usd,
        usage: usage?,
        call_id: call_id.map(str::to_owned),
        context: context?,
    })
}

fn llm_usage(usage: &Map<String, Value>, errors: &mut Errors<'_>) -> Option<Usage> {
    let input = token_count(usage, "inputTokens", true, errors);
    let output = token_count(usage, "outputTokens", true, errors);
    let total = token_count(usage, "totalTokens", true, errors);
    let reasoning = token_count(usage, "thinkingTokens", false, errors);
    let cache_read = token_count(usage, "cacheReadTokens", false, errors);
    let cache_write = token_count(usage, "cacheWriteTokens", false, errors);
    let parts = part_counts(usage, errors);
    let (input, output, _) = (input?, output?, total?);

    let mut parsed = Usage {
        input_tokens: input,
        cache_read_tokens: cache_read.unwrap_or(0),
        cache_write_5m_tokens: cache_write.unwrap_or(0),
        cache_write_1h_tokens: 0,
        output_tokens: output,
        reasoning_tokens: reasoning.unwrap_or(0),
        ..Usage::default()
    };
    if parsed.cache_read_tokens + parsed.cache_write_tokens() > parsed.input_tokens {
        parsed.input_tokens += parsed.cache_read_tokens + parsed.cache_write_tokens();
    }
    if parsed.reasoning_tokens > parsed.output_tokens {
        parsed.output_tokens += parsed.reasoning_tokens;
    }
    set_part_counts(&mut parsed, &parts, None);
    if let Err(error) = parsed.check() {
        let (field, message) = usage_violation(&error, "usage.");
        errors.push(&field, message);
        return None;
    }
    Some(parsed)
}

/// Reads `costUsd`: a finite, non-negative number or decimal string, or absent.
fn cost(payload: &Map<String, Value>, errors: &mut Errors<'_>) -> Option<Usd> {
    let value = lookup(payload, "costUsd")?;
    if value.is_null() {
        return None;
    }
    match amount_from_json("costUsd", value).and_then(check_cost_amount) {
        Ok(amount) => Some(amount),
        Err(message) => {
            // Parsed again only on failure, so valid costs on the ingest path parse once.
            let message = if is_beyond_decimal_range(value) {
                format!(
                    "costUsd {} is out of range: a cost must be 0 to {MAX_COST} USD per \
                     event, with at most {PICO_SCALE} decimal places",
                    describe_amount(value)
                )
            } else {
                message
            };
            errors.push("costUsd", message);
            None
        }
    }
}

/// Returns whether `value` is a decimal number or string too long or too large for
/// [`Usd`] (28 decimal places, or 7.9e28), which is beyond any storable cost. Its message
/// then states the cost limits instead of the decimal type's.
fn is_beyond_decimal_range(value: &Value) -> bool {
    let parsed = match value {
        Value::Number(number) => Usd::from_json_number(number),
        Value::String(text) => text.parse::<Usd>(),
        _ => return false,
    };
    matches!(parsed, Err(MoneyError::OutOfRange(_)))
}

/// Returns the amount's text as sent: a number's digits, a string's content.
fn describe_amount(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Reads an amount of US dollars, such as `costUsd` or an alert threshold, sent as a JSON
/// number or a decimal string, without rounding it.
///
/// # Errors
///
/// Returns a message naming `field` for another JSON type, for a number with more than 15
/// significant digits (see [`MAX_NUMBER_DIGITS`]), and for a string that is not a decimal
/// or has spaces around it. The sign and the number of decimals are the caller's to check.
pub fn amount_from_json(field: &str, value: &Value) -> Result<Usd, String> {
    match value {
        Value::Number(number) => amount_from_number(field, number),
        Value::String(text) => amount_from_text(field, text),
        other => Err(format!(
            "expected a number or a decimal string such as \"0.10\", got {}",
            describe(other)
        )),
    }
}

/// Reads an amount sent as a decimal string. [`Usd`]'s parser skips surrounding
/// whitespace, which an amount on the wire may not have, because no SDK writes it and it
/// usually means text pasted from elsewhere.
fn amount_from_text(field: &str, text: &str) -> Result<Usd, String> {
    if text.trim() != text {
        return Err(format!(
            "invalid {field} {text:?}: the decimal string has spaces around it; send it \
             without them, such as {:?}",
            text.trim()
        ));
    }
    text.parse::<Usd>().map_err(|error| error.to_string())
}

/// Maximum number of significant digits that every decimal keeps through an `f64` and
/// back.
const MAX_NUMBER_DIGITS: usize = 15;

/// Reads an amount sent as a JSON number. The parser stores a fraction as an `f64`, so a number
/// whose shortest round-trip text has more than 15 significant digits may already have lost
/// digits, and is rejected instead of stored rounded.
fn amount_from_number(field: &str, number: &serde_json::Number) -> Result<Usd, String> {
    let text = number.to_string();
    let digits = significant_digits(&text);
    if number.is_f64() && digits > MAX_NUMBER_DIGITS {
        return Err(format!(
            "{field} {text} has {digits} significant digits, but a JSON number keeps only \
             {MAX_NUMBER_DIGITS} exactly, so the amount may already be rounded; send it as a \
             decimal string with every digit, such as \"{field}\": \"1234567.123456789012\""
        ));
    }
    Usd::from_json_number(number).map_err(|error| error.to_string())
}

/// Counts the significant digits of a number's text, ignoring sign, point, leading zeros
/// and any exponent.
fn significant_digits(text: &str) -> usize {
    let mantissa = text.split(['e', 'E']).next().unwrap_or_default();
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').len().max(1)
}

/// Largest storable cost: `i64::MAX` pico-dollars, 9,223,372.036854775807 USD.
const MAX_COST: Decimal = Decimal::from_parts(u32::MAX, i32::MAX as u32, 0, false, PICO_SCALE);

/// Checks that a cost can be stored: 0 or more, at most 12 decimal places, and small
/// enough for a 64-bit count of pico-dollars.
pub(crate) fn check_cost_amount(amount: Usd) -> Result<Usd, String> {
    if amount.is_negative() {
        return Err(format!("costUsd must be 0 or more, got {amount}"));
    }
    if amount.as_decimal().scale() > PICO_SCALE {
        return Err(format!(
            "costUsd {amount} has more than {PICO_SCALE} decimal places; AgentLens \
             stores costs to 1e-12 USD, so round it first"
        ));
    }
    // With at most 12 decimals, this comparison is `amount.to_pico().is_none()` without
    // the multiplication.
    if amount.as_decimal() > MAX_COST {
        return Err(format!(
            "costUsd {amount} is larger than the maximum of {MAX_COST} USD per event"
        ));
    }
    Ok(amount)
}

/// Returns the payload field to blame for usage whose parts do not fit, and the message.
///
/// A part that exceeds its whole is blamed when it is a single count, else the whole is.
/// A sum of parts that overflows is blamed on its first count. The message names the
/// counts by their JSON keys after `prefix`, as the caller sent them, with the prefix
/// `usage.` for the usage object of an `llm_response`.
pub(crate) fn usage_violation(error: &UsageError, prefix: &str) -> (String, String) {
    let field = match error {
        UsageError::ReasoningExceedsOutput { .. } => Some("reasoningTokens".to_owned()),
        UsageError::PartExceedsWhole { part, whole, .. } => {
            payload_name(part).or_else(|| payload_name(whole))
        }
        UsageError::Overflow { field } => field.split(" + ").next().and_then(payload_name),
        _ => None,
    };
    let field = field.unwrap_or_else(|| "inputTokens".to_owned());
    (field, error.with_json_names(prefix).to_string())
}

/// Converts a `Usage` field name (`cache_write_5m_tokens`) into its payload key
/// (`cacheWrite5mTokens`); `None` for text that is not a field name.
fn payload_name(field: &str) -> Option<String> {
    let is_name = !field.is_empty()
        && field
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
    is_name.then(|| crate::usage::camel_case(field))
}
