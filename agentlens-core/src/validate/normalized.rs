//! The normalized usage shape of events and quotes: `inputTokens` with the cache parts
//! inside it, `outputTokens` with reasoning inside it, and the optional counts by their
//! camelCase names.

use serde_json::{Map, Value};

use super::counts::PART_KEYS;
use super::fields::FieldError;
use crate::json::key_path;
use crate::usage::{Usage, UsageError};

/// Token count keys of the normalized usage shape, which are also the token fields of a
/// `cost_tracked` payload. The optional tool call and modality counts are the
/// [`PART_KEYS`] of cost events.
pub const TOKEN_KEYS: &[&str] = &[
    "inputTokens",
    "outputTokens",
    "totalTokens",
    "cacheReadTokens",
    "cacheWriteTokens",
    "cacheWrite5mTokens",
    "cacheWrite1hTokens",
    "reasoningTokens",
];

/// Returns true for a key of the normalized usage shape.
fn is_count_key(key: &str) -> bool {
    TOKEN_KEYS.contains(&key) || PART_KEYS.contains(&key)
}

/// Keys of a usage object that choose prices rather than count tokens (Anthropic's
/// `service_tier` and `speed`), allowed beside the counts of either camelCase shape.
const CONTEXT_KEYS: &[&str] = &["service_tier", "speed"];

/// Keys of Amazon Bedrock's camelCase usage object that the normalized shape lacks.
/// Converse responses carry each cache count twice, as `…Tokens` and `…TokenCount`, and
/// an object `serverToolUsage` beside them.
const BEDROCK_KEYS: &[&str] = &[
    "cacheReadInputTokens",
    "cacheWriteInputTokens",
    "cacheReadInputTokenCount",
    "cacheWriteInputTokenCount",
    "serverToolUsage",
];

/// Returns true for an object with at least one count, whose keys all belong to the
/// normalized shape or choose prices (`service_tier`, `speed`). Any other object is read as
/// a provider's usage object.
pub fn is_normalized_usage(object: &Map<String, Value>) -> bool {
    let known = |key: &String| is_count_key(key) || CONTEXT_KEYS.contains(&key.as_str());
    object.keys().any(|key| is_count_key(key)) && object.keys().all(known)
}

/// Names the first key of a camelCase usage object (one with `inputTokens` or
/// `outputTokens`) that neither the normalized shape nor Bedrock's usage object has, such
/// as a misspelt `cachedTokens`, which would otherwise be ignored.
///
/// # Errors
///
/// Returns a [`FieldError`] at `usage.<key>` listing the keys that are read.
pub fn check_camel_case_keys(object: &Map<String, Value>) -> Result<(), FieldError> {
    if !object.contains_key("inputTokens") && !object.contains_key("outputTokens") {
        return Ok(());
    }
    let unknown = object.keys().find(|key| {
        let key = key.as_str();
        !is_count_key(key) && !CONTEXT_KEYS.contains(&key) && !BEDROCK_KEYS.contains(&key)
    });
    if let Some(mixed) = mixed_cache_keys(object) {
        return Err(mixed);
    }
    match unknown {
        None => Ok(()),
        Some(key) => Err(field_error(
            &key_path("usage", key),
            &format!(
                "unknown usage field {key:?}: a usage object with inputTokens takes {}, or \
                 Bedrock's {}",
                [TOKEN_KEYS, &PART_KEYS[..]].concat().join(", "),
                BEDROCK_KEYS.join(", ")
            ),
        )),
    }
}

/// Returns an error when a usage object has a cache count of the normalized shape beside
/// one of Bedrock's. The two shapes read `inputTokens` differently (the normalized one
/// counts the cache inside it, Bedrock's does not), so a mix has no single meaning.
fn mixed_cache_keys(object: &Map<String, Value>) -> Option<FieldError> {
    let cache_keys = [
        "cacheReadTokens",
        "cacheWriteTokens",
        "cacheWrite5mTokens",
        "cacheWrite1hTokens",
    ];
    let normalized = cache_keys.iter().find(|key| object.contains_key(**key))?;
    let bedrock = (BEDROCK_KEYS.iter())
        .filter(|key| **key != "serverToolUsage")
        .find(|key| object.contains_key(**key))?;
    Some(field_error(
        &format!("usage.{bedrock}"),
        &format!(
            "usage mixes the normalized {normalized:?} with Bedrock's {bedrock:?}, which read \
             inputTokens differently; send either the normalized counts or Bedrock's usage \
             object as it came"
        ),
    ))
}

/// Reads the normalized shape: `inputTokens` includes the cache parts, `outputTokens`
/// includes `reasoningTokens`, and `totalTokens`, when sent, is their sum.
pub fn normalized_usage(object: &Map<String, Value>) -> Result<Usage, FieldError> {
    let count = |key: &str| -> Result<u64, FieldError> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(0),
            Some(value) => value.as_u64().ok_or_else(|| {
                let message = format!("invalid token count {value}: expected a whole number >= 0");
                field_error(&format!("usage.{key}"), &message)
            }),
        }
    };
    let write_5m = match object.get("cacheWrite5mTokens") {
        Some(_) => count("cacheWrite5mTokens")?,
        None => count("cacheWriteTokens")?,
    };
    let usage = Usage {
        input_tokens: count("inputTokens")?,
        cache_read_tokens: count("cacheReadTokens")?,
        cache_write_5m_tokens: write_5m,
        cache_write_1h_tokens: count("cacheWrite1hTokens")?,
        output_tokens: count("outputTokens")?,
        reasoning_tokens: count("reasoningTokens")?,
        web_searches: count("webSearches")?,
        file_searches: count("fileSearches")?,
        code_interpreter_sessions: count("codeInterpreterSessions")?,
        input_audio_tokens: count("inputAudioTokens")?,
        input_image_tokens: count("inputImageTokens")?,
        input_video_tokens: count("inputVideoTokens")?,
        cache_audio_read_tokens: count("cacheAudioReadTokens")?,
        cache_image_read_tokens: count("cacheImageReadTokens")?,
        cache_video_read_tokens: count("cacheVideoReadTokens")?,
        output_audio_tokens: count("outputAudioTokens")?,
        output_image_tokens: count("outputImageTokens")?,
        output_video_tokens: count("outputVideoTokens")?,
    };

    if object.contains_key("totalTokens") {
        let total = count("totalTokens")?;
        if total != usage.total_tokens() {
            let message = format!(
                "totalTokens ({total}) must equal inputTokens + outputTokens ({})",
                usage.total_tokens()
            );
            return Err(field_error("usage.totalTokens", &message));
        }
    }
    usage.check().map_err(|error| {
        let error = error.with_json_names("usage.");
        // A single count that exceeds its whole is the field to fix; sums point at `usage`.
        let path = match &error {
            UsageError::PartExceedsWhole { part, .. } if !part.contains(' ') => part.as_str(),
            _ => "usage",
        };
        field_error(path, &error.to_string())
    })?;
    Ok(usage)
}

fn field_error(path: &str, message: &str) -> FieldError {
    FieldError {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}
