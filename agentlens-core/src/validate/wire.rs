//! A faster path for request bodies that contain only valid events.
//!
//! [`validate_batch_bytes`] reads the event envelopes into typed structs that borrow their
//! ids from the body, and parses only each payload and metadata object into a
//! `serde_json::Value`. It applies the same rules as [`validate_batch`](super::validate_batch)
//! and returns no errors of its own. Any body it cannot accept, whether invalid or only
//! written in a form it does not read, makes it return `None`, and the caller then runs
//! the `Value` validator, which reports every violation with its path.

use chrono::{DateTime, Utc};
use serde::de::{Deserialize, Deserializer, IgnoredAny};
use serde_json::{Map, Value};

use super::fields::{check_not_blank, Errors};
use super::parts::{CheckedEvent, EventParts};
use super::{
    check_name_length, check_payload, is_valid_client_id, timestamp_from_text, MAX_BATCH_EVENTS,
};
use crate::event::{EventType, Severity, ValidEvent};
use crate::json::UniqueKeys;

/// A `{"events": [...]}` body.
#[derive(serde::Deserialize)]
struct WireBatch<'a> {
    #[serde(borrow)]
    events: Vec<WireEvent<'a>>,
}

/// One event as sent. The parse fails, and leaves the body to the `Value` validator, on an
/// escape sequence in a borrowed string, a wrong JSON type, a missing required field, a
/// duplicate key (in the payload and metadata at any depth) or a `null` severity.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireEvent<'a> {
    session_id: &'a str,
    agent_id: &'a str,
    event_type: &'a str,
    #[serde(borrow, default, deserialize_with = "present")]
    severity: Option<&'a str>,
    #[serde(borrow)]
    id: Option<&'a str>,
    #[serde(borrow)]
    timestamp: Option<&'a str>,
    metadata: Option<UniqueKeys>,
    payload: UniqueKeys,
    // The pricing keys of `PAYLOAD_COST_KEYS`, each `Some` when the event has it at its
    // top level, whatever its value. A cost event must carry them in its payload.
    #[serde(default, deserialize_with = "present")]
    cost_usd: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    usage: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    model: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    provider: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    input_tokens: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    output_tokens: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    cache_read_tokens: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    service_tier: Option<IgnoredAny>,
    #[serde(default, rename = "service_tier", deserialize_with = "present")]
    service_tier_snake: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    batch: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    speed: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    call_id: Option<IgnoredAny>,
}

/// Reads a field that counts as present whatever its value, `null` included.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Validates a `{"events": [...]}` body of only valid events without parsing the
/// envelopes into `serde_json::Value`.
///
/// Returns the same events as [`validate_batch`](super::validate_batch) on the parsed body,
/// or `None` when the body is not JSON, when any event is invalid, or when it is written
/// in a form this path does not read. Then call the `Value` validator for the result.
pub fn validate_batch_bytes(body: &[u8]) -> Option<Vec<ValidEvent>> {
    let batch: WireBatch<'_> = serde_json::from_slice(body).ok()?;
    if batch.events.is_empty() || batch.events.len() > MAX_BATCH_EVENTS {
        return None;
    }

    // The `Value` validator reads the clock for each event, later than this. A later
    // clock only accepts more timestamps, so it accepts every event accepted here.
    let now = Utc::now();
    batch
        .events
        .into_iter()
        .map(|event| event.into_valid(now))
        .collect()
}

impl WireEvent<'_> {
    /// Checks the event and builds it, or returns `None` at the first violation.
    fn into_valid(self, now: DateTime<Utc>) -> Option<ValidEvent> {
        for (field, text) in [("sessionId", self.session_id), ("agentId", self.agent_id)] {
            check_not_blank(field, text).ok()?;
            check_name_length(field, text).ok()?;
        }
        let event_type = self
            .event_type
            .parse::<EventType>()
            .ok()
            .filter(EventType::is_ingestible)?;
        let is_cost_event = matches!(event_type, EventType::CostTracked | EventType::LlmResponse);
        if is_cost_event && self.has_misplaced_cost_field() {
            return None;
        }
        let severity = match self.severity {
            None => Severity::Info,
            Some(name) => Severity::parse(name)?,
        };
        if !self.id.is_none_or(is_valid_client_id) {
            return None;
        }
        let timestamp = match self.timestamp {
            None => None,
            Some(text) => Some(timestamp_from_text(text, now).ok()?),
        };
        let metadata = match self.metadata {
            None => Map::new(),
            Some(UniqueKeys(Value::Object(metadata))) => metadata,
            Some(_) => return None,
        };
        let UniqueKeys(Value::Object(payload)) = self.payload else {
            return None;
        };

        let mut details = Vec::new();
        let cost = check_payload(
            event_type,
            &payload,
            &mut Errors::new(String::new(), &mut details),
        );
        if !details.is_empty() {
            return None;
        }

        let checked = CheckedEvent {
            event_type,
            severity,
            timestamp,
            cost,
        };
        Some(checked.into_event(EventParts {
            session_id: self.session_id.to_owned(),
            agent_id: self.agent_id.to_owned(),
            client_id: self.id.map(str::to_owned),
            payload,
            metadata,
        }))
    }

    fn has_misplaced_cost_field(&self) -> bool {
        let fields = [
            &self.cost_usd,
            &self.usage,
            &self.model,
            &self.provider,
            &self.input_tokens,
            &self.output_tokens,
            &self.cache_read_tokens,
            &self.service_tier,
            &self.service_tier_snake,
            &self.batch,
            &self.speed,
            &self.call_id,
        ];
        fields.iter().any(|field| field.is_some())
    }
}
