//! Normalized token usage.
//!
//! Providers report usage in different shapes, and the classic cost bugs come from reading
//! them wrong: OpenAI's `prompt_tokens` already includes cached tokens, Anthropic's
//! `input_tokens` excludes cache reads and writes, reasoning tokens are part of the output.
//! [`Usage`] has one convention, so the price engine bills every token exactly once:
//!
//! - `input_tokens` counts every prompt token, cached or not. The cache fields are parts
//!   of it, and [`Usage::uncached_input_tokens`] is what remains.
//! - `output_tokens` counts every generated token; `reasoning_tokens` is a part of it and
//!   is never billed again.
//! - The audio, image and video counts are parts too. `input_audio_tokens` is a part of
//!   `input_tokens`, `cache_audio_read_tokens` a part of both `input_audio_tokens` and
//!   `cache_read_tokens`, and `output_audio_tokens` a part of `output_tokens`. Modality
//!   tokens are never counted as cache writes, and reasoning tokens are text, so the
//!   modality parts of the output and `reasoning_tokens` do not overlap.
//!
//! [`extract`] and the per-provider readers [`from_anthropic`], [`from_openai`],
//! [`from_gemini`] and [`from_bedrock`] turn a provider's raw usage object into this shape;
//! [`extract_stream`] does the same for the events of a streamed response, and
//! [`reported_cost`] reads the cost that OpenRouter and xAI report beside their usage.
//! [`from_response`] reads a whole response body, adding the built-in tool calls that
//! OpenAI's Responses API lists in `output` and leaves out of its usage object.
//! [`price_context`] and [`stream_price_context`] read the service tier a response reports,
//! which selects the tier or batch prices of a model, and [`response_created`] the time a
//! response was created, which selects the dated price in force.

mod check;
mod context;
mod created;
mod extract;
mod modality;
mod stream;
mod tools;

pub(crate) use check::camel_case;
pub use context::{
    price_context, stream_price_context, usage_price_context, TierConflict, TierFields,
};
pub use created::{created_from_seconds, response_created, MAX_CREATED_SECONDS};
pub use extract::{
    extract, from_anthropic, from_bedrock, from_gemini, from_litellm, from_openai, reported_cost,
};
pub use stream::{extract_stream, merged_usage};
pub use tools::{from_response, tool_calls, ToolCalls};

use serde::{Deserialize, Serialize};

/// Token counts of one model call, in exclusive, non-overlapping terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Usage {
    /// All prompt tokens, including cache reads and cache writes.
    pub input_tokens: u64,
    /// Prompt tokens read from the provider's cache (part of `input_tokens`).
    pub cache_read_tokens: u64,
    /// Prompt tokens written to a cache that lives five minutes (part of `input_tokens`).
    /// Providers that have a single cache-write rate report their writes here.
    pub cache_write_5m_tokens: u64,
    /// Prompt tokens written to a cache that lives one hour (part of `input_tokens`).
    pub cache_write_1h_tokens: u64,
    /// All generated tokens, including reasoning.
    pub output_tokens: u64,
    /// Reasoning or thinking tokens (part of `output_tokens`, billed as output).
    pub reasoning_tokens: u64,
    /// Server-side web search requests made during the call, billed per search.
    pub web_searches: u64,
    /// Built-in file search tool calls (OpenAI Responses `file_search_call` items), billed
    /// per call at the genai-prices unit `storage_searches_kcount`.
    #[serde(skip_serializing_if = "is_zero")]
    pub file_searches: u64,
    /// Code interpreter sessions (OpenAI containers) opened during the call, billed per
    /// session at `code_interpreter_sessions_kcount`.
    #[serde(skip_serializing_if = "is_zero")]
    pub code_interpreter_sessions: u64,
    /// Audio prompt tokens, cached or not (part of `input_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub input_audio_tokens: u64,
    /// Image prompt tokens, cached or not (part of `input_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub input_image_tokens: u64,
    /// Video prompt tokens, cached or not (part of `input_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub input_video_tokens: u64,
    /// Audio prompt tokens read from a cache (part of `cache_read_tokens` and of
    /// `input_audio_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub cache_audio_read_tokens: u64,
    /// Image prompt tokens read from a cache (part of `cache_read_tokens` and of
    /// `input_image_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub cache_image_read_tokens: u64,
    /// Video prompt tokens read from a cache (part of `cache_read_tokens` and of
    /// `input_video_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub cache_video_read_tokens: u64,
    /// Generated audio tokens (part of `output_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub output_audio_tokens: u64,
    /// Generated image tokens (part of `output_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub output_image_tokens: u64,
    /// Generated video tokens (part of `output_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub output_video_tokens: u64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

impl Usage {
    /// Returns the prompt tokens that were neither read from nor written to a cache.
    ///
    /// Saturates at zero for inconsistent usage; [`Usage::check`] reports that case.
    pub fn uncached_input_tokens(&self) -> u64 {
        self.input_tokens
            .saturating_sub(self.cache_read_tokens)
            .saturating_sub(self.cache_write_tokens())
    }

    /// Returns whether the call used a built-in tool billed per call or session.
    pub fn has_tool_calls(&self) -> bool {
        self.web_searches > 0 || self.file_searches > 0 || self.code_interpreter_sessions > 0
    }

    /// Returns the prompt tokens written to any cache.
    pub fn cache_write_tokens(&self) -> u64 {
        self.cache_write_5m_tokens
            .saturating_add(self.cache_write_1h_tokens)
    }

    /// Returns input plus output tokens.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }

    /// Checks that every part fits inside its whole.
    ///
    /// # Errors
    ///
    /// Returns [`UsageError`] when cache tokens exceed the input tokens, reasoning tokens
    /// exceed the output tokens, or a modality part exceeds its whole, naming the fields.
    pub fn check(&self) -> Result<(), UsageError> {
        self.check_cache_and_reasoning()?;
        check::modality_parts(self)
    }

    fn check_cache_and_reasoning(&self) -> Result<(), UsageError> {
        let cached = self
            .cache_read_tokens
            .saturating_add(self.cache_write_tokens());
        if cached > self.input_tokens {
            return Err(UsageError::CacheExceedsInput {
                cached,
                input: self.input_tokens,
            });
        }
        if self.reasoning_tokens > self.output_tokens {
            return Err(UsageError::ReasoningExceedsOutput {
                reasoning: self.reasoning_tokens,
                output: self.output_tokens,
            });
        }
        Ok(())
    }
}

/// Errors for usage that cannot be read or whose parts do not add up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// Cache reads plus cache writes are more than all input tokens.
    #[error("cache tokens ({cached}) exceed input tokens ({input}); input tokens must include cache reads and writes")]
    CacheExceedsInput {
        /// Cache reads plus writes.
        cached: u64,
        /// All input tokens.
        input: u64,
    },
    /// Reasoning tokens are more than all output tokens.
    #[error("reasoning tokens ({reasoning}) exceed output tokens ({output}); output tokens must include reasoning")]
    ReasoningExceedsOutput {
        /// Reasoning tokens.
        reasoning: u64,
        /// All output tokens.
        output: u64,
    },
    /// The usage value, or an object nested in it, is not a JSON object.
    #[error("usage field `{field}` is not a JSON object")]
    NotAnObject {
        /// Dotted path of the value; `usage` for the top level.
        field: String,
    },
    /// A list of per-modality counts is not a JSON array.
    #[error("usage field `{field}` is not a JSON array")]
    NotAnArray {
        /// Dotted path of the value.
        field: String,
    },
    /// A count the provider always sends is absent or null.
    #[error("usage field `{field}` is missing")]
    MissingField {
        /// Dotted path of the expected field.
        field: String,
    },
    /// A count is negative, fractional, not a number, or too large for 64 bits.
    #[error("usage field `{field}` has invalid token count {value}: expected a whole number >= 0")]
    InvalidCount {
        /// Dotted path of the field.
        field: String,
        /// The JSON text of the rejected value.
        value: String,
    },
    /// A count that is part of another count is larger than it.
    #[error(
        "usage field `{part}` ({part_count}) exceeds `{whole}` ({whole_count}), which includes it"
    )]
    PartExceedsWhole {
        /// Dotted path of the part.
        part: String,
        /// Value of the part.
        part_count: u64,
        /// Dotted path of the whole.
        whole: String,
        /// Value of the whole.
        whole_count: u64,
    },
    /// Adding the reported parts overflows a 64-bit count.
    #[error(
        "usage field `{field}` overflows a 64-bit token count when added to the other input counts"
    )]
    Overflow {
        /// Dotted path of the field whose addition overflowed.
        field: String,
    },
}
