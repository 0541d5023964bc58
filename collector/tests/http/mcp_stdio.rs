//! `agentlens mcp` on stdio, driven line by line: input lines that are not JSON-RPC
//! messages, a configured key that lacks the write scope, arguments too long for a
//! request URI, and methods, tool names and lines too long to echo.

use std::process::Stdio;

use rmcp::model::CallToolRequestParams;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::ServiceExt;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::task::JoinHandle;

use crate::mcp::{
    assert_result_is_api_body, create_key, large_costs_api, log_event_arguments, spawn_server,
    store_large_costs, Server,
};

/// Starts `agentlens mcp` against `server` with its admin key, and returns the process with
/// its input and its output lines.
fn spawn_stdio(server: &Server) -> (Child, ChildStdin, Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentlens"))
        .args(["mcp", "--url", &server.base_url, "--api-key", &server.key])
        .env_remove("AGENTLENS_API_KEY")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let input = child.stdin.take().unwrap();
    let output = BufReader::new(child.stdout.take().unwrap()).lines();
    (child, input, output)
}

/// Returns the MCP `initialize` request, the first message a client sends.
fn initialize_request() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}})
}

/// Returns the next output line as JSON.
async fn next_message(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let line = lines.next_line().await.unwrap().expect("output ended");
    serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"))
}

fn assert_parse_error(message: &Value) {
    assert_eq!(message["jsonrpc"], "2.0", "{message}");
    assert!(message.as_object().unwrap().contains_key("id"), "{message}");
    assert_eq!(message["id"], Value::Null, "{message}");
    assert_eq!(message["error"]["code"], -32700, "{message}");
}

#[tokio::test]
async fn stdio_non_json_line_gets_parse_error() {
    let server = spawn_server().await;
    let (mut child, mut input, mut output) = spawn_stdio(&server);
    let initialize = initialize_request();
    let ready = r#"{"jsonrpc": "2.0", "method": "notifications/initialized"}"#;
    let truncated = r#"{"jsonrpc": "2.0", "id": 2,"#;
    let ping = r#"{"jsonrpc": "2.0", "id": 3, "method": "ping"}"#;

    // The server replies to a bad line as soon as it reads it, so each step waits for its replies
    // before sending the next lines, which keeps the order of the output fixed. Each reply
    // is checked as it arrives, because a server that skips a line sends one reply less.
    let first = format!("not json\n{initialize}\n");
    input.write_all(first.as_bytes()).await.unwrap();
    assert_parse_error(&next_message(&mut output).await);
    let initialized = next_message(&mut output).await;
    assert_eq!(initialized["id"], 1, "{initialized}");
    assert_eq!(initialized["result"]["serverInfo"]["name"], "agentlens");

    let second = format!("{ready}\n{truncated}\n{ping}\n");
    input.write_all(second.as_bytes()).await.unwrap();
    assert_parse_error(&next_message(&mut output).await);
    let pong = next_message(&mut output).await;
    assert_eq!(pong["id"], 3, "{pong}");
    assert!(pong["result"].is_object(), "{pong}");

    drop(input);
    child.wait().await.unwrap();
}

#[tokio::test]
async fn stdio_read_key_error_names_scope() {
    let server = spawn_server().await;
    let reader = create_key(&server, &["read"]).await;
    let command = Command::new(env!("CARGO_BIN_EXE_agentlens")).configure(|cmd| {
        cmd.args(["mcp", "--url", &server.base_url, "--api-key", &reader])
            .env_remove("AGENTLENS_API_KEY")
            .env("RUST_LOG", "warn");
    });
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();

    let arguments = log_event_arguments("ses_stdio_read_key");
    let request = CallToolRequestParams::new("agentlens_log_event")
        .with_arguments(arguments.as_object().unwrap().clone());
    let result = client.call_tool(request).await.unwrap();
    client.cancel().await.unwrap();

    assert_eq!(result.is_error, Some(true), "{result:?}");
    let text = serde_json::to_string(&result.content).unwrap();
    assert!(text.contains("write scope"), "{text}");
    assert!(text.contains("role viewer"), "{text}");
    let body = result.structured_content.unwrap();
    assert_eq!(body["required"], "member", "{body}");
}

#[tokio::test]
async fn stdio_costs_keep_exact_decimals() {
    let server = spawn_server().await;
    store_large_costs(&server).await;
    let (mut child, mut input, mut output) = spawn_stdio(&server);
    let initialize = initialize_request();
    let ready = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "agentlens_get_costs", "arguments": {"from": "2026-11-04", "to": "2026-11-04"}}});

    input
        .write_all(format!("{initialize}\n").as_bytes())
        .await
        .unwrap();
    next_message(&mut output).await;
    input
        .write_all(format!("{ready}\n{call}\n").as_bytes())
        .await
        .unwrap();
    let line = output.next_line().await.unwrap().expect("output ended");
    drop(input);
    child.wait().await.unwrap();
    let costs_api = large_costs_api(&server).await;

    assert_result_is_api_body(&line, &costs_api, "27670116.110564327421");
}

#[tokio::test]
async fn stdio_long_argument_gets_414() {
    let server = spawn_server().await;
    let command = Command::new(env!("CARGO_BIN_EXE_agentlens")).configure(|cmd| {
        cmd.args(["mcp", "--url", &server.base_url, "--api-key", &server.key])
            .env_remove("AGENTLENS_API_KEY")
            .env("RUST_LOG", "warn");
    });
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();

    let mut texts = Vec::new();
    for length in [20_000, 2_000_000] {
        let arguments = json!({"agentId": "a".repeat(length)});
        let request = CallToolRequestParams::new("agentlens_get_costs")
            .with_arguments(arguments.as_object().unwrap().clone());
        let result = client.call_tool(request).await.unwrap();
        assert_eq!(result.is_error, Some(true), "{result:?}");
        texts.push(serde_json::to_string(&result.content).unwrap());
    }
    client.cancel().await.unwrap();

    for text in &texts {
        assert!(text.contains("status 414: URI too long"), "{text}");
        assert!(text.contains("at most 8192 bytes"), "{text}");
        assert!(!text.contains("cannot reach"), "{text}");
        assert!(
            text.len() < 1000,
            "the argument is echoed: {} bytes",
            text.len()
        );
    }
}

/// Starts `agentlens mcp` like [`spawn_stdio`], but at its default log level, and returns
/// a task that collects its log output until it exits.
fn spawn_stdio_with_logs(
    server: &Server,
) -> (
    Child,
    ChildStdin,
    Lines<BufReader<ChildStdout>>,
    JoinHandle<String>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentlens"))
        .args(["mcp", "--url", &server.base_url, "--api-key", &server.key])
        .env_remove("AGENTLENS_API_KEY")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let input = child.stdin.take().unwrap();
    let output = BufReader::new(child.stdout.take().unwrap()).lines();
    // The logs are read while the server runs, so a full pipe cannot block it.
    let mut stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut text = String::new();
        stderr.read_to_string(&mut text).await.unwrap();
        text
    });
    (child, input, output, logs)
}

/// Writes `message` and a newline, and returns the reply line with its length.
async fn exchange(
    input: &mut ChildStdin,
    output: &mut Lines<BufReader<ChildStdout>>,
    message: &str,
) -> (Value, usize) {
    input
        .write_all(format!("{message}\n").as_bytes())
        .await
        .unwrap();
    let line = output.next_line().await.unwrap().expect("output ended");
    let reply = serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
    (reply, line.len())
}

#[tokio::test]
async fn stdio_long_input_is_not_echoed() {
    let server = spawn_server().await;
    let (mut child, mut input, mut output, logs) = spawn_stdio_with_logs(&server);
    let long = "m".repeat(2_000_000);
    let method = json!({"jsonrpc": "2.0", "id": 2, "method": long});
    let tool = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": long, "arguments": {}}});
    let notification = json!({"jsonrpc": "2.0", "method": long});
    let oversized = format!(
        "{{\"jsonrpc\": \"2.0\", \"id\": 4, \"method\": \"{}\"}}",
        "m".repeat(5_000_000)
    );
    let ping = json!({"jsonrpc": "2.0", "id": 5, "method": "ping"});
    let ping_after = json!({"jsonrpc": "2.0", "id": 6, "method": "ping"});

    let (initialized, _) =
        exchange(&mut input, &mut output, &initialize_request().to_string()).await;
    assert_eq!(initialized["id"], 1, "{initialized}");
    let ready = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    input
        .write_all(format!("{ready}\n").as_bytes())
        .await
        .unwrap();

    // Each length is checked first, so a failure does not print a 2 MB reply.
    let (reply, length) = exchange(&mut input, &mut output, &method.to_string()).await;
    assert!(length < 1000, "method echoed: {length} bytes");
    assert_eq!(reply["jsonrpc"], "2.0", "{reply}");
    assert_eq!(reply["id"], 2, "{reply}");
    assert_eq!(reply["error"]["code"], -32601, "{reply}");

    let (reply, length) = exchange(&mut input, &mut output, &tool.to_string()).await;
    assert!(length < 2000, "tool name echoed: {length} bytes");
    assert_eq!(reply["jsonrpc"], "2.0", "{reply}");
    assert_eq!(reply["id"], 3, "{reply}");
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("unknown tool \"mmm"), "{message}");
    assert!(message.contains("bytes in all"), "{message}");

    // A notification gets no reply, so the next output line is the reply to the ping
    // written after it.
    input
        .write_all(format!("{notification}\n").as_bytes())
        .await
        .unwrap();
    let (reply, length) = exchange(&mut input, &mut output, &ping_after.to_string()).await;
    assert!(length < 1000, "notification method echoed: {length} bytes");
    assert_eq!(reply["id"], 6, "the notification got a reply: {reply}");
    assert!(reply["result"].is_object(), "{reply}");

    let (reply, length) = exchange(&mut input, &mut output, &oversized).await;
    assert!(length < 1000, "line echoed: {length} bytes");
    assert_eq!(reply["id"], Value::Null, "{reply}");
    assert_eq!(reply["error"]["code"], -32600, "{reply}");

    let (pong, _) = exchange(&mut input, &mut output, &ping.to_string()).await;
    assert_eq!(pong["id"], 5, "{pong}");
    assert!(pong["result"].is_object(), "{pong}");

    drop(input);
    child.wait().await.unwrap();
    let logs = logs.await.unwrap();
    assert!(logs.contains("mcp server started"), "{logs}");
    assert!(
        logs.contains("dropped an invalid mcp notification"),
        "{logs}"
    );
    assert!(
        !logs.contains(&"m".repeat(2000)),
        "a log line echoes the input"
    );
    assert!(logs.len() < 20_000, "logs have {} bytes", logs.len());
}
