//! A session's timeline: all its events in chain order, with the hash chain re-verified.
//!
//! The store chains a session's events in ingest order (the `seq` column), not in
//! timestamp order, so the timeline lists events in `seq` order. An event that arrives
//! late with an early timestamp therefore appears after the events stored before it. This
//! differs from upstream AgentLens, which sorts by timestamp and so reports a broken chain
//! for late events.
//!
//! Verification recomputes every hash with [`event_hash`] from the stored timestamp and
//! the stored payload and metadata text, and checks that the first event has no
//! `prevHash` and each later one links to the hash before it. As in upstream, a session
//! whose events all lack a `prevHash` counts as unchained, and then each hash is checked
//! on its own.

use agentlens_core::canonical::{event_hash, HashInput};
use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::{Map, Value};

use super::events::{StoredEvent, COLUMNS};
use super::session_index::SessionRows;
use super::{Store, StoreError};

/// The body of `GET /api/sessions/{id}/timeline`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// Every event of the session, in chain order.
    pub events: Vec<StoredEvent>,
    /// True when every recomputed hash matches and the links are intact.
    pub chain_valid: bool,
    /// False when no event has a `prevHash`, so only each event's own hash is checked.
    pub chained: bool,
}

impl Store {
    /// Returns a session's timeline, or `None` when the tenant has no such session.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a query fails or stored payload text is not JSON.
    pub async fn session_timeline(
        &self,
        tenant: &str,
        session_id: &str,
    ) -> Result<Option<Timeline>, StoreError> {
        let (tenant, session_id) = (tenant.to_owned(), session_id.to_owned());
        self.read(move |conn| read_timeline(conn, &tenant, &session_id))
            .await
    }
}

fn read_timeline(
    conn: &Connection,
    tenant: &str,
    session_id: &str,
) -> Result<Option<Timeline>, StoreError> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sessions WHERE tenant_id = ?1 AND id = ?2)",
        params![tenant, session_id],
        |row| row.get(0),
    )?;
    if !exists {
        return Ok(None);
    }

    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE {} ORDER BY seq",
        SessionRows::Indexed.condition(1, 2)
    );
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(params![tenant, session_id], StoredEvent::from_row)?;
    let events = rows.collect::<rusqlite::Result<Vec<_>>>()?;

    let chained = events.iter().any(|event| event.prev_hash.is_some());
    let chain_valid = verify(&events, chained);
    Ok(Some(Timeline {
        events,
        chain_valid,
        chained,
    }))
}

/// Returns true when every hash matches and, for a chained session, every link holds.
fn verify(events: &[StoredEvent], chained: bool) -> bool {
    let mut previous: Option<&str> = None;
    for event in events {
        if chained && event.prev_hash.as_deref() != previous {
            return false;
        }
        if recompute_hash(event).as_deref() != Some(event.hash.as_str()) {
            return false;
        }
        previous = Some(&event.hash);
    }
    true
}

/// Recomputes an event's hash from its stored fields. Returns `None` when the stored
/// payload or metadata is not a JSON object, which only a direct edit of the database
/// can cause.
fn recompute_hash(event: &StoredEvent) -> Option<String> {
    // Key order is preserved when parsing, so re-serializing gives the hashed text back.
    let payload: Map<String, Value> = serde_json::from_str(event.payload.get()).ok()?;
    let metadata: Map<String, Value> = serde_json::from_str(event.metadata.get()).ok()?;
    Some(event_hash(&HashInput {
        id: &event.id,
        timestamp: &event.timestamp,
        session_id: &event.session_id,
        agent_id: &event.agent_id,
        event_type: &event.event_type,
        severity: &event.severity,
        payload: &payload,
        metadata: &metadata,
        prev_hash: event.prev_hash.as_deref(),
    }))
}
