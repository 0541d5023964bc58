//! LiteLLM's usage object, which has the OpenAI Chat Completions shape for every provider.
//!
//! For Anthropic models LiteLLM (checked against the usage objects of OpenHands trajectories
//! recorded with LiteLLM in 2025) counts the cache reads and writes inside `prompt_tokens`,
//! and adds Anthropic's `cache_creation_input_tokens` and `cache_read_input_tokens` beside
//! it. `prompt_tokens_details.cached_tokens` repeats the reads.

use serde_json::Value;

use super::{anthropic_cache_writes, checked_sum, finish, Fields};
use crate::usage::{Usage, UsageError};

/// Reads a LiteLLM usage object: `prompt_tokens` is the whole input, with the cache reads
/// (`cache_read_input_tokens`, else `prompt_tokens_details.cached_tokens`) and writes
/// (`cache_creation_input_tokens`, split as Anthropic splits it) as its parts, and
/// `completion_tokens` the output with `completion_tokens_details.reasoning_tokens`.
///
/// # Errors
///
/// Returns [`UsageError`] when `prompt_tokens` is missing, a count is invalid, or the cache
/// parts exceed `prompt_tokens`.
pub fn from_litellm(usage: &Value) -> Result<Usage, UsageError> {
    let root = Fields::root(usage)?;
    let input = root.required("prompt_tokens")?;
    let (cache_read, read_field) = match root.count("cache_read_input_tokens")? {
        Some(reads) => (reads, "cache_read_input_tokens"),
        None => {
            let reads = root
                .nested("prompt_tokens_details")?
                .map(|details| details.count("cached_tokens"))
                .transpose()?
                .flatten()
                .unwrap_or(0);
            (reads, "prompt_tokens_details.cached_tokens")
        }
    };
    let creation = root.count("cache_creation_input_tokens")?;
    let (write_5m, write_1h) = anthropic_cache_writes(&root, creation)?;
    let writes = checked_sum(write_5m, write_1h, "cache_creation_input_tokens")?;
    let cached = checked_sum(cache_read, writes, "cache_creation_input_tokens")?;
    let parts_field = format!("{read_field} + cache_creation_input_tokens");
    root.part_of(&parts_field, cached, "prompt_tokens", input)?;

    let output = root.count("completion_tokens")?.unwrap_or(0);
    let reasoning = root
        .nested("completion_tokens_details")?
        .map(|details| details.count("reasoning_tokens"))
        .transpose()?
        .flatten()
        .unwrap_or(0);
    root.part_of(
        "completion_tokens_details.reasoning_tokens",
        reasoning,
        "completion_tokens",
        output,
    )?;

    finish(Usage {
        input_tokens: input,
        cache_read_tokens: cache_read,
        cache_write_5m_tokens: write_5m,
        cache_write_1h_tokens: write_1h,
        output_tokens: output,
        reasoning_tokens: reasoning,
        ..Usage::default()
    })
}
