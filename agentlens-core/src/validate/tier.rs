//! Validation of the fields of a cost-bearing payload that select tier or batch prices.
//!
//! `serviceTier` (or OpenAI's spelling `service_tier`) at the top level names the service
//! tier that served the call, and `usage.service_tier` is where Anthropic reports it.
//! `speed: "fast"`, at the top level or in `usage`, selects the `fast` tier. `batch: true`
//! marks a call made through a batch API. Fields that name different tiers are rejected
//! instead of one silently winning.

use serde_json::{Map, Value};

use super::fields::{describe, lookup, Errors};
use crate::pricing::PriceContext;
use crate::usage::TierFields;

/// Reads the price context of a `cost_tracked` or `llm_response` payload.
///
/// A tier that is present must be a non-blank string, and `batch` must be a boolean.
/// Every violation is pushed to `errors` with the name of the field as sent.
pub(crate) fn price_context(
    payload: &Map<String, Value>,
    errors: &mut Errors<'_>,
) -> Option<PriceContext> {
    let before = errors.list.len();
    let usage = match lookup(payload, "usage") {
        Some(Value::Object(usage)) => Some(usage),
        _ => None,
    };
    let mut fields = TierFields::default();
    for field in ["serviceTier", "service_tier"] {
        if let Some(tier) = tier(payload, field, errors) {
            fields.tiers.push((field, tier));
        }
    }
    if let Some(speed) = speed(payload, "speed", errors) {
        fields.speeds.push(("speed", speed));
    }
    if let Some(usage) = usage {
        if let Some(tier) = tier(usage, "service_tier", &mut errors.nested("usage")) {
            fields.tiers.push(("usage.service_tier", tier));
        }
        if let Some(speed) = speed(usage, "speed", &mut errors.nested("usage")) {
            fields.speeds.push(("usage.speed", speed));
        }
    }
    match lookup(payload, "batch") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(batch)) => fields.batch = Some(("batch", *batch)),
        Some(other) => errors.push(
            "batch",
            format!("expected true or false, got {}", describe(other)),
        ),
    }
    if errors.list.len() > before {
        return None;
    }

    match fields.resolve() {
        Ok(context) => Some(context),
        Err(conflict) => {
            errors.push(&conflict.second, conflict.to_string());
            None
        }
    }
}

/// Reads one optional speed field, such as Anthropic's `speed: "fast"`: absent, null or
/// blank is the standard speed.
fn speed<'v>(
    object: &'v Map<String, Value>,
    field: &str,
    errors: &mut Errors<'_>,
) -> Option<&'v str> {
    match lookup(object, field) {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => {
            errors.push(
                field,
                format!(
                    "expected a string such as \"fast\" or \"standard\", got {}",
                    describe(other)
                ),
            );
            None
        }
    }
}

/// Reads one optional service tier field: absent or null is no tier.
fn tier<'v>(
    object: &'v Map<String, Value>,
    field: &str,
    errors: &mut Errors<'_>,
) -> Option<&'v str> {
    match lookup(object, field) {
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
    fn standard_spellings_agree_with_a_special_tier_absent() {
        let (context, errors) =
            read(json!({"serviceTier": "auto", "usage": {"service_tier": "standard"}}));

        assert!(errors.is_empty(), "{errors:?}");
        assert!(context.unwrap().is_standard());
    }

    #[test]
    fn conflicting_tier_fields_are_rejected_with_both_values() {
        let cases = [
            (
                json!({"serviceTier": "flex", "service_tier": "priority"}),
                "payload.service_tier",
                ["serviceTier", "\"flex\"", "service_tier", "\"priority\""],
            ),
            (
                json!({"serviceTier": "standard", "usage": {"service_tier": "batch"}}),
                "payload.usage.service_tier",
                [
                    "serviceTier",
                    "\"standard\"",
                    "usage.service_tier",
                    "\"batch\"",
                ],
            ),
            (
                json!({"batch": false, "usage": {"service_tier": "batch"}}),
                "payload.batch",
                ["usage.service_tier", "\"batch\"", "batch", "false"],
            ),
            (
                json!({"speed": "fast", "usage": {"speed": "standard"}}),
                "payload.usage.speed",
                ["speed", "\"fast\"", "usage.speed", "\"standard\""],
            ),
        ];
        for (payload, path, parts) in cases {
            let (context, errors) = read(payload.clone());

            assert_eq!(context, None, "{payload}");
            assert_eq!(errors.len(), 1, "{payload}: {errors:?}");
            assert_eq!(errors[0].path, path, "{payload}");
            for part in parts {
                assert!(
                    errors[0].message.contains(part),
                    "{part}: {}",
                    errors[0].message
                );
            }
        }
    }

    #[test]
    fn fast_speed_selects_fast_tier() {
        for payload in [
            json!({"speed": "fast"}),
            json!({"usage": {"speed": "fast", "service_tier": "standard"}}),
        ] {
            let (context, errors) = read(payload.clone());

            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(
                context.unwrap().special_tier().as_deref(),
                Some("fast"),
                "{payload}"
            );
        }
        let (context, _) = read(json!({"speed": "standard"}));
        assert!(context.unwrap().is_standard());
    }

    #[test]
    fn batch_true_agrees_with_batch_tier() {
        let (context, errors) = read(json!({"batch": true, "usage": {"service_tier": "batch"}}));

        assert!(errors.is_empty(), "{errors:?}");
        assert!(context.unwrap().batch);
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
            (json!({"speed": 1}), "payload.speed"),
            (json!({"usage": {"speed": true}}), "payload.usage.speed"),
        ];
        for (payload, path) in cases {
            let (context, errors) = read(payload.clone());

            assert_eq!(context, None, "{payload}");
            assert_eq!(errors.len(), 1, "{payload}: {errors:?}");
            assert_eq!(errors[0].path, path, "{payload}");
        }
    }
}
