//! Validation of the fields of a cost-bearing payload that select tier or batch prices.
//!
//! `serviceTier` (or OpenAI's spelling `service_tier`) at the top level names the service
//! tier that served the call. Without either, `usage.service_tier` (where Anthropic
//! reports it) is read. `batch: true` marks a call made through a batch API.

use serde_json::{Map, Value};

use super::fields::{describe, Errors};
use crate::pricing::PriceContext;

/// Reads the price context of a `cost_tracked` or `llm_response` payload.
///
/// A tier that is present must be a non-blank string, and `batch` must be a boolean.
/// Every violation is pushed to `errors` with the name of the field as sent.
pub(crate) fn price_context(
    payload: &Map<String, Value>,
    errors: &mut Errors<'_>,
) -> Option<PriceContext> {
    let before = errors.list.len();
    let camel = tier(payload, "serviceTier", errors);
    let snake = tier(payload, "service_tier", errors);
    let in_usage = match payload.get("usage") {
        Some(Value::Object(usage)) => tier(usage, "service_tier", &mut errors.nested("usage")),
        _ => None,
    };
    let batch = match payload.get("batch") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(batch)) => *batch,
        Some(other) => {
            errors.push(
                "batch",
                format!("expected true or false, got {}", describe(other)),
            );
            false
        }
    };
    if errors.list.len() > before {
        return None;
    }

    let mut context = camel
        .or(snake)
        .or(in_usage)
        .map(PriceContext::from_service_tier)
        .unwrap_or_default();
    context.batch |= batch;
    Some(context)
}

/// Reads one optional service tier field: absent or null is no tier.
fn tier<'v>(
    object: &'v Map<String, Value>,
    field: &str,
    errors: &mut Errors<'_>,
) -> Option<&'v str> {
    match object.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text),
        Some(Value::String(_)) => {
            errors.push(
                field,
                format!(
                    "{field} must not be empty: send a tier such as \"flex\" or \"priority\", \
                     or leave it out for standard prices"
                ),
            );
            None
        }
        Some(other) => {
            errors.push(
                field,
                format!(
                    "expected a string such as \"flex\" or \"priority\", got {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::validate::FieldError;

    fn read(payload: Value) -> (Option<PriceContext>, Vec<FieldError>) {
        let mut list = Vec::new();
        let context = price_context(
            payload.as_object().unwrap(),
            &mut Errors::new("payload".into(), &mut list),
        );
        (context, list)
    }

    #[test]
    fn snake_case_tier_selects_flex() {
        let (context, errors) = read(json!({"service_tier": "flex"}));

        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(context.unwrap().special_tier().as_deref(), Some("flex"));
    }

    #[test]
    fn usage_tier_is_read_without_top_level_tier() {
        let (context, _) = read(json!({"usage": {"service_tier": "priority"}}));

        assert_eq!(context.unwrap().special_tier().as_deref(), Some("priority"));
    }

    #[test]
    fn top_level_tier_wins_over_usage_tier() {
        let (context, _) =
            read(json!({"serviceTier": "flex", "usage": {"service_tier": "standard"}}));

        assert_eq!(context.unwrap().special_tier().as_deref(), Some("flex"));
    }

    #[test]
    fn batch_true_sets_batch() {
        let (context, _) = read(json!({"batch": true}));

        assert!(context.unwrap().batch);
    }

    #[test]
    fn invalid_tier_and_batch_are_named() {
        let cases = [
            (json!({"serviceTier": 5}), "payload.serviceTier"),
            (json!({"serviceTier": " "}), "payload.serviceTier"),
            (json!({"service_tier": ""}), "payload.service_tier"),
            (
                json!({"usage": {"service_tier": false}}),
                "payload.usage.service_tier",
            ),
            (json!({"batch": "true"}), "payload.batch"),
        ];
        for (payload, path) in cases {
            let (context, errors) = read(payload.clone());

            assert_eq!(context, None, "{payload}");
            assert_eq!(errors.len(), 1, "{payload}: {errors:?}");
            assert_eq!(errors[0].path, path, "{payload}");
        }
    }
}
