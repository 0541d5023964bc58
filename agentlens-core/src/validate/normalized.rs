//! The normalized usage shape of events and quotes: `inputTokens` with the cache parts
//! inside it, `outputTokens` with reasoning inside it, and the optional counts by their
//! camelCase names.

use serde_json::{Map, Value};

use super::fields::FieldError;
use crate::usage::{Usage, UsageError};

/// Keys of the normalized usage shape.
pub const NORMALIZED_USAGE_KEYS: &[&str] = &[
    "inputTokens",
    "outputTokens",
    "totalTokens",
    "cacheReadTokens",
    "cacheWriteTokens",
    "cacheWrite5mTokens",
    "cacheWrite1hTokens",
    "reasoningTokens",
    "webSearches",
    "fileSearches",
    "codeInterpreterSessions",
    "inputAudioTokens",
    "inputImageTokens",
    "inputVideoTokens",
    "cacheAudioReadTokens",
    "cacheImageReadTokens",
    "cacheVideoReadTokens",
    "outputAudioTokens",
    "outputImageTokens",
    "outputVideoTokens",
];

/// Returns true for a non-empty object whose keys all belong to the normalized shape. Any
/// other object is read as a provider's usage object.
pub fn is_normalized_usage(object: &Map<String, Value>) -> bool {
    !object.is_empty()
        && object
            .keys()
            .all(|key| NORMALIZED_USAGE_KEYS.contains(&key.as_str()))
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
