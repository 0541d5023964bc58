//! Retried sends: the stored event behind a client id, and the check that a resent event
//! is the one stored.
//!
//! A client id makes a send idempotent only when every send of the id carries the same
//! event. An event that reuses a stored id with other content is a different event, and
//! treating it as a retry would drop its cost without a word, so its batch is rejected.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::events::IngestedEvent;
use super::StoreError;
use crate::ingest::PreparedEvent;

/// A client id sent again with content other than the stored event's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReusedClientId {
    /// Position of the event in its batch.
    pub index: usize,
    /// The client id.
    pub client_id: String,
    /// The first event field, in its JSON spelling, whose value differs.
    pub field: &'static str,
}

/// The stored columns a resent event must match.
struct StoredEvent {
    id: String,
    hash: String,
    timestamp: String,
    session_id: String,
    agent_id: String,
    event_type: String,
    severity: String,
    payload: String,
    metadata: String,
}

/// Reads the id and hash of the stored event whose client id made the insert of
/// `prepared`, the event at `index` of its batch, a no-op.
///
/// # Errors
///
/// Returns [`StoreError::ClientIdReused`] when the stored event differs from `prepared`,
/// [`StoreError::Corrupt`] when no stored event has the client id, and
/// [`StoreError::Sqlite`] when the query fails.
pub(super) fn stored_duplicate(
    conn: &Connection,
    tenant: &str,
    index: usize,
    prepared: &PreparedEvent,
) -> Result<IngestedEvent, StoreError> {
    let client_id = prepared.event.client_id.as_deref();
    let stored = conn
        .prepare_cached(
            "SELECT id, hash, timestamp, session_id, agent_id, event_type, severity, payload, \
             metadata FROM events WHERE tenant_id = ?1 AND client_id = ?2",
        )?
        .query_row(params![tenant, client_id], |row| {
            Ok(StoredEvent {
                id: row.get(0)?,
                hash: row.get(1)?,
                timestamp: row.get(2)?,
                session_id: row.get(3)?,
                agent_id: row.get(4)?,
                event_type: row.get(5)?,
                severity: row.get(6)?,
                payload: row.get(7)?,
                metadata: row.get(8)?,
            })
        })
        .optional()?
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "insert skipped, but no event has client id {client_id:?}"
            ))
        })?;
    if let Some(field) = first_difference(&stored, prepared) {
        return Err(StoreError::ClientIdReused(ReusedClientId {
            index,
            client_id: client_id.unwrap_or_default().to_owned(),
            field,
        }));
    }
    Ok(IngestedEvent {
        id: stored.id,
        hash: stored.hash,
        duplicate: true,
    })
}

/// Returns the first field in which `prepared` differs from the `stored` event, or `None`
/// when it is the same event.
///
/// A timestamp the client left out is the arrival time, which differs on every send, so
/// it is compared only when the client sent one. Payload and metadata are compared as
/// JSON values, so key order, spacing and number spelling do not count.
fn first_difference(stored: &StoredEvent, prepared: &PreparedEvent) -> Option<&'static str> {
    let event = &prepared.event;
    let same_timestamp = event.timestamp.is_none() || stored.timestamp == prepared.timestamp;
    let checks = [
        ("eventType", stored.event_type == event.event_type.as_str()),
        ("sessionId", stored.session_id == event.session_id),
        ("agentId", stored.agent_id == event.agent_id),
        ("severity", stored.severity == event.severity.as_str()),
        ("timestamp", same_timestamp),
        (
            "metadata",
            same_json(&stored.metadata, &prepared.metadata_json),
        ),
        (
            "payload",
            stored.payload == prepared.stored_payload_json()
                || same_json(&stored.payload, prepared.stored_payload_json())
                || is_older_stub_of(&stored.payload, prepared.stored_payload_json()),
        ),
    ];
    checks
        .into_iter()
        .find_map(|(field, same)| (!same).then_some(field))
}

/// Returns true when `stored` is a `_truncated` stub that a version before `data.sha256`
/// wrote for the payload that `sent` truncates: the same size and preview, and every
/// field it kept equal in `sent`. Such a stub may lack the `toolName` and `sha256` that
/// newer stubs have, so a retry across an upgrade stays a duplicate.
fn is_older_stub_of(stored: &str, sent: &str) -> bool {
    let (Ok(Value::Object(stored)), Ok(Value::Object(sent))) = (
        serde_json::from_str::<Value>(stored),
        serde_json::from_str::<Value>(sent),
    ) else {
        return false;
    };
    let is_stub = |payload: &serde_json::Map<String, Value>| {
        payload.get("type").and_then(Value::as_str) == Some("_truncated")
    };
    let (Some(stored_data), Some(sent_data)) = (stored.get("data"), sent.get("data")) else {
        return false;
    };
    let same_data = |key: &str| stored_data.get(key) == sent_data.get(key);
    is_stub(&stored)
        && is_stub(&sent)
        && stored_data.get("sha256").is_none()
        && same_data("originalSize")
        && same_data("preview")
        && stored
            .iter()
            .filter(|(key, _)| key.as_str() != "data")
            .all(|(key, value)| sent.get(key) == Some(value))
}

/// Returns true when the JSON texts `stored` and `sent` contain equal values.
fn same_json(stored: &str, sent: &str) -> bool {
    stored == sent
        || matches!(
            (serde_json::from_str::<Value>(stored), serde_json::from_str::<Value>(sent)),
            (Ok(stored), Ok(sent)) if stored == sent
        )
}
