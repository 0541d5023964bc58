//! `byTool` of `GET /api/analytics/costs`: the events that name a tool, and the cost of
//! those that count under the cost rule.

use axum::http::StatusCode;
use rusqlite::Connection;
use serde_json::{json, Value};

use crate::common::{app, cost_event, llm_response, tool_call, tool_response, TestApp};

const DAY: &str = "from=2026-02-07&to=2026-02-07";

fn with_tool(mut event: Value, tool: &str) -> Value {
    event["payload"]["toolName"] = json!(tool);
    event
}

fn with_call(mut event: Value, call: &str) -> Value {
    event["payload"]["callId"] = json!(call);
    event
}

/// Seeds tool and cost events that name the tools `search`, `fetch`, `browse` and `big`:
/// a superseded `cost_tracked`, an unpriced one, a truncated one and an event of the next
/// day.
async fn seeded() -> TestApp {
    let app = app().await;
    let unpriced = json!({
        "sessionId": "s2", "agentId": "a2", "eventType": "cost_tracked",
        "timestamp": "2026-02-07T11:03:00Z",
        "payload": {"provider": "openai", "model": "no-such-model", "inputTokens": 10,
            "outputTokens": 5, "totalTokens": 15, "toolName": "search"},
    });
    let mut big = with_tool(
        cost_event(
            "s1",
            "a1",
            "gpt-4.1",
            json!("0.125"),
            "2026-02-07T10:05:00Z",
        ),
        "big",
    );
    big["payload"]["filler"] = json!("x".repeat(11_000));
    let events = vec![
        tool_call("s1", "a1", "2026-02-07T10:01:00Z"),
        tool_response("s1", "a1", "search", 100, "2026-02-07T10:02:00Z"),
        with_tool(
            cost_event("s1", "a1", "gpt-4.1", json!("0.25"), "2026-02-07T10:03:00Z"),
            "search",
        ),
        with_tool(tool_call("s1", "a1", "2026-02-07T10:04:00Z"), "fetch"),
        big,
        with_call(
            with_tool(
                cost_event("s2", "a2", "gpt-4.1", json!("1.5"), "2026-02-07T11:00:00Z"),
                "fetch",
            ),
            "c1",
        ),
        with_call(
            llm_response("s2", "a2", "gpt-4.1", json!("2"), "2026-02-07T11:01:00Z"),
            "c1",
        ),
        with_tool(
            llm_response("s2", "a2", "gpt-4.1", json!("0.5"), "2026-02-07T11:02:00Z"),
            "browse",
        ),
        unpriced,
        tool_call("s3", "a3", "2026-02-08T09:00:00Z"),
    ];
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    app
}

/// Returns `(toolName, totalCostUsd, eventCount, unpricedCount)` of each `byTool` entry.
async fn by_tool(app: &TestApp, query: &str) -> Vec<(String, String, i64, i64)> {
    let reply = app.get(&format!("/api/analytics/costs?{query}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let entries = reply.json["byTool"].as_array().unwrap();
    entries
        .iter()
        .map(|entry| {
            (
                entry["toolName"].as_str().unwrap().to_owned(),
                entry["totalCostUsd"].to_string(),
                entry["eventCount"].as_i64().unwrap(),
                entry["unpricedCount"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn entry(tool: &str, cost: &str, events: i64, unpriced: i64) -> (String, String, i64, i64) {
    (tool.to_owned(), cost.to_owned(), events, unpriced)
}

#[tokio::test]
async fn by_tool_counts_named_events_and_their_cost() {
    let app = seeded().await;

    let tools = by_tool(&app, DAY).await;

    let expected = vec![
        entry("browse", "0.5", 1, 0),
        entry("search", "0.25", 4, 1),
        entry("big", "0.125", 1, 0),
        entry("fetch", "0", 2, 0),
    ];
    assert_eq!(tools, expected);
}

#[tokio::test]
async fn by_tool_follows_agent_and_range() {
    let app = seeded().await;

    let agent = by_tool(&app, &format!("{DAY}&agentId=a1")).await;
    let next_day = by_tool(&app, "from=2026-02-08&to=2026-02-08").await;
    let morning = by_tool(&app, "from=2026-02-07T10:02:00Z&to=2026-02-07T10:04:00Z").await;

    let expected_agent = vec![
        entry("search", "0.25", 3, 0),
        entry("big", "0.125", 1, 0),
        entry("fetch", "0", 1, 0),
    ];
    assert_eq!(agent, expected_agent);
    assert_eq!(next_day, vec![entry("search", "0", 1, 0)]);
    let expected_morning = vec![entry("search", "0.25", 2, 0), entry("fetch", "0", 1, 0)];
    assert_eq!(morning, expected_morning);
}

#[tokio::test]
async fn by_tool_is_empty_without_tool_names() {
    let app = app().await;
    let reply = app
        .ingest(vec![cost_event(
            "s1",
            "a1",
            "gpt-4.1",
            json!("1"),
            "2026-02-07T10:00:00Z",
        )])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    assert_eq!(by_tool(&app, DAY).await, Vec::new());
}

#[tokio::test]
async fn migration_reads_tool_names_of_stored_events() {
    let app = seeded().await;
    let before = by_tool(&app, DAY).await;
    let conn = Connection::open(app.db_path()).unwrap();
    conn.execute_batch(
        "BEGIN;
         DROP INDEX events_tenant_tool_rows;
         DROP INDEX events_tenant_tool_cost_rows;
         DROP TABLE tool_rollups;
         ALTER TABLE events DROP COLUMN tool_name;
         DELETE FROM schema_migrations WHERE version = 22;
         COMMIT",
    )
    .unwrap();

    let app = app.reopen().await;

    let after = by_tool(&app, DAY).await;
    // The stub that replaced the large payload of `big` keeps its tool name.
    assert_eq!(after, before);
    let tools = app.get(&format!("/api/analytics/tools?{DAY}")).await;
    let names: Vec<_> = tools.json["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["toolName"].clone())
        .collect();
    assert_eq!(
        names,
        vec![json!("fetch"), json!("search")],
        "{}",
        tools.text
    );
    assert_eq!(
        tools.json["tools"][1]["avgDurationMs"], 100.0,
        "{}",
        tools.text
    );
}

/// Returns `(toolName, eventCount)` of each `byTool` entry, sorted by tool name.
async fn tool_counts(app: &TestApp, from: &str, to: &str) -> Vec<(String, i64)> {
    let query = format!("from={from}&to={to}");
    let mut counts: Vec<_> = by_tool(app, &query.replace('+', "%2B"))
        .await
        .into_iter()
        .map(|(tool, _, events, _)| (tool, events))
        .collect();
    counts.sort();
    counts
}

#[tokio::test]
async fn by_tool_counts_match_events_in_any_range() {
    let app = app().await;
    // Tool calls every 7 minutes 13 seconds over three days, alternating two tools.
    let start = chrono::DateTime::parse_from_rfc3339("2026-02-06T21:00:00Z").unwrap();
    let instants: Vec<_> = (0..600)
        .map(|step| start + chrono::Duration::seconds(433 * step))
        .collect();
    let events = instants
        .iter()
        .enumerate()
        .map(|(step, instant)| {
            let tool = if step % 2 == 0 { "even" } else { "odd" };
            let timestamp = instant.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            with_tool(tool_call("s1", "a1", &timestamp), tool)
        })
        .collect();
    let reply = app.ingest(events).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let ranges = [
        ("2026-02-06T21:00:00Z", "2026-02-09T21:00:00Z"),
        ("2026-02-06T21:07:13Z", "2026-02-08T03:59:59.999999Z"),
        ("2026-02-07T00:00:00Z", "2026-02-07T23:59:59.999999Z"),
        ("2026-02-07T05:30:00Z", "2026-02-07T05:45:00Z"),
        ("2026-02-07T22:14:09.5Z", "2026-02-09T01:00:00Z"),
        ("2026-02-07T10:00:00Z", "2026-02-07T13:00:00Z"),
        ("2026-02-07T23:00:00+05:30", "2026-02-08T09:15:00-03:00"),
    ];
    for (from, to) in ranges {
        let low = chrono::DateTime::parse_from_rfc3339(from).unwrap();
        let high = chrono::DateTime::parse_from_rfc3339(to).unwrap();
        let mut expected = Vec::new();
        for (tool, parity) in [("even", 0), ("odd", 1)] {
            let count = (instants.iter().enumerate())
                .filter(|(step, instant)| {
                    step % 2 == parity && **instant >= low && **instant <= high
                })
                .count();
            if count > 0 {
                expected.push((tool.to_owned(), count as i64));
            }
        }

        let counts = tool_counts(&app, from, to).await;

        assert_eq!(counts, expected, "{from} to {to}");
    }
}
