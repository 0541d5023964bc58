use super::*;
use crate::store::sqlite::open_writer;

fn rollup_rows(conn: &Connection) -> Vec<(i64, i64, String, String, i64, i64, i64)> {
    conn.prepare(
        "SELECT span, bucket_start, session_id, agent_id, cost_high * 1000000 + cost_low, \
         input_tokens, event_count FROM session_cost_rollups WHERE event_count <> 0 \
         ORDER BY 1, 2, 3, 4",
    )
    .unwrap()
    .query_map([], |row| {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(6)?,
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Returns the larger units as they should be when the minutes before `merged_until` are
/// merged: each unit the exact sum of those of its minutes.
fn expected_units(
    conn: &Connection,
    merged_until: i64,
) -> Vec<(i64, i64, String, String, i64, i64, i64)> {
    let minutes: Vec<_> = rollup_rows(conn)
        .into_iter()
        .filter(|row| row.0 == MINUTE)
        .collect();
    let mut units = std::collections::BTreeMap::new();
    for (_, minute, session, agent, cost, input, events) in &minutes {
        for span in SPANS.into_iter().filter(|&span| span != MINUTE) {
            if *minute >= merged_until {
                continue;
            }
            let key = (
                span,
                minute.div_euclid(span) * span,
                session.clone(),
                agent.clone(),
            );
            let unit: &mut (i64, i64, i64) = units.entry(key).or_default();
            unit.0 += cost;
            unit.1 += input;
            unit.2 += events;
        }
    }
    let mut rows: Vec<_> = units
        .into_iter()
        .map(|((span, start, session, agent), (cost, input, events))| {
            (span, start, session, agent, cost, input, events)
        })
        .collect();
    rows.extend(minutes);
    rows.sort();
    rows
}

/// Returns each session and agent total: cost, input tokens and event count.
fn totals(conn: &Connection) -> Vec<(String, String, i64, i64, i64)> {
    conn.prepare(
        "SELECT session_id, agent_id, cost_high * 1000000 + cost_low, input_tokens, \
         event_count FROM agent_session_cost_totals WHERE event_count <> 0 ORDER BY 1, 2",
    )
    .unwrap()
    .query_map([], |row| {
        Ok((
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
        ))
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Returns the totals as they should be: the sums of the minutes before `merged_until`.
fn expected_totals(conn: &Connection, merged_until: i64) -> Vec<(String, String, i64, i64, i64)> {
    let mut sums = std::collections::BTreeMap::new();
    for (span, minute, session, agent, cost, input, events) in rollup_rows(conn) {
        if span == MINUTE && minute < merged_until {
            let total: &mut (i64, i64, i64) = sums.entry((session, agent)).or_default();
            total.0 += cost;
            total.1 += input;
            total.2 += events;
        }
    }
    sums.into_iter()
        .map(|((session, agent), (cost, input, events))| (session, agent, cost, input, events))
        .collect()
}

/// Asserts that every total's time span encloses the minutes merged into it.
fn assert_spans_enclose_merged_minutes(conn: &Connection, merged_until: i64) {
    let outside: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM session_cost_rollups AS minute \
             JOIN agent_session_cost_totals AS total USING (tenant_id, session_id, agent_id) \
             WHERE minute.span = 60 AND minute.bucket_start < ?1 \
             AND (strftime('%Y-%m-%dT%H:%M:%S.000000Z', minute.bucket_start, 'unixepoch') \
             < total.first_timestamp \
             OR strftime('%Y-%m-%dT%H:%M:%S.999999Z', minute.bucket_start + 59, 'unixepoch') \
             > total.last_timestamp)",
            [merged_until],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(outside, 0);
}

/// Writes one minute row, as ingest does for a minute that is not merged yet.
fn insert_minute(conn: &Connection, minute: i64, session: &str, agent: &str, cost: i64) {
    conn.execute(
        "INSERT INTO session_cost_rollups VALUES \
         ('default', 60, ?1, ?2, ?3, ?4, ?5, 10, 0, 0, 0, 1, 0)",
        params![minute, session, agent, cost / 1_000_000, cost % 1_000_000],
    )
    .unwrap();
}

fn open() -> (Connection, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let conn = open_writer(&dir.path().join("agentlens.db")).unwrap();
    (conn, dir)
}

#[test]
fn advance_adds_past_minutes_to_their_units_once() {
    let (conn, _dir) = open();
    let day = 20_000 * 86_400;
    assert_eq!(advance_at(&conn, "default", -3_600).unwrap(), -3_660);
    // Minutes on both sides of an hour and a day boundary, one of them before 1970.
    for (minute, session, agent, cost) in [
        (day, "s1", "a", 1_500_000),
        (day + 60, "s1", "b", 7),
        (day + 3_540, "s1", "a", 999_999),
        (day + 3_600, "s2", "a", 2_000_001),
        (day + 86_400, "s2", "a", 3),
        (-60, "s3", "a", 5),
    ] {
        insert_minute(&conn, minute, session, agent, cost);
    }
    let merged = advance_at(&conn, "default", day + 3_600 + 59).unwrap();
    assert_eq!(merged, day + 3_540);
    assert_eq!(rollup_rows(&conn), expected_units(&conn, merged));
    assert_eq!(totals(&conn), expected_totals(&conn, merged));
    assert_spans_enclose_merged_minutes(&conn, merged);

    // Advancing again within the same minute changes nothing.
    assert_eq!(
        advance_at(&conn, "default", day + 3_600 + 1).unwrap(),
        merged
    );
    assert_eq!(rollup_rows(&conn), expected_units(&conn, merged));

    let merged = advance_at(&conn, "default", day + 2 * 86_400).unwrap();
    assert_eq!(rollup_rows(&conn), expected_units(&conn, merged));
    assert_eq!(totals(&conn), expected_totals(&conn, merged));
    assert_spans_enclose_merged_minutes(&conn, merged);
}

#[test]
fn migration_step_unmerges_recent_minutes() {
    let (conn, _dir) = open();
    conn.execute("DELETE FROM session_rollup_merge", [])
        .unwrap();
    let now = now_second();
    let minute = now.div_euclid(MINUTE) * MINUTE;
    // Rows as ingest wrote them before migration 18: every minute in all four units.
    for (at, cost) in [
        (minute - 7_200, 11),
        (minute - 60, 13),
        (minute, 17),
        (minute + 600, 19),
    ] {
        for span in SPANS {
            conn.execute(
                "INSERT INTO session_cost_rollups VALUES \
                 ('default', ?1, ?2, 's', 'a', 0, ?3, 10, 0, 0, 0, 1, 0) \
                 ON CONFLICT DO UPDATE SET cost_low = cost_low + excluded.cost_low, \
                 input_tokens = input_tokens + 10, event_count = event_count + 1",
                params![span, at.div_euclid(span) * span, cost],
            )
            .unwrap();
        }
    }
    conn.execute(
        "INSERT INTO agent_session_cost_totals VALUES ('default', 'a', 's', 60, \
         '2000-01-01T00:00:00.000000Z', '2100-01-01T00:00:00.000000Z', 0, 60, 40, 0, 0, 0, \
         4, 0)",
        [],
    )
    .unwrap();
    split_after_migration(&conn).unwrap();
    let merged = merged_until(&conn, "default").unwrap();
    assert!((minute - 120..=minute).contains(&merged), "{merged}");
    assert_eq!(rollup_rows(&conn), expected_units(&conn, merged));
    assert_eq!(totals(&conn), expected_totals(&conn, merged));
}

#[test]
fn split_cover_reads_minutes_from_merged_until_on() {
    let hour = 3_600;
    let runs = split_cover(0, 2 * hour, hour + 120);
    assert_eq!(
        runs,
        vec![
            Run {
                span: 3_600,
                start: 0,
                end: hour
            },
            Run {
                span: 60,
                start: hour,
                end: hour + 120
            },
            Run {
                span: 60,
                start: hour + 120,
                end: 2 * hour
            },
        ]
    );
    assert_eq!(split_cover(0, hour, i64::MAX), cover(&[0], 0, hour));
    assert_eq!(
        split_cover(hour, 2 * hour, 0),
        vec![Run {
            span: 60,
            start: hour,
            end: 2 * hour
        }]
    );
    assert!(split_cover(hour, hour, 0).is_empty());
}
