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
mod parts;
mod payload;
mod size;
mod tier;
mod wire;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub use cost::amount_from_json;
pub use counts::{usage_count_errors, PART_COUNT, PART_KEYS};
use fields::{describe, lookup, required_string, Errors};
pub use fields::{shorten as shorten_error_text, FieldError, MAX_ERROR_TEXT_BYTES};
pub use normalized::{check_camel_case_keys, is_normalized_usage, normalized_usage, TOKEN_KEYS};
use parts::{CheckedEvent, EventParts};
pub use size::{check_event_size, MAX_BODY_BYTES, MAX_EVENT_BYTES};
pub use wire::validate_batch_bytes;

use crate::event::{CostFacts, EventType, Severity, ValidEvent};

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
    let events = match body.get("events") {
        Some(Value::Array(events)) => events,
        other => return Err(envelope_error(other, body)),
    };
    check_batch_size(events.len())?;
    validate_events(events.iter().map(Cow::Borrowed))
}

/// Validates a `{"events": [...]}` body like [`validate_batch`], moving each event's
/// payload, metadata and ids out of `body` instead of copying them.
///
/// # Errors
///
/// Returns the same [`BatchError`] as [`validate_batch`].
pub fn validate_batch_owned(mut body: Value) -> Result<Vec<ValidEvent>, BatchError> {
    let Some(Value::Array(events)) = body.get_mut("events") else {
        return Err(envelope_error(body.get("events"), &body));
    };
    let events = std::mem::take(events);
    check_batch_size(events.len())?;
    validate_events(events.into_iter().map(Cow::Owned))
}

/// Describes a body without an `events` array. `events` is the value of its `events` key.
fn envelope_error(events: Option<&Value>, body: &Value) -> BatchError {
    match events {
        Some(other) => failed(
            "events",
            format!("expected an array of events, got {}", describe(other)),
        ),
        None if body.is_object() => {
            failed("events", "events is required: send {\"events\": [...]}")
        }
        None => failed(
            "",
            format!(
                "expected a JSON object with an events array, got {}",
                describe(body)
            ),
        ),
    }
}

fn check_batch_size(count: usize) -> Result<(), BatchError> {
    if count == 0 {
        return Err(failed(
            "events",
            format!("the events array is empty; send 1 to {MAX_BATCH_EVENTS} events"),
        ));
    }
    if count > MAX_BATCH_EVENTS {
        return Err(failed(
            "events",
            format!(
                "a batch holds at most {MAX_BATCH_EVENTS} events, got {count}; split it into \
                 batches of {MAX_BATCH_EVENTS} or fewer"
            ),
        ));
    }
    Ok(())
}

fn validate_events<'v>(
    events: impl ExactSizeIterator<Item = Cow<'v, Value>>,
) -> Result<Vec<ValidEvent>, BatchError> {
    let mut details = Vec::new();
    let mut valid = Vec::with_capacity(events.len());
    for (index, event) in events.enumerate() {
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
    let valid = validate_event_at(Cow::Borrowed(event), &mut errors);
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
    if let Err(message) = check_name_length(field, text) {
        errors.push(field, message);
        return None;
    }
    Some(text)
}

/// Checks an agent id the way the collector does: not blank, at most [`MAX_NAME_CHARS`]
/// characters.
///
/// # Errors
///
/// Returns the message that the collector would report for `agentId`.
pub fn check_agent_id(agent_id: &str) -> Result<(), String> {
    fields::check_not_blank("agentId", agent_id)?;
    check_name_length("agentId", agent_id)
}

/// Checks a session id the way the collector does: not blank, at most [`MAX_NAME_CHARS`]
/// characters.
///
/// # Errors
///
/// Returns the message that the collector would report for `sessionId`.
pub fn check_session_id(session_id: &str) -> Result<(), String> {
    fields::check_not_blank("sessionId", session_id)?;
    check_name_length("sessionId", session_id)
}

/// Checks that a session or agent id has at most [`MAX_NAME_CHARS`] characters.
pub(crate) fn check_name_length(field: &str, text: &str) -> Result<(), String> {
    let chars = text.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(format!(
            "{field} must be at most {MAX_NAME_CHARS} characters, got {chars}; use a shorter id"
        ));
    }
    Ok(())
}

/// Reports each pricing field sent at the top level of a cost event instead of in its payload.
fn misplaced_cost_fields(event: &Map<String, Value>, errors: &mut Errors<'_>) {
    for key in PAYLOAD_COST_KEYS {
        if lookup(event, key).is_some() {
            errors.push(
                key,
                format!("`{key}` belongs in the payload of a cost event; move it into `payload`"),
            );
        }
    }
}

/// Checks one event and builds it, moving its texts and objects out of `event` when it is
/// owned and copying them when it is borrowed.
fn validate_event_at(event: Cow<'_, Value>, errors: &mut Errors<'_>) -> Option<ValidEvent> {
    let checked = match event.as_ref() {
        Value::Object(object) => check_event(object, errors)?,
        other => {
            errors.push(
                "",
                format!("expected an event object, got {}", describe(other)),
            );
            return None;
        }
    };

    let parts = match event {
        Cow::Borrowed(event) => EventParts::copied(event),
        Cow::Owned(event) => EventParts::taken(event),
    };
    Some(checked.into_event(parts))
}

/// Checks every field of an event and reads its type, severity, time and cost facts.
fn check_event(event: &Map<String, Value>, errors: &mut Errors<'_>) -> Option<CheckedEvent> {
    let before = errors.list.len();

    name_field(event, "sessionId", errors);
    name_field(event, "agentId", errors);
    let event_type = event_type(event, errors);
    let severity = severity(event, errors);
    client_id(event, errors);
    let timestamp = timestamp(event, errors);
    check_optional_object(event, "metadata", errors);
    let payload = match lookup(event, "payload") {
        Some(Value::Object(payload)) => Some(payload),
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

    let cost = match (event_type, payload) {
        (Some(event_type), Some(payload)) => {
            check_payload(event_type, payload, &mut errors.nested("payload"))
        }
        _ => None,
    };
    if errors.list.len() > before {
        return None;
    }

    Some(CheckedEvent {
        event_type: event_type?,
        severity: severity?,
        timestamp: timestamp?,
        cost,
    })
}

/// Checks a payload against its type's fields and reads the cost facts of a cost event.
fn check_payload(
    event_type: EventType,
    payload: &Map<String, Value>,
    errors: &mut Errors<'_>,
) -> Option<CostFacts> {
    payload::check_payload(event_type, payload, errors);
    match event_type {
        EventType::CostTracked => cost::cost_tracked(payload, errors),
        EventType::LlmResponse => cost::llm_response(payload, errors),
        _ => None,
    }
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
    match lookup(event, "severity") {
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

fn client_id<'v>(event: &'v Map<String, Value>, errors: &mut Errors<'_>) -> Option<&'v str> {
    match lookup(event, "id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if is_valid_client_id(id) => Some(id),
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

fn is_valid_client_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_CLIENT_ID_LEN
}

/// Reads the timestamp; the outer `Option` is `None` on a violation.
fn timestamp(event: &Map<String, Value>, errors: &mut Errors<'_>) -> Option<Option<DateTime<Utc>>> {
    match lookup(event, "timestamp") {
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
        if let Some(reason) = crate::event::explain_missing_date(text) {
            return format!("invalid timestamp {text:?}: {reason}");
        }
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

/// Checks that an optional field is an object or null.
fn check_optional_object(event: &Map<String, Value>, field: &str, errors: &mut Errors<'_>) {
    match lookup(event, field) {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(other) => errors.push(
            field,
            format!("expected an object, got {}", describe(other)),
        ),
    }
}

#[cfg(test)]
mod tests;
