//! Validation of the body of `POST /api/alerts/rules`.

use agentlens_core::validate::FieldError;
use agentlens_core::Usd;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::{Condition, RuleScope};

/// Maximum length of a rule name, in characters.
const MAX_NAME_CHARS: usize = 200;

/// Maximum window length: 30 days, in minutes.
const MAX_WINDOW_MINUTES: i64 = 43_200;

/// A validated rule, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRule {
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// Whether the evaluator runs the rule; default true.
    pub enabled: bool,
    /// Watched condition.
    pub condition: Condition,
    /// Non-negative threshold.
    pub threshold: Decimal,
    /// Window length, 1 to 43 200 minutes.
    pub window_minutes: i64,
    /// Events the rule looks at; default all.
    pub scope: RuleScope,
    /// Webhook URLs or channel ids; default none.
    pub notify_channels: Vec<String>,
}

impl NewRule {
    /// Validates a request body.
    ///
    /// # Errors
    ///
    /// Returns one [`FieldError`] per invalid or missing field, named by its path.
    pub fn from_json(body: &Value) -> Result<NewRule, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some(object) = body.as_object() else {
            return Err(vec![issue(
                "",
                "expected a JSON object with the rule fields",
            )]);
        };

        let name = read_name(object, &mut errors);
        let enabled = match object.get("enabled") {
            None => Some(true),
            Some(Value::Bool(flag)) => Some(*flag),
            Some(_) => fail(&mut errors, "enabled", "expected a boolean"),
        };
        let condition = read_condition(object, &mut errors);
        let threshold = read_threshold(object, &mut errors);
        let window_minutes = read_window(object, &mut errors);
        let scope = read_scope(object, &mut errors);
        let notify_channels = match object.get("notifyChannels") {
            None => Some(Vec::new()),
            Some(value) => string_list(value, "notifyChannels", &mut errors),
        };

        match (
            name,
            enabled,
            condition,
            threshold,
            window_minutes,
            scope,
            notify_channels,
        ) {
            (
                Some(name),
                Some(enabled),
                Some(condition),
                Some(threshold),
                Some(window_minutes),
                Some(scope),
                Some(notify_channels),
            ) if errors.is_empty() => Ok(NewRule {
                name,
                enabled,
                condition,
                threshold,
                window_minutes,
                scope,
                notify_channels,
            }),
            _ => Err(errors),
        }
    }
}

fn issue(path: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn fail<T>(errors: &mut Vec<FieldError>, path: &str, message: impl Into<String>) -> Option<T> {
    errors.push(issue(path, message));
    None
}

fn read_name(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<String> {
    match object.get("name") {
        None => fail(errors, "name", "name is required"),
        Some(Value::String(name)) => {
            let chars = name.chars().count();
            if chars == 0 || chars > MAX_NAME_CHARS {
                return fail(
                    errors,
                    "name",
                    format!("expected 1 to {MAX_NAME_CHARS} characters, got {chars}"),
                );
            }
            Some(name.clone())
        }
        Some(_) => fail(errors, "name", "expected a string"),
    }
}

fn read_condition(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Condition> {
    let expected = "expected one of error_rate_exceeds, cost_exceeds, latency_exceeds, \
        event_count_exceeds, no_events_for";
    match object.get("condition") {
        None => fail(errors, "condition", "condition is required"),
        Some(Value::String(name)) => match Condition::parse(name) {
            Some(condition) => Some(condition),
            None => fail(errors, "condition", format!("{expected}, got {name:?}")),
        },
        Some(_) => fail(errors, "condition", expected),
    }
}

fn read_threshold(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Decimal> {
    let number = match object.get("threshold") {
        None => return fail(errors, "threshold", "threshold is required"),
        Some(Value::Number(number)) => number,
        Some(_) => return fail(errors, "threshold", "expected a number"),
    };
    // Read through the exact-decimal path that money uses, so 0.1 stays 0.1.
    match Usd::from_json_number(number) {
        Ok(amount) if amount.is_negative() => fail(errors, "threshold", "expected a number >= 0"),
        Ok(amount) => Some(amount.as_decimal()),
        Err(error) => fail(errors, "threshold", error.to_string()),
    }
}

fn read_window(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<i64> {
    let message = format!("expected an integer from 1 to {MAX_WINDOW_MINUTES}");
    match object.get("windowMinutes") {
        None => fail(errors, "windowMinutes", "windowMinutes is required"),
        Some(Value::Number(number)) => match number.as_i64() {
            Some(minutes) if (1..=MAX_WINDOW_MINUTES).contains(&minutes) => Some(minutes),
            _ => fail(errors, "windowMinutes", format!("{message}, got {number}")),
        },
        Some(_) => fail(errors, "windowMinutes", message),
    }
}

fn read_scope(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<RuleScope> {
    let scope = match object.get("scope") {
        None => return Some(RuleScope::default()),
        Some(Value::Object(scope)) => scope,
        Some(_) => return fail(errors, "scope", "expected an object with agentId and tags"),
    };
    let agent_id = match scope.get("agentId") {
        None => None,
        Some(Value::String(agent)) if !agent.is_empty() => Some(agent.clone()),
        Some(_) => return fail(errors, "scope.agentId", "expected a non-empty string"),
    };
    let tags = match scope.get("tags") {
        None => Vec::new(),
        Some(value) => string_list(value, "scope.tags", errors)?,
    };
    Some(RuleScope { agent_id, tags })
}

fn string_list(value: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Vec<String>> {
    let Some(items) = value.as_array() else {
        return fail(errors, path, "expected an array of strings");
    };
    let mut list = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(text) => list.push(text.to_owned()),
            None => return fail(errors, &format!("{path}.{index}"), "expected a string"),
        }
    }
    Some(list)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn paths(body: Value) -> Vec<String> {
        NewRule::from_json(&body)
            .unwrap_err()
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn minimal_rule_gets_defaults() {
        let body = json!({"name": "spend", "condition": "cost_exceeds", "threshold": 0.1, "windowMinutes": 60});
        let rule = NewRule::from_json(&body).unwrap();
        assert!(rule.enabled);
        assert_eq!(rule.threshold.to_string(), "0.1");
        assert_eq!(rule.scope, RuleScope::default());
        assert!(rule.notify_channels.is_empty());
    }

    #[test]
    fn invalid_fields_are_named() {
        let body = json!({"name": "", "condition": "cost_above", "threshold": -1, "windowMinutes": 43201,
            "scope": {"tags": [1]}, "notifyChannels": "x", "enabled": "yes"});
        assert_eq!(
            paths(body),
            [
                "name",
                "enabled",
                "condition",
                "threshold",
                "windowMinutes",
                "scope.tags.0",
                "notifyChannels"
            ]
        );
    }

    #[test]
    fn fractional_window_is_rejected() {
        let body = json!({"name": "n", "condition": "no_events_for", "threshold": 0, "windowMinutes": 1.5});
        assert_eq!(paths(body), ["windowMinutes"]);
    }
}
