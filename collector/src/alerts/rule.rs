//! Validation of the bodies of `POST /api/alerts/rules` and `PUT /api/alerts/rules/{id}`.

use agentlens_core::validate::amount_from_json;
use agentlens_core::validate::FieldError;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::{AlertRule, Condition, ExactNumber, RuleScope};

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
    /// Webhook URLs (http or https); default none.
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
            Some(_) => read_enabled(object, &mut errors),
        };
        let condition = read_condition(object, &mut errors);
        let threshold = read_threshold(object, &mut errors);
        let window_minutes = read_window(object, &mut errors);
        let scope = read_scope(object, &mut errors);
        let notify_channels = match object.get("notifyChannels") {
            None => Some(Vec::new()),
            Some(_) => read_channels(object, &mut errors),
        };
        if let (Some(condition), Some(threshold)) = (condition, threshold) {
            errors.extend(check_threshold(condition, threshold));
        }

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

/// A validated partial update: each field that is `Some` replaces the stored one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RulePatch {
    /// New display name, 1 to 200 characters.
    pub name: Option<String>,
    /// New enabled flag.
    pub enabled: Option<bool>,
    /// New condition.
    pub condition: Option<Condition>,
    /// New non-negative threshold.
    pub threshold: Option<Decimal>,
    /// New window length, 1 to 43 200 minutes.
    pub window_minutes: Option<i64>,
    /// New scope, replacing the whole stored scope.
    pub scope: Option<RuleScope>,
    /// New webhook URLs (http or https), replacing the stored list.
    pub notify_channels: Option<Vec<String>>,
}

impl RulePatch {
    /// Validates a request body in which every field is optional, with the bounds of
    /// [`NewRule::from_json`]. Unknown fields are ignored.
    ///
    /// # Errors
    ///
    /// Returns one [`FieldError`] per invalid field, named by its path.
    pub fn from_json(body: &Value) -> Result<RulePatch, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some(object) = body.as_object() else {
            return Err(vec![issue(
                "",
                "expected a JSON object with the fields to change",
            )]);
        };

        let present = |key: &str| object.contains_key(key);
        let mut patch = RulePatch::default();
        if present("name") {
            patch.name = read_name(object, &mut errors);
        }
        if present("enabled") {
            patch.enabled = read_enabled(object, &mut errors);
        }
        if present("condition") {
            patch.condition = read_condition(object, &mut errors);
        }
        if present("threshold") {
            patch.threshold = read_threshold(object, &mut errors);
        }
        if present("windowMinutes") {
            patch.window_minutes = read_window(object, &mut errors);
        }
        if present("scope") {
            patch.scope = read_scope(object, &mut errors);
        }
        if present("notifyChannels") {
            patch.notify_channels = read_channels(object, &mut errors);
        }

        if errors.is_empty() {
            Ok(patch)
        } else {
            Err(errors)
        }
    }

    /// Replaces the fields of `rule` that the patch sets; `updatedAt` is left to the store.
    ///
    /// # Errors
    ///
    /// Returns the [`FieldError`] of the threshold, and leaves `rule` unchanged, when the
    /// updated threshold is out of range for the updated condition (an `error_rate_exceeds`
    /// threshold above 1).
    pub fn apply_to(self, rule: &mut AlertRule) -> Result<(), Vec<FieldError>> {
        let condition = self.condition.unwrap_or(rule.condition);
        let threshold = self.threshold.unwrap_or(rule.threshold.0);
        if let Some(error) = check_threshold(condition, threshold) {
            return Err(vec![error]);
        }

        if let Some(name) = self.name {
            rule.name = name;
        }
        if let Some(enabled) = self.enabled {
            rule.enabled = enabled;
        }
        if let Some(condition) = self.condition {
            rule.condition = condition;
        }
        if let Some(threshold) = self.threshold {
            rule.threshold = ExactNumber(threshold);
        }
        if let Some(window_minutes) = self.window_minutes {
            rule.window_minutes = window_minutes;
        }
        if let Some(scope) = self.scope {
            rule.scope = scope;
        }
        if let Some(notify_channels) = self.notify_channels {
            rule.notify_channels = notify_channels;
        }
        Ok(())
    }
}

/// Returns the error of a threshold that is out of range for `condition`. The error rate of
/// `error_rate_exceeds` is a ratio from 0 to 1, so a threshold above 1 would never fire.
fn check_threshold(condition: Condition, threshold: Decimal) -> Option<FieldError> {
    if condition != Condition::ErrorRateExceeds || threshold <= Decimal::ONE {
        return None;
    }
    Some(issue(
        "threshold",
        format!(
            "threshold {} is out of range for error_rate_exceeds: expected a ratio from 0 \
             to 1 (use 0.05 for 5%)",
            short_number(threshold)
        ),
    ))
}

/// Formats `number` without trailing zeros, and in scientific notation when the plain
/// text is longer than 16 characters, so 1e25 does not print as 26 digits.
fn short_number(number: Decimal) -> String {
    let plain = number.normalize().to_string();
    if plain.len() <= 16 {
        return plain;
    }
    format!("{:e}", number.normalize())
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

fn read_enabled(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<bool> {
    match object.get("enabled") {
        Some(Value::Bool(flag)) => Some(*flag),
        _ => fail(errors, "enabled", "expected a boolean"),
    }
}

fn read_channels(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Vec<String>> {
    match object.get("notifyChannels") {
        Some(value) => string_list(value, "notifyChannels", errors),
        None => fail(errors, "notifyChannels", "expected an array of strings"),
    }
}

fn read_condition(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Condition> {
    let expected = "expected one of error_rate_exceeds, cost_exceeds, latency_exceeds, \
        event_count_exceeds, no_events_for, unpriced_events_exceed";
    match object.get("condition") {
        None => fail(errors, "condition", "condition is required"),
        Some(Value::String(name)) => match Condition::parse(name) {
            Some(condition) => Some(condition),
            None => fail(errors, "condition", format!("{expected}, got {name:?}")),
        },
        Some(_) => fail(errors, "condition", expected),
    }
}

/// Reads `threshold`, a JSON number or a decimal string such as `"0.10"`, through the
/// exact-decimal path of `costUsd`, so 0.1 stays 0.1 and a string keeps every digit.
fn read_threshold(object: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Decimal> {
    let Some(value) = object.get("threshold") else {
        return fail(errors, "threshold", "threshold is required");
    };
    match amount_from_json("threshold", value) {
        Ok(amount) if amount.is_negative() => fail(errors, "threshold", "expected a number >= 0"),
        Ok(amount) => Some(amount.as_decimal()),
        Err(error) => fail(errors, "threshold", error),
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
    fn decimal_string_threshold_is_exact() {
        for text in ["0.10", "1234567.123456789012", "5"] {
            let body = json!({"name": "spend", "condition": "cost_exceeds", "threshold": text,
                "windowMinutes": 60});

            let rule = NewRule::from_json(&body).unwrap();

            assert_eq!(rule.threshold, text.parse::<Decimal>().unwrap(), "{text}");
        }
        let patch = RulePatch::from_json(&json!({"threshold": "0.25"})).unwrap();
        assert_eq!(patch.threshold.unwrap().to_string(), "0.25");
    }

    #[test]
    fn malformed_threshold_string_is_named() {
        for text in ["ten", " 1", "-0.5", ""] {
            let body = json!({"name": "spend", "condition": "cost_exceeds", "threshold": text,
                "windowMinutes": 60});

            let errors = NewRule::from_json(&body).unwrap_err();

            assert_eq!(errors[0].path, "threshold", "{text:?}");
        }
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
    fn patch_reads_only_present_fields() {
        let patch = RulePatch::from_json(&json!({"threshold": 2.5, "enabled": false})).unwrap();
        assert_eq!(patch.threshold.unwrap().to_string(), "2.5");
        assert_eq!(patch.enabled, Some(false));
        assert_eq!(patch.name, None);
        assert_eq!(patch.window_minutes, None);
    }

    #[test]
    fn patch_keeps_create_bounds() {
        let errors =
            RulePatch::from_json(&json!({"name": "", "windowMinutes": 0, "threshold": -1}))
                .unwrap_err();
        let paths: Vec<_> = errors.into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["name", "threshold", "windowMinutes"]);
    }

    #[test]
    fn error_rate_threshold_above_one_is_rejected() {
        let body = json!({"name": "er", "condition": "error_rate_exceeds", "threshold": 5,
            "windowMinutes": 5});
        let errors = NewRule::from_json(&body).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "threshold");
        assert!(
            errors[0].message.contains("threshold 5 "),
            "{}",
            errors[0].message
        );
        assert!(errors[0].message.contains("0.05"), "{}", errors[0].message);
    }

    #[test]
    fn huge_threshold_is_shown_short() {
        for (threshold, shown) in [(json!(1e300), "1e300"), (json!(1e25), "1e25")] {
            let body = json!({"name": "er", "condition": "error_rate_exceeds",
                "threshold": threshold, "windowMinutes": 5});

            let errors = NewRule::from_json(&body).unwrap_err();

            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].path, "threshold");
            assert!(errors[0].message.contains(shown), "{}", errors[0].message);
            assert!(errors[0].message.len() < 150, "{}", errors[0].message);
        }
    }

    #[test]
    fn error_rate_threshold_of_one_is_accepted() {
        let body = json!({"name": "er", "condition": "error_rate_exceeds", "threshold": 1,
            "windowMinutes": 5});
        assert!(NewRule::from_json(&body).is_ok());
        let body = json!({"name": "n", "condition": "event_count_exceeds", "threshold": 50,
            "windowMinutes": 5});
        assert!(NewRule::from_json(&body).is_ok());
    }

    #[test]
    fn fractional_window_is_rejected() {
        let body = json!({"name": "n", "condition": "no_events_for", "threshold": 0, "windowMinutes": 1.5});
        assert_eq!(paths(body), ["windowMinutes"]);
    }
}
