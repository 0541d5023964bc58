//! Reading provider, model and usage out of a whole model response.
//!
//! Supported shapes:
//!
//! | response                               | usage at          | model at                   |
//! |----------------------------------------|-------------------|----------------------------|
//! | OpenAI Chat Completions and Responses  | `usage`           | `model`                    |
//! | Anthropic Messages                     | `usage`           | `model`                    |
//! | Gemini `generateContent`               | `usageMetadata`   | `modelVersion`             |
//! | Vercel AI SDK `generateText` result    | `usage` (camelCase) | `response.modelId`       |
//! | a bare usage object of any of these    | the object itself | the `model` option         |
//!
//! Provider usage goes through the core readers, and the built-in tool calls that an OpenAI
//! Responses API result lists in `output` are added by [`usage::tool_calls`]. The Vercel AI
//! SDK usage object is read here, in both of its layouts: the flat one (`inputTokens`,
//! `outputTokens`, `totalTokens`, `reasoningTokens?`, `cachedInputTokens?`, and since AI
//! SDK 6 `inputTokenDetails` and `outputTokenDetails`) and the provider-level one whose
//! `inputTokens` and `outputTokens` are objects with `total`, `cacheRead`, `cacheWrite`
//! and `reasoning`.

use agentlens_core::usage::{self, Usage};
use serde_json::{Map, Value};

/// Provider, model and usage read from a response.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResponseUsage {
    /// Provider named by the caller or recognized from the shape; `None` when unknown.
    pub(crate) provider: Option<String>,
    /// Model id from the caller or the response.
    pub(crate) model: Option<String>,
    /// Normalized token counts.
    pub(crate) usage: Usage,
}

/// Reads a response, with `provider` and `model` from the caller taking precedence.
///
/// # Errors
///
/// Returns a message naming the field when no usage is found or a count is invalid.
pub(crate) fn read(
    response: &Value,
    provider: Option<&str>,
    model: Option<&str>,
) -> Result<ResponseUsage, String> {
    let Value::Object(object) = response else {
        return Err("invalid response: expected an object with a usage field".to_owned());
    };
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    let chosen_model = model.map(str::to_owned);

    // Gemini responses carry `usageMetadata`.
    if let Some(metadata) = object.get("usageMetadata") {
        let usage = usage::from_gemini(metadata).map_err(|error| error.to_string())?;
        return Ok(ResponseUsage {
            provider: Some(provider.unwrap_or("google").to_owned()),
            model: chosen_model.or_else(|| text("modelVersion")),
            usage,
        });
    }

    // A bare usage object stands for itself; otherwise the usage is a field.
    let (usage_value, is_bare) = match object.get("usage") {
        Some(Value::Object(_)) => (&object["usage"], false),
        Some(_) => return Err("invalid response: usage must be an object".to_owned()),
        None => (response, true),
    };
    let response_model = if is_bare {
        None
    } else {
        text("model").or_else(|| vercel_model_id(object))
    };
    let chosen_model = chosen_model.or(response_model);

    if is_vercel_usage(usage_value) {
        let provider = provider
            .map(str::to_owned)
            .or_else(|| vercel_provider(object));
        let usage = read_vercel(usage_value, provider.as_deref(), object)?;
        return Ok(ResponseUsage {
            provider,
            model: chosen_model,
            usage,
        });
    }

    let provider = provider
        .map(str::to_owned)
        .or_else(|| raw_provider(object, usage_value));
    let reader = provider.as_deref().unwrap_or("openai");
    let mut usage = usage::extract(reader, usage_value).map_err(|error| error.to_string())?;
    usage::tool_calls(response).add_to(&mut usage);
    Ok(ResponseUsage {
        provider,
        model: chosen_model,
        usage,
    })
}

/// Recognizes an Anthropic response from its shape.
///
/// The OpenAI shape is left without a provider, because Mistral, DeepSeek, xAI and other
/// OpenAI-compatible APIs return it too; the price table then finds the provider by model.
fn raw_provider(response: &Map<String, Value>, usage: &Value) -> Option<String> {
    let has = |key: &str| usage.get(key).is_some_and(|value| !value.is_null());
    let is_message = response.get("type").and_then(Value::as_str) == Some("message");
    if is_message || has("cache_creation_input_tokens") || has("cache_read_input_tokens") {
        return Some("anthropic".to_owned());
    }
    None
}

/// Returns true for the camelCase usage of the Vercel AI SDK.
fn is_vercel_usage(usage: &Value) -> bool {
    usage.get("inputTokens").is_some() || usage.get("outputTokens").is_some()
}

fn vercel_model_id(response: &Map<String, Value>) -> Option<String> {
    let nested = response
        .get("response")
        .and_then(|inner| inner.get("modelId"))
        .and_then(Value::as_str);
    let direct = response.get("modelId").and_then(Value::as_str);
    nested.or(direct).map(str::to_owned)
}

/// Takes the provider from the first key of `providerMetadata`, as the AI SDK names it.
fn vercel_provider(response: &Map<String, Value>) -> Option<String> {
    let metadata = response.get("providerMetadata")?.as_object()?;
    metadata.keys().next().cloned()
}

/// Reads the Vercel AI SDK usage object in either layout.
fn read_vercel(
    usage: &Value,
    provider: Option<&str>,
    response: &Map<String, Value>,
) -> Result<Usage, String> {
    let input = usage.get("inputTokens");
    let output = usage.get("outputTokens");
    let result = if input.is_some_and(Value::is_object) || output.is_some_and(Value::is_object) {
        read_vercel_provider_level(usage)?
    } else {
        read_vercel_flat(usage, provider, response)?
    };
    result.check().map_err(|error| error.to_string())?;
    Ok(result)
}

/// Reads the provider-level layout, whose totals include cache and reasoning tokens.
fn read_vercel_provider_level(usage: &Value) -> Result<Usage, String> {
    let input = usage.get("inputTokens").unwrap_or(&Value::Null);
    let output = usage.get("outputTokens").unwrap_or(&Value::Null);
    Ok(Usage {
        input_tokens: count(input, "total", "inputTokens.total")?,
        cache_read_tokens: count(input, "cacheRead", "inputTokens.cacheRead")?,
        cache_write_5m_tokens: count(input, "cacheWrite", "inputTokens.cacheWrite")?,
        output_tokens: count(output, "total", "outputTokens.total")?,
        reasoning_tokens: count(output, "reasoning", "outputTokens.reasoning")?,
        ..Usage::default()
    })
}

/// Reads the flat layout returned by `generateText` and `streamText`.
///
/// With `inputTokenDetails` (AI SDK 6 and later) every total includes its parts. The
/// older layout left two provider differences visible, which are undone here:
///
/// - Anthropic's `inputTokens` excluded cache reads (`cachedInputTokens`) and cache writes
///   (`providerMetadata.anthropic.cacheCreationInputTokens`), so they are added back.
/// - Gemini's `outputTokens` excluded reasoning. That case is recognized by
///   `totalTokens` being input + output + reasoning, and reasoning is added back.
fn read_vercel_flat(
    usage: &Value,
    provider: Option<&str>,
    response: &Map<String, Value>,
) -> Result<Usage, String> {
    let reported_input = count(usage, "inputTokens", "inputTokens")?;
    let reported_output = count(usage, "outputTokens", "outputTokens")?;
    let input_details = usage.get("inputTokenDetails").filter(|v| v.is_object());
    let output_details = usage.get("outputTokenDetails").filter(|v| v.is_object());

    let reasoning = match output_details {
        Some(details) => count(
            details,
            "reasoningTokens",
            "outputTokenDetails.reasoningTokens",
        )?,
        None => count(usage, "reasoningTokens", "reasoningTokens")?,
    };

    let (input, cache_read, cache_write) = match input_details {
        Some(details) => (
            reported_input,
            count(
                details,
                "cacheReadTokens",
                "inputTokenDetails.cacheReadTokens",
            )?,
            count(
                details,
                "cacheWriteTokens",
                "inputTokenDetails.cacheWriteTokens",
            )?,
        ),
        None => {
            let cached = count(usage, "cachedInputTokens", "cachedInputTokens")?;
            let is_anthropic = provider.is_some_and(|name| name.contains("anthropic"));
            if is_anthropic || cached > reported_input {
                let writes = anthropic_cache_writes(response)?;
                let input = reported_input
                    .checked_add(cached)
                    .and_then(|sum| sum.checked_add(writes))
                    .ok_or("usage.inputTokens overflows a 64-bit count")?;
                (input, cached, writes)
            } else {
                (reported_input, cached, 0)
            }
        }
    };

    let total = usage.get("totalTokens").and_then(Value::as_u64);
    let output_excludes_reasoning = output_details.is_none()
        && reasoning > 0
        && total == Some(reported_input + reported_output + reasoning);
    let output = if output_excludes_reasoning {
        reported_output + reasoning
    } else {
        reported_output
    };

    Ok(Usage {
        input_tokens: input,
        cache_read_tokens: cache_read,
        cache_write_5m_tokens: cache_write,
        output_tokens: output,
        reasoning_tokens: reasoning,
        ..Usage::default()
    })
}

fn anthropic_cache_writes(response: &Map<String, Value>) -> Result<u64, String> {
    let anthropic = response
        .get("providerMetadata")
        .and_then(|metadata| metadata.get("anthropic"));
    match anthropic {
        Some(metadata) => count(
            metadata,
            "cacheCreationInputTokens",
            "providerMetadata.anthropic.cacheCreationInputTokens",
        ),
        None => Ok(0),
    }
}

/// Reads an optional count; absent or null is 0.
fn count(object: &Value, key: &str, path: &str) -> Result<u64, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(value) => value.as_u64().ok_or_else(|| {
            format!("invalid usage.{path} {value}: expected a whole number of tokens >= 0")
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn vercel_v6_layout_keeps_totals() {
        let result = json!({
            "usage": {
                "inputTokens": 3700, "outputTokens": 741, "totalTokens": 4441,
                "inputTokenDetails": { "noCacheTokens": 1140, "cacheReadTokens": 2560 },
                "outputTokenDetails": { "textTokens": 101, "reasoningTokens": 640 }
            },
            "response": { "modelId": "gpt-5-mini-2025-08-07" }
        });

        let read = read(&result, Some("openai"), None).unwrap();

        assert_eq!(read.model.as_deref(), Some("gpt-5-mini-2025-08-07"));
        assert_eq!(read.usage.input_tokens, 3700);
        assert_eq!(read.usage.cache_read_tokens, 2560);
        assert_eq!(read.usage.output_tokens, 741);
        assert_eq!(read.usage.reasoning_tokens, 640);
    }

    #[test]
    fn vercel_flat_gemini_adds_reasoning_to_output() {
        let usage = json!({
            "inputTokens": 9, "outputTokens": 28, "totalTokens": 281, "reasoningTokens": 244
        });

        let read = read(&usage, Some("google"), Some("gemini-3-pro-preview")).unwrap();

        assert_eq!(read.usage.output_tokens, 272);
        assert_eq!(read.usage.reasoning_tokens, 244);
    }

    #[test]
    fn vercel_flat_anthropic_adds_cache_to_input() {
        let result = json!({
            "usage": { "inputTokens": 6, "outputTokens": 198, "totalTokens": 204,
                       "cachedInputTokens": 6289 },
            "providerMetadata": { "anthropic": { "cacheCreationInputTokens": 3337 } }
        });

        let read = read(&result, None, Some("claude-sonnet-4-5")).unwrap();

        assert_eq!(read.provider.as_deref(), Some("anthropic"));
        assert_eq!(read.usage.input_tokens, 6 + 6289 + 3337);
        assert_eq!(read.usage.cache_read_tokens, 6289);
        assert_eq!(read.usage.cache_write_5m_tokens, 3337);
    }

    #[test]
    fn raw_anthropic_message_is_recognized() {
        let message = json!({
            "type": "message", "model": "claude-haiku-4-5-20251001",
            "usage": { "input_tokens": 10, "output_tokens": 5 }
        });

        let read = read(&message, None, None).unwrap();

        assert_eq!(read.provider.as_deref(), Some("anthropic"));
        assert_eq!(read.model.as_deref(), Some("claude-haiku-4-5-20251001"));
    }

    #[test]
    fn fractional_vercel_count_is_rejected() {
        let usage = json!({ "inputTokens": 1.5, "outputTokens": 2 });

        let error = read(&usage, Some("openai"), Some("gpt-4o")).unwrap_err();

        assert!(error.contains("usage.inputTokens"), "{error}");
    }
}
