//! The scope check of tool calls on the `/mcp` endpoint.
//!
//! `/mcp` admits every valid key, as `POST /api/pricing/quote` does, so a read key can
//! initialize, list the tools and call the tools marked read-only (`readOnlyHint: true`).
//! Every other tool stores data. When the caller's role cannot write, such a call gets a
//! tool error before the tool runs, so nothing is stored. The error carries the fields of
//! the API's 403 body. The API routes that the tools call check the role as well.
//!
//! Over stdio (`agentlens mcp`) the request carries no caller, so this check is skipped
//! and the collector that the tools call checks the configured key instead. Its 403
//! becomes a tool error that names the scope the key lacks ([`forbidden_reply`]).

use axum::http::request::Parts;
use rmcp::model::{CallToolResult, ContentBlock, Extensions, Tool};
use serde::Deserialize;
use serde_json::{json, Value};

use super::backend::ApiReply;
use crate::auth::{Caller, Role};

/// Returns the error result of a call to `tool` that the caller's role does not allow, or
/// `None` when the call may go ahead.
pub(crate) fn denied_call(tool: &Tool, extensions: &Extensions) -> Option<CallToolResult> {
    if is_read_only(tool) {
        return None;
    }
    let caller = extensions.get::<Parts>()?.extensions.get::<Caller>()?;
    if caller.role.can_write() {
        return None;
    }
    Some(write_denied(&tool.name, caller.role, &caller.scopes))
}

/// Returns true when the tool declares that it stores nothing. A tool without
/// annotations counts as one that writes.
fn is_read_only(tool: &Tool) -> bool {
    tool.annotations
        .as_ref()
        .and_then(|annotations| annotations.read_only_hint)
        .unwrap_or(false)
}

/// Builds the tool error for a caller with role `current` and key scopes `scopes`, whose
/// key lacks write access.
fn write_denied(tool: &str, current: Role, scopes: &[String]) -> CallToolResult {
    let current_name = json!(current);
    let message = format!(
        "insufficient permissions: {tool} stores data and needs a key with the write \
         scope (role member); this key has role {} and the scopes {}",
        current_name.as_str().unwrap_or("unknown"),
        scopes.join(", ")
    );
    let mut result = CallToolResult::structured_error(json!({
        "error": "Insufficient permissions",
        "hint": crate::auth::forbidden_hint(Role::Member, scopes),
        "required": Role::Member,
        "current": current,
        "requiredScope": Role::Member.scope(),
        "scopes": scopes,
        "status": 403,
    }));
    result.content = vec![ContentBlock::text(message)];
    result
}

/// Builds the tool error for a 403 from the collector that the tools call, which over
/// stdio means that the configured key lacks a scope. The message names the scope that
/// `action` needs, and the structured content is the collector's 403 body.
pub(crate) fn forbidden_reply(action: &str, reply: &ApiReply) -> CallToolResult {
    let required = reply.body.get("required").and_then(Value::as_str);
    let current = reply.body.get("current").and_then(Value::as_str);
    let required_role =
        required.and_then(|name| Some((name, Role::deserialize(json!(name)).ok()?)));
    let required_scope = match required_role {
        Some((name, role)) => format!("a key with the {} scope (role {name})", role.scope()),
        None => "a key whose scopes grant it".to_owned(),
    };
    let current_role = match current {
        Some(role) => format!("the key has role {role}"),
        None => "the key lacks that scope".to_owned(),
    };
    let message = format!(
        "insufficient permissions: {action} needs {required_scope}, but {current_role}. Use a \
         key with that scope (for agentlens mcp: --api-key or AGENTLENS_API_KEY)"
    );

    let mut result = CallToolResult::structured_error(reply.body.clone());
    result.content = vec![ContentBlock::text(message)];
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_denial_names_the_needed_scope() {
        let body = json!({"error": "Insufficient permissions", "required": "member",
            "current": "viewer", "status": 403});
        let reply = ApiReply {
            status: 403,
            text: body.to_string(),
            body,
        };
        let result = forbidden_reply("POST /api/events", &reply);
        assert_eq!(result.is_error, Some(true));
        let text = serde_json::to_string(&result.content).unwrap();
        assert!(text.contains("POST /api/events"), "{text}");
        assert!(text.contains("write scope"), "{text}");
        assert!(text.contains("role viewer"), "{text}");
        assert_eq!(result.structured_content.unwrap()["required"], "member");
    }

    #[test]
    fn denial_names_tool_scope_and_role() {
        let result = write_denied("agentlens_log_event", Role::Viewer, &["read".to_owned()]);
        assert_eq!(result.is_error, Some(true));
        let text = serde_json::to_string(&result.content).unwrap();
        assert!(text.contains("agentlens_log_event"), "{text}");
        assert!(text.contains("write scope"), "{text}");
        assert!(text.contains("role viewer"), "{text}");
        let body = result.structured_content.unwrap();
        assert_eq!(body["required"], "member");
        assert_eq!(body["current"], "viewer");
        assert_eq!(body["requiredScope"], "write");
        assert_eq!(body["scopes"], json!(["read"]));
        assert_eq!(body["status"], 403);
    }
}
