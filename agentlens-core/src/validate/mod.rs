//! Validation of untrusted event JSON.
//!
//! [`validate_batch`] checks a whole `POST /api/events` body and either returns every event
//! as a [`ValidEvent`] or every violation it found, each with the dotted path of the value
//! (`events.3.payload.costUsd`) and a message that states what is expected. A batch is
//! accepted or rejected as a whole, so nothing is stored from a batch with one bad event.

mod cost;
#[cfg(feature = "net")]
mod cost_event;
mod counts;
mod fields;
mod normalized;
mod payload;
mod tier;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub use counts::{usage_count_errors, PART_COUNT, PART_KEYS};
pub use fields::FieldError;
use fields::{describe, required_string, Errors};
pub use normalized::{check_camel_case_keys, is_normalized_usage, normalized_usage};

use crate::event::{EventType, Severity, ValidEvent};

/// Payload fields that change a cost event's price, rejected when sent beside `payload`
/// instead of inside it, where they would otherwise be dropped without notice.
const PAYLOAD_COST_KEYS: [&str; 12] = [
    "costUsd",
    "usage",
    "model",
    "provider",
    "inputTokens",
    "outputTokens",
    "cacheReadTokens",
    "serviceTier",
    "service_tier",
    "batch",
    "speed",
    "callId",
];

/// Most events one request may carry.
pub const MAX_BATCH_EVENTS: usize = 1000;

/// Maximum length of a session or agent id, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// Maximum length of a client-supplied event id, in bytes.
pub const MAX_CLIENT_ID_LEN: usize = 128;

/// Metadata keys only the server may set; clients' values are removed.
pub const RESERVED_METADATA_KEYS: [&str; 3] = [
    "verifiedAgentId",
    "verifiedAgentMethod",
    "verifiedOnBehalfOf",
];

/// A rejected batch: a summary and one entry per violation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}: {} violation(s)", details.len())]
pub struct BatchError {
    /// `Invalid JSON body` or `Validation failed`, as upstream AgentLens words it.
    pub message: String,
    /// Every violation found.
    pub details: Vec<FieldError>,
}

impl BatchError {
    /// Returns the error for a body that is not JSON.
    pub fn invalid_json(reason: impl Into<String>) -> Self {
        BatchError {
            message: "Invalid JSON body".to_owned(),
            details: vec![FieldError {
                path: String::new(),
                message: reason.into(),
            }],
        }
    }
}

/// Validates a `{"events": [...]}` body.
///
/// # Errors
///
/// Returns [`BatchError`] listing every violation when the envelope or any event is
/// invalid.
pub fn validate_batch(body: &Value) -> Result<Vec<ValidEvent>, BatchError> {
    let mut details = Vec::new();
    let events = match body.get("events") {
        Some(Value::Array(events)) => events,
        Some(other) => {
            return Err(failed(
                "events",
                format!("expected an array of events, got {}", describe(other)),
            ))
        }
        None if body.is_object() => {
            return Err(failed(
                "events",
                "events is required: send {\"events\": [...]}",
            ))
        }
        None => {
            return Err(failed(
                "",
                format!(
                    "expected a JSON object with an events array, got {}",
                    describe(body)
                ),
            ))
        }
    };
    if events.is_empty() || events.len() > MAX_BATCH_EVENTS {
        return Err(failed(
            "events",
            format!(
                "a batch holds 1 to {MAX_BATCH_EVENTS} events, got {}; split larger batches",
                events.len()
            ),
        ));
    }

    let mut valid = Vec::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        let mut errors = Errors::new(format!("events.{index}"), &mut details);
        if let Some(event) = validate_event_at(event, &mut errors) {
            valid.push(event);
        }
    }
    if details.is_empty() {
        Ok(valid)
    } else {
        Err(BatchError {
            message: "Validation failed".to_owned(),
            details,
        })
    }
}

/// Validates a single event.
///
/// # Errors
///
/// Returns every violation found, with paths relative to the event.
pub fn validate_event(event: &Value) -> Result<ValidEvent, Vec<FieldError>> {
    let mut details = Vec::new();
    let mut errors = Errors::new(String::new(), &mut details);
    let valid = validate_event_at(event, &mut errors);
    for detail in &mut details {
        detail.path = detail.path.trim_start_matches('.').to_owned();
    }
    match valid {
        Some(event) if details.is_empty() => Ok(event),
        _ => Err(details),
    }
}

fn failed(path: &str, message: impl Into<String>) -> BatchError {
    BatchError {
        message: "Validation failed".to_owned(),
        details: vec![FieldError {
            path: path.to_owned(),
            message: message.into(),
        }],
    }
}

/// Reads a required session or agent id of 1 to [`MAX_NAME_CHARS`] characters.
fn name_field<'v>(
    event: &'v Map<String, Value>,
    field: &str,
    errors: &mut Errors<'_>,
) -> Option<&'v str> {
    let text = required_string(event, field, true, errors)?;
    let chars = text.chars().count();
    if chars > MAX_NAME_CHARS {
        errors.push(
            field,
            format!("{field} must be at most {MAX_NAME_CHARS} characters, got {chars}; use a shorter id"),
        );
        return None;
    }
    Some(text)
}

/// Reports each pricing field sent at the top level of a cost event instead of in its payload.
fn misplaced_cost_fields(event: &Map<String, Value>, errors: &mut Errors<'_>) {
    for key in PAYLOAD_COST_KEYS {
        if event.contains_key(key) {
            errors.push(
                key,
                format!("`{key}` belongs in the payload of a cost event; move it into `payload`"),
            );
        }
    }
}

fn validate_event_at(event: &Value, errors: &mut Errors<'_>) -> Option<ValidEvent> {
    let Value::Object(event) = event else {
        errors.push(
            "",
            format!("expected an event object, got {}", describe(event)),
        );
        return None;
    };
    let before = errors.list.len();

    let session_id = name_field(event, "sessionId", errors);
    let agent_id = name_field(event, "agentId", errors);
    let event_type = event_type(event, errors);
    let severity = severity(event, errors);
    let client_id = client_id(event, errors);
    let timestamp = timestamp(event, errors);
    let mut metadata = object_or_default(event, "metadata", errors);
    let payload = match event.get("payload") {
        Some(Value::Object(payload)) => Some(payload.clone()),
        Some(other) => {
            errors.push(
                "payload",
                format!("expected an object, got {}", describe(other)),
            );
            None
        }
        None => {
            errors.push("payload", "payload is required");
            None
        }
    };

    if matches!(
        event_type,
        Some(EventType::CostTracked | EventType::LlmResponse)
    ) {
        misplaced_cost_fields(event, errors);
    }

    let cost = match (event_type, &payload) {
        (Some(event_type), Some(payload)) => {
            let mut nested = errors.nested("payload");
            payload::check_payload(event_type, payload, &mut nested);
            match event_type {
                EventType::CostTracked => cost::cost_tracked(payload, &mut nested),
                EventType::LlmResponse => cost::llm_response(payload, &mut nested),
                _ => None,
            }
        }
        _ => None,
    };
    if errors.list.len() > before {
        return None;
    }

    for key in RESERVED_METADATA_KEYS {
        metadata.remove(key);
    }
    Some(ValidEvent {
        client_id,
        session_id: session_id?.to_owned(),
        agent_id: agent_id?.to_owned(),
        event_type: event_type?,
        severity: severity?,
        payload: payload?,
        metadata,
        timestamp: timestamp?,
        cost,
    })
}

fn event_type(event: &Map<String, Value>, errors: &mut Errors<'_>) -> Option<EventType> {
    let name = required_string(event, "eventType", true, errors)?;
    match name.parse::<EventType>() {
        Ok(event_type) if event_type.is_ingestible() => Some(event_type),
        Ok(_) => {
            errors.push(
                "eventType",
                format!("event type {name:?} is written by the server and cannot be sent"),
            );
            None
        }
        Err(_) => {
            errors.push(
                "eventType",
                format!(
                    "unknown event type {name:?}: expected one of {}",
                    ingestible_names()
                ),
            );
            None
        }
    }
}

fn ingestible_names() -> String {
    crate::event::INGESTIBLE_TYPES
        .iter()
        .map(EventType::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn severity(event: &Map<String, Value>, errors: &mut Errors<'_>) -> Option<Severity> {
    match event.get("severity") {
        None => Some(Severity::Info),
        Some(Value::String(name)) => Severity::parse(name).or_else(|| {
            errors.push(
                "severity",
                format!("invalid severity {name:?}: expected debug, info, warn, error or critical"),
            );
            None
        }),
        Some(other) => {
            errors.push(
                "severity",
                format!("expected a string, got {}", describe(other)),
            );
            None
        }
    }
}

fn client_id(event: &Map<String, Value>, errors: &mut Errors<'_>) -> Option<String> {
    match event.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if !id.is_empty() && id.len() <= MAX_CLIENT_ID_LEN => {
            Some(id.clone())
        }
        Some(Value::String(id)) => {
            errors.push(
                "id",
                format!(
                    "event id must be 1 to {MAX_CLIENT_ID_LEN} bytes, got {}",
                    id.len()
                ),
            );
            None
        }
        Some(other) => {
            errors.push(
                "id",
                format!("expected a string id, got {}", describe(other)),
            );
            None
        }
    }
}

/// Reads the timestamp; the outer `Option` is `None` on a violation.
fn timestamp(event: &Map<String, Value>, errors: &mut Errors<'_>) -> Option<Option<DateTime<Utc>>> {
    match event.get("timestamp") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(text)) => match timestamp_from_text(text, Utc::now()) {
            Ok(timestamp) => Some(Some(timestamp)),
            Err(message) => {
                errors.push("timestamp", message);
                None
            }
        },
        Some(other) => {
            errors.push(
                "timestamp",
                format!("expected an RFC 3339 string, got {}", describe(other)),
            );
            None
        }
    }
}

/// Parses an RFC 3339 event time and checks it with [`check_timestamp_range`].
fn timestamp_from_text(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let parsed = DateTime::parse_from_rfc3339(text).map_err(|_| {
        format!(
            "invalid timestamp {text:?}: expected RFC 3339 with a zone, \
             such as 2026-02-07T10:00:00Z or 2026-02-07T15:30:00+05:30"
        )
    })?;
    check_timestamp_range(parsed.with_timezone(&Utc), now)
        .map_err(|message| format!("invalid timestamp {text:?}: {message}"))
}

/// Latest accepted event time, relative to the validating machine's clock. It allows
/// for clients whose clocks run ahead, but keeps a wrong year out of "last event" fields.
pub const MAX_FUTURE_SKEW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Checks that a timestamp can be stored in the fixed-width UTC text form.
///
/// A leap second (`23:59:60`) and years outside 1970 to 9999 after conversion to UTC are
/// rejected, and so are times more than [`MAX_FUTURE_SKEW`] after `now`.
fn check_timestamp_range(
    timestamp: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    use chrono::{Datelike, Timelike};

    if timestamp.nanosecond() >= 1_000_000_000 {
        return Err("leap seconds are not supported; use :59.999 instead of :60".to_owned());
    }
    if !(1970..=9999).contains(&timestamp.year()) {
        return Err("the year in UTC must be between 1970 and 9999".to_owned());
    }
    if timestamp > now + MAX_FUTURE_SKEW {
        return Err(format!(
            "it is more than 24 hours in the future (now is {}); check the client's clock",
            crate::event::format_timestamp(&now)
        ));
    }
    Ok(timestamp)
}

fn object_or_default(
    event: &Map<String, Value>,
    field: &str,
    errors: &mut Errors<'_>,
) -> Map<String, Value> {
    match event.get(field) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(object)) => object.clone(),
        Some(other) => {
            errors.push(
                field,
                format!("expected an object, got {}", describe(other)),
            );
            Map::new()
        }
    }
}

#[cfg(test)]
mod tests;
