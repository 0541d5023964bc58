//! Readers of the service tier that a provider reports in a response, for choosing a price
//! variant.

use serde_json::Value;

use crate::pricing::PriceContext;

/// Reads the service tier that served a call from its response body.
///
/// The first of these places that contains a tier wins:
///
/// - `service_tier` at the top level (OpenAI Chat Completions and Responses, Groq,
///   OpenRouter) or in `response` (a Responses stream event);
/// - `usage.service_tier` or `message.usage.service_tier` (Anthropic, where `batch` marks a
///   batch call);
/// - Gemini's `usageMetadata.serviceTier`, then Vertex AI's `usageMetadata.trafficType`
///   (`ON_DEMAND`, `ON_DEMAND_FLEX`, `ON_DEMAND_PRIORITY`, `PROVISIONED_THROUGHPUT`).
///
/// Returns the standard context when none is present.
pub fn price_context(body: &Value) -> PriceContext {
    match service_tier(body) {
        Some(tier) => PriceContext::from_service_tier(&tier),
        None => PriceContext::default(),
    }
}

/// Reads the service tier that a usage object itself reports, as Anthropic's
/// `usage.service_tier` does; the standard context for other usage objects.
///
/// Anthropic's `usage.speed: "fast"` selects the `fast` tier, whatever `service_tier` reports,
/// because fast mode has its own prices. A batch call keeps its batch flag.
pub fn usage_price_context(usage: &Value) -> PriceContext {
    let mut context = match text_at(usage, &["service_tier"]) {
        Some(tier) => PriceContext::from_service_tier(tier),
        None => PriceContext::default(),
    };
    let speed = text_at(usage, &["speed"]).map(|speed| speed.trim().to_ascii_lowercase());
    if let Some(speed) = speed.filter(|speed| speed != "standard") {
        context.service_tier = Some(speed);
        context.from_speed = true;
    }
    context
}

/// Service tiers that bill at the standard rates, the same as sending no tier.
const STANDARD_TIERS: [&str; 4] = ["standard", "default", "auto", "on_demand"];

/// A call whose fields name two different price tiers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{first} is {first_value} but {second} is {second_value}, which bill at different \
     prices: send only one of them, or make them agree"
)]
pub struct TierConflict {
    /// Path of the field read first, such as `serviceTier`.
    pub first: String,
    /// Value of the first field as sent, quoted when it is a string.
    pub first_value: String,
    /// Path of the field that disagrees with it, such as `usage.service_tier`.
    pub second: String,
    /// Value of the second field as sent.
    pub second_value: String,
}

/// The fields of one call that select a price variant, each with the path it was sent at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TierFields<'a> {
    /// Service tier fields, such as `("serviceTier", "flex")`.
    pub tiers: Vec<(&'a str, &'a str)>,
    /// Speed fields, such as `("usage.speed", "fast")`.
    pub speeds: Vec<(&'a str, &'a str)>,
    /// The `batch` flag with its path.
    pub batch: Option<(&'a str, bool)>,
}

impl TierFields<'_> {
    /// Returns the price context these fields select.
    ///
    /// Standard tiers (`standard`, `default`, `auto`, `on_demand`) and a missing or blank
    /// field all mean the standard rates. A speed other than `standard`, such as `fast`,
    /// selects the tier of that name, whatever the service tier field names, because fast mode
    /// has its own prices. A batch call keeps its batch flag.
    ///
    /// # Errors
    ///
    /// Returns a [`TierConflict`] naming both fields when two tier fields or two speed
    /// fields name different tiers, or when `batch` is false while a tier field is
    /// `batch`.
    pub fn resolve(&self) -> Result<PriceContext, TierConflict> {
        let tiers = agreed(&self.tiers, canonical_tier)?;
        let speeds = agreed(&self.speeds, |speed| speed.trim().to_ascii_lowercase())?;
        let batch_tier = self
            .tiers
            .iter()
            .find(|(_, tier)| canonical_tier(tier) == "batch");
        if let (Some((tier_field, tier)), Some((batch_field, false))) = (batch_tier, self.batch) {
            return Err(conflict(
                tier_field,
                &format!("{tier:?}"),
                batch_field,
                "false",
            ));
        }

        let mut context = tiers
            .map(|(_, tier)| PriceContext::from_service_tier(tier))
            .unwrap_or_default();
        if let Some((_, speed)) = speeds {
            let speed = speed.trim().to_ascii_lowercase();
            if speed != "standard" {
                context.service_tier = Some(speed);
                context.from_speed = true;
            }
        }
        context.batch |= self.batch.is_some_and(|(_, batch)| batch);
        Ok(context)
    }
}

/// Returns the first non-blank field of `fields`, or a conflict with the first field whose
/// `canonical` form differs from it.
fn agreed<'f, 'a>(
    fields: &'f [(&'a str, &'a str)],
    canonical: impl Fn(&str) -> String,
) -> Result<Option<&'f (&'a str, &'a str)>, TierConflict> {
    let mut present = fields.iter().filter(|(_, value)| !value.trim().is_empty());
    let Some(first) = present.next() else {
        return Ok(None);
    };
    let expected = canonical(first.1);
    match present.find(|(_, value)| canonical(value) != expected) {
        Some((field, value)) => Err(conflict(
            first.0,
            &format!("{:?}", first.1),
            field,
            &format!("{value:?}"),
        )),
        None => Ok(Some(first)),
    }
}

/// Lowercases a service tier and maps every standard tier to `standard`.
fn canonical_tier(tier: &str) -> String {
    let tier = tier.trim().to_ascii_lowercase();
    if STANDARD_TIERS.contains(&tier.as_str()) {
        "standard".to_owned()
    } else {
        tier
    }
}

fn conflict(first: &str, first_value: &str, second: &str, second_value: &str) -> TierConflict {
    TierConflict {
        first: first.to_owned(),
        first_value: first_value.to_owned(),
        second: second.to_owned(),
        second_value: second_value.to_owned(),
    }
}

/// Reads the service tier of a streamed response from its events; the last event that
/// reports one wins.
pub fn stream_price_context<'a>(events: impl IntoIterator<Item = &'a Value>) -> PriceContext {
    let tier = events.into_iter().filter_map(service_tier).last();
    match tier {
        Some(tier) => PriceContext::from_service_tier(&tier),
        None => PriceContext::default(),
    }
}

fn service_tier(body: &Value) -> Option<String> {
    let paths: [&[&str]; 5] = [
        &["service_tier"],
        &["response", "service_tier"],
        &["usage", "service_tier"],
        &["message", "usage", "service_tier"],
        &["usageMetadata", "serviceTier"],
    ];
    let reported = paths
        .iter()
        .find_map(|path| text_at(body, path).map(str::to_owned));
    reported.or_else(|| {
        let traffic = text_at(body, &["usageMetadata", "trafficType"])?;
        Some(vertex_tier(traffic))
    })
}

fn text_at<'a>(body: &'a Value, path: &[&str]) -> Option<&'a str> {
    let value = path.iter().try_fold(body, |value, key| value.get(key))?;
    value.as_str().filter(|text| !text.trim().is_empty())
}

/// Maps a Vertex AI traffic type to the service tier it bills at.
fn vertex_tier(traffic: &str) -> String {
    let tier = match traffic {
        "ON_DEMAND" => "standard",
        "ON_DEMAND_FLEX" => "flex",
        "ON_DEMAND_PRIORITY" => "priority",
        "PROVISIONED_THROUGHPUT" => "provisioned",
        other => return other.to_ascii_lowercase(),
    };
    tier.to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn openai_flex_tier_is_read() {
        let body = json!({"object": "chat.completion", "service_tier": "flex", "usage": {}});

        let context = price_context(&body);

        assert_eq!(context.special_tier().as_deref(), Some("flex"));
    }

    #[test]
    fn openai_default_tier_is_standard() {
        let body = json!({"service_tier": "default"});

        assert!(price_context(&body).is_standard());
    }

    #[test]
    fn anthropic_batch_tier_sets_batch() {
        let body = json!({"usage": {"input_tokens": 10, "service_tier": "batch"}});

        let context = price_context(&body);

        assert!(context.batch);
        assert_eq!(context.special_tier(), None);
    }

    #[test]
    fn vertex_flex_traffic_is_flex() {
        let body =
            json!({"usageMetadata": {"promptTokenCount": 5, "trafficType": "ON_DEMAND_FLEX"}});

        assert_eq!(price_context(&body).special_tier().as_deref(), Some("flex"));
    }

    #[test]
    fn stream_takes_last_reported_tier() {
        let events = [
            json!({"type": "response.created", "response": {"service_tier": "auto"}}),
            json!({"type": "response.completed", "response": {"service_tier": "priority"}}),
        ];

        let context = stream_price_context(&events);

        assert_eq!(context.special_tier().as_deref(), Some("priority"));
    }

    #[test]
    fn anthropic_usage_priority_tier_is_read() {
        let usage = json!({"input_tokens": 10, "output_tokens": 2, "service_tier": "priority"});

        let context = usage_price_context(&usage);

        assert_eq!(context.special_tier().as_deref(), Some("priority"));
    }

    #[test]
    fn anthropic_fast_speed_selects_fast_tier() {
        let usage = json!({"input_tokens": 10, "service_tier": "standard", "speed": "fast"});

        let context = usage_price_context(&usage);

        assert_eq!(context.special_tier().as_deref(), Some("fast"));
        assert!(!context.batch);
    }

    #[test]
    fn anthropic_standard_speed_keeps_tier() {
        let usage = json!({"input_tokens": 10, "service_tier": "batch", "speed": "standard"});

        let context = usage_price_context(&usage);

        assert!(context.batch);
        assert_eq!(context.special_tier(), None);
    }

    #[test]
    fn body_without_tier_is_standard() {
        assert_eq!(
            price_context(&json!({"usage": {}})),
            PriceContext::default()
        );
    }
}
