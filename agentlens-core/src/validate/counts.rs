//! The optional per-modality and tool call counts of a cost-bearing payload, and the
//! provider usage object that a `cost_tracked` payload may carry beside its counts.

use serde_json::{Map, Value};

use super::fields::{check_token_count, lookup, token_count, Errors, FieldError};
use crate::usage::{self, Usage, UsageError};

/// Number of optional counts in [`PART_KEYS`].
pub const PART_COUNT: usize = 12;

/// Payload keys of the optional counts, in the order the validator reads them. Each is the
/// camelCase serde name of a [`Usage`] field.
pub const PART_KEYS: [&str; PART_COUNT] = [
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

/// Returns the fields of `usage` named by [`PART_KEYS`], in the same order.
fn part_slots(usage: &mut Usage) -> [&mut u64; PART_COUNT] {
    [
        &mut usage.web_searches,
        &mut usage.file_searches,
        &mut usage.code_interpreter_sessions,
        &mut usage.input_audio_tokens,
        &mut usage.input_image_tokens,
        &mut usage.input_video_tokens,
        &mut usage.cache_audio_read_tokens,
        &mut usage.cache_image_read_tokens,
        &mut usage.cache_video_read_tokens,
        &mut usage.output_audio_tokens,
        &mut usage.output_image_tokens,
        &mut usage.output_video_tokens,
    ]
}

/// Returns the counts of `usage` named by [`PART_KEYS`], in the same order.
pub(crate) fn part_values(usage: &Usage) -> [u64; PART_COUNT] {
    let mut copy = *usage;
    part_slots(&mut copy).map(|slot| *slot)
}

/// Reads every optional count of [`PART_KEYS`] from `object`.
pub(crate) fn part_counts(
    object: &Map<String, Value>,
    errors: &mut Errors<'_>,
) -> [Option<u64>; PART_COUNT] {
    PART_KEYS.map(|key| token_count(object, key, false, errors))
}

/// Stores the counts read by [`part_counts`] in `usage`. A count the payload leaves out is
/// taken from `reported`, the provider's own usage object, when there is one.
pub(crate) fn set_part_counts(
    usage: &mut Usage,
    counts: &[Option<u64>; PART_COUNT],
    reported: Option<&Usage>,
) {
    let fallback = reported.map(part_values).unwrap_or_default();
    for ((slot, count), fallback) in part_slots(usage).into_iter().zip(counts).zip(fallback) {
        *slot = count.unwrap_or(fallback);
    }
}

/// Reads the provider usage object in `payload.usage`, when there is one, with the
/// provider's usage reader, which keeps its audio, image and video counts.
///
/// A `usage` value that is not an object is not read, because a `cost_tracked` payload may
/// carry any extra value.
pub(crate) fn provider_usage(
    provider: &str,
    payload: &Map<String, Value>,
    errors: &mut Errors<'_>,
) -> Option<Usage> {
    let raw = lookup(payload, "usage").filter(|usage| usage.is_object())?;
    match usage::extract(provider, raw) {
        Ok(usage) => Some(usage),
        Err(error) => {
            let field = match &error {
                UsageError::NotAnObject { field }
                | UsageError::NotAnArray { field }
                | UsageError::MissingField { field }
                | UsageError::InvalidCount { field, .. }
                | UsageError::Overflow { field } => field.clone(),
                UsageError::PartExceedsWhole { part, .. } => part.clone(),
                _ => String::new(),
            };
            let path = match field.as_str() {
                "" | "usage" => "usage".to_owned(),
                field => format!("usage.{field}"),
            };
            errors.push(&path, error.to_string());
            None
        }
    }
}

/// Returns one error per count of `usage` above the largest count the collector stores
/// (2^53 - 1), each with the camelCase JSON name of the count after `prefix`
/// (`payload.inputTokens`, `usage.webSearches`). The total of input and output is checked
/// as `totalTokens`.
pub fn usage_count_errors(usage: &Usage, prefix: &str) -> Vec<FieldError> {
    let counts = [
        ("inputTokens", usage.input_tokens),
        ("outputTokens", usage.output_tokens),
        ("totalTokens", usage.total_tokens()),
        ("cacheReadTokens", usage.cache_read_tokens),
        ("cacheWrite5mTokens", usage.cache_write_5m_tokens),
        ("cacheWrite1hTokens", usage.cache_write_1h_tokens),
        ("reasoningTokens", usage.reasoning_tokens),
    ];
    let parts = PART_KEYS.iter().copied().zip(part_values(usage));
    let mut errors = Vec::new();
    for (key, count) in counts.into_iter().chain(parts) {
        if let Err(message) = check_token_count(count) {
            errors.push(FieldError {
                path: format!("{prefix}{key}"),
                message,
            });
        }
    }
    errors
}
