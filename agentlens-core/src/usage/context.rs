//! Readers of the service tier that a provider reports in a response, for choosing a price
//! variant.

use serde_json::Value;

use crate::pricing::PriceContext;

/// Reads the service tier that served a call from its response body.
///
/// The first of these places that holds a tier wins:
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
/// Anthropic's `usage.speed: "fast"` selects the `fast` tier, whatever `service_tier` says,
/// because fast mode has its own prices. A batch call keeps its batch flag.
pub fn usage_price_context(usage: &Value) -> PriceContext {
    let mut context = match text_at(usage, &["service_tier"]) {
        Some(tier) => PriceContext::from_service_tier(tier),
        None => PriceContext::default(),
    };
    let speed = text_at(usage, &["speed"]).map(|speed| speed.trim().to_ascii_lowercase());
    if let Some(speed) = speed.filter(|speed| speed != "standard") {
        context.service_tier = Some(speed);
    }
    context
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
