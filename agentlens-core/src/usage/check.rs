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
