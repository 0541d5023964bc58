//! The token units the engine bills and how they nest.
//!
//! The units and their price keys are those of genai-prices 0.2.5 (`data_units.py`). Each
//! unit is a set of dimensions (direction, modality, token type, cache lifetime); a unit is
//! the ancestor of every unit whose dimensions include its own, so `input_audio` and
//! `cache_read` are both ancestors of `cache_audio_read`.
//!
//! A [`Usage`] splits into disjoint buckets of tokens, the [`ATOMS`]. Each atom is billed at
//! the rate of the most specific priced unit that contains it, which is what genai-prices'
//! `compute_leaf_values` computes. When the priced units that contain an atom have no single
//! most specific one (a model with rates for cache reads and for audio input but none for
//! cached audio reads), genai-prices rejects the price entry; here only a call with tokens in
//! that atom is unpriced.

use crate::usage::Usage;

/// Number of token units.
pub(crate) const UNIT_COUNT: usize = 16;

/// A token unit, by its position in [`UNITS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Input,
    CacheRead,
    CacheWrite,
    CacheWrite5m,
    CacheWrite1h,
    InputAudio,
    InputImage,
    InputVideo,
    CacheAudioRead,
    CacheImageRead,
    CacheVideoRead,
    Output,
    OutputReasoning,
    OutputAudio,
    OutputImage,
    OutputVideo,
}

/// Dimensions of a unit; 0 means the unit does not fix the dimension.
#[derive(Clone, Copy)]
struct Dimensions {
    /// 1 input, 2 output.
    direction: u8,
    /// 1 audio, 2 image, 3 video.
    modality: u8,
    /// 1 cache read, 2 cache write, 3 reasoning.
    kind: u8,
    /// 1 five minutes, 2 one hour.
    lifetime: u8,
}

/// The definition of one unit.
pub(crate) struct UnitDef {
    /// genai-prices price key, in dollars per million tokens.
    pub(crate) price_key: &'static str,
    /// Words for messages, such as `cached audio read`.
    pub(crate) label: &'static str,
    dimensions: Dimensions,
}

const fn def(
    price_key: &'static str,
    label: &'static str,
    [direction, modality, kind, lifetime]: [u8; 4],
) -> UnitDef {
    UnitDef {
        price_key,
        label,
        dimensions: Dimensions {
            direction,
            modality,
            kind,
            lifetime,
        },
    }
}

/// Every unit, in the order of [`Unit`].
pub(crate) const UNITS: [UnitDef; UNIT_COUNT] = [
    def("input_mtok", "input", [1, 0, 0, 0]),
    def("cache_read_mtok", "cache read", [1, 0, 1, 0]),
    def("cache_write_mtok", "cache write", [1, 0, 2, 0]),
    def("cache_write_5m_mtok", "5-minute cache write", [1, 0, 2, 1]),
    def("cache_write_1h_mtok", "1-hour cache write", [1, 0, 2, 2]),
    def("input_audio_mtok", "audio input", [1, 1, 0, 0]),
    def("input_image_mtok", "image input", [1, 2, 0, 0]),
    def("input_video_mtok", "video input", [1, 3, 0, 0]),
    def("cache_audio_read_mtok", "cached audio read", [1, 1, 1, 0]),
    def("cache_image_read_mtok", "cached image read", [1, 2, 1, 0]),
    def("cache_video_read_mtok", "cached video read", [1, 3, 1, 0]),
    def("output_mtok", "output", [2, 0, 0, 0]),
    def("output_reasoning_mtok", "reasoning output", [2, 0, 3, 0]),
    def("output_audio_mtok", "audio output", [2, 1, 0, 0]),
    def("output_image_mtok", "image output", [2, 2, 0, 0]),
    def("output_video_mtok", "video output", [2, 3, 0, 0]),
];

/// Returns whether dimension value `outer` contains `inner`: equal, or `outer` unset.
const fn covers(outer: u8, inner: u8) -> bool {
    outer == 0 || outer == inner
}

const fn is_ancestor_or_self(outer: &Dimensions, inner: &Dimensions) -> bool {
    outer.direction == inner.direction
        && covers(outer.modality, inner.modality)
        && covers(outer.kind, inner.kind)
        && covers(outer.lifetime, inner.lifetime)
}

/// For each unit, the bit mask of the units that contain it, itself included.
const ANCESTORS_OR_SELF: [u32; UNIT_COUNT] = {
    let mut masks = [0u32; UNIT_COUNT];
    let mut unit = 0;
    while unit < UNIT_COUNT {
        let mut outer = 0;
        while outer < UNIT_COUNT {
            if is_ancestor_or_self(&UNITS[outer].dimensions, &UNITS[unit].dimensions) {
                masks[unit] |= 1 << outer;
            }
            outer += 1;
        }
        unit += 1;
    }
    masks
};

impl Unit {
    /// Returns the definition of the unit.
    pub(crate) fn def(self) -> &'static UnitDef {
        &UNITS[self as usize]
    }

    /// Chooses the unit whose rate bills this unit's tokens, given the bit mask of the units
    /// that have a rate.
    ///
    /// # Errors
    ///
    /// Returns the reason when no priced unit contains the unit, or when the priced units
    /// that contain it have no single most specific one.
    pub(crate) fn billed_as(self, priced: u32) -> Result<Unit, String> {
        let candidates = ANCESTORS_OR_SELF[self as usize] & priced;
        if candidates == 0 {
            return Err(format!("no price for {} tokens", self.def().label));
        }

        // The most specific candidate is contained in every other candidate.
        let most_specific = (0..UNIT_COUNT)
            .filter(|&index| candidates & (1 << index) != 0)
            .find(|&index| ANCESTORS_OR_SELF[index] & candidates == candidates);
        match most_specific {
            Some(index) => Ok(ALL[index]),
            None => Err(format!(
                "no price for {} tokens ({}), which rates {} cover in more than one way",
                self.def().label,
                self.def().price_key,
                candidate_keys(candidates)
            )),
        }
    }
}

/// Every unit, in the order of [`UNITS`].
const ALL: [Unit; UNIT_COUNT] = [
    Unit::Input,
    Unit::CacheRead,
    Unit::CacheWrite,
    Unit::CacheWrite5m,
    Unit::CacheWrite1h,
    Unit::InputAudio,
    Unit::InputImage,
    Unit::InputVideo,
    Unit::CacheAudioRead,
    Unit::CacheImageRead,
    Unit::CacheVideoRead,
    Unit::Output,
    Unit::OutputReasoning,
    Unit::OutputAudio,
    Unit::OutputImage,
    Unit::OutputVideo,
];

fn candidate_keys(candidates: u32) -> String {
    let keys: Vec<&str> = (0..UNIT_COUNT)
        .filter(|&index| candidates & (1 << index) != 0)
        .map(|index| UNITS[index].price_key)
        .collect();
    keys.join(" and ")
}

/// One disjoint bucket of a usage's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Atom {
    /// Most specific unit that contains the bucket.
    pub(crate) unit: Unit,
    /// Tokens in the bucket.
    pub(crate) count: u64,
    /// Whether the tokens were read from or written to a cache.
    pub(crate) cached: bool,
}

/// Number of atoms of a usage.
pub(crate) const ATOM_COUNT: usize = 15;

/// Splits a usage into its atoms: first the prompt in the order a prompt is cached (cache
/// reads, cache writes, then uncached tokens), then the output.
///
/// The usage must pass [`Usage::check`], so no subtraction underflows; saturating
/// arithmetic keeps unchecked usage from panicking.
pub(crate) fn atoms(usage: &Usage) -> [Atom; ATOM_COUNT] {
    let cached_modal = [
        usage.cache_audio_read_tokens,
        usage.cache_image_read_tokens,
        usage.cache_video_read_tokens,
    ];
    let uncached_modal = [
        usage.input_audio_tokens.saturating_sub(cached_modal[0]),
        usage.input_image_tokens.saturating_sub(cached_modal[1]),
        usage.input_video_tokens.saturating_sub(cached_modal[2]),
    ];
    let cached_text = usage
        .cache_read_tokens
        .saturating_sub(cached_modal.iter().sum());
    let uncached_text = usage
        .uncached_input_tokens()
        .saturating_sub(uncached_modal.iter().sum());
    let output_text = usage
        .output_tokens
        .saturating_sub(usage.reasoning_tokens)
        .saturating_sub(usage.output_audio_tokens)
        .saturating_sub(usage.output_image_tokens)
        .saturating_sub(usage.output_video_tokens);

    let cached = |unit, count| Atom {
        unit,
        count,
        cached: true,
    };
    let fresh = |unit, count| Atom {
        unit,
        count,
        cached: false,
    };
    [
        cached(Unit::CacheRead, cached_text),
        cached(Unit::CacheAudioRead, cached_modal[0]),
        cached(Unit::CacheImageRead, cached_modal[1]),
        cached(Unit::CacheVideoRead, cached_modal[2]),
        cached(Unit::CacheWrite5m, usage.cache_write_5m_tokens),
        cached(Unit::CacheWrite1h, usage.cache_write_1h_tokens),
        fresh(Unit::Input, uncached_text),
        fresh(Unit::InputAudio, uncached_modal[0]),
        fresh(Unit::InputImage, uncached_modal[1]),
        fresh(Unit::InputVideo, uncached_modal[2]),
        fresh(Unit::Output, output_text),
        fresh(Unit::OutputReasoning, usage.reasoning_tokens),
        fresh(Unit::OutputAudio, usage.output_audio_tokens),
        fresh(Unit::OutputImage, usage.output_image_tokens),
        fresh(Unit::OutputVideo, usage.output_video_tokens),
    ]
}

/// Returns whether the unit counts generated tokens.
pub(crate) fn is_output(unit: Unit) -> bool {
    unit.def().dimensions.direction == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(units: &[Unit]) -> u32 {
        units
            .iter()
            .fold(0, |mask, unit| mask | 1 << *unit as usize)
    }

    #[test]
    fn cached_audio_prefers_its_own_rate() {
        let priced = mask(&[
            Unit::Input,
            Unit::CacheRead,
            Unit::InputAudio,
            Unit::CacheAudioRead,
        ]);

        assert_eq!(
            Unit::CacheAudioRead.billed_as(priced),
            Ok(Unit::CacheAudioRead)
        );
    }

    #[test]
    fn audio_falls_back_to_input_rate() {
        let priced = mask(&[Unit::Input, Unit::CacheRead]);

        assert_eq!(Unit::InputAudio.billed_as(priced), Ok(Unit::Input));
        assert_eq!(Unit::CacheAudioRead.billed_as(priced), Ok(Unit::CacheRead));
    }

    #[test]
    fn cached_audio_without_join_rate_is_ambiguous() {
        let priced = mask(&[Unit::Input, Unit::CacheRead, Unit::InputAudio]);

        let reason = Unit::CacheAudioRead.billed_as(priced).unwrap_err();

        assert!(reason.contains("cached audio read"), "{reason}");
        assert!(reason.contains("cache_audio_read_mtok"), "{reason}");
    }

    #[test]
    fn unit_without_priced_ancestor_is_unpriced() {
        let priced = mask(&[Unit::Output]);

        let reason = Unit::InputImage.billed_as(priced).unwrap_err();

        assert_eq!(reason, "no price for image input tokens");
    }

    #[test]
    fn atoms_partition_usage() {
        let usage = Usage {
            input_tokens: 1_000,
            cache_read_tokens: 300,
            cache_audio_read_tokens: 100,
            cache_write_5m_tokens: 50,
            input_audio_tokens: 250,
            input_image_tokens: 40,
            output_tokens: 500,
            reasoning_tokens: 200,
            output_audio_tokens: 100,
            ..Usage::default()
        };

        let atoms = atoms(&usage);
        let input: u64 = atoms
            .iter()
            .filter(|atom| !is_output(atom.unit))
            .map(|atom| atom.count)
            .sum();
        let output: u64 = atoms
            .iter()
            .filter(|atom| is_output(atom.unit))
            .map(|atom| atom.count)
            .sum();

        assert_eq!(input, 1_000);
        assert_eq!(output, 500);
        assert_eq!(atoms[0].count, 200, "cached text");
        assert_eq!(atoms[6].count, 1_000 - 350 - 150 - 40, "uncached text");
    }
}
