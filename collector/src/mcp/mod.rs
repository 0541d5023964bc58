//! The AgentLens MCP server, built with the official Rust MCP SDK (`rmcp`).
//!
//! The same [`AgentLensMcp`] service runs on two transports:
//!
//! - `agentlens mcp --url URL --api-key KEY` serves it on stdio ([`stdio`]) and forwards
//!   every tool call to a collector over HTTP;
//! - `agentlens serve` mounts it at `/mcp` as a stateless streamable-HTTP endpoint
//!   ([`http`]), where tool calls go to the API router of the same process, with the
//!   caller's `Authorization` header.
//!
//! Either way a tool is a client of the HTTP API, so an event logged through MCP is
//! validated, stored and priced exactly like one posted to `/api/events`, and
//! `agentlens_get_costs` returns the numbers of `GET /api/analytics/costs`, and
//! `agentlens_quote_price` quotes with the collector's price table. The server
//! keeps nothing in memory between calls: a tool that needs a session's agent reads the
//! stored session.
//!
//! Tools: `agentlens_session_start`, `agentlens_log_event`, `agentlens_session_end`,
//! `agentlens_get_costs` and `agentlens_quote_price`. The last two are annotated
//! read-only and work with a read key; the others store events and need write access
//! ([`access`]).

mod access;
pub mod backend;
mod exact;
pub mod http;
mod jsonrpc;
mod params;
pub mod stdio;

use agentlens_core::validate::{shorten_error_text, validate_event, MAX_ERROR_TEXT_BYTES};
use axum::http::{Method, StatusCode};
use chrono::Utc;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Extensions,
    Implementation, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Map, Value};

use backend::{ApiReply, Backend, McpCaller};
use params::{
    GetCostsParams, LogEventParams, QuotePriceParams, SessionEndParams, SessionStartParams,
};

/// Name the server reports to MCP clients, as upstream's.
pub const SERVER_NAME: &str = "agentlens";

/// The MCP service: five tools over a [`Backend`].
#[derive(Debug, Clone)]
pub struct AgentLensMcp {
    backend: Backend,
    tool_router: ToolRouter<AgentLensMcp>,
}

/// Returns a tool error with `message`.
fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message.into())])
}

/// Returns the `Authorization` header and the peer address of the HTTP request that
/// carried an MCP message; both are absent over stdio.
fn mcp_caller(extensions: &Extensions) -> McpCaller {
    let Some(parts) = extensions.get::<axum::http::request::Parts>() else {
        return McpCaller::default();
    };
    McpCaller {
        authorization: parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .cloned(),
        peer: parts.extensions.get().copied(),
    }
}

/// Formats a failed API reply as a tool error message.
fn reply_error(action: &str, reply: &ApiReply) -> String {
    let mut message = format!("{action} failed with status {}", reply.status);
    match reply.body.get("error").and_then(Value::as_str) {
        Some(error) => message.push_str(&format!(": {error}")),
        // hyper responds to a request head that it rejects, such as a URI over 64 KiB,
        // with an empty body, so the status reason is the only text to show.
        None => {
            let status = StatusCode::from_u16(reply.status).ok();
            if let Some(reason) = status.and_then(|status| status.canonical_reason()) {
                message.push_str(&format!(" ({reason})"));
            }
        }
    }
    if let Some(details) = reply.body.get("details").and_then(Value::as_array) {
        for detail in details {
            let path = detail.get("path").and_then(Value::as_str).unwrap_or("");
            let text = detail.get("message").and_then(Value::as_str).unwrap_or("");
            message.push_str(&format!("\n{path}: {text}"));
        }
    }
    // The hint of a 429 gives the time to retry, and other hints may name the fix.
    if let Some(hint) = reply.body.get("hint").and_then(Value::as_str) {
        message.push_str(&format!("\n{hint}"));
    }
    message
}

/// Returns the tool error for a failed API reply. A 403 names the key scope that the
/// request needs ([`access::forbidden_reply`]).
fn failed_reply(action: &str, reply: &ApiReply) -> CallToolResult {
    if reply.status == 403 {
        return access::forbidden_reply(action, reply);
    }
    tool_error(reply_error(action, reply))
}

/// Cuts the message of a JSON-RPC error to [`MAX_ERROR_TEXT_BYTES`] and drops a larger
/// `data` value. rmcp sends the error to the client and logs it at WARN, so a message that
/// quotes the request would repeat a large value twice.
fn shorten_error(mut error: ErrorData) -> ErrorData {
    if error.message.len() > MAX_ERROR_TEXT_BYTES {
        error.message = shorten_error_text(error.message.into_owned()).into();
    }
    let data_bytes = error.data.as_ref().map(|data| data.to_string().len());
    if data_bytes.is_some_and(|bytes| bytes > MAX_ERROR_TEXT_BYTES) {
        error.data = None;
    }
    error
}

/// Prefix of the tool error that rmcp 3.11 returns for arguments that do not fit a tool's
/// parameters. The serde message after it may quote a whole argument.
const ARGUMENT_ERROR_PREFIX: &str = "failed to deserialize parameters:";

/// Cuts rmcp's argument error in a tool result to [`MAX_ERROR_TEXT_BYTES`]. Other results
/// pass unchanged, so a tool's own error, such as a list of every invalid field, stays
/// whole.
fn shorten_argument_error(mut response: CallToolResponse) -> CallToolResponse {
    let CallToolResponse::Complete(result) = &mut response else {
        return response;
    };
    if result.is_error != Some(true) {
        return response;
    }
    for block in &mut result.content {
        if let ContentBlock::Text(content) = block {
            if content.text.starts_with(ARGUMENT_ERROR_PREFIX) {
                content.text = shorten_error_text(std::mem::take(&mut content.text));
            }
        }
    }
    response
}

/// Maximum length of a request path shown in a tool error, in characters.
const SHOWN_PATH_CHARS: usize = 200;

/// Returns `METHOD path` for a tool error. A path over [`SHOWN_PATH_CHARS`] characters is
/// cut short and followed by its length, so an over-long argument is not echoed in full.
fn request_line(method: &Method, path: &str) -> String {
    match path.char_indices().nth(SHOWN_PATH_CHARS) {
        Some((end, _)) => format!("{method} {}... ({} bytes)", &path[..end], path.len()),
        None => format!("{method} {path}"),
    }
}

/// Returns `/api/...` with a percent-encoded last segment and query.
fn api_path(segments: &[&str], query: &[(&str, Option<&str>)]) -> String {
    let mut url = match reqwest::Url::parse("http://collector/api") {
        Ok(url) => url,
        Err(_) => return "/api".to_owned(),
    };
    if let Ok(mut path) = url.path_segments_mut() {
        path.extend(segments);
    }
    let present: Vec<_> = query
        .iter()
        .filter_map(|(key, value)| value.map(|value| (*key, value)))
        .collect();
    if !present.is_empty() {
        url.query_pairs_mut().extend_pairs(present);
    }
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

impl AgentLensMcp {
    /// Creates the service over `backend`.
    pub fn new(backend: Backend) -> AgentLensMcp {
        AgentLensMcp {
            backend,
            tool_router: Self::tool_router(),
        }
    }

    /// Validates one event as `POST /api/events` does and sends it.
    async fn send_event(&self, event: Value, extensions: &Extensions) -> CallToolResult {
        if let Err(details) = validate_event(&event) {
            let lines: Vec<String> = details
                .iter()
                .map(|detail| format!("{}: {}", detail.path, detail.message))
                .collect();
            return tool_error(format!("invalid event:\n{}", lines.join("\n")));
        }

        let body = json!({ "events": [event] });
        let caller = mcp_caller(extensions);
        let reply = self
            .backend
            .send(Method::POST, "/api/events", Some(&body), &caller)
            .await;
        match reply {
            Ok(reply) if reply.is_success() => {
                let stored = reply.body["events"][0].clone();
                CallToolResult::structured(json!({"id": stored["id"], "hash": stored["hash"]}))
            }
            Ok(reply) => failed_reply("POST /api/events", &reply),
            Err(error) => tool_error(error),
        }
    }

    /// Returns the agent of a stored session, or a tool error.
    async fn session_agent(
        &self,
        session_id: &str,
        extensions: &Extensions,
    ) -> Result<String, CallToolResult> {
        let path = api_path(&["sessions", session_id], &[]);
        let caller = mcp_caller(extensions);
        let reply = self
            .backend
            .send(Method::GET, &path, None, &caller)
            .await
            .map_err(tool_error)?;
        if reply.status == 404 {
            return Err(tool_error(format!(
                "agentId is required: session {session_id:?} is not stored, so its agent \
                 is unknown"
            )));
        }
        if !reply.is_success() {
            return Err(failed_reply(&request_line(&Method::GET, &path), &reply));
        }
        match reply.body.get("agentId").and_then(Value::as_str) {
            Some(agent) => Ok(agent.to_owned()),
            None => Err(tool_error(format!("session {session_id:?} has no agentId"))),
        }
    }
}

#[tool_router]
impl AgentLensMcp {
    /// Starts a session: sends `session_started` and returns the new session id.
    #[tool(
        name = "agentlens_session_start",
        annotations(read_only_hint = false, destructive_hint = false),
        description = "Start an AgentLens session for an agent. Returns {sessionId}; pass it \
                       to agentlens_log_event and agentlens_session_end."
    )]
    async fn session_start(
        &self,
        Parameters(params): Parameters<SessionStartParams>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        let millis = u64::try_from(Utc::now().timestamp_millis()).unwrap_or_default();
        let id = ulid::Ulid::from_parts(millis, rand::random());
        let session_id = format!("ses_{}", id.to_string().to_lowercase());
        let mut payload = Map::new();
        if let Some(name) = params.agent_name {
            payload.insert("agentName".to_owned(), Value::String(name));
        }
        if let Some(tags) = params.tags {
            payload.insert("tags".to_owned(), json!(tags));
        }
        let event = json!({
            "sessionId": session_id,
            "agentId": params.agent_id,
            "eventType": "session_started",
            "payload": payload,
        });

        let result = self.send_event(event, &extensions).await;
        if result.is_error == Some(true) {
            return Ok(result);
        }
        Ok(CallToolResult::structured(
            json!({ "sessionId": session_id }),
        ))
    }

    /// Logs one event, validated exactly like `POST /api/events`.
    #[tool(
        name = "agentlens_log_event",
        annotations(read_only_hint = false, destructive_hint = false),
        description = "Log one AgentLens event, validated like POST /api/events. Event types \
                       include cost_tracked, llm_call, llm_response, tool_call, tool_response, \
                       tool_error and custom. Returns the stored {id, hash}; an invalid event \
                       returns an error naming each invalid field."
    )]
    async fn log_event(
        &self,
        Parameters(params): Parameters<LogEventParams>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        let agent_id = match params.agent_id {
            Some(agent) => agent,
            None => match self.session_agent(&params.session_id, &extensions).await {
                Ok(agent) => agent,
                Err(error) => return Ok(error),
            },
        };
        let mut event = json!({
            "sessionId": params.session_id,
            "agentId": agent_id,
            "eventType": params.event_type,
            "payload": params.payload,
        });
        if let Some(severity) = params.severity {
            event["severity"] = Value::String(severity);
        }
        if let Some(metadata) = params.metadata {
            event["metadata"] = metadata;
        }
        if let Some(timestamp) = params.timestamp {
            event["timestamp"] = Value::String(timestamp);
        }
        Ok(self.send_event(event, &extensions).await)
    }

    /// Ends a session with `session_ended`.
    #[tool(
        name = "agentlens_session_end",
        annotations(read_only_hint = false, destructive_hint = false),
        description = "End an AgentLens session. reason is completed, error, timeout or \
                       manual. The agent is read from the stored session when agentId is \
                       not given."
    )]
    async fn session_end(
        &self,
        Parameters(params): Parameters<SessionEndParams>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        let agent_id = match params.agent_id {
            Some(agent) => agent,
            None => match self.session_agent(&params.session_id, &extensions).await {
                Ok(agent) => agent,
                Err(error) => return Ok(error),
            },
        };
        let mut payload = json!({ "reason": params.reason.as_str() });
        if let Some(summary) = params.summary {
            payload["summary"] = Value::String(summary);
        }
        let severity = match params.reason {
            params::EndReason::Error => "error",
            _ => "info",
        };
        let event = json!({
            "sessionId": params.session_id,
            "agentId": agent_id,
            "eventType": "session_ended",
            "severity": severity,
            "payload": payload,
        });
        Ok(self.send_event(event, &extensions).await)
    }

    /// Returns the cost report of `GET /api/analytics/costs`.
    #[tool(
        name = "agentlens_get_costs",
        annotations(read_only_hint = true),
        description = "Exact cost totals by agent, model, session and time bucket, as GET \
                       /api/analytics/costs returns them. from and to are RFC 3339 or \
                       YYYY-MM-DD; granularity is hour, day or week; tz is an IANA time \
                       zone (default UTC) for days, weeks and date bounds."
    )]
    async fn get_costs(
        &self,
        Parameters(params): Parameters<GetCostsParams>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        let query = [
            ("from", params.from.as_deref()),
            ("to", params.to.as_deref()),
            ("agentId", params.agent_id.as_deref()),
            ("granularity", params.granularity.as_deref()),
            ("tz", params.tz.as_deref()),
        ];
        let path = api_path(&["analytics", "costs"], &query);
        let caller = mcp_caller(&extensions);
        let reply = self.backend.send(Method::GET, &path, None, &caller).await;
        Ok(match reply {
            Ok(reply) if reply.is_success() => exact::tool_result(reply),
            Ok(reply) => failed_reply(&request_line(&Method::GET, &path), &reply),
            Err(error) => tool_error(error),
        })
    }

    /// Prices a model call with `POST /api/pricing/quote`, so the collector's price table
    /// applies, with its `--prices` overrides and Azure deployment names.
    #[tool(
        name = "agentlens_quote_price",
        annotations(read_only_hint = true),
        description = "Price one model call with the collector's price table, as POST \
                       /api/pricing/quote does. serviceTier (such as flex or priority) and \
                       batch select tier or batch prices. Returns {status: priced, total, \
                       breakdown, entry, ...} or {status: unpriced, unpriced: reason}."
    )]
    async fn quote_price(
        &self,
        Parameters(params): Parameters<QuotePriceParams>,
        extensions: Extensions,
    ) -> Result<CallToolResult, ErrorData> {
        let body = params.into_request();
        let caller = mcp_caller(&extensions);
        let reply = self
            .backend
            .send(Method::POST, "/api/pricing/quote", Some(&body), &caller)
            .await;
        Ok(match reply {
            Ok(reply) if reply.is_success() => exact::tool_result(reply),
            Ok(reply) => failed_reply("POST /api/pricing/quote", &reply),
            Err(error) => tool_error(error),
        })
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for AgentLensMcp {
    /// Runs a tool after the scope check of [`access`], which returns a tool error when a
    /// read key calls a tool that stores data.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(tool) = self.tool_router.get(&request.name) else {
            let names: Vec<String> = (self.tool_router.list_all().into_iter())
                .map(|tool| tool.name.into_owned())
                .collect();
            // The name is cut, not the message, so the list of tools stays whole.
            let name = shorten_error_text(format!("{:?}", request.name));
            let message = format!(
                "unknown tool {name}; call one of: {} (tools/list describes them)",
                names.join(", ")
            );
            return Err(ErrorData::invalid_params(message, None));
        };
        if let Some(denied) = access::denied_call(tool, &context.extensions) {
            return Ok(denied.into());
        }
        if let Some(error) = params::argument_error(&request.name, request.arguments.as_ref()) {
            let result = tool_error(format!("{ARGUMENT_ERROR_PREFIX} {error}"));
            return Ok(shorten_argument_error(result.into()));
        }
        let call = ToolCallContext::new(self, request, context);
        let response = self.tool_router.call(call).await;
        response.map(shorten_argument_error).map_err(shorten_error)
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "AgentLens records what AI agents do and what they cost. Start a session, \
                 log events such as cost_tracked into it, end it, and read exact costs.",
            )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rate_limited_reply_says_when_to_retry() {
        let body = json!({"error": "Too Many Requests", "status": 429, "retryAfter": 12,
            "hint": "retry after 12 s (the Retry-After header)."});
        let reply = ApiReply {
            status: 429,
            text: body.to_string(),
            body,
        };

        let message = reply_error("GET /api/analytics/costs", &reply);

        assert!(
            message.contains("status 429: Too Many Requests"),
            "{message}"
        );
        assert!(message.contains("retry after 12 s"), "{message}");
    }

    #[test]
    fn empty_error_body_names_status_reason() {
        let reply = ApiReply {
            status: 431,
            body: Value::Null,
            text: String::new(),
        };

        let message = reply_error("GET /api/analytics/costs", &reply);

        assert_eq!(
            message,
            "GET /api/analytics/costs failed with status 431 (Request Header Fields Too Large)"
        );
    }

    #[test]
    fn long_error_message_and_data_are_cut() {
        let value = "v".repeat(2_000_000);
        let message = format!("invalid value {value:?}");
        let note = format!("(cut, {} bytes in all)", message.len());
        let error = ErrorData::invalid_params(message, Some(json!({"value": value})));

        let short = shorten_error(error);

        assert!(
            short.message.len() <= MAX_ERROR_TEXT_BYTES,
            "{}",
            short.message
        );
        assert!(short.message.ends_with(&note), "{}", short.message);
        assert_eq!(short.data, None);
    }

    #[test]
    fn short_error_is_kept() {
        let error = ErrorData::invalid_params("unknown tool \"x\"", Some(json!({"a": 1})));

        let shortened = shorten_error(error.clone());

        assert_eq!(shortened, error);
    }

    #[test]
    fn long_argument_error_is_cut() {
        let message = format!(
            "{ARGUMENT_ERROR_PREFIX} unknown variant `{}`",
            "r".repeat(50_000)
        );
        let response = CallToolResponse::Complete(tool_error(message));

        let CallToolResponse::Complete(result) = shorten_argument_error(response) else {
            panic!("the response changed its kind");
        };

        let text = &result.content[0].as_text().unwrap().text;
        assert!(text.len() <= MAX_ERROR_TEXT_BYTES, "{} bytes", text.len());
        assert!(text.starts_with(ARGUMENT_ERROR_PREFIX), "{text}");
    }

    #[test]
    fn long_tool_error_of_ours_is_kept() {
        let message = format!("invalid event:\n{}", "payload.model: invalid\n".repeat(100));
        let response = CallToolResponse::Complete(tool_error(message.clone()));

        let CallToolResponse::Complete(result) = shorten_argument_error(response) else {
            panic!("the response changed its kind");
        };

        assert_eq!(result.content[0].as_text().unwrap().text, message);
    }

    #[test]
    fn long_path_is_cut_in_request_line() {
        let path = format!("/api/analytics/costs?agentId={}", "a".repeat(5000));

        let line = request_line(&Method::GET, &path);

        assert!(line.len() < 300, "{line}");
        assert!(
            line.starts_with("GET /api/analytics/costs?agentId=aaa"),
            "{line}"
        );
        assert!(
            line.ends_with(&format!("... ({} bytes)", path.len())),
            "{line}"
        );
        assert_eq!(request_line(&Method::GET, "/api/x"), "GET /api/x");
    }
}
