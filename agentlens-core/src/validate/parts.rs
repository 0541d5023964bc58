//! Assembly of a [`ValidEvent`] from an event that passed every check.
//!
//! The checks read the event in place. Its ids, payload and metadata are then copied out of
//! a borrowed event, or moved out of an owned one, which saves a copy of every payload when
//! the collector validates a request body it owns.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::fields::lookup;
use super::RESERVED_METADATA_KEYS;
use crate::event::{CostFacts, EventType, Severity, ValidEvent};

/// The fields of a valid event that the checks read out of it.
#[derive(Debug)]
pub(super) struct CheckedEvent {
    pub(super) event_type: EventType,
    pub(super) severity: Severity,
    pub(super) timestamp: Option<DateTime<Utc>>,
    pub(super) cost: Option<CostFacts>,
}

/// The texts and objects of a valid event that it keeps as sent.
#[derive(Debug, Default)]
pub(super) struct EventParts {
    pub(super) session_id: String,
    pub(super) agent_id: String,
    pub(super) client_id: Option<String>,
    pub(super) payload: Map<String, Value>,
    pub(super) metadata: Map<String, Value>,
}

impl EventParts {
    /// Copies the parts out of a checked event.
    pub(super) fn copied(event: &Value) -> Self {
        let Value::Object(event) = event else {
            return Self::default();
        };
        let text = |key| match lookup(event, key) {
            Some(Value::String(text)) => Some(text.clone()),
            _ => None,
        };
        let object = |key| match lookup(event, key) {
            Some(Value::Object(object)) => object.clone(),
            _ => Map::new(),
        };
        EventParts {
            session_id: text("sessionId").unwrap_or_default(),
            agent_id: text("agentId").unwrap_or_default(),
            client_id: text("id"),
            payload: object("payload"),
            metadata: object("metadata"),
        }
    }

    /// Moves the parts out of a checked event, in one pass over its keys.
    pub(super) fn taken(event: Value) -> Self {
        let mut parts = Self::default();
        let Value::Object(event) = event else {
            return parts;
        };
        for (key, value) in event {
            match (key.as_str(), value) {
                ("sessionId", Value::String(text)) => parts.session_id = text,
                ("agentId", Value::String(text)) => parts.agent_id = text,
                ("id", Value::String(text)) => parts.client_id = Some(text),
                ("payload", Value::Object(object)) => parts.payload = object,
                ("metadata", Value::Object(object)) => parts.metadata = object,
                _ => {}
            }
        }
        parts
    }
}

impl CheckedEvent {
    /// Builds the valid event, without the metadata keys that only the server may set.
    pub(super) fn into_event(self, parts: EventParts) -> ValidEvent {
        let mut metadata = parts.metadata;
        for key in RESERVED_METADATA_KEYS {
            metadata.remove(key);
        }
        ValidEvent {
            client_id: parts.client_id,
            session_id: parts.session_id,
            agent_id: parts.agent_id,
            event_type: self.event_type,
            severity: self.severity,
            payload: parts.payload,
            metadata,
            timestamp: self.timestamp,
            cost: self.cost,
        }
    }
}
