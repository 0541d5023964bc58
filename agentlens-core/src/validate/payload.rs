//! Per-type required and optional payload fields, as upstream AgentLens defines them.
//!
//! Fields not listed are kept verbatim: a payload may carry any extra keys.

use serde_json::{Map, Value};

use super::fields::{
    describe, lookup, number, object_field, optional_string, required_string, Errors,
};
use crate::event::EventType;

/// The expected shape of one payload field.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A string with at least one non-blank character.
    NonEmpty,
    /// Any string.
    Text,
    /// A finite number.
    Number,
    /// A finite number that is zero or more.
    NonNegative,
    /// A non-negative integer.
    Count,
    /// A duration in milliseconds: a finite number from 0 to [`MAX_MILLIS`].
    Millis,
    /// A JSON object.
    Object,
    /// A JSON object, or a string such as the raw JSON text of tool call arguments that
    /// OpenAI's API returns and upstream's Python SDK forwards unparsed.
    ObjectOrText,
    /// An array of strings.
    Strings,
    /// A string or null.
    TextOrNull,
    /// One of the listed strings.
    OneOf(&'static [&'static str]),
}

use Kind::*;

type Field = (&'static str, Kind);

const SESSION_END_REASONS: &[&str] = &["completed", "error", "timeout", "manual"];

/// Returns the required and the optional fields of a type's payload.
fn schema(event_type: EventType) -> (&'static [Field], &'static [Field]) {
    use EventType as T;
    match event_type {
        T::SessionStarted => (
            &[],
            &[
                ("agentName", Text),
                ("agentVersion", Text),
                ("mcpClientInfo", Object),
                ("tags", Strings),
            ],
        ),
        T::SessionEnded => (
            &[("reason", OneOf(SESSION_END_REASONS))],
            &[
                ("summary", Text),
                ("totalToolCalls", Number),
                ("totalDurationMs", Number),
            ],
        ),
        T::ToolCall => (
            &[
                ("toolName", NonEmpty),
                ("callId", NonEmpty),
                ("arguments", ObjectOrText),
            ],
            &[("serverName", Text)],
        ),
        T::ToolResponse => (
            &[
                ("callId", NonEmpty),
                ("toolName", NonEmpty),
                ("durationMs", Number),
            ],
            &[],
        ),
        T::ToolError => (
            &[
                ("callId", NonEmpty),
                ("toolName", NonEmpty),
                ("error", Text),
                ("durationMs", Number),
            ],
            &[("errorCode", Text)],
        ),
        T::ApprovalRequested => (
            &[
                ("requestId", NonEmpty),
                ("action", NonEmpty),
                ("params", Object),
                ("urgency", Text),
            ],
            &[],
        ),
        T::ApprovalGranted | T::ApprovalDenied | T::ApprovalExpired => (
            &[
                ("requestId", NonEmpty),
                ("action", NonEmpty),
                ("decidedBy", NonEmpty),
            ],
            &[("reason", Text)],
        ),
        T::FormSubmitted => (
            &[
                ("submissionId", NonEmpty),
                ("formId", NonEmpty),
                ("fieldCount", Number),
            ],
            &[("formName", Text)],
        ),
        T::FormCompleted => (
            &[
                ("submissionId", NonEmpty),
                ("formId", NonEmpty),
                ("completedBy", NonEmpty),
                ("durationMs", Number),
            ],
            &[],
        ),
        T::FormExpired => (
            &[
                ("submissionId", NonEmpty),
                ("formId", NonEmpty),
                ("expiredAfterMs", Number),
            ],
            &[],
        ),
        T::LlmCall => (
            &[
                ("callId", NonEmpty),
                ("provider", NonEmpty),
                ("model", NonEmpty),
            ],
            &[("systemPrompt", Text), ("parameters", Object)],
        ),
        T::LlmResponse => (
            &[
                ("callId", NonEmpty),
                ("provider", NonEmpty),
                ("model", NonEmpty),
                ("completion", TextOrNull),
                ("finishReason", NonEmpty),
                ("latencyMs", Millis),
            ],
            &[],
        ),
        T::AlertTriggered => (
            &[
                ("alertRuleId", NonEmpty),
                ("alertName", NonEmpty),
                ("condition", Text),
                ("currentValue", Number),
                ("threshold", Number),
                ("message", Text),
            ],
            &[],
        ),
        T::AlertResolved => (
            &[("alertRuleId", NonEmpty), ("alertName", NonEmpty)],
            &[("resolvedBy", Text)],
        ),
        T::Custom => (&[("type", Text), ("data", Object)], &[]),
        T::Retrieval => (
            &[("query", Text)],
            &[
                ("retrieverName", Text),
                ("topK", Count),
                ("resultCount", Count),
                ("durationMs", NonNegative),
            ],
        ),
        T::Embedding => (
            &[("model", Text), ("inputCount", Count)],
            &[("dimensions", Count), ("durationMs", NonNegative)],
        ),
        T::ChainStep => (
            &[("name", Text)],
            &[("stepType", Text), ("durationMs", NonNegative)],
        ),
        // Cost fields of cost_tracked are checked by the cost validator; server-only types
        // never reach this point.
        T::CostTracked
        | T::Error
        | T::EvalResult
        | T::HumanScore
        | T::Feedback
        | T::SkillActivated => (&[], &[]),
    }
}

/// Checks a payload against the fields its type requires.
pub(crate) fn check_payload(
    event_type: EventType,
    payload: &Map<String, Value>,
    errors: &mut Errors<'_>,
) {
    let (required, optional) = schema(event_type);
    for (field, kind) in required {
        check_field(payload, field, *kind, true, errors);
    }
    for (field, kind) in optional {
        check_field(payload, field, *kind, false, errors);
    }
    if event_type == EventType::LlmCall {
        check_messages(payload, errors);
    }
}

fn check_field(
    payload: &Map<String, Value>,
    field: &str,
    kind: Kind,
    required: bool,
    errors: &mut Errors<'_>,
) {
    if !required && lookup(payload, field).is_none_or(Value::is_null) {
        return;
    }
    match kind {
        NonEmpty => {
            required_string(payload, field, true, errors);
        }
        Text if required => {
            required_string(payload, field, false, errors);
        }
        Text => {
            optional_string(payload, field, errors);
        }
        Number => {
            number(payload, field, required, errors);
        }
        NonNegative | Count | Millis => check_non_negative(payload, field, kind, errors),
        Object => {
            object_field(payload, field, required, errors);
        }
        Strings => check_strings(payload, field, errors),
        ObjectOrText => match lookup(payload, field) {
            None => errors.push(
                field,
                format!("{field} is required (an object, or its JSON text as a string)"),
            ),
            Some(Value::Object(_) | Value::String(_)) => {}
            Some(other) => errors.push(
                field,
                format!(
                    "expected an object or a string, got {}; send the arguments as an object, \
                     or as their JSON text in a string",
                    describe(other)
                ),
            ),
        },
        TextOrNull => match lookup(payload, field) {
            None => errors.push(field, format!("{field} is required (a string or null)")),
            Some(Value::Null | Value::String(_)) => {}
            Some(other) => errors.push(
                field,
                format!("expected a string or null, got {}", describe(other)),
            ),
        },
        OneOf(allowed) => {
            if let Some(value) = required_string(payload, field, true, errors) {
                if !allowed.contains(&value) {
                    errors.push(
                        field,
                        format!(
                            "invalid value {value:?}: expected one of {}",
                            allowed.join(", ")
                        ),
                    );
                }
            }
        }
    }
}

fn check_non_negative(
    payload: &Map<String, Value>,
    field: &str,
    kind: Kind,
    errors: &mut Errors<'_>,
) {
    let Some(value) = number(payload, field, true, errors) else {
        return;
    };
    if value < 0.0 {
        errors.push(field, format!("expected a value of 0 or more, got {value}"));
    } else if matches!(kind, Count) && value.fract() != 0.0 {
        errors.push(field, format!("expected an integer, got {value}"));
    } else if matches!(kind, Millis) && value > MAX_MILLIS {
        errors.push(
            field,
            format!("expected at most {MAX_MILLIS} milliseconds, got {value}"),
        );
    }
}

/// Largest accepted duration in milliseconds, 2^53 - 1 (about 285,000 years): the largest
/// integer every JSON client reads exactly, and small enough that LLM analytics can sum
/// latencies as whole microseconds.
const MAX_MILLIS: f64 = 9_007_199_254_740_991.0;

fn check_strings(payload: &Map<String, Value>, field: &str, errors: &mut Errors<'_>) {
    match lookup(payload, field) {
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                if !item.is_string() {
                    errors.push(
                        &format!("{field}.{index}"),
                        format!("expected a string, got {}", describe(item)),
                    );
                }
            }
        }
        Some(other) => errors.push(
            field,
            format!("expected an array of strings, got {}", describe(other)),
        ),
        None => {}
    }
}

const MESSAGE_ROLES: &[&str] = &["system", "user", "assistant", "tool", "developer"];

fn check_messages(payload: &Map<String, Value>, errors: &mut Errors<'_>) {
    let messages = match lookup(payload, "messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => messages,
        Some(Value::Array(_)) => {
            errors.push("messages", "messages must contain at least one message");
            return;
        }
        None => {
            errors.push("messages", "messages is required");
            return;
        }
        Some(other) => {
            errors.push(
                "messages",
                format!("expected an array of messages, got {}", describe(other)),
            );
            return;
        }
    };
    for (index, message) in messages.iter().enumerate() {
        let mut nested = errors.nested(&format!("messages.{index}"));
        match message {
            Value::Object(message) => {
                check_field(message, "role", OneOf(MESSAGE_ROLES), true, &mut nested);
            }
            other => nested.push(
                "",
                format!("expected a message object, got {}", describe(other)),
            ),
        }
    }
}
