//! Readers of the audio, image and video parts of OpenAI and Gemini usage objects.

use serde_json::Value;

use super::extract::Fields;
use super::{Usage, UsageError};

/// Audio, image and video counts of one direction.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Modal {
    audio: u64,
    image: u64,
    video: u64,
}

impl Modal {
    fn total(&self) -> u64 {
        self.audio
            .saturating_add(self.image)
            .saturating_add(self.video)
    }

    fn add(&mut self, modality: &str, count: u64) {
        let slot = match modality {
            "AUDIO" => &mut self.audio,
            "IMAGE" => &mut self.image,
            "VIDEO" => &mut self.video,
            // TEXT and DOCUMENT tokens are billed as text.
            _ => return,
        };
        *slot = slot.saturating_add(count);
    }
}

/// Sets the modality parts of `usage` from OpenAI's `<input>_details` and `<output>_details`
/// objects: `audio_tokens` and `image_tokens`, and the cached parts in
/// `cached_tokens_details`, as the Chat Completions, Responses, Realtime and image APIs send
/// them.
///
/// Chat Completions reports cached tokens without their modality. When the audio and image
/// tokens do not fit in the uncached prompt, the excess is counted as cached reads of those
/// modalities, audio first: the fewest cached modality tokens that the counts allow.
pub(super) fn read_openai(
    root: &Fields,
    [input_details, output_details]: [&str; 2],
    usage: &mut Usage,
) -> Result<(), UsageError> {
    let mut input = Modal::default();
    let mut cached = Modal::default();
    if let Some(details) = root.nested(input_details)? {
        input.audio = details.count("audio_tokens")?.unwrap_or(0);
        input.image = details.count("image_tokens")?.unwrap_or(0);
        if let Some(cached_details) = details.nested("cached_tokens_details")? {
            cached.audio = cached_details.count("audio_tokens")?.unwrap_or(0);
            cached.image = cached_details.count("image_tokens")?.unwrap_or(0);
        }
    }
    let mut output = Modal::default();
    if let Some(details) = root.nested(output_details)? {
        output.audio = details.count("audio_tokens")?.unwrap_or(0);
        output.image = details.count("image_tokens")?.unwrap_or(0);
    }

    let uncached_modal = input.total().saturating_sub(cached.total());
    let mut excess = uncached_modal.saturating_sub(usage.uncached_input_tokens());
    for (total, cached) in [
        (input.audio, &mut cached.audio),
        (input.image, &mut cached.image),
    ] {
        let moved = excess.min(total - (*cached).min(total));
        *cached += moved;
        excess -= moved;
    }
    set_parts(usage, input, cached, output);
    Ok(())
}

/// Sets the modality parts of `usage` from Gemini's `promptTokensDetails`,
/// `toolUsePromptTokensDetails`, `cacheTokensDetails` and `candidatesTokensDetails` lists of
/// `{modality, tokenCount}`. TEXT and DOCUMENT tokens are billed as text.
pub(super) fn read_gemini(root: &Fields, usage: &mut Usage) -> Result<(), UsageError> {
    let mut input = Modal::default();
    read_list(root, "promptTokensDetails", &mut input)?;
    read_list(root, "toolUsePromptTokensDetails", &mut input)?;
    let mut cached = Modal::default();
    read_list(root, "cacheTokensDetails", &mut cached)?;
    let mut output = Modal::default();
    read_list(root, "candidatesTokensDetails", &mut output)?;

    set_parts(usage, input, cached, output);
    Ok(())
}

fn read_list(root: &Fields, key: &str, into: &mut Modal) -> Result<(), UsageError> {
    let Some(items) = root.list(key)? else {
        return Ok(());
    };
    for (index, item) in items.iter().enumerate() {
        let path = format!("{key}.{index}");
        let entry = Fields::at(item, root.field_path(&path))?;
        let modality = match entry.value("modality") {
            Some(Value::String(modality)) => modality.to_ascii_uppercase(),
            _ => continue,
        };
        let count = entry.count("tokenCount")?.unwrap_or(0);
        into.add(&modality, count);
    }
    Ok(())
}

fn set_parts(usage: &mut Usage, input: Modal, cached: Modal, output: Modal) {
    usage.input_audio_tokens = input.audio;
    usage.input_image_tokens = input.image;
    usage.input_video_tokens = input.video;
    usage.cache_audio_read_tokens = cached.audio;
    usage.cache_image_read_tokens = cached.image;
    usage.cache_video_read_tokens = cached.video;
    usage.output_audio_tokens = output.audio;
    usage.output_image_tokens = output.image;
    usage.output_video_tokens = output.video;
}
