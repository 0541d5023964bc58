//! Readers that turn a provider's raw usage object into a [`Usage`].
//!
//! Each reader validates every count it reads: a count must be a JSON integer (or a float
//! with no fractional part) between 0 and `u64::MAX`, and a part may not exceed its whole.
//! An absent or `null` optional count reads as 0.

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::money::Usd;

use super::{modality, Usage, UsageError};

mod litellm;

pub use litellm::from_litellm;

/// Reads an Anthropic Messages API `usage` object.
///
/// Anthropic's `input_tokens` excludes the cache, so the normalized input is
/// `input_tokens + cache_creation_input_tokens + cache_read_input_tokens`. The writes are
/// split by `cache_creation.ephemeral_5m_input_tokens` and `ephemeral_1h_input_tokens`.
/// Without that object every write is a five-minute write, the API's default lifetime, and
/// any writes that the object leaves unassigned are counted as five-minute writes too.
///
/// # Errors
///
/// Returns [`UsageError`] when `input_tokens` or `output_tokens` is missing, a count is
/// invalid, or the lifetime split exceeds `cache_creation_input_tokens`.
pub fn from_anthropic(usage: &Value) -> Result<Usage, UsageError> {
    let root = Fields::root(usage)?;
    let uncached = root.required("input_tokens")?;
    let cache_read = root.count("cache_read_input_tokens")?.unwrap_or(0);
    let creation = root.count("cache_creation_input_tokens")?;
    let (write_5m, write_1h) = anthropic_cache_writes(&root, creation)?;

    let input = checked_sum(uncached, write_5m, "cache_creation_input_tokens")?;
    let input = checked_sum(input, write_1h, "cache_creation_input_tokens")?;
    let input = checked_sum(input, cache_read, "cache_read_input_tokens")?;
    let output = root.required("output_tokens")?;
    let reasoning = root
        .nested("output_tokens_details")?
        .map(|details| details.count("thinking_tokens"))
        .transpose()?
        .flatten()
        .unwrap_or(0);
    root.part_of(
        "output_tokens_details.thinking_tokens",
        reasoning,
        "output_tokens",
        output,
    )?;
    let web_searches = root
        .nested("server_tool_use")?
        .map(|tools| tools.count("web_search_requests"))
        .transpose()?
        .flatten()
        .unwrap_or(0);

    finish(Usage {
        input_tokens: input,
        cache_read_tokens: cache_read,
        cache_write_5m_tokens: write_5m,
        cache_write_1h_tokens: write_1h,
        output_tokens: output,
        reasoning_tokens: reasoning,
        web_searches,
        ..Usage::default()
    })
}

fn anthropic_cache_writes(root: &Fields, creation: Option<u64>) -> Result<(u64, u64), UsageError> {
    let Some(split) = root.nested("cache_creation")? else {
        return Ok((creation.unwrap_or(0), 0));
    };
    let write_5m = split.count("ephemeral_5m_input_tokens")?.unwrap_or(0);
    let write_1h = split.count("ephemeral_1h_input_tokens")?.unwrap_or(0);
    let split_total = checked_sum(
        write_5m,
        write_1h,
        "cache_creation.ephemeral_1h_input_tokens",
    )?;
    let Some(total) = creation else {
        return Ok((write_5m, write_1h));
    };
    let split_field = "cache_creation.ephemeral_5m_input_tokens + ephemeral_1h_input_tokens";
    root.part_of(
        split_field,
        split_total,
        "cache_creation_input_tokens",
        total,
    )?;
    Ok((total - write_1h, write_1h))
}

/// Reads an OpenAI usage object from the Chat Completions or the Responses API.
///
/// A `prompt_tokens` field selects the Chat Completions shape: `prompt_tokens` includes
/// `prompt_tokens_details.cached_tokens` and `completion_tokens` includes
/// `completion_tokens_details.reasoning_tokens`. When the details object is absent,
/// DeepSeek's `prompt_cache_hit_tokens` is read as the cached part. Otherwise the Responses
/// shape is read: `input_tokens` with `input_tokens_details.cached_tokens`, and
/// `output_tokens` with `output_tokens_details.reasoning_tokens`. Completion or output counts
/// may be absent, as in embedding responses. OpenAI bills no cache writes.
///
/// # Errors
///
/// Returns [`UsageError`] when neither `prompt_tokens` nor `input_tokens` is present, a
/// count is invalid, or a cached or reasoning part exceeds its whole.
pub fn from_openai(usage: &Value) -> Result<Usage, UsageError> {
    let root = Fields::root(usage)?;
    if root.count("prompt_tokens")?.is_some() {
        let cached = match root.nested("prompt_tokens_details")? {
            Some(details) => details.count("cached_tokens")?,
            None => match root.count("prompt_cache_hit_tokens")? {
                Some(hits) => Some(hits),
                None => root.count("cached_tokens")?,
            },
        };
        let cached_field = if root.has("prompt_tokens_details") {
            "prompt_tokens_details.cached_tokens"
        } else if root.has("prompt_cache_hit_tokens") {
            "prompt_cache_hit_tokens"
        } else {
            "cached_tokens"
        };
        return openai_shape(
            &root,
            ["prompt_tokens", "completion_tokens"],
            cached,
            cached_field,
        );
    }
    if root.count("input_tokens")?.is_some() {
        let cached = root
            .nested("input_tokens_details")?
            .map(|details| details.count("cached_tokens"))
            .transpose()?
            .flatten();
        let cached_field = "input_tokens_details.cached_tokens";
        return openai_shape(
            &root,
            ["input_tokens", "output_tokens"],
            cached,
            cached_field,
        );
    }
    Err(UsageError::MissingField {
        field: "prompt_tokens or input_tokens".into(),
    })
}

fn openai_shape(
    root: &Fields,
    [input_field, output_field]: [&str; 2],
    cached: Option<u64>,
    cached_field: &str,
) -> Result<Usage, UsageError> {
    let input = root.required(input_field)?;
    let cached = cached.unwrap_or(0);
    root.part_of(cached_field, cached, input_field, input)?;
    let input_details = format!("{input_field}_details");
    let writes = root
        .nested(&input_details)?
        .map(|details| details.count("cache_write_tokens"))
        .transpose()?
        .flatten()
        .unwrap_or(0);
    // OpenRouter's reports for Gemini count the writes inside `cached_tokens` too; only then
    // do reads and writes together exceed the prompt.
    let counts_writes_as_cached = writes <= cached && cached.saturating_add(writes) > input;
    let cached = if counts_writes_as_cached {
        cached - writes
    } else {
        cached
    };
    let cached_and_written = checked_sum(cached, writes, "cache_write_tokens")?;
    let writes_field = format!("{input_details}.cached_tokens + cache_write_tokens");
    root.part_of(&writes_field, cached_and_written, input_field, input)?;

    let output = root.count(output_field)?.unwrap_or(0);
    let details_field = format!("{output_field}_details");
    let reasoning = root
        .nested(&details_field)?
        .map(|details| details.count("reasoning_tokens"))
        .transpose()?
        .flatten()
        .unwrap_or(0);
    let reasoning_field = format!("{details_field}.reasoning_tokens");
    // xAI's chat completions leave reasoning out of `completion_tokens`; its `total_tokens`
    // then adds the two, which distinguishes this shape from a broken count.
    let total = root.count("total_tokens")?;
    let with_reasoning = output.saturating_add(reasoning);
    let output = if reasoning > output && total == input.checked_add(with_reasoning) {
        with_reasoning
    } else {
        output
    };
    root.part_of(&reasoning_field, reasoning, output_field, output)?;

    let mut usage = Usage {
        input_tokens: input,
        cache_read_tokens: cached,
        cache_write_5m_tokens: writes,
        output_tokens: output,
        reasoning_tokens: reasoning,
        ..Usage::default()
    };
    modality::read_openai(root, [&input_details, &details_field], &mut usage)?;
    finish(usage)
}

/// Reads an Amazon Bedrock Converse `usage` object.
///
/// `inputTokens` excludes the cache, as Anthropic's `input_tokens` does, so the normalized
/// input is `inputTokens + cacheReadInputTokens + cacheWriteInputTokens`. Bedrock reports one
/// cache-write count, which is billed as a five-minute write.
///
/// # Errors
///
/// Returns [`UsageError`] when `inputTokens` or `outputTokens` is missing or a count is
/// invalid.
pub fn from_bedrock(usage: &Value) -> Result<Usage, UsageError> {
    let root = Fields::root(usage)?;
    let uncached = root.required("inputTokens")?;
    let cache_read =
        bedrock_cache_count(&root, "cacheReadInputTokens", "cacheReadInputTokenCount")?;
    let cache_write =
        bedrock_cache_count(&root, "cacheWriteInputTokens", "cacheWriteInputTokenCount")?;
    let input = checked_sum(uncached, cache_read, "cacheReadInputTokens")?;
    let input = checked_sum(input, cache_write, "cacheWriteInputTokens")?;

    finish(Usage {
        input_tokens: input,
        cache_read_tokens: cache_read,
        cache_write_5m_tokens: cache_write,
        output_tokens: root.required("outputTokens")?,
        ..Usage::default()
    })
}

/// Reads a Bedrock cache count from `key`, or from its older spelling `older_key` when the
/// response has only that one.
fn bedrock_cache_count(root: &Fields<'_>, key: &str, older_key: &str) -> Result<u64, UsageError> {
    if let Some(count) = root.count(key)? {
        return Ok(count);
    }
    Ok(root.count(older_key)?.unwrap_or(0))
}

/// Reads the cost a provider reported beside its usage, in US dollars.
///
/// OpenRouter sends `cost` in dollars; xAI sends `cost_in_usd_ticks`, where one tick is
/// 10^-10 dollars. Returns `None` when neither field is present or the value is not a
/// non-negative number.
pub fn reported_cost(usage: &Value) -> Option<Usd> {
    if let Some(ticks) = usage.get("cost_in_usd_ticks").and_then(Value::as_u64) {
        return Some(Usd::new(Decimal::from(ticks) * Decimal::new(1, 10)));
    }
    let cost = Usd::from_json_number(usage.get("cost")?.as_number()?).ok()?;
    (!cost.is_negative()).then_some(cost)
}

/// Reads a Gemini API `usageMetadata` object.
///
/// `promptTokenCount` includes `cachedContentTokenCount` but not `toolUsePromptTokenCount`
/// (tool results fed back to the model, billed as input), so the normalized input is their
/// sum. `candidatesTokenCount` excludes `thoughtsTokenCount`, so the normalized output is their
/// sum, with the thoughts as its reasoning part.
///
/// # Errors
///
/// Returns [`UsageError`] when `promptTokenCount` is missing, a count is invalid, or the
/// cached count exceeds the prompt count.
pub fn from_gemini(usage: &Value) -> Result<Usage, UsageError> {
    let root = Fields::root(usage)?;
    let prompt = root.required("promptTokenCount")?;
    let cached = root.count("cachedContentTokenCount")?.unwrap_or(0);
    root.part_of(
        "cachedContentTokenCount",
        cached,
        "promptTokenCount",
        prompt,
    )?;
    let tool_use = root.count("toolUsePromptTokenCount")?.unwrap_or(0);
    let input = checked_sum(prompt, tool_use, "toolUsePromptTokenCount")?;
    let candidates = root.count("candidatesTokenCount")?.unwrap_or(0);
    let thoughts = root.count("thoughtsTokenCount")?.unwrap_or(0);
    let output = checked_sum(candidates, thoughts, "thoughtsTokenCount")?;

    let mut usage = Usage {
        input_tokens: input,
        cache_read_tokens: cached,
        output_tokens: output,
        reasoning_tokens: thoughts,
        ..Usage::default()
    };
    modality::read_gemini(&root, &mut usage)?;
    finish(usage)
}

/// Reads a usage object reported by `provider`, choosing the reader by provider and shape.
///
/// A `prompt_tokens` field without `input_tokens`, for a provider name containing
/// `anthropic` or beside `cache_creation_input_tokens` or `cache_read_input_tokens`,
/// selects [`litellm::from_litellm`], the shape LiteLLM reports for Anthropic models.
/// Otherwise a provider name containing `anthropic` selects [`from_anthropic`]. For every
/// other name the shape decides, because resellers pass the original shape through. A
/// `promptTokenCount` field selects [`from_gemini`], and an `inputTokens` field selects
/// [`from_bedrock`]. Cohere's `billed_units` object is read by [`from_openai`], because the
/// billed counts use the Responses field names. A `cache_creation_input_tokens` or
/// `cache_read_input_tokens` field selects [`from_anthropic`], as for Claude served by
/// Vertex AI or Bedrock. Anything else is read by [`from_openai`], the shape that
/// OpenAI-compatible providers return.
///
/// # Errors
///
/// Returns the [`UsageError`] of the chosen reader.
pub fn extract(provider: &str, usage: &Value) -> Result<Usage, UsageError> {
    let provider = provider.trim().to_ascii_lowercase();
    let has = |field: &str| usage.get(field).is_some_and(|value| !value.is_null());
    let has_anthropic_cache = has("cache_creation_input_tokens") || has("cache_read_input_tokens");
    if has("prompt_tokens")
        && !has("input_tokens")
        && (provider.contains("anthropic") || has_anthropic_cache)
    {
        return litellm::from_litellm(usage);
    }
    if provider.contains("anthropic") {
        return from_anthropic(usage);
    }
    if has("inputTokens") {
        return from_bedrock(usage);
    }
    if let Some(billed) = usage
        .get("billed_units")
        .filter(|billed| billed.is_object())
    {
        // Cohere v2 reports the billed counts apart from the raw token counts.
        return from_openai(billed);
    }
    if has("promptTokenCount") {
        return from_gemini(usage);
    }
    if has_anthropic_cache {
        return from_anthropic(usage);
    }
    from_openai(usage)
}

/// Checks the assembled usage once more, so every reader enforces the same invariants.
fn finish(usage: Usage) -> Result<Usage, UsageError> {
    usage.check()?;
    Ok(usage)
}

fn checked_sum(left: u64, right: u64, field: &str) -> Result<u64, UsageError> {
    left.checked_add(right).ok_or_else(|| UsageError::Overflow {
        field: field.into(),
    })
}

/// A JSON object together with its dotted path, for error messages.
pub(super) struct Fields<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    fn root(value: &'a Value) -> Result<Self, UsageError> {
        let map = value.as_object().ok_or_else(|| UsageError::NotAnObject {
            field: "usage".into(),
        })?;
        Ok(Fields {
            path: String::new(),
            map,
        })
    }

    /// Wraps the object `value` found at `path`.
    pub(super) fn at(value: &'a Value, path: String) -> Result<Self, UsageError> {
        let map = value.as_object().ok_or_else(|| UsageError::NotAnObject {
            field: path.clone(),
        })?;
        Ok(Fields { path, map })
    }

    /// Returns the raw value at `key`.
    pub(super) fn value(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// Returns the array at `key`, or `None` when it is absent or null.
    pub(super) fn list(&self, key: &str) -> Result<Option<&'a Vec<Value>>, UsageError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(UsageError::NotAnArray {
                field: self.field_path(key),
            }),
        }
    }

    pub(super) fn field_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|value| !value.is_null())
    }

    /// Returns the nested object at `key`, or `None` when it is absent or null.
    pub(super) fn nested(&self, key: &str) -> Result<Option<Fields<'a>>, UsageError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Fields {
                path: self.field_path(key),
                map,
            })),
            Some(_) => Err(UsageError::NotAnObject {
                field: self.field_path(key),
            }),
        }
    }

    /// Returns the count at `key`, or `None` when it is absent or null.
    pub(super) fn count(&self, key: &str) -> Result<Option<u64>, UsageError> {
        let Some(value) = self.map.get(key).filter(|value| !value.is_null()) else {
            return Ok(None);
        };
        let invalid = || UsageError::InvalidCount {
            field: self.field_path(key),
            value: value.to_string(),
        };
        let number = value.as_number().ok_or_else(invalid)?;
        if let Some(count) = number.as_u64() {
            return Ok(Some(count));
        }
        // Some SDKs write counts as floats; accept them only when they are whole and exact.
        let float = number.as_f64().ok_or_else(invalid)?;
        let exact = float.fract() == 0.0 && (0.0..=9_007_199_254_740_992.0).contains(&float);
        if number.is_f64() && exact {
            return Ok(Some(float as u64));
        }
        Err(invalid())
    }

    fn required(&self, key: &str) -> Result<u64, UsageError> {
        self.count(key)?.ok_or_else(|| UsageError::MissingField {
            field: self.field_path(key),
        })
    }

    fn part_of(
        &self,
        part: &str,
        part_count: u64,
        whole: &str,
        whole_count: u64,
    ) -> Result<(), UsageError> {
        if part_count <= whole_count {
            return Ok(());
        }
        Err(UsageError::PartExceedsWhole {
            part: self.field_path(part),
            part_count,
            whole: self.field_path(whole),
            whole_count,
        })
    }
}

#[cfg(test)]
mod tests;
