//! `GET /api/analytics/agents` and `GET /api/analytics/tools`.

use axum::http::StatusCode;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::common::{app, cost_event, llm_response, tool_call, tool_error, tool_response, TestApp};

const DAY: &str = "from=2026-02-07&to=2026-02-07";

fn session_edge(session: &str, agent: &str, event_type: &str, timestamp: &str) -> Value {
    let payload = if event_type == "session_ended" {
        json!({"reason": "completed"})
    } else {
        json!({})
    };
    json!({"sessionId": session, "agentId": agent, "eventType": event_type,
        "timestamp": timestamp, "payload": payload})
}

fn named_tool_call(session: &str, agent: &str, tool: &str, timestamp: &str) -> Value {
    let mut event = tool_call(session, agent, timestamp);
    event["payload"]["toolName"] = json!(tool);
    event
}

/// Seeds agent a1 with two ended sessions (5 and 10 minutes), agent a2 with two open
/// sessions, one of them with a superseded `cost_tracked`, and agent a3 with a session
/// on the next day.
async fn seeded() -> TestApp {
    let app = app().await;
    let mut tracked = cost_event("s3", "a2", "gpt-4.1", json!(5), "2026-02-07T12:00:01Z");
    tracked["payload"]["callId"] = json!("dup");
    let mut response = llm_response(
        "s3",
        "a2",
        "gpt-4.1",
        json!("0.000000000001"),
        "2026-02-07T12:00:00Z",
    );
    response["payload"]["callId"] = json!("dup");
    let reply = app
        .ingest(vec![
            session_edge("s1", "a1", "session_started", "2026-02-07T10:00:00Z"),
            tool_call("s1", "a1", "2026-02-07T10:01:00Z"),
            tool_response("s1", "a1", "search", 100, "2026-02-07T10:02:00Z"),
            cost_event("s1", "a1", "gpt-4.1", json!(0.1), "2026-02-07T10:03:00Z"),
            session_edge("s1", "a1", "session_ended", "2026-02-07T10:05:00Z"),
            tool_call("s2", "a1", "2026-02-07T11:00:00Z"),
            tool_error("s2", "a1", "search", 300, "2026-02-07T11:01:00Z"),
            named_tool_call("s2", "a1", "fetch", "2026-02-07T11:02:00Z"),
            tool_response("s2", "a1", "fetch", 50, "2026-02-07T11:03:00Z"),
            session_edge("s2", "a1", "session_ended", "2026-02-07T11:10:00Z"),
            response,
            tracked,
            tool_call("s4", "a2", "2026-02-07T12:30:00Z"),
            tool_call("s5", "a3", "2026-02-08T09:00:00Z"),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    app
}

#[tokio::test]
async fn agents_sum_their_sessions() {
    let app = seeded().await;
    let reply = app.get(&format!("/api/analytics/agents?{DAY}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let agents = reply.json["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 2, "a3's session starts the next day");

    let a1 = &agents[0];
    assert_eq!(a1["agentId"], "a1");
    assert_eq!(a1["sessionCount"], 2);
    assert_eq!(a1["totalEvents"], 10);
    assert_eq!(a1["totalErrors"], 1);
    assert_eq!(a1["errorRate"], 0.1);
    assert_eq!(a1["avgDurationMs"], 450_000.0);

    let a2 = &agents[1];
    assert_eq!(a2["agentId"], "a2");
    assert_eq!(a2["sessionCount"], 2);
    assert_eq!(a2["totalEvents"], 3);
    assert_eq!(a2["totalErrors"], 0);
    assert_eq!(a2["errorRate"], 0.0);
    assert_eq!(a2["avgDurationMs"], 0.0, "no session of a2 has ended");
}

#[tokio::test]
async fn agent_costs_are_exact_under_cost_rule() {
    #[derive(serde::Deserialize)]
    struct Agent {
        #[serde(rename = "totalCostUsd")]
        total: Box<RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        agents: Vec<Agent>,
    }

    let app = seeded().await;
    let reply = app.get(&format!("/api/analytics/agents?{DAY}")).await;
    let body: Body = serde_json::from_str(&reply.text).unwrap();
    assert_eq!(body.agents[0].total.get(), "0.1");
    // The cost_tracked of 5 shares its callId with the llm_response, so only 1e-12 counts.
    assert_eq!(body.agents[1].total.get(), "0.000000000001");
}

/// Returns each agent's `totalCostUsd` text from `/api/analytics/agents` and its
/// `totalCostUsd` text in `byAgent` of `/api/analytics/costs`, for the same range.
async fn agent_costs_both_ways(app: &TestApp, range: &str) -> (Vec<String>, Vec<String>) {
    let agents = app.get(&format!("/api/analytics/agents?{range}")).await;
    assert_eq!(agents.status, StatusCode::OK, "{}", agents.text);
    let costs = app.get(&format!("/api/analytics/costs?{range}")).await;
    assert_eq!(costs.status, StatusCode::OK, "{}", costs.text);

    let mut from_agents: Vec<String> = agents.json["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|agent| format!("{} {}", agent["agentId"], agent["totalCostUsd"]))
        .collect();
    let mut from_costs: Vec<String> = costs.json["byAgent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|agent| format!("{} {}", agent["agentId"], agent["totalCostUsd"]))
        .collect();
    from_agents.sort();
    from_costs.sort();
    (from_agents, from_costs)
}

#[tokio::test]
async fn agents_in_one_session_are_credited_apart() {
    let app = app().await;
    let reply = app
        .ingest(vec![
            cost_event(
                "shared",
                "first",
                "gpt-4.1",
                json!("2.45"),
                "2026-02-07T10:00:00Z",
            ),
            cost_event(
                "shared",
                "other",
                "gpt-4.1",
                json!("5"),
                "2026-02-07T10:01:00Z",
            ),
            tool_error("shared", "other", "search", 10, "2026-02-07T10:02:00Z"),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let reply = app.get(&format!("/api/analytics/agents?{DAY}")).await;
    let agents = reply.json["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 2, "{}", reply.text);
    let other = agents
        .iter()
        .find(|agent| agent["agentId"] == "other")
        .unwrap();
    assert_eq!(other["totalCostUsd"], json!(5));
    assert_eq!(other["sessionCount"], 1);
    assert_eq!(other["totalEvents"], 2);
    assert_eq!(other["totalErrors"], 1);
    let (from_agents, from_costs) = agent_costs_both_ways(&app, DAY).await;
    assert_eq!(from_agents, from_costs);
}

#[tokio::test]
async fn agents_count_only_events_in_range() {
    let app = app().await;
    let reply = app
        .ingest(vec![
            cost_event("long", "a1", "gpt-4.1", json!("1"), "2026-02-06T23:00:00Z"),
            cost_event("long", "a1", "gpt-4.1", json!("2"), "2026-02-07T01:00:00Z"),
            cost_event("long", "a1", "gpt-4.1", json!("4"), "2026-02-08T01:00:00Z"),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let reply = app.get(&format!("/api/analytics/agents?{DAY}")).await;
    let agents = reply.json["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "{}", reply.text);
    assert_eq!(agents[0]["totalCostUsd"], json!(2));
    assert_eq!(agents[0]["totalEvents"], 1);
    assert_eq!(agents[0]["sessionCount"], 1);
    let (from_agents, from_costs) = agent_costs_both_ways(&app, DAY).await;
    assert_eq!(from_agents, from_costs);
}

#[tokio::test]
async fn agents_filter_by_agent_id() {
    let app = seeded().await;
    let reply = app
        .get(&format!("/api/analytics/agents?{DAY}&agentId=a2"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let agents = reply.json["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "{}", reply.text);
    assert_eq!(agents[0]["agentId"], "a2");
    assert_eq!(agents[0]["totalEvents"], 3);
}

#[tokio::test]
async fn agents_default_to_last_day() {
    let app = seeded().await;
    let reply = app.get("/api/analytics/agents").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json, json!({"agents": []}));
    let bad = app
        .get("/api/analytics/agents?from=2026-02-08&to=2026-02-07")
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tools_count_calls_not_responses() {
    let app = seeded().await;
    let reply = app.get(&format!("/api/analytics/tools?{DAY}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let tools = reply.json["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 2);

    // Upstream counts the 3 calls, 1 response and 1 error of `search` as 5 calls.
    let search = &tools[0];
    assert_eq!(search["toolName"], "search");
    assert_eq!(search["callCount"], 3);
    assert_eq!(search["errorCount"], 1);
    assert_eq!(search["errorRate"].as_f64().unwrap(), 1.0 / 3.0);
    assert_eq!(search["avgDurationMs"], 200.0);

    let fetch = &tools[1];
    assert_eq!(fetch["toolName"], "fetch");
    assert_eq!(fetch["callCount"], 1);
    assert_eq!(fetch["errorCount"], 0);
    assert_eq!(fetch["errorRate"], 0.0);
    assert_eq!(fetch["avgDurationMs"], 50.0);
}

#[tokio::test]
async fn tools_filter_by_agent_and_range() {
    let app = seeded().await;
    let a2 = app
        .get(&format!("/api/analytics/tools?{DAY}&agentId=a2"))
        .await
        .json;
    assert_eq!(
        a2,
        json!({"tools": [{"toolName": "search", "callCount": 1, "errorCount": 0,
            "errorRate": 0.0, "avgDurationMs": 0.0}]})
    );
    let next_day = app
        .get("/api/analytics/tools?from=2026-02-08&to=2026-02-08")
        .await
        .json;
    assert_eq!(next_day["tools"][0]["callCount"], 1);
    assert_eq!(
        app.get("/api/analytics/tools").await.json,
        json!({"tools": []})
    );
}

#[tokio::test]
async fn alert_sessions_are_not_agent_sessions() {
    let app = app().await;
    let rule = json!({"name": "busy", "condition": "event_count_exceeds", "threshold": 0,
        "windowMinutes": 60, "scope": {"agentId": "a1"}});
    let created = app.post("/api/alerts/rules", &rule).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let rule_id = created.json["id"].as_str().unwrap().to_owned();
    let reply = app
        .ingest(vec![tool_call("s1", "a1", "2026-02-07T10:00:00Z")])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let now = chrono::DateTime::parse_from_rfc3339("2026-02-07T10:30:00Z").unwrap();
    let transitions = app.state.alerts.evaluate_at(now.to_utc()).await.unwrap();
    assert_eq!(transitions.len(), 1, "{transitions:?}");

    let agents = app.get(&format!("/api/analytics/agents?{DAY}")).await.json;
    let sessions = app.get("/api/sessions").await.json;

    let alert_session = format!("agentlens-alerts-{rule_id}");
    let listed: Vec<&str> = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["id"].as_str().unwrap())
        .collect();
    assert!(listed.contains(&alert_session.as_str()), "{sessions}");
    assert_eq!(agents["agents"][0]["agentId"], "a1", "{agents}");
    assert_eq!(agents["agents"][0]["totalEvents"], 2, "{agents}");
    assert_eq!(agents["agents"][0]["sessionCount"], 1, "{agents}");
}
