//! Validation of the money fields of `cost_tracked` and `llm_response` payloads.
//!
//! In a `cost_tracked` payload `inputTokens` counts every prompt token, cached or not, and
//! the cache fields are parts of it. `outputTokens` includes `reasoningTokens`. When
//! `totalTokens` is sent, it must equal input plus output. `costUsd` is optional: an
//! event without it is priced by the collector or counted as unpriced, never as $0.

use serde_json::{Map, Value};

use super::fields::{describe, optional_string, required_string, token_count, Errors};
use crate::event::CostFacts;
use crate::money::{Usd, PICO_SCALE};
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
    let cost_usd = cost(payload, errors);
    optional_string(payload, "trigger", errors);
    let call_id = optional_string(payload, "callId", errors);
    if errors.list.len() > before {
        return None;
    }

    let usage = Usage {
        input_tokens: input?,
        cache_read_tokens: cache_read.unwrap_or(0),
        cache_write_5m_tokens: cache_write_5m.unwrap_or(0),
        cache_write_1h_tokens: cache_write_1h.unwrap_or(0),
        output_tokens: output?,
        reasoning_tokens: reasoning.unwrap_or(0),
        ..Usage::default()
    };
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
        let field = match error {
            UsageError::ReasoningExceedsOutput { .. } => "reasoningTokens",
            _ => "inputTokens",
        };
        errors.push(field, error.to_string());
        return None;
    }

    Some(CostFacts {
        provider: provider?.to_owned(),
        model: model?.to_owned(),
        cost_usd,
        usage,
        call_id: call_id.map(str::to_owned),
    })
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
    let provider = payload.get("provider").and_then(Value::as_str);
    let model = payload.get("model").and_then(Value::as_str);
    let call_id = payload.get("callId").and_then(Value::as_str);
    let cost_usd = cost(payload, errors);
    let usage = match payload.get("usage") {
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
    })
}

fn llm_usage(usage: &Map<String, Value>, errors: &mut Errors<'_>) -> Option<Usage> {
    let input = token_count(usage, "inputTokens", true, errors);
    let output = token_count(usage, "outputTokens", true, errors);
    let total = token_count(usage, "totalTokens", true, errors);
    let reasoning = token_count(usage, "thinkingTokens", false, errors);
    let cache_read = token_count(usage, "cacheReadTokens", false, errors);
    let cache_write = token_count(usage, "cacheWriteTokens", false, errors);
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
    Some(parsed)
}

/// Reads `costUsd`: a finite, non-negative number or decimal string, or absent.
fn cost(payload: &Map<String, Value>, errors: &mut Errors<'_>) -> Option<Usd> {
    let value = payload.get("costUsd")?;
    let parsed = match value {
        Value::Null => return None,
        Value::Number(number) => Usd::from_json_number(number).map_err(|error| error.to_string()),
        Value::String(text) => text.parse::<Usd>().map_err(|error| error.to_string()),
        other => Err(format!(
            "expected a number of US dollars, got {}",
            describe(other)
        )),
    };
    match parsed {
        Ok(amount) if amount.is_negative() => {
            errors.push(
                "costUsd",
                format!("costUsd must be 0 or more, got {amount}"),
            );
            None
        }
        Ok(amount) if amount.as_decimal().scale() > PICO_SCALE => {
            errors.push(
                "costUsd",
                format!(
                    "costUsd {amount} has more than {PICO_SCALE} decimal places; AgentLens \
                     stores costs to 1e-12 USD, so round it first"
                ),
            );
            None
        }
        Ok(amount) if amount.to_pico().is_none() => {
            errors.push(
                "costUsd",
                format!("costUsd {amount} is larger than the maximum of 9223372 USD per event"),
            );
            None
        }
        Ok(amount) => Some(amount),
        Err(message) => {
            errors.push("costUsd", message);
            None
        }
    }
}
