//! Resume timestamps for sessions stored before migration 19 (migration 20).
//!
//! Ingest keeps `resumed_at`, the timestamp of the latest `session_started` that resumed an
//! ended session, so that a late `session_ended` of an earlier run leaves the resumed
//! session active. Files written before migration 19 have no such column value. The
//! migration replays the lifecycle events of every active session that has an end, with
//! the same rules as ingest ([`Session::apply_started`] and [`Session::apply_ended`]), and
//! stores the resume when the replay ends active too.

use rusqlite::{params, Connection};

use super::sessions::{Session, COLUMNS};

/// Active sessions without a resume timestamp that have stored a `session_ended`: the
/// only ones a late end could close by mistake.
const CANDIDATES_SQL: &str = "SELECT tenant_id, id FROM sessions AS s \
    WHERE ended_at IS NULL AND resumed_at IS NULL AND EXISTS (SELECT 1 FROM events \
    WHERE tenant_id = s.tenant_id AND session_id = s.id AND event_type = 'session_ended')";

/// The lifecycle events of one session, in arrival order as ingest applied them.
const LIFECYCLE_SQL: &str = "SELECT event_type, timestamp, payload FROM events \
    WHERE tenant_id = ?1 AND session_id = ?2 \
    AND event_type IN ('session_started', 'session_ended') ORDER BY seq";

/// Stores the resume timestamp of each active session whose lifecycle events show one.
///
/// A session whose replay ends in another state than the stored one was written under an
/// older rule, so it keeps its row as it is.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a query or update fails.
pub(crate) fn backfill_resumed_at(conn: &Connection) -> rusqlite::Result<()> {
    let candidates: Vec<(String, String)> = conn
        .prepare(CANDIDATES_SQL)?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut stored = 0_usize;
    for (tenant, id) in &candidates {
        if let Some(resumed_at) = replayed_resume(conn, tenant, id)? {
            conn.prepare_cached(
                "UPDATE sessions SET resumed_at = ?3 WHERE tenant_id = ?1 AND id = ?2",
            )?
            .execute(params![tenant, id, resumed_at])?;
            stored += 1;
        }
    }
    tracing::info!(
        sessions.checked = candidates.len(),
        sessions.resumed = stored,
        "resume timestamps restored"
    );
    Ok(())
}

/// Replays the session's lifecycle events from the state of a new session, and returns
/// the resume timestamp when the replay leaves the session active after a resume.
fn replayed_resume(conn: &Connection, tenant: &str, id: &str) -> rusqlite::Result<Option<String>> {
    let mut session = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM sessions WHERE tenant_id = ?1 AND id = ?2"
        ))?
        .query_row(params![tenant, id], Session::from_row)?;
    session.ended_at = None;
    session.resumed_at = None;
    session.status = "active".to_owned();

    let mut statement = conn.prepare_cached(LIFECYCLE_SQL)?;
    let mut rows = statement.query(params![tenant, id])?;
    while let Some(row) = rows.next()? {
        let event_type: String = row.get(0)?;
        let timestamp: String = row.get(1)?;
        let payload: String = row.get(2)?;
        // Stored payloads are JSON objects. One that no longer parses has no `reason`,
        // which only decides between `completed` and `error`, not the resume.
        let payload = serde_json::from_str(&payload).unwrap_or_default();
        if event_type == "session_started" {
            session.apply_started(&payload, &timestamp);
        } else {
            session.apply_ended(&payload, &timestamp);
        }
    }
    Ok(session.resumed_at.filter(|_| session.ended_at.is_none()))
}
