//! Input schemas of the MCP tools.

use rmcp::schemars::{self, JsonSchema};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Returns the error for `arguments` that do not fit the input of `tool`, with the path of
/// the invalid argument, such as `sessionId: invalid type: null, expected a string`.
/// Returns `None` when they fit or the tool is unknown. rmcp's own error has serde's
/// message without the path.
pub(super) fn argument_error(tool: &str, arguments: Option<&Map<String, Value>>) -> Option<String> {
    let value = Value::Object(arguments.cloned().unwrap_or_default());
    match tool {
        "agentlens_session_start" => error_of::<SessionStartParams>(value),
        "agentlens_log_event" => error_of::<LogEventParams>(value),
        "agentlens_session_end" => error_of::<SessionEndParams>(value),
        "agentlens_get_costs" => error_of::<GetCostsParams>(value),
        "agentlens_quote_price" => error_of::<QuotePriceParams>(value),
        _ => None,
    }
}

fn error_of<T: DeserializeOwned>(value: Value) -> Option<String> {
    let error = serde_path_to_error::deserialize::<_, T>(value).err()?;
    let path = error.path().to_string();
    Some(if path == "." {
        error.inner().to_string()
    } else {
        format!("{path}: {}", error.inner())
    })
}

/// Input of `agentlens_session_start`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionStartParams {
    /// Agent that runs the session.
    pub agent_id: String,
    /// Display name of the agent.
    pub agent_name: Option<String>,
    /// Session tags; alert rules can be scoped by them.
    pub tags: Option<Vec<String>>,
}

/// Input of `agentlens_log_event`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogEventParams {
    /// Session the event belongs to.
    pub session_id: String,
    /// Agent that produced the event. When absent, the agent of the stored session is used.
    pub agent_id: Option<String>,
    /// Event type, such as `cost_tracked`, `llm_response`, `tool_call` or `custom`.
    pub event_type: String,
    /// Event payload; its required fields depend on `eventType`. A `cost_tracked` payload
    /// requires `provider`, `model`, `inputTokens` and `outputTokens`. `totalTokens` is
    /// optional and must equal `inputTokens` + `outputTokens` when sent. `costUsd` is
    /// optional: without it the collector prices the event from its price table, or counts
    /// it as unpriced when the model has no price.
    pub payload: Value,
    /// `debug`, `info` (default), `warn`, `error` or `critical`.
    pub severity: Option<String>,
    /// Free-form metadata object.
    pub metadata: Option<Value>,
    /// RFC 3339 time of the event; default now.
    pub timestamp: Option<String>,
}

/// Reason a session ended.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The work finished.
    Completed,
    /// The work failed.
    Error,
    /// The work ran out of time.
    Timeout,
    /// Someone stopped the work.
    Manual,
}

impl EndReason {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Completed => "completed",
            EndReason::Error => "error",
            EndReason::Timeout => "timeout",
            EndReason::Manual => "manual",
        }
    }
}

/// Input of `agentlens_session_end`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionEndParams {
    /// Session to end.
    pub session_id: String,
    /// `completed`, `error`, `timeout` or `manual`.
    pub reason: EndReason,
    /// Short summary of the session.
    pub summary: Option<String>,
    /// Agent of the session. When absent, the agent of the stored session is used.
    pub agent_id: Option<String>,
}

/// Input of `agentlens_get_costs`. An unknown argument is an error, so a misspelt `tz`
/// cannot silently give a report in UTC.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetCostsParams {
    /// Inclusive start: RFC 3339 or `YYYY-MM-DD`; default 30 days before `to`.
    pub from: Option<String>,
    /// Inclusive end: RFC 3339 or `YYYY-MM-DD`; default now.
    pub to: Option<String>,
    /// Only this agent's costs.
    pub agent_id: Option<String>,
    /// `hour`, `day` (default) or `week`.
    pub granularity: Option<String>,
    /// IANA time zone, such as `Europe/Berlin`, whose days and weeks the buckets and date
    /// bounds follow; default UTC.
    pub tz: Option<String>,
}

/// Input of `agentlens_quote_price`, the body of `POST /api/pricing/quote`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotePriceParams {
    /// Provider id, such as `openai` or `anthropic`.
    pub provider: String,
    /// Model id, such as `gpt-4o`, or an Azure deployment name that the collector's price
    /// overrides map to a model.
    pub model: String,
    /// Token counts: `inputTokens` (cache reads and writes included), `outputTokens`,
    /// `cacheReadTokens`, `cacheWrite5mTokens`, `cacheWrite1hTokens`, `reasoningTokens`,
    /// `webSearches`. Missing counts are 0. A provider's own usage object, such as
    /// OpenAI's `prompt_tokens` and `completion_tokens`, is read too.
    pub usage: Map<String, Value>,
    /// RFC 3339 time whose prices apply, now when absent.
    pub at: Option<String>,
    /// Service tier that served the call, such as `flex` or `priority`, which selects the
    /// model's tier prices. `standard`, `default`, `auto` and absent mean standard prices.
    pub service_tier: Option<String>,
    /// Whether the call ran through a batch API, which selects the model's batch prices.
    pub batch: Option<bool>,
}

impl QuotePriceParams {
    /// Converts the input to the JSON body of `POST /api/pricing/quote`, leaving out the
    /// optional fields that are absent.
    pub fn into_request(self) -> Value {
        let mut body = Map::new();
        body.insert("provider".to_owned(), Value::String(self.provider));
        body.insert("model".to_owned(), Value::String(self.model));
        body.insert("usage".to_owned(), Value::Object(self.usage));
        if let Some(at) = self.at {
            body.insert("at".to_owned(), Value::String(at));
        }
        if let Some(tier) = self.service_tier {
            body.insert("serviceTier".to_owned(), Value::String(tier));
        }
        if let Some(batch) = self.batch {
            body.insert("batch".to_owned(), Value::Bool(batch));
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    use agentlens_core::validate::validate_event;
    use rmcp::schemars::schema_for;
    use serde_json::{json, Value};

    use super::LogEventParams;

    /// Returns the fields that the `payload` description of `agentlens_log_event` names as
    /// required for a `cost_tracked` payload.
    fn described_cost_fields() -> Vec<String> {
        let schema = serde_json::to_value(schema_for!(LogEventParams)).unwrap();
        let description = schema["properties"]["payload"]["description"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let start = description.find("payload requires").unwrap();
        let sentence = description[start..].split('.').next().unwrap();
        sentence
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    }

    fn cost_event(payload: Value) -> Value {
        json!({"sessionId": "s1", "agentId": "a1", "eventType": "cost_tracked",
            "payload": payload})
    }

    #[test]
    fn cost_payload_description_matches_validator() {
        let fields = described_cost_fields();
        let mut payload = serde_json::Map::new();
        for field in &fields {
            let value = match field.as_str() {
                "provider" => json!("openai"),
                "model" => json!("gpt-4o"),
                _ => json!(10),
            };
            payload.insert(field.clone(), value);
        }

        let complete = cost_event(Value::Object(payload.clone()));
        assert!(
            validate_event(&complete).is_ok(),
            "{fields:?} should be enough"
        );
        for field in &fields {
            let mut partial = payload.clone();
            partial.remove(field);
            let event = cost_event(Value::Object(partial));
            assert!(
                validate_event(&event).is_err(),
                "the description calls {field} required, but the validator accepts its absence"
            );
        }
    }
}
