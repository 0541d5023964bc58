//! The `bySession` list of the cost report, read from the [session totals]
//! (super::session_totals) with a threshold stop.
//!
//! The reader walks the sessions of the tenant (or of one agent) in descending
//! `cost_bound` order, then by session id, and computes each session's exact figures in
//! the range:
//!
//! - a session whose time span lies inside the range contributes its stored totals;
//! - a session whose time span lies outside the range has no rows in it and is skipped;
//! - a session that straddles an end of the range is summed from its unit rollups over the
//!   whole minutes it shares with the range. Its rows in the partial minutes at the ends
//!   come from the events, which the report has already read.
//!
//! The totals per session and agent take a minute's rows only once
//! [`super::session_merge`] merges that minute. So for one agent, the sessions with
//! minutes not merged yet are summed from the rollups before the walk, and the walk skips
//! them.
//!
//! No session can cost more in the range than its `cost_bound`, so once [`TOP_SESSIONS`]
//! sessions are known and the next bound ranks below the last of them (cost first, then
//! session id), no unread session can enter the list. When the walk reaches
//! [`MAX_EXAMINED`] sessions first, which happens when few of the tenant's sessions fall in
//! the range, [`read`] returns `None` and the report reads every session in the range
//! from the rollups instead.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, HashSet};

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};

use super::analytics::{CostQuery, Sums, TOP_SESSIONS};
use super::rollup_report::{text, ROLLUP_SUMS};
use super::rollups::{unix_second, MINUTE};
use super::session_merge::split_cover;
use super::session_totals::SATURATED;
use super::{PicoSum, StoreError};

#[path = "top_sessions_pending.rs"]
mod pending;

use pending::{next_walked, pending_sessions};

/// Maximum sessions the walk reads before it gives way to the full read of the range.
/// NOTE: an estimate, not a measured break-even point. A walked session and a session of
/// the full read each cost one index row, so the limit keeps the wasted work to a few
/// milliseconds.
const MAX_EXAMINED: usize = 5_000;

/// A session on the list, ordered best first: highest cost, then lowest session id.
#[derive(Debug)]
struct Ranked {
    session_id: String,
    sums: Sums,
}

impl Ranked {
    fn key(&self) -> (Reverse<PicoSum>, &str) {
        (Reverse(self.sums.cost), &self.session_id)
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Ranked) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Ranked) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Ranked) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// The range of a report as the walk needs it.
pub(crate) struct SessionRange<'a> {
    /// Inclusive bounds, stored-format text.
    pub(crate) from: &'a str,
    pub(crate) to: &'a str,
    /// The whole minutes of the range, `[start, end)` in Unix seconds.
    pub(crate) whole_minutes: (i64, i64),
    /// The tenant's first minute that is not merged into larger units
    /// ([`super::session_merge`]).
    pub(crate) merged_until: i64,
    /// Each session's sums over the partial minutes at the ends of the range.
    pub(crate) edges: &'a HashMap<String, Sums>,
}

/// The total table the walk reads, and the parameters that select the rows of the query.
struct Scope {
    table: &'static str,
    agent_clause: &'static str,
    params: Vec<Value>,
}

impl Scope {
    fn of(tenant: &str, query: &CostQuery) -> Scope {
        let mut params = vec![Value::Text(tenant.to_owned())];
        match &query.agent_id {
            Some(agent) => {
                params.push(Value::Text(agent.clone()));
                Scope {
                    table: "agent_session_cost_totals",
                    agent_clause: "AND agent_id = ?2",
                    params,
                }
            }
            None => Scope {
                table: "session_cost_totals",
                agent_clause: "",
                params,
            },
        }
    }

    /// Returns the parameters followed by `session`.
    fn with_session(&self, session: &str) -> Vec<Value> {
        let mut params = self.params.clone();
        params.push(Value::Text(session.to_owned()));
        params
    }
}

/// Returns the [`TOP_SESSIONS`] sessions with the highest cost in the range, best first,
/// or `None` when that would need more than [`MAX_EXAMINED`] sessions read.
///
/// # Errors
///
/// Returns [`StoreError`] when a query fails or a stored timestamp is unreadable.
pub(crate) fn read(
    conn: &Connection,
    tenant: &str,
    query: &CostQuery,
    range: &SessionRange<'_>,
) -> Result<Option<Vec<(String, Sums)>>, StoreError> {
    let scope = Scope::of(tenant, query);
    let sql = format!(
        "SELECT session_id, cost_bound, first_timestamp, last_timestamp FROM {} \
         WHERE tenant_id = ?1 {} ORDER BY cost_bound DESC, session_id",
        scope.table, scope.agent_clause
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(params_from_iter(scope.params.iter()))?;

    // A max-heap by rank, so its top is the last session on the list.
    let mut top: BinaryHeap<Ranked> = BinaryHeap::with_capacity(TOP_SESSIONS + 1);
    let mut examined = 0;
    // Each session's sums over the range's minutes not merged yet, read once when needed.
    let mut tail = None;

    // The totals per session and agent lack the minutes not merged yet. The sessions with
    // such minutes join the walk in the order of a bound that adds the cost of those
    // minutes, are summed from the rollups, and are skipped where the totals list them.
    let pending = match query.agent_id {
        Some(_) => pending_sessions(conn, &scope, range.merged_until)?,
        None => Vec::new(),
    };
    let skipped: HashSet<String> = pending.iter().map(|p| p.session_id.clone()).collect();
    let mut pending = pending.into_iter().peekable();
    let mut walked = next_walked(&mut rows)?;
    loop {
        let from_pending = match (pending.peek(), &walked) {
            (Some(p), Some(w)) => p.rank_key() < w.rank_key(),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let candidate = if from_pending {
            pending.next().expect("a pending session was peeked")
        } else {
            let row = walked.take().expect("a walked session was matched");
            walked = next_walked(&mut rows)?;
            if skipped.contains(&row.session_id) {
                continue;
            }
            row
        };
        if top.len() == TOP_SESSIONS
            && ranks_after(top.peek(), candidate.bound, &candidate.session_id)
        {
            break;
        }
        if !from_pending {
            if examined == MAX_EXAMINED {
                return Ok(None);
            }
            examined += 1;
        }

        let (first, last) = (candidate.first.as_str(), candidate.last.as_str());
        if last < range.from || first > range.to {
            continue;
        }
        let session_id = candidate.session_id.as_str();
        let sums = if !from_pending && first >= range.from && last <= range.to {
            stored_sums(conn, &scope, session_id)?
        } else {
            straddling_sums(conn, &scope, session_id, (first, last), range, &mut tail)?
        };
        keep(&mut top, session_id, sums);
    }

    let list = top
        .into_sorted_vec()
        .into_iter()
        .map(|ranked| (ranked.session_id, ranked.sums))
        .collect();
    Ok(Some(list))
}

/// Adds a session with events in the range to the list, and drops the last session when
/// the list grows past [`TOP_SESSIONS`].
fn keep(top: &mut BinaryHeap<Ranked>, session_id: &str, sums: Sums) {
    if sums.events == 0 {
        return;
    }
    top.push(Ranked {
        session_id: session_id.to_owned(),
        sums,
    });
    if top.len() > TOP_SESSIONS {
        top.pop();
    }
}

/// Returns true when every session from the one with `bound` and `session_id` on, in walk
/// order, ranks after `last`, the last session on a full list.
fn ranks_after(last: Option<&Ranked>, bound: i64, session_id: &str) -> bool {
    let Some(last) = last else {
        return false;
    };
    if bound == SATURATED {
        return false;
    }
    // Later sessions have a lower bound, or the same bound and a higher id.
    match PicoSum::from_parts(0, bound).cmp(&last.sums.cost) {
        Ordering::Less => true,
        Ordering::Equal => session_id > last.session_id.as_str(),
        Ordering::Greater => false,
    }
}

/// Reads the stored totals of a session that lies inside the range.
fn stored_sums(conn: &Connection, scope: &Scope, session: &str) -> Result<Sums, StoreError> {
    let session_param = scope.params.len() + 1;
    let sql = format!(
        "SELECT {ROLLUP_SUMS} FROM {} WHERE tenant_id = ?1 {} AND session_id = ?{session_param}",
        scope.table, scope.agent_clause
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let sums = statement.query_row(params_from_iter(scope.with_session(session)), |row| {
        Sums::from_row(row, 0)
    })?;
    Ok(sums)
}

/// Returns each session's sums over the whole minutes of the range from `merged_until` on,
/// which are minute rows only. One range read serves every straddling session, because a
/// read per session would pass every session of those minutes.
fn tail_sums(
    conn: &Connection,
    scope: &Scope,
    range: &SessionRange<'_>,
) -> Result<HashMap<String, Sums>, StoreError> {
    let agent_clause = if scope.agent_clause.is_empty() {
        ""
    } else {
        "AND agent_id = ?4"
    };
    let sql = format!(
        "SELECT session_id, {ROLLUP_SUMS} FROM session_cost_rollups WHERE tenant_id = ?1 \
         AND span = 60 AND bucket_start >= ?2 AND bucket_start < ?3 {agent_clause}"
    );
    let mut params = vec![
        scope.params[0].clone(),
        Value::Integer(range.whole_minutes.0.max(range.merged_until)),
        Value::Integer(range.whole_minutes.1),
    ];
    params.extend(scope.params.get(1).cloned());
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(params_from_iter(params))?;
    let mut sums: HashMap<String, Sums> = HashMap::new();
    while let Some(row) = rows.next()? {
        let session = text(row, 0)?;
        let row_sums = Sums::from_row(row, 1)?;
        match sums.get_mut(session) {
            Some(total) => total.add(&row_sums),
            None => {
                sums.insert(session.to_owned(), row_sums);
            }
        }
    }
    Ok(sums)
}

/// Sums a session that straddles an end of the range: its unit rollups over the whole
/// minutes it shares with the range, plus its rows in the partial minutes.
fn straddling_sums(
    conn: &Connection,
    scope: &Scope,
    session: &str,
    (first, last): (&str, &str),
    range: &SessionRange<'_>,
    tail: &mut Option<HashMap<String, Sums>>,
) -> Result<Sums, StoreError> {
    let mut sums = range.edges.get(session).copied().unwrap_or_default();

    let second = |text: &str| {
        unix_second(text).ok_or_else(|| StoreError::Corrupt(format!("timestamp {text:?}")))
    };
    let first_minute = second(first)?.div_euclid(MINUTE) * MINUTE;
    let after_last_minute = second(last)?.div_euclid(MINUTE) * MINUTE + MINUTE;
    let start = range.whole_minutes.0.max(first_minute);
    let end = range.whole_minutes.1.min(after_last_minute);
    if start >= end {
        return Ok(sums);
    }

    let agent_clause = if scope.agent_clause.is_empty() {
        ""
    } else {
        "AND agent_id = ?5"
    };
    // One point lookup per merged unit: a range read would pass every session in the unit.
    let sql = format!(
        "SELECT {ROLLUP_SUMS} FROM session_cost_rollups WHERE tenant_id = ?1 AND span = ?2 \
         AND bucket_start = ?3 AND session_id = ?4 {agent_clause}"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    for run in split_cover(start, end, range.merged_until) {
        if run.start >= range.merged_until {
            // The session has rows only within its time span, so the range's minutes
            // from `merged_until` on hold the same rows of it as the run.
            let tail = match tail {
                Some(tail) => tail,
                None => tail.insert(tail_sums(conn, scope, range)?),
            };
            if let Some(tail_sums) = tail.get(session) {
                sums.add(tail_sums);
            }
            continue;
        }
        let mut unit = run.start;
        while unit < run.end {
            let mut params = vec![
                scope.params[0].clone(),
                Value::Integer(run.span),
                Value::Integer(unit),
                Value::Text(session.to_owned()),
            ];
            params.extend(scope.params.get(1).cloned());
            let mut rows = statement.query(params_from_iter(params))?;
            while let Some(row) = rows.next()? {
                sums.add(&Sums::from_row(row, 0)?);
            }
            unit += run.span;
        }
    }
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::open_writer;

    /// Stores a session total of `cost` pico-dollars, with one row at `timestamp`.
    fn insert_total(conn: &Connection, session: &str, cost: i64, timestamp: &str) {
        conn.execute(
            "INSERT INTO session_cost_totals VALUES \
             ('default', ?1, ?2, ?3, ?3, 0, ?2, 0, 0, 0, 0, 1, 0)",
            rusqlite::params![session, cost, timestamp],
        )
        .unwrap();
    }

    fn day_query(day: &str) -> CostQuery {
        CostQuery {
            from: format!("{day}T00:00:00.000000Z"),
            to: format!("{day}T23:59:59.999999Z"),
            agent_id: None,
            granularity: super::super::analytics::Granularity::Day,
            time_zone: chrono_tz::Tz::UTC,
        }
    }

    fn read_day(conn: &Connection, day: &str) -> Option<Vec<(String, Sums)>> {
        let query = day_query(day);
        let start = unix_second(&query.from).unwrap();
        let edges = HashMap::new();
        let range = SessionRange {
            from: &query.from,
            to: &query.to,
            whole_minutes: (start, start + 86_400),
            merged_until: i64::MAX,
            edges: &edges,
        };
        read(conn, "default", &query, &range).unwrap()
    }

    #[test]
    fn walk_gives_way_to_full_read() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_writer(&dir.path().join("totals.db")).unwrap();
        for index in 0..MAX_EXAMINED {
            let session = format!("early{index:05}");
            insert_total(&conn, &session, 1_000, "2026-05-10T12:00:00.000000Z");
        }
        insert_total(&conn, "late", 1, "2026-05-11T12:00:00.000000Z");

        assert!(read_day(&conn, "2026-05-11").is_none());
        let listed = read_day(&conn, "2026-05-10").unwrap();
        assert_eq!(listed.len(), TOP_SESSIONS);
        assert_eq!(listed[0].0, "early00000");
    }

    #[test]
    fn walk_below_limit_reads_all() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open_writer(&dir.path().join("totals.db")).unwrap();
        for index in 0..50 {
            let session = format!("early{index:02}");
            insert_total(&conn, &session, 1_000, "2026-05-10T12:00:00.000000Z");
        }
        insert_total(&conn, "late", 1, "2026-05-11T12:00:00.000000Z");

        let listed = read_day(&conn, "2026-05-11").unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].0, "late");
        assert_eq!(listed[0].1.cost, PicoSum::from_parts(0, 1));
    }

    fn ranked(session_id: &str, cost: i64) -> Ranked {
        let mut sums = Sums::default();
        sums.cost = PicoSum::from_parts(0, cost);
        Ranked {
            session_id: session_id.to_owned(),
            sums,
        }
    }

    #[test]
    fn lower_bound_ranks_after() {
        assert!(ranks_after(Some(&ranked("s5", 100)), 99, "s1"));
        assert!(!ranks_after(Some(&ranked("s5", 100)), 101, "s9"));
    }

    #[test]
    fn equal_bound_ranks_after_by_session_id() {
        assert!(ranks_after(Some(&ranked("s5", 100)), 100, "s6"));
        assert!(!ranks_after(Some(&ranked("s5", 100)), 100, "s4"));
    }

    #[test]
    fn saturated_bound_never_stops() {
        assert!(!ranks_after(Some(&ranked("s5", i64::MAX)), SATURATED, "s9"));
    }

    #[test]
    fn heap_top_is_last_on_list() {
        let mut heap = BinaryHeap::new();
        heap.push(ranked("b", 5));
        heap.push(ranked("a", 5));
        heap.push(ranked("c", 9));
        assert_eq!(heap.peek().map(|r| r.session_id.as_str()), Some("b"));
    }
}
