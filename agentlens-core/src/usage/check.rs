//! Checks that the audio, image and video parts of a [`Usage`] fit inside their wholes.

use super::{Usage, UsageError};

/// Checks every modality part against the count that includes it.
///
/// # Errors
///
/// Returns [`UsageError::PartExceedsWhole`] naming the first part that is larger than its
/// whole, or [`UsageError::Overflow`] when the parts do not fit in 64 bits.
pub(super) fn modality_parts(usage: &Usage) -> Result<(), UsageError> {
    let modalities = [
        (
            "input_audio_tokens",
            usage.input_audio_tokens,
            "cache_audio_read_tokens",
            usage.cache_audio_read_tokens,
        ),
        (
            "input_image_tokens",
            usage.input_image_tokens,
            "cache_image_read_tokens",
            usage.cache_image_read_tokens,
        ),
        (
            "input_video_tokens",
            usage.input_video_tokens,
            "cache_video_read_tokens",
            usage.cache_video_read_tokens,
        ),
    ];
    for (input_field, input, cached_field, cached) in modalities {
        part_of(cached_field, cached, input_field, input)?;
        part_of(
            cached_field,
            cached,
            "cache_read_tokens",
            usage.cache_read_tokens,
        )?;
    }

    let modal_input = sum(
        "input_audio_tokens + input_image_tokens + input_video_tokens",
        &[
            usage.input_audio_tokens,
            usage.input_image_tokens,
            usage.input_video_tokens,
        ],
    )?;
    part_of(
        "input_audio_tokens + input_image_tokens + input_video_tokens",
        modal_input,
        "input_tokens",
        usage.input_tokens,
    )?;
    let modal_cached = sum(
        "cache_audio_read_tokens + cache_image_read_tokens + cache_video_read_tokens",
        &[
            usage.cache_audio_read_tokens,
            usage.cache_image_read_tokens,
            usage.cache_video_read_tokens,
        ],
    )?;
    part_of(
        "cache_audio_read_tokens + cache_image_read_tokens + cache_video_read_tokens",
        modal_cached,
        "cache_read_tokens",
        usage.cache_read_tokens,
    )?;
    // Modality tokens are never cache writes, so those not read from a cache are uncached.
    part_of(
        "uncached audio, image and video input tokens",
        modal_input - modal_cached,
        "uncached input tokens (input_tokens minus cache reads and writes)",
        usage.uncached_input_tokens(),
    )?;

    let output_parts = "reasoning_tokens + output_audio_tokens + output_image_tokens + \
                        output_video_tokens";
    let modal_output = sum(
        output_parts,
        &[
            usage.reasoning_tokens,
            usage.output_audio_tokens,
            usage.output_image_tokens,
            usage.output_video_tokens,
        ],
    )?;
    part_of(
        output_parts,
        modal_output,
        "output_tokens",
        usage.output_tokens,
    )
}

impl UsageError {
    /// Returns the error with every [`Usage`] field it names (`cache_audio_read_tokens`)
    /// written as the camelCase key of the JSON usage shape after `prefix`, such as
    /// `usage.cacheAudioReadTokens` for the prefix `usage.`.
    ///
    /// [`Usage::check`] names the Rust fields, which are the names a Rust or Python caller
    /// sets. Callers that build a `Usage` from JSON counts use this to name the keys as they
    /// were sent. Do not apply it to the errors of a provider reader such as
    /// [`super::extract`]: those name the provider's keys, and some of them (Anthropic's
    /// `input_tokens`) are spelled like `Usage` fields.
    pub fn with_json_names(&self, prefix: &str) -> UsageError {
        let rename = |text: &str| rename_fields(text, prefix);
        match self {
            UsageError::NotAnObject { field } => UsageError::NotAnObject {
                field: rename(field),
            },
            UsageError::NotAnArray { field } => UsageError::NotAnArray {
                field: rename(field),
            },
            UsageError::MissingField { field } => UsageError::MissingField {
                field: rename(field),
            },
            UsageError::InvalidCount { field, value } => UsageError::InvalidCount {
                field: rename(field),
                value: value.clone(),
            },
            UsageError::PartExceedsWhole {
                part,
                part_count,
                whole,
                whole_count,
            } => UsageError::PartExceedsWhole {
                part: rename(part),
                part_count: *part_count,
                whole: rename(whole),
                whole_count: *whole_count,
            },
            UsageError::Overflow { field } => UsageError::Overflow {
                field: rename(field),
            },
            UsageError::CacheExceedsInput { .. } | UsageError::ReasoningExceedsOutput { .. } => {
                self.clone()
            }
        }
    }
}

/// Rewrites each word of `text` that is a [`Usage`] field name as `prefix` and its camelCase
/// key, keeping every other character.
fn rename_fields(text: &str, prefix: &str) -> String {
    let mut renamed = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, renamed: &mut String| {
        if USAGE_FIELDS.contains(&word.as_str()) {
            renamed.push_str(prefix);
            renamed.push_str(&camel_case(word));
        } else {
            renamed.push_str(word);
        }
        word.clear();
    };
    for character in text.chars() {
        if character.is_ascii_alphanumeric() || character == '_' {
            word.push(character);
        } else {
            flush(&mut word, &mut renamed);
            renamed.push(character);
        }
    }
    flush(&mut word, &mut renamed);
    renamed
}

/// Names of the [`Usage`] fields that errors name.
const USAGE_FIELDS: [&str; 16] = [
    "input_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "input_audio_tokens",
    "input_image_tokens",
    "input_video_tokens",
    "cache_audio_read_tokens",
    "cache_image_read_tokens",
    "cache_video_read_tokens",
    "output_audio_tokens",
    "output_image_tokens",
    "output_video_tokens",
    "web_searches",
];

/// Converts a snake_case field name into camelCase, as serde's `rename_all` does.
pub(crate) fn camel_case(field: &str) -> String {
    let mut words = field.split('_');
    let mut name = words.next().unwrap_or_default().to_owned();
    for word in words {
        let mut letters = word.chars();
        if let Some(first) = letters.next() {
            name.push(first.to_ascii_uppercase());
            name.push_str(letters.as_str());
        }
    }
    name
}

fn sum(field: &str, counts: &[u64]) -> Result<u64, UsageError> {
    counts
        .iter()
        .try_fold(0u64, |total, count| total.checked_add(*count))
        .ok_or_else(|| UsageError::Overflow {
            field: field.to_owned(),
        })
}

fn part_of(part: &str, part_count: u64, whole: &str, whole_count: u64) -> Result<(), UsageError> {
    if part_count <= whole_count {
        return Ok(());
    }
    Err(UsageError::PartExceedsWhole {
        part: part.to_owned(),
        part_count,
        whole: whole.to_owned(),
        whole_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio_call() -> Usage {
        Usage {
            input_tokens: 1_000,
            cache_read_tokens: 200,
            input_audio_tokens: 600,
            cache_audio_read_tokens: 100,
            output_tokens: 300,
            output_audio_tokens: 250,
            ..Usage::default()
        }
    }

    #[test]
    fn consistent_modality_parts_pass() {
        assert_eq!(audio_call().check(), Ok(()));
    }

    #[test]
    fn cached_audio_above_audio_input_is_rejected() {
        let usage = Usage {
            cache_audio_read_tokens: 150,
            input_audio_tokens: 120,
            ..audio_call()
        };

        let error = usage.check().unwrap_err();

        assert!(
            matches!(&error, UsageError::PartExceedsWhole { part, whole, .. }
                if part == "cache_audio_read_tokens" && whole == "input_audio_tokens"),
            "{error}"
        );
    }

    #[test]
    fn cached_image_above_cache_reads_is_rejected() {
        let usage = Usage {
            input_image_tokens: 400,
            cache_image_read_tokens: 300,
            ..audio_call()
        };

        let error = usage.check().unwrap_err();

        assert!(
            error
                .to_string()
                .contains("`cache_image_read_tokens` (300)"),
            "{error}"
        );
        assert!(
            error.to_string().contains("`cache_read_tokens` (200)"),
            "{error}"
        );
    }

    #[test]
    fn image_input_above_input_is_rejected() {
        let usage = Usage {
            input_image_tokens: 500,
            ..audio_call()
        };

        let error = usage.check().unwrap_err();

        assert!(
            error.to_string().contains("exceeds `input_tokens` (1000)"),
            "{error}"
        );
    }

    #[test]
    fn json_names_replace_rust_field_names() {
        let usage = Usage {
            cache_audio_read_tokens: 150,
            input_audio_tokens: 120,
            ..audio_call()
        };

        let error = usage.check().unwrap_err().with_json_names("usage.");

        let message = error.to_string();
        assert!(
            message.contains("`usage.cacheAudioReadTokens` (150)"),
            "{message}"
        );
        assert!(
            message.contains("`usage.inputAudioTokens` (120)"),
            "{message}"
        );
        assert!(!message.contains("cache_audio_read_tokens"), "{message}");
    }

    #[test]
    fn json_names_keep_sums_and_provider_keys() {
        let sum = UsageError::Overflow {
            field: "input_audio_tokens + input_image_tokens".into(),
        };
        let provider = UsageError::MissingField {
            field: "prompt_tokens_details.cached_tokens".into(),
        };

        assert_eq!(
            sum.with_json_names("").to_string(),
            "usage field `inputAudioTokens + inputImageTokens` overflows a 64-bit token count \
             when added to the other input counts"
        );
        assert_eq!(provider.with_json_names("usage."), provider);
    }

    #[test]
    fn output_audio_above_output_is_rejected() {
        let usage = Usage {
            reasoning_tokens: 100,
            ..audio_call()
        };

        let error = usage.check().unwrap_err();

        assert!(error.to_string().contains("(350)"), "{error}");
        assert!(
            error.to_string().contains("`output_tokens` (300)"),
            "{error}"
        );
    }
}
