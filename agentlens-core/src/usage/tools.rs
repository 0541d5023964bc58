//! Counts of the built-in tool calls that a whole response reports beside its usage.
//!
//! A bare usage object can carry a tool count only where the provider puts one there:
//! Anthropic's `server_tool_use.web_search_requests` is read by [`super::from_anthropic`].
//! OpenAI's Responses API counts tokens only in `usage` and reports each built-in tool call
//! as an item of the response's `output` list, so its web searches, file searches and code
//! interpreter sessions are visible only in the whole response. [`from_response`] reads that
//! list. Chat Completions responses list no tool call items, so their built-in tool calls
//! cannot be counted from the response and must be sent as counts.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{extract, Usage, UsageError};

/// The built-in tool calls listed in a response's `output` items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToolCalls {
    /// `web_search_call` items, whatever their action (`search`, `open_page`,
    /// `find_in_page`), as litellm 1.110.2 counts them for the per-call web search fee.
    pub web_searches: u64,
    /// `file_search_call` items. Each counts once, however many queries it lists, because
    /// file search is priced per call (OpenAI's $2.50 per thousand calls, as litellm 1.110.2
    /// documents it).
    pub file_searches: u64,
    /// Distinct containers of the `code_interpreter_call` items; a call without a
    /// `container_id` counts as a container of its own.
    pub code_interpreter_sessions: u64,
}

/// Counts the built-in tool call items of an OpenAI Responses API response.
///
/// The items are read from `output`, or from `response.output` for the
/// `response.completed` event of a stream. A body without such a list has no tool calls.
///
/// TODO: OpenAI bills a code interpreter container when it is created. A response that
/// reuses a container created by an earlier response counts that container again, because
/// the response does not say where the container came from.
pub fn tool_calls(response: &Value) -> ToolCalls {
    let items = response
        .get("output")
        .or_else(|| response.pointer("/response/output"))
        .and_then(Value::as_array);
    let Some(items) = items else {
        return ToolCalls::default();
    };

    let mut calls = ToolCalls::default();
    let mut containers = BTreeSet::new();
    for item in items {
        match item.get("type").and_then(Value::as_str) {
            Some("web_search_call") => calls.web_searches += 1,
            Some("file_search_call") => calls.file_searches += 1,
            Some("code_interpreter_call") => {
                match item.get("container_id").and_then(Value::as_str) {
                    Some(container) => {
                        containers.insert(container);
                    }
                    None => calls.code_interpreter_sessions += 1,
                }
            }
            _ => {}
        }
    }
    calls.code_interpreter_sessions += containers.len() as u64;
    calls
}

/// Reads the usage of a whole response body, with its built-in tool calls.
///
/// The usage object is taken from `usage`, `response.usage` (a Responses stream's
/// `response.completed` event) or Gemini's `usageMetadata`, and read by [`extract`]. The
/// tool calls of [`tool_calls`] are added: a web search count that the usage object reports
/// itself wins over the count of `web_search_call` items, so no search is counted twice.
///
/// # Errors
///
/// Returns [`UsageError::MissingField`] when the body has no usage object, and the errors of
/// [`extract`].
pub fn from_response(provider: &str, response: &Value) -> Result<Usage, UsageError> {
    let raw = ["/usage", "/response/usage", "/usageMetadata"]
        .iter()
        .find_map(|pointer| response.pointer(pointer).filter(|value| !value.is_null()))
        .ok_or_else(|| UsageError::MissingField {
            field: "usage, response.usage or usageMetadata".into(),
        })?;
    let mut usage = extract(provider, raw)?;
    tool_calls(response).add_to(&mut usage);
    Ok(usage)
}

impl ToolCalls {
    /// Fills the tool call counts of `usage` that the usage object left at zero.
    ///
    /// A count that the usage object reports itself (Anthropic's web search requests, or a
    /// count the caller passed) wins over the count of output items, so no call is counted
    /// twice.
    pub fn add_to(self, usage: &mut Usage) {
        if usage.web_searches == 0 {
            usage.web_searches = self.web_searches;
        }
        if usage.file_searches == 0 {
            usage.file_searches = self.file_searches;
        }
        if usage.code_interpreter_sessions == 0 {
            usage.code_interpreter_sessions = self.code_interpreter_sessions;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn responses_body(output: Value) -> Value {
        json!({
            "object": "response",
            "output": output,
            "usage": {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120},
        })
    }

    #[test]
    fn output_items_are_counted_by_type() {
        let body = responses_body(json!([
            {"type": "reasoning"},
            {"type": "web_search_call", "action": {"type": "search"}},
            {"type": "web_search_call", "action": {"type": "open_page"}},
            {"type": "file_search_call", "queries": ["a", "b"]},
            {"type": "message"},
        ]));

        let usage = from_response("openai", &body).unwrap();

        assert_eq!(usage.web_searches, 2);
        assert_eq!(usage.file_searches, 1);
        assert_eq!(usage.code_interpreter_sessions, 0);
        assert_eq!(usage.input_tokens, 100);
    }

    #[test]
    fn code_interpreter_calls_count_containers() {
        let body = responses_body(json!([
            {"type": "code_interpreter_call", "container_id": "cntr_a"},
            {"type": "code_interpreter_call", "container_id": "cntr_a"},
            {"type": "code_interpreter_call", "container_id": "cntr_b"},
            {"type": "code_interpreter_call"},
        ]));

        assert_eq!(tool_calls(&body).code_interpreter_sessions, 3);
    }

    #[test]
    fn completed_stream_event_is_read() {
        let event = json!({
            "type": "response.completed",
            "response": {
                "output": [{"type": "file_search_call"}],
                "usage": {"input_tokens": 10, "output_tokens": 2},
            },
        });

        let usage = from_response("openai", &event).unwrap();

        assert_eq!(usage.file_searches, 1);
        assert_eq!(usage.output_tokens, 2);
    }

    #[test]
    fn reported_web_searches_win_over_items() {
        let body = json!({
            "usage": {"input_tokens": 10, "output_tokens": 2,
                "server_tool_use": {"web_search_requests": 3}},
            "output": [{"type": "web_search_call"}],
        });

        assert_eq!(from_response("anthropic", &body).unwrap().web_searches, 3);
    }

    #[test]
    fn counts_already_set_are_kept() {
        let calls = tool_calls(&responses_body(json!([
            {"type": "file_search_call"},
            {"type": "code_interpreter_call", "container_id": "cntr_1"},
        ])));
        let mut usage = Usage {
            file_searches: 5,
            ..Usage::default()
        };

        calls.add_to(&mut usage);

        assert_eq!(usage.file_searches, 5);
        assert_eq!(usage.code_interpreter_sessions, 1);
        assert_eq!(usage.web_searches, 0);
    }

    #[test]
    fn body_without_usage_is_rejected() {
        let error = from_response("openai", &json!({"output": []})).unwrap_err();

        assert!(error.to_string().contains("missing"), "{error}");
    }

    #[test]
    fn bare_usage_object_has_no_tool_calls() {
        let usage = json!({"input_tokens": 10, "output_tokens": 2});

        assert_eq!(tool_calls(&usage), ToolCalls::default());
    }
}
