//! Mapping of LiteLLM keys onto provider ids and model ids.

use serde_json::Value;

/// LiteLLM `litellm_provider` values that map to another provider id: the routes of one
/// vendor fold onto one id, and names that genai-prices spells differently take its id.
pub(super) const PROVIDER_IDS: &[(&str, &str)] = &[
    ("agentcore", "aws"),
    ("amazon_nova", "aws"),
    ("azure_ai", "azure"),
    ("azure_text", "azure"),
    ("bedrock", "aws"),
    ("bedrock_converse", "aws"),
    ("bedrock_mantle", "aws"),
    ("bigmodel", "zhipuai"),
    ("bing_grounding", "azure"),
    ("chatgpt", "openai"),
    ("clf_ai_gateway", "cloudflare"),
    ("codestral", "mistral"),
    ("cohere_chat", "cohere"),
    ("fireworks_ai", "fireworks"),
    ("fireworks_ai-embedding-models", "fireworks"),
    ("gemini", "google"),
    ("github_copilot", "github-copilot"),
    ("google_pse", "google"),
    ("meta_llama", "meta"),
    ("moonshot", "moonshotai"),
    ("palm", "google"),
    ("qwen_ai_platform", "dashscope"),
    ("qwencloud", "dashscope"),
    ("sagemaker", "aws"),
    ("text-completion-codestral", "mistral"),
    ("text-completion-inception", "inception"),
    ("text-completion-openai", "openai"),
    ("together_ai", "together"),
    ("vertex_ai", "google"),
    ("voyage", "voyageai"),
    ("xai", "x-ai"),
];

/// Secondary endpoints of a vendor whose prices can differ from its main API for the same
/// model id. Their entries are read last, so the main API's entry wins a shared model id.
pub(super) const SECONDARY_ROUTES: &[&str] = &[
    "azure_ai",
    "bedrock_mantle",
    "clf_ai_gateway",
    "qwen_ai_platform",
    "qwencloud",
];

/// Extra leading key segments that name a route, by `litellm_provider`.
const ROUTE_SEGMENTS: &[(&str, &str)] = &[
    ("amazon_nova", "amazon-nova"),
    ("azure_text", "azure"),
    ("bedrock_converse", "bedrock"),
    ("cohere_chat", "cohere"),
    ("fireworks_ai-embedding-models", "fireworks_ai"),
    ("text-completion-codestral", "codestral"),
];

/// Returns true when an entry belongs to a route listed in [`SECONDARY_ROUTES`].
pub(super) fn is_secondary(entry: &Value) -> bool {
    let route = entry.get("litellm_provider").and_then(Value::as_str);
    route.is_some_and(|route| SECONDARY_ROUTES.contains(&route))
}

/// Maps a key to `(provider id, model id)`, or `None` for a skipped key.
pub(super) fn provider_and_model(key: &str, entry: &Value) -> Option<(String, String)> {
    let route = entry.get("litellm_provider")?.as_str()?;
    if route.contains(' ') {
        return None;
    }
    let family = if route.starts_with("vertex_ai-") {
        "vertex_ai"
    } else {
        route
    };
    let provider = lookup(PROVIDER_IDS, family).unwrap_or(family).to_owned();

    let mut segments: Vec<&str> = key.split('/').collect();
    let extra_route = lookup(ROUTE_SEGMENTS, route);
    let is_route =
        |segment: &str| segment == route || segment == family || Some(segment) == extra_route;
    if segments.len() > 1 && is_route(segments[0]) {
        segments.remove(0);
    }
    let (_, path) = segments.split_last()?;
    if path.iter().any(|segment| is_skipped_segment(segment)) {
        return None;
    }
    let model = segments.join("/").trim().to_owned();
    (!model.is_empty()).then_some((provider, model))
}

fn lookup(pairs: &[(&'static str, &'static str)], key: &str) -> Option<&'static str> {
    pairs
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, value)| *value)
}

/// Returns true for a region (`us-east-1`), data zone, commitment term or image size segment.
fn is_skipped_segment(segment: &str) -> bool {
    const WORDS: &[&str] = &[
        "*",
        "eu",
        "us",
        "global",
        "global-standard",
        "data-zone",
        "max-x-max",
        "low",
        "medium",
        "high",
        "hd",
        "standard",
    ];
    if WORDS.contains(&segment) {
        return true;
    }
    let parts: Vec<&str> = segment.split('-').collect();
    let is_number = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let is_word = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase());
    match parts.as_slice() {
        [count, "month", "commitment"] | [count, "steps"] => is_number(count),
        [width, "x", height] => is_number(width) && is_number(height),
        [area, place, number] => {
            area.len() == 2 && is_word(area) && is_word(place) && is_number(number)
        }
        [area, "gov", place, number] => area.len() == 2 && is_word(place) && is_number(number),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_and_commitment_keys_are_skipped() {
        let entry = serde_json::json!({"litellm_provider": "bedrock"});
        let skipped = [
            "bedrock/us-east-1/meta.llama3-8b-instruct-v1:0",
            "bedrock/us-gov-west-1/meta.llama3-8b-instruct-v1:0",
            "bedrock/*/1-month-commitment/cohere.command-text-v14",
        ];
        for key in skipped {
            assert_eq!(provider_and_model(key, &entry), None, "{key}");
        }
        let kept = provider_and_model("bedrock/us.anthropic.claude-3-haiku-v1:0", &entry);
        assert_eq!(
            kept,
            Some(("aws".into(), "us.anthropic.claude-3-haiku-v1:0".into()))
        );
    }

    #[test]
    fn vertex_families_fold_onto_google() {
        let entry = serde_json::json!({"litellm_provider": "vertex_ai-mistral_models"});
        let mapped = provider_and_model("vertex_ai/mistral-large@2407", &entry);
        assert_eq!(mapped, Some(("google".into(), "mistral-large@2407".into())));
    }

    #[test]
    fn vendor_routes_fold_onto_one_provider() {
        let cases = [
            ("bedrock_mantle", "bedrock_mantle/openai.gpt-oss-20b", "aws"),
            ("amazon_nova", "amazon-nova/nova-micro-v1", "aws"),
            ("azure_ai", "azure_ai/mistral-large-latest", "azure"),
            ("qwencloud", "qwencloud/qwen-max", "dashscope"),
            ("bigmodel", "bigmodel/glm-5.3", "zhipuai"),
            ("github_copilot", "github_copilot/gpt-4.1", "github-copilot"),
        ];
        for (route, key, provider) in cases {
            let entry = serde_json::json!({ "litellm_provider": route });
            let (mapped, model) = provider_and_model(key, &entry).unwrap();
            assert_eq!(mapped, provider, "{key}");
            assert!(!model.contains(route), "{key} kept its route in {model}");
        }
    }

    #[test]
    fn distinct_vendors_keep_their_names() {
        for route in [
            "nebius",
            "sambanova",
            "novita",
            "minimax",
            "zai",
            "dashscope",
        ] {
            let entry = serde_json::json!({ "litellm_provider": route });
            let mapped = provider_and_model(&format!("{route}/some-model"), &entry);
            assert_eq!(mapped, Some((route.to_owned(), "some-model".to_owned())));
        }
    }
}
