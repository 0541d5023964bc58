//! The MCP server through the rmcp client: over the streamable-HTTP endpoint of a real
//! server, and over stdio from `agentlens mcp`, both logging a `cost_tracked` event that
//! `/api/analytics/costs` then reports.

use std::collections::HashMap;
use std::net::SocketAddr;

use agentlens_collector::{open_state, run, ServeOptions};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::common::serve_options;

/// A collector serving on 127.0.0.1 until dropped.
pub struct Server {
    pub base_url: String,
    pub client: reqwest::Client,
    pub key: String,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

/// Starts the real server with authentication, a preset key and an hour-long alert
/// interval, on an ephemeral port.
pub async fn spawn_server() -> Server {
    spawn_server_with_prices(None).await
}

/// Starts the server of [`spawn_server`], with the price overrides file `prices` when given.
async fn spawn_server_with_prices(prices: Option<std::path::PathBuf>) -> Server {
    spawn_server_with(true, prices, 0).await
}

/// Starts the real server on an ephemeral port, with or without keys (the preset key is
/// created either way), price overrides and a rate limit.
pub(crate) async fn spawn_server_with(
    auth_enabled: bool,
    prices: Option<std::path::PathBuf>,
    rate_limit: u32,
) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let key = format!("als_{}", "cd".repeat(32));
    let options = ServeOptions {
        auth_enabled,
        preset_key: Some(key.clone()),
        prices,
        rate_limit,
        alerts: crate::common::test_alert_options(),
        ..serve_options(dir.path().join("agentlens.db"))
    };
    let state = open_state(&options).await.unwrap();
    let listener = TcpListener::bind(options.bind).await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(run(listener, state, options.alert_interval, async {
        let _ = stopped.await;
    }));
    // reqwest is built without a default crypto provider; an error means one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Server {
        base_url: format!("http://{address}"),
        client: reqwest::Client::new(),
        key,
        _stop: stop,
        _dir: dir,
    }
}

/// Returns the arguments of the README example: a `cost_tracked` event of $0.0042.
pub fn log_event_arguments(session_id: &str) -> Value {
    json!({
        "sessionId": session_id,
        "agentId": "support-bot",
        "eventType": "cost_tracked",
        "payload": {
            "provider": "openai",
            "model": "gpt-4o",
            "inputTokens": 1200,
            "outputTokens": 300,
            "totalTokens": 1500,
            "costUsd": 0.0042
        }
    })
}

async fn call(
    client: &RunningService<RoleClient, ()>,
    tool: &'static str,
    arguments: Value,
) -> CallToolResult {
    let arguments = arguments.as_object().unwrap().clone();
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
        .unwrap()
}

/// Lists the tools, runs a session with one `cost_tracked` event, and checks the costs
/// through the tool and through the HTTP API.
async fn exercise(client: &RunningService<RoleClient, ()>, server: &Server) {
    let mut names: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|tool| tool.name.to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "agentlens_get_costs",
            "agentlens_log_event",
            "agentlens_quote_price",
            "agentlens_session_end",
            "agentlens_session_start"
        ]
    );

    let started = call(
        client,
        "agentlens_session_start",
        json!({"agentId": "support-bot"}),
    )
    .await;
    assert_ne!(started.is_error, Some(true), "{started:?}");
    let session_id = started.structured_content.unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();

    let logged = call(
        client,
        "agentlens_log_event",
        log_event_arguments(&session_id),
    )
    .await;
    assert_ne!(logged.is_error, Some(true), "{logged:?}");
    assert_eq!(
        logged.structured_content.unwrap()["id"]
            .as_str()
            .unwrap()
            .len(),
        26
    );

    let mut invalid = log_event_arguments(&session_id);
    invalid["payload"]
        .as_object_mut()
        .unwrap()
        .remove("costUsd");
    invalid["payload"]["model"] = json!("");
    let rejected = call(client, "agentlens_log_event", invalid).await;
    assert_eq!(rejected.is_error, Some(true));
    let text = serde_json::to_string(&rejected.content).unwrap();
    assert!(text.contains("payload.model"), "{text}");

    let ended = call(
        client,
        "agentlens_session_end",
        json!({"sessionId": session_id, "reason": "completed", "summary": "done"}),
    )
    .await;
    assert_ne!(ended.is_error, Some(true), "{ended:?}");

    let costs = call(
        client,
        "agentlens_get_costs",
        json!({"agentId": "support-bot"}),
    )
    .await;
    let from_tool = costs.structured_content.unwrap();
    let from_http: Value = server
        .client
        .get(format!(
            "{}/api/analytics/costs?agentId=support-bot",
            server.base_url
        ))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        from_http["totals"]["totalCostUsd"],
        json!(0.0042),
        "{from_http}"
    );
    assert_eq!(from_tool["totals"], from_http["totals"]);
    assert_eq!(from_tool["bySession"], from_http["bySession"]);

    // A zone east of UTC starts its days earlier, so the day buckets differ from UTC's.
    let zoned = call(
        client,
        "agentlens_get_costs",
        json!({"agentId": "support-bot", "tz": "Asia/Kathmandu"}),
    )
    .await;
    let zoned = zoned.structured_content.unwrap();
    let zoned_http: Value = server
        .client
        .get(format!(
            "{}/api/analytics/costs?agentId=support-bot&tz=Asia/Kathmandu",
            server.base_url
        ))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(zoned["overTime"], zoned_http["overTime"]);
    let first_bucket = zoned["overTime"][0]["bucket"].as_str().unwrap();
    assert!(first_bucket.ends_with("+05:45"), "{zoned}");

    let misspelt = json!({"agentId": "support-bot", "timezone": "Asia/Kathmandu"});
    let misspelt = client
        .call_tool(
            CallToolRequestParams::new("agentlens_get_costs")
                .with_arguments(misspelt.as_object().unwrap().clone()),
        )
        .await;
    let text = format!("{misspelt:?}");
    assert!(text.contains("unknown field `timezone`"), "{text}");

    let session: Value = server
        .client
        .get(format!("{}/api/sessions/{session_id}", server.base_url))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["status"], "completed", "{session}");

    let quote = call(
        client,
        "agentlens_quote_price",
        json!({"provider": "openai", "model": "gpt-4o",
            "usage": {"inputTokens": 1000000, "outputTokens": 0}}),
    )
    .await;
    assert_eq!(quote.structured_content.unwrap()["status"], "priced");
}

#[tokio::test]
async fn mcp_over_streamable_http_logs_costs() {
    let server = spawn_server().await;
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", server.base_url))
        .auth_header(server.key.clone());
    let transport = StreamableHttpClientTransport::from_config(config);
    let client = ().serve(transport).await.unwrap();

    exercise(&client, &server).await;
    client.cancel().await.unwrap();
}

/// Quotes `arguments` through the MCP tool and through `POST /api/pricing/quote`, and
/// returns both replies.
async fn quote_both_ways(
    client: &RunningService<RoleClient, ()>,
    server: &Server,
    arguments: Value,
) -> (Value, Value) {
    let tool = call(client, "agentlens_quote_price", arguments.clone()).await;
    assert_ne!(tool.is_error, Some(true), "{tool:?}");
    let http = server
        .client
        .post(format!("{}/api/pricing/quote", server.base_url))
        .bearer_auth(&server.key)
        .json(&arguments)
        .send()
        .await
        .unwrap();
    assert_eq!(http.status(), 200);
    (tool.structured_content.unwrap(), http.json().await.unwrap())
}

#[tokio::test]
async fn mcp_quote_uses_server_prices() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prices.toml");
    let overrides = "[[models]]\nprovider = \"openai\"\nmodel = \"gpt-4o\"\n\
                     input_mtok = \"10\"\noutput_mtok = \"20\"\n";
    std::fs::write(&file, overrides).unwrap();
    let server = spawn_server_with_prices(Some(file)).await;
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", server.base_url))
        .auth_header(server.key.clone());
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();
    let usage = json!({"inputTokens": 1_000_000, "outputTokens": 1_000_000});

    let overridden = json!({"provider": "openai", "model": "gpt-4o", "usage": usage,
        "at": "2026-06-01T12:00:00Z"});
    let (tool, http) = quote_both_ways(&client, &server, overridden).await;
    let flex = json!({"provider": "openai", "model": "gpt-5", "usage": usage,
        "serviceTier": "flex"});
    let (tool_flex, http_flex) = quote_both_ways(&client, &server, flex).await;
    let standard = json!({"provider": "openai", "model": "gpt-5", "usage": usage});
    let tool_standard = call(&client, "agentlens_quote_price", standard).await;
    let blank_tier = json!({"provider": "openai", "model": "gpt-5", "usage": usage,
        "serviceTier": ""});
    let rejected = call(&client, "agentlens_quote_price", blank_tier).await;
    client.cancel().await.unwrap();

    assert_eq!(tool["total"], json!(30), "{tool}");
    assert!(tool["source"].as_str().unwrap().starts_with("overrides "));
    assert_eq!(tool["at"], "2026-06-01T12:00:00Z");
    assert_eq!(tool["pricingVersion"], http["pricingVersion"]);
    assert_eq!(
        tool_flex["priceVariant"], "service_tier=flex",
        "{tool_flex}"
    );
    assert_eq!(tool_flex["total"], http_flex["total"]);
    let standard = tool_standard.structured_content.unwrap();
    assert_ne!(tool_flex["total"], standard["total"], "{standard}");
    assert_eq!(rejected.is_error, Some(true), "{rejected:?}");
    assert!(
        format!("{rejected:?}").contains("serviceTier"),
        "{rejected:?}"
    );
}

#[tokio::test]
async fn mcp_endpoint_requires_the_key() {
    let server = spawn_server().await;
    let reply = server
        .client
        .post(format!("{}/mcp", server.base_url))
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401);
}

/// Creates a key with `scopes` through `POST /api/keys` and returns it.
pub async fn create_key(server: &Server, scopes: &[&str]) -> String {
    let reply = server
        .client
        .post(format!("{}/api/keys", server.base_url))
        .bearer_auth(&server.key)
        .json(&json!({"name": "mcp test", "scopes": scopes}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let body: Value = reply.json().await.unwrap();
    body["key"].as_str().unwrap().to_owned()
}

/// Connects an rmcp client to the `/mcp` endpoint of `server` with `key`.
async fn connect(server: &Server, key: &str) -> RunningService<RoleClient, ()> {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", server.base_url))
        .auth_header(key.to_owned());
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .unwrap()
}

/// Returns the number of events stored for `session_id`, read with the admin key.
async fn stored_event_count(server: &Server, session_id: &str) -> usize {
    let reply = server
        .client
        .get(format!(
            "{}/api/events?sessionId={session_id}",
            server.base_url
        ))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap();
    let body: Value = reply.json().await.unwrap();
    body["events"].as_array().unwrap().len()
}

#[tokio::test]
async fn read_key_initializes_lists_and_reads() {
    let server = spawn_server().await;
    let reader = create_key(&server, &["read"]).await;
    let client = connect(&server, &reader).await;

    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 5);
    let read_only: Vec<&str> = tools
        .iter()
        .filter(|tool| tool.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true))
        .map(|tool| tool.name.as_ref())
        .collect();
    assert_eq!(read_only, ["agentlens_get_costs", "agentlens_quote_price"]);

    let costs = call(
        &client,
        "agentlens_get_costs",
        json!({"agentId": "support-bot"}),
    )
    .await;
    assert_ne!(costs.is_error, Some(true), "{costs:?}");
    assert!(costs.structured_content.unwrap()["totals"].is_object());
    let quote = call(
        &client,
        "agentlens_quote_price",
        json!({"provider": "openai", "model": "gpt-4o",
            "usage": {"inputTokens": 1000, "outputTokens": 0}}),
    )
    .await;
    assert_ne!(quote.is_error, Some(true), "{quote:?}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn unknown_tool_error_lists_tools() {
    let server = spawn_server().await;
    let reader = create_key(&server, &["read"]).await;
    let client = connect(&server, &reader).await;

    let request = CallToolRequestParams::new("agentlens_get_cost");
    let error = client.call_tool(request).await.unwrap_err().to_string();
    assert!(error.contains("\"agentlens_get_cost\""), "{error}");
    assert!(error.contains("agentlens_get_costs"), "{error}");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn invalid_tool_arguments_name_the_argument() {
    let server = spawn_server().await;
    let client = connect(&server, &server.key).await;
    let cases = [
        (
            "agentlens_log_event",
            json!({"sessionId": null, "eventType": "custom", "payload": {}}),
            "sessionId: invalid type: null, expected a string",
        ),
        (
            "agentlens_session_start",
            json!({"agentId": "a1", "tags": ["ok", 7]}),
            "tags[1]: invalid type: integer `7`, expected a string",
        ),
        (
            "agentlens_session_end",
            json!({"sessionId": "s1"}),
            "missing field `reason`",
        ),
    ];
    for (tool, arguments, expected) in cases {
        let result = call(&client, tool, arguments).await;
        assert_eq!(result.is_error, Some(true), "{tool}");
        let text = &result.content[0].as_text().unwrap().text;
        assert!(
            text.starts_with("failed to deserialize parameters: "),
            "{tool}: {text}"
        );
        assert!(text.contains(expected), "{tool}: {text}");
    }
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn read_key_cannot_call_writing_tools() {
    let server = spawn_server().await;
    let reader = create_key(&server, &["read"]).await;
    let client = connect(&server, &reader).await;

    let logged = call(
        &client,
        "agentlens_log_event",
        log_event_arguments("ses_read_key"),
    )
    .await;
    let started = call(
        &client,
        "agentlens_session_start",
        json!({"agentId": "support-bot"}),
    )
    .await;
    let ended = call(
        &client,
        "agentlens_session_end",
        json!({"sessionId": "ses_read_key", "agentId": "support-bot", "reason": "manual"}),
    )
    .await;
    client.cancel().await.unwrap();

    for (tool, result) in [
        ("agentlens_log_event", logged),
        ("agentlens_session_start", started),
        ("agentlens_session_end", ended),
    ] {
        assert_eq!(result.is_error, Some(true), "{tool}: {result:?}");
        let text = serde_json::to_string(&result.content).unwrap();
        assert!(text.contains(tool), "{text}");
        assert!(text.contains("write scope"), "{text}");
        let body = result.structured_content.unwrap();
        assert_eq!(body["error"], "Insufficient permissions", "{body}");
        assert_eq!(body["required"], "member", "{body}");
        assert_eq!(body["current"], "viewer", "{body}");
    }
    assert_eq!(stored_event_count(&server, "ses_read_key").await, 0);
    let sessions: Value = server
        .client
        .get(format!("{}/api/sessions", server.base_url))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sessions["sessions"], json!([]), "{sessions}");
}

#[tokio::test]
async fn write_key_still_logs_through_mcp() {
    let server = spawn_server().await;
    let writer = create_key(&server, &["write"]).await;
    let client = connect(&server, &writer).await;
    let logged = call(
        &client,
        "agentlens_log_event",
        log_event_arguments("ses_write_key"),
    )
    .await;
    client.cancel().await.unwrap();

    assert_ne!(logged.is_error, Some(true), "{logged:?}");
    assert_eq!(stored_event_count(&server, "ses_write_key").await, 1);
}

/// Posts `body` as `application/json` to `/mcp` with the admin key and returns the status,
/// the content type and the JSON body.
async fn post_raw(server: &Server, body: impl Into<reqwest::Body>) -> (u16, String, Value) {
    let reply = server
        .client
        .post(format!("{}/mcp", server.base_url))
        .bearer_auth(&server.key)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    let content_type = reply.headers()["content-type"].to_str().unwrap().to_owned();
    let text = reply.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, content_type, json)
}

#[tokio::test]
async fn non_json_body_gets_a_jsonrpc_parse_error() {
    let server = spawn_server().await;
    let (status, content_type, body) = post_raw(&server, "tools/list please").await;

    assert_eq!(status, 400);
    assert_eq!(content_type, "application/json");
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], Value::Null);
    assert!(body.as_object().unwrap().contains_key("id"), "{body}");
    assert_eq!(body["error"]["code"], -32700, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));
}

#[tokio::test]
async fn non_jsonrpc_json_gets_invalid_request() {
    let server = spawn_server().await;
    let cases = [
        r#"{"hello": "world"}"#,
        r#"[{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}]"#,
        r#"{"jsonrpc": "1.0", "id": 1, "method": "tools/list"}"#,
    ];
    for case in cases {
        let (status, content_type, body) = post_raw(&server, case).await;
        assert_eq!(status, 400, "{case}");
        assert_eq!(content_type, "application/json", "{case}");
        assert_eq!(body["jsonrpc"], "2.0", "{case}");
        assert_eq!(body["id"], Value::Null, "{case}");
        assert_eq!(body["error"]["code"], -32600, "{case}: {body}");
    }
}

#[tokio::test]
async fn valid_message_passes_the_jsonrpc_check() {
    let server = spawn_server().await;
    let (status, _, body) = post_raw(
        &server,
        r#"{"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "curl", "version": "1"}}}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], 7, "{body}");
    assert_eq!(body["result"]["serverInfo"]["name"], "agentlens", "{body}");
}

#[tokio::test]
async fn long_input_is_not_echoed() {
    let server = spawn_server().await;
    let long = "m".repeat(2_000_000);
    let method = json!({"jsonrpc": "2.0", "id": 7, "method": long});
    let tool = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call",
        "params": {"name": long, "arguments": {}}});
    let argument = json!({"jsonrpc": "2.0", "id": 10, "method": "tools/call",
        "params": {"name": "agentlens_session_end",
            "arguments": {"sessionId": "ses_long_reason", "reason": long}}});
    let list = r#"{"jsonrpc": "2.0", "id": 9, "method": "tools/list"}"#;

    // Each length is checked first, so a failure does not print a 2 MB reply.
    let (status, _, body) = post_raw(&server, method.to_string()).await;
    let length = body.to_string().len();
    assert!(length < 1000, "method echoed: {length} bytes");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert_eq!(body["id"], 7, "{body}");
    assert_eq!(body["error"]["code"], -32601, "{body}");

    let (status, _, body) = post_raw(&server, tool.to_string()).await;
    let length = body.to_string().len();
    assert!(length < 2000, "tool name echoed: {length} bytes");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert_eq!(body["id"], 8, "{body}");
    assert_eq!(body["error"]["code"], -32602, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("unknown tool \"mmm"), "{message}");
    assert!(message.contains("bytes in all"), "{message}");
    assert!(message.contains("agentlens_log_event"), "{message}");

    // serde quotes the value of an unknown enum variant in its error, and rmcp returns
    // that error as a tool result.
    let (status, _, body) = post_raw(&server, argument.to_string()).await;
    let length = body.to_string().len();
    assert!(length < 2000, "argument echoed: {length} bytes");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], 10, "{body}");
    assert_eq!(body["result"]["isError"], true, "{body}");
    let text = body["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("failed to deserialize parameters"),
        "{text}"
    );
    assert!(text.contains("bytes in all"), "{text}");

    let (status, _, body) = post_raw(&server, list).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], 9, "{body}");
    assert!(body["result"]["tools"].is_array(), "{body}");
}

/// Posts `body` as `application/json` to `/mcp` with the admin key and returns the status
/// and the body text.
async fn post_text(server: &Server, body: String) -> (u16, String) {
    let reply = server
        .client
        .post(format!("{}/mcp", server.base_url))
        .bearer_auth(&server.key)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    (status, reply.text().await.unwrap())
}

#[tokio::test]
async fn invalid_notification_gets_no_reply() {
    let server = spawn_server().await;
    let long_method = json!({"jsonrpc": "2.0", "method": "m".repeat(2_000_000)});
    let array_params =
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": [1]});
    let unknown = json!({"jsonrpc": "2.0", "method": "notifications/vendor_event"});

    // rmcp returns an empty 202 for a notification that it accepts, so the dropped ones
    // get the same response.
    let (status, text) = post_text(&server, unknown.to_string()).await;
    assert_eq!(status, 202, "{text}");
    assert_eq!(text, "");

    for notification in [long_method, array_params] {
        let (status, text) = post_text(&server, notification.to_string()).await;
        assert!(text.len() < 1000, "reply has {} bytes", text.len());
        assert_eq!(status, 202, "{text}");
        assert_eq!(text, "", "a notification got a reply");
    }

    let request = json!({"jsonrpc": "2.0", "id": 4, "method": "m".repeat(300)});
    let (status, _, body) = post_raw(&server, request.to_string()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["id"], 4, "{body}");
    assert_eq!(body["error"]["code"], -32601, "{body}");
}

#[tokio::test]
async fn mcp_rejections_use_the_api_error_body() {
    let server = spawn_server().await;
    let not_acceptable = server
        .client
        .post(format!("{}/mcp", server.base_url))
        .bearer_auth(&server.key)
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    let unsupported = server
        .client
        .post(format!("{}/mcp", server.base_url))
        .bearer_auth(&server.key)
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "text/plain")
        .body(r#"{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}"#)
        .send()
        .await
        .unwrap();

    for (reply, status, mentions) in [
        (not_acceptable, 406, "text/event-stream"),
        (unsupported, 415, "application/json"),
    ] {
        assert_eq!(reply.status(), status);
        assert_eq!(reply.headers()["content-type"], "application/json");
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["status"], status, "{body}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(mentions), "{body}");
    }
}

#[tokio::test]
async fn mcp_over_stdio_logs_costs() {
    let server = spawn_server().await;
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_agentlens")).configure(|cmd| {
        cmd.arg("mcp")
            .arg("--url")
            .arg(&server.base_url)
            .arg("--api-key")
            .arg(&server.key)
            .env_remove("AGENTLENS_API_KEY")
            .env("RUST_LOG", "warn");
    });
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();

    exercise(&client, &server).await;

    // Without agentId, session_end reads the agent of the stored session.
    let unknown = call(
        &client,
        "agentlens_session_end",
        json!({"sessionId": "ses_never_started", "reason": "manual"}),
    )
    .await;
    assert_eq!(unknown.is_error, Some(true));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn mcp_reads_agentlens_server_url() {
    let server = spawn_server().await;
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_agentlens")).configure(|cmd| {
        cmd.arg("mcp")
            .arg("--api-key")
            .arg(&server.key)
            .env_remove("AGENTLENS_URL")
            .env("AGENTLENS_SERVER_URL", &server.base_url)
            .env_remove("AGENTLENS_API_KEY")
            .env("RUST_LOG", "warn");
    });
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();

    let logged = call(
        &client,
        "agentlens_log_event",
        log_event_arguments("ses_env_url"),
    )
    .await;
    assert_ne!(logged.is_error, Some(true), "{logged:?}");
    client.cancel().await.unwrap();

    let stored = server
        .client
        .get(format!(
            "{}/api/events?sessionId=ses_env_url",
            server.base_url
        ))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap();
    let body: Value = stored.json().await.unwrap();
    assert_eq!(body["events"].as_array().unwrap().len(), 1, "{body}");
}

#[test]
fn mcp_help_names_both_url_variables() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_agentlens"))
        .args(["mcp", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("AGENTLENS_URL"), "{help}");
    assert!(help.contains("AGENTLENS_SERVER_URL"), "{help}");
}

/// Stores three `cost_tracked` events of $9223372.036854775807 on 2026-11-04. Their exact
/// sum, 27670116.110564327421, has more digits than an `f64` keeps.
pub async fn store_large_costs(server: &Server) {
    let events: Vec<Value> = (0..3)
        .map(|index| {
            json!({"sessionId": format!("ses_large_{index}"), "agentId": "big-spender",
                "eventType": "cost_tracked", "timestamp": "2026-11-04T10:00:00Z",
                "payload": {"provider": "openai", "model": "gpt-4o", "inputTokens": 1,
                    "outputTokens": 1, "costUsd": "9223372.036854775807"}})
        })
        .collect();
    let reply = server
        .client
        .post(format!("{}/api/events", server.base_url))
        .bearer_auth(&server.key)
        .json(&json!({ "events": events }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201, "{}", reply.text().await.unwrap());
}

/// Returns the body text of an API request with the admin key.
async fn api_text(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> String {
    let mut request = server
        .client
        .request(method, format!("{}{path}", server.base_url))
        .bearer_auth(&server.key);
    if let Some(body) = body {
        request = request.json(body);
    }
    let reply = request.send().await.unwrap();
    assert!(reply.status().is_success(), "{path}: {}", reply.status());
    reply.text().await.unwrap()
}

/// Returns the `/api/analytics/costs` body of the day of [`store_large_costs`].
pub async fn large_costs_api(server: &Server) -> String {
    let path = "/api/analytics/costs?from=2026-11-04&to=2026-11-04";
    api_text(server, reqwest::Method::GET, path, None).await
}

/// Asserts that the serialized tool result `message` repeats the API body `api` unchanged,
/// as its `structuredContent` and as its text block, and that `api` contains `digits`.
pub fn assert_result_is_api_body(message: &str, api: &str, digits: &str) {
    let (structured, text) = tool_result_texts(message);
    assert!(api.contains(digits), "{api}");
    assert_eq!(structured, api);
    assert_eq!(text, api);
}

/// Returns the `structuredContent` text and the text block of a serialized tool result.
fn tool_result_texts(message: &str) -> (String, String) {
    let message: HashMap<String, Box<RawValue>> =
        serde_json::from_str(message).unwrap_or_else(|_| panic!("not JSON: {message}"));
    let result: HashMap<String, Box<RawValue>> =
        serde_json::from_str(message["result"].get()).unwrap();
    let content: Value = serde_json::from_str(result["content"].get()).unwrap();
    let text = content[0]["text"].as_str().unwrap().to_owned();
    (result["structuredContent"].get().to_owned(), text)
}

/// Sends one `tools/call` message to `/mcp` and returns the response body text.
async fn call_over_http(server: &Server, tool: &str, arguments: Value) -> String {
    let message = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}});
    let reply = server
        .client
        .post(format!("{}/mcp", server.base_url))
        .bearer_auth(&server.key)
        .header("accept", "application/json, text/event-stream")
        .json(&message)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    reply.text().await.unwrap()
}

#[tokio::test]
async fn mcp_over_http_keeps_exact_decimals() {
    let server = spawn_server().await;
    store_large_costs(&server).await;
    let range = json!({"from": "2026-11-04", "to": "2026-11-04"});
    let quote = json!({"provider": "openai", "model": "gpt-4o", "at": "2026-06-01T12:00:00Z",
        "usage": {"inputTokens": 1, "outputTokens": 0}});

    let costs = call_over_http(&server, "agentlens_get_costs", range).await;
    let costs_api = large_costs_api(&server).await;
    let quoted = call_over_http(&server, "agentlens_quote_price", quote.clone()).await;
    let quoted_api = api_text(
        &server,
        reqwest::Method::POST,
        "/api/pricing/quote",
        Some(&quote),
    )
    .await;

    assert_result_is_api_body(&costs, &costs_api, "27670116.110564327421");
    assert_result_is_api_body(&quoted, &quoted_api, "0.0000025");
}

#[tokio::test]
async fn tool_calls_count_in_callers_ip_window() {
    let server = spawn_server_with(false, None, 3).await;
    for _ in 0..3 {
        let url = format!("{}/api/sessions", server.base_url);
        let reply = server.client.get(url).send().await.unwrap();
        assert_eq!(reply.status(), 200);
    }
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", server.base_url));
    let client = ().serve(StreamableHttpClientTransport::from_config(config)).await.unwrap();

    // The address used up its window, so the tool's API call is over the limit too.
    let result = call(&client, "agentlens_get_costs", json!({})).await;

    assert_eq!(result.is_error, Some(true));
    let text = format!("{:?}", result.content);
    assert!(text.contains("429"), "{text}");
    client.cancel().await.unwrap();
}
