//! `bySession` of the cost report, listed from the running session totals: ties, sessions
//! that straddle the range, superseded rows, many sessions outside the range and the
//! migration that fills the totals all give the report recomputed from the events.

use agentlens_collector::store::analytics::{CostQuery, Granularity};
use agentlens_collector::store::Store;
use agentlens_core::event::format_timestamp;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{json, Value};

use crate::common::{app, cost_event, llm_response, TestApp};
use crate::report_checks::assert_report_matches_events;

fn query(from: &str, to: &str, agent: Option<&str>) -> CostQuery {
    let parse = |text: &str| format_timestamp(&text.parse::<DateTime<Utc>>().unwrap());
    CostQuery {
        from: parse(from),
        to: parse(to),
        agent_id: agent.map(str::to_owned),
        granularity: Granularity::Day,
        time_zone: Tz::UTC,
    }
}

/// Asserts that the report from the rollups equals the recomputation, and returns the
/// session ids it lists.
async fn assert_sessions_match(store: &Store, query: CostQuery) -> Vec<String> {
    assert_report_matches_events(store, query)
        .await
        .by_session
        .into_iter()
        .map(|session| session.session_id)
        .collect()
}

/// Ingests events in requests of at most 1000.
async fn ingest_all(app: &TestApp, events: Vec<Value>) {
    for chunk in events.chunks(1000) {
        let reply = app.ingest(chunk.to_vec()).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
}

#[tokio::test]
async fn equal_costs_order_by_session_id() {
    let app = app().await;
    // 150 sessions of one equal cost, 30 of them unpriced, in reverse id order.
    let events = (0..150)
        .rev()
        .map(|i| {
            let at = format!("2026-05-10T12:{:02}:00Z", i % 60);
            let session = format!("s{i:03}");
            if i % 5 != 0 {
                return cost_event(&session, "a1", "gpt-4o", json!("0.5"), &at);
            }
            let mut event = cost_event(&session, "a1", "no-such-model-xyz", json!("1"), &at);
            let payload = event["payload"].as_object_mut().unwrap();
            payload.remove("costUsd");
            event
        })
        .collect();
    ingest_all(&app, events).await;

    let store = &app.state.store;
    let listed = assert_sessions_match(
        store,
        query("2026-05-10T00:00:00Z", "2026-05-10T23:59:59Z", None),
    )
    .await;
    // The 120 priced sessions come first, by id: s001 to s124 without multiples of 5.
    assert_eq!(listed.len(), 100);
    assert_eq!(listed[0], "s001");
    assert_eq!(listed[99], "s124");
}

#[tokio::test]
async fn straddling_sessions_match_recomputation() {
    let app = app().await;
    // Sessions of two agents that run over three days, each with a row every 7 hours
    // and 13 minutes, and a cost that grows with the session number.
    let mut events = Vec::new();
    for session in 0..120 {
        for step in 0..10 {
            let start = "2026-05-10T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
            let offset = session * 61 + step * (7 * 3600 + 13 * 60) + 17;
            let at = start + chrono::Duration::seconds(offset);
            let agent = if (session + step) % 3 == 0 {
                "a2"
            } else {
                "a1"
            };
            let cost = format!("0.{:04}", 100 + session * 7 + step);
            events.push(cost_event(
                &format!("s{session:03}"),
                agent,
                "gpt-4o",
                json!(cost),
                &format_timestamp(&at),
            ));
        }
    }
    ingest_all(&app, events).await;

    let store = &app.state.store;
    let ranges = [
        ("2026-05-09T00:00:00Z", "2026-05-14T00:00:00Z"),
        ("2026-05-10T13:07:31.5Z", "2026-05-12T02:41:09.25Z"),
        ("2026-05-11T00:00:00Z", "2026-05-11T23:59:59.999999Z"),
        ("2026-05-12T06:00:00Z", "2026-05-12T06:00:40Z"),
    ];
    for (from, to) in ranges {
        for agent in [None, Some("a1"), Some("a2")] {
            assert_sessions_match(store, query(from, to, agent)).await;
        }
    }
}

#[tokio::test]
async fn superseded_rows_leave_session_totals() {
    let app = app().await;
    // Each session's first row, which costs more the lower the session number, is
    // superseded by an llm_response of another agent on the next day. The rest of each
    // session costs more the higher its number, so the ranking follows the counted rows.
    let mut events = Vec::new();
    for session in 0..110 {
        let at = format!("2026-05-10T10:{:02}:00Z", session % 60);
        let expensive = json!((119 - session).to_string());
        let mut tracked = cost_event(&format!("s{session:03}"), "a1", "gpt-4o", expensive, &at);
        tracked["payload"]["callId"] = json!(format!("call-{session}"));
        events.push(tracked);
        let cheap = format!("0.{:03}", session + 1);
        let at = format!("2026-05-10T11:{:02}:00Z", session % 60);
        events.push(cost_event(
            &format!("s{session:03}"),
            "a1",
            "gpt-4o",
            json!(cheap),
            &at,
        ));
    }
    ingest_all(&app, events).await;
    let mut responses = Vec::new();
    for session in 0..110 {
        let mut response = llm_response(
            &format!("s{session:03}"),
            "a2",
            "gpt-4o",
            json!("0.01"),
            "2026-05-11T09:00:00Z",
        );
        response["payload"]["callId"] = json!(format!("call-{session}"));
        responses.push(response);
    }
    ingest_all(&app, responses).await;

    let store = &app.state.store;
    let both_days = query("2026-05-10T00:00:00Z", "2026-05-11T23:59:59Z", None);
    let listed = assert_sessions_match(store, both_days).await;
    assert_eq!(listed[0], "s109");
    assert_eq!(listed[1], "s108");
    let first_day = query("2026-05-10T00:00:00Z", "2026-05-10T23:59:59Z", Some("a1"));
    let listed = assert_sessions_match(store, first_day).await;
    assert_eq!(listed[0], "s109");
}

#[tokio::test]
async fn few_sessions_in_range_match_recomputation() {
    let app = app().await;
    // 5,200 expensive sessions on the first day and 150 cheap ones on the second, so
    // listing the second day's sessions by cost bound passes every expensive one first.
    let mut events = Vec::new();
    for session in 0..5_200 {
        let at = format!("2026-05-10T{:02}:{:02}:00Z", session % 24, session % 60);
        let cost = format!("{}.5", 10 + session % 90);
        events.push(cost_event(
            &format!("big{session:04}"),
            "a1",
            "gpt-4o",
            json!(cost),
            &at,
        ));
    }
    for session in 0..150 {
        let at = format!("2026-05-11T{:02}:{:02}:00Z", session % 24, session % 60);
        let cost = format!("0.{:03}", session % 40);
        events.push(cost_event(
            &format!("small{session:03}"),
            "a1",
            "gpt-4o",
            json!(cost),
            &at,
        ));
    }
    ingest_all(&app, events).await;

    let store = &app.state.store;
    let second_day = query("2026-05-11T00:00:00Z", "2026-05-11T23:59:59Z", None);
    let listed = assert_sessions_match(store, second_day).await;
    assert_eq!(listed.len(), 100);
    assert!(listed.iter().all(|id| id.starts_with("small")));
    let both_days = query("2026-05-10T00:00:00Z", "2026-05-11T23:59:59Z", Some("a1"));
    let listed = assert_sessions_match(store, both_days).await;
    assert!(listed.iter().all(|id| id.starts_with("big")));
}

#[tokio::test]
async fn few_sessions_around_now_match_recomputation() {
    let app = app().await;
    // As above, with the cheap sessions in the minutes around now, whose session rollups
    // are minute rows not merged yet. Two agents share each cheap session.
    let now = chrono::Utc::now();
    let at = |seconds: i64| format_timestamp(&(now + chrono::Duration::seconds(seconds)));
    let mut events = Vec::new();
    for session in 0..5_200 {
        let cost = format!("{}.5", 10 + session % 90);
        let when = at(-3 * 3_600 - session % 600);
        events.push(cost_event(
            &format!("big{session:04}"),
            "a1",
            "gpt-4o",
            json!(cost),
            &when,
        ));
    }
    for session in 0..150 {
        // a1 from 40 minutes ago to 20 minutes ahead, a2 in the next 11 minutes.
        for (agent, offset, step, shift) in [("a1", -2_400_i64, 600, 0), ("a2", 120, 91, 17)] {
            let cost = format!("0.{:03}", (session + shift) % 40);
            let when = at(offset + (session as i64 % 7) * step);
            let id = format!("small{session:03}");
            events.push(cost_event(&id, agent, "gpt-4o", json!(cost), &when));
        }
    }
    ingest_all(&app, events).await;
    let store = &app.state.store;
    for agent in [None, Some("a1"), Some("a2")] {
        let recent = query(&at(-3_600), &at(3_600), agent);
        let listed = assert_sessions_match(store, recent).await;
        assert_eq!(listed.len(), 100);
        assert!(listed.iter().all(|id| id.starts_with("small")));
        let from_now = query(&at(0), &at(600), agent);
        assert!(!assert_sessions_match(store, from_now).await.is_empty());
    }
}

/// Reads both total tables, except the time spans, which ingest may leave wider, and the
/// rows whose cost rows were all superseded, which ingest keeps at zero.
fn session_totals(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut rows = Vec::new();
    for sql in [
        "SELECT session_id, '', cost_bound, cost_high * 1000000 + cost_low, input_tokens, \
         output_tokens, event_count, unpriced_count FROM session_cost_totals \
         WHERE event_count > 0 ORDER BY session_id",
        "SELECT session_id, agent_id, cost_bound, cost_high * 1000000 + cost_low, \
         input_tokens, output_tokens, event_count, unpriced_count \
         FROM agent_session_cost_totals WHERE event_count > 0 \
         ORDER BY session_id, agent_id",
    ] {
        let mut statement = conn.prepare(sql).unwrap();
        let found = statement
            .query_map([], |row| {
                let values: Vec<String> = (0..8)
                    .map(|index| {
                        let value: rusqlite::types::Value = row.get(index)?;
                        Ok(format!("{value:?}"))
                    })
                    .collect::<rusqlite::Result<_>>()?;
                Ok(values.join(" "))
            })
            .unwrap();
        rows.extend(found.map(Result::unwrap));
    }
    rows
}

#[tokio::test]
async fn migration_backfills_session_totals() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agentlens.db");
    let store = Store::open(&path).unwrap();
    let mut events = Vec::new();
    for index in 0..600 {
        let at = format!(
            "2026-03-0{}T{:02}:{:02}:00Z",
            1 + index % 3,
            index % 24,
            index % 60
        );
        let session = format!("s{}", index % 130);
        let agent = if index % 7 == 0 { "a2" } else { "a1" };
        let mut event = if index % 4 == 3 {
            llm_response(&session, agent, "gpt-4o", json!("0.02"), &at)
        } else {
            cost_event(
                &session,
                agent,
                "gpt-4o",
                json!(format!("0.{index:04}")),
                &at,
            )
        };
        event["payload"]["callId"] = json!(format!("call-{}", index / 4));
        events.push(event);
    }
    for chunk in events.chunks(200) {
        let body = json!({ "events": chunk });
        let prepared = agentlens_collector::ingest::prepare_batch(
            &body,
            Utc::now(),
            agentlens_core::pricing::PriceTable::embedded(),
        )
        .unwrap();
        store.ingest("default", prepared).await.unwrap();
    }
    let range = || query("2026-03-01T00:00:00Z", "2026-03-02T12:00:00Z", Some("a1"));
    let before = store.cost_report("default", range()).await.unwrap();
    drop(store);
    let ingested = session_totals(&path);

    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TABLE session_cost_totals; DROP TABLE agent_session_cost_totals;")
        .unwrap();
    conn.execute_batch(include_str!(
        "../../src/store/migrations/0006_session_cost_totals.sql"
    ))
    .unwrap();
    drop(conn);

    assert_eq!(session_totals(&path), ingested);
    let store = Store::open(&path).unwrap();
    let after = store.cost_report("default", range()).await.unwrap();
    assert_eq!(
        serde_json::to_string(&after).unwrap(),
        serde_json::to_string(&before).unwrap()
    );
    assert_sessions_match(&store, range()).await;
}
