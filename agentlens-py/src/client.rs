//! `NativeClient`: the core batching client as a Python class.
//!
//! Each queueing method converts its arguments, checks the event with the core validator
//! and hands it to the core client, which queues it without I/O. Invalid input raises
//! `ValidationError` before anything is queued. Delivery failures are only counted.

use agentlens_core::client::{Client, ClientOptions, CostEvent, MAX_BATCH_SIZE};
use agentlens_core::event::{Event, ValidEvent};
use agentlens_core::usage::{self, ToolCalls, Usage};
use agentlens_core::validate::{check_event_size, validate_event, FieldError, MAX_NAME_CHARS};
use chrono::Utc;
use pyo3::prelude::*;
use serde_json::{Map, Value};
use ulid::Ulid;

use crate::conversion::{
    datetime_from_py, duration_from_seconds, json_from_py, object_from_py, optional_text,
    setting_count, text, token_count, usd_from_py,
};
use crate::error::BindingError;
use crate::pricing::{price_call, PyQuote};
use crate::utils::without_gil;

/// Returns a new session id, `ses_` followed by a ULID.
#[pyfunction]
pub(crate) fn new_session_id() -> String {
    format!("ses_{}", Ulid::generate())
}

/// The core batching client. The `agentlens.Client` wrapper owns one and rebuilds it in a
/// child process after `os.fork()`.
#[pyclass(name = "NativeClient", module = "agentlens._native", frozen)]
pub(crate) struct PyClient {
    client: Client,
}

#[pymethods]
impl PyClient {
    /// Starts the background thread. Settings left as `None` come from
    /// `AGENTLENS_SERVER_URL`, `AGENTLENS_API_KEY` and `AGENTLENS_AGENT_ID`, then the core
    /// defaults. `batch_size` must be 1 to 1000, `queue_capacity` at least 1, and
    /// `agent_id` 1 to 256 characters, or `ConfigurationError` is raised.
    #[new]
    #[pyo3(signature = (
        url=None, api_key=None, agent_id=None, batch_size=None, flush_interval=None,
        queue_capacity=None
    ))]
    fn new(
        url: Option<String>,
        api_key: Option<String>,
        agent_id: Option<String>,
        batch_size: Option<&Bound<'_, PyAny>>,
        flush_interval: Option<f64>,
        queue_capacity: Option<&Bound<'_, PyAny>>,
    ) -> Result<Self, BindingError> {
        let mut options = ClientOptions::from_env();
        if let Some(url) = url {
            options = options.server_url(url);
        }
        if let Some(key) = api_key {
            options = options.api_key(key);
        }
        if let Some(agent_id) = agent_id {
            if agent_id.trim().is_empty() {
                return Err(BindingError::Configuration(
                    "agent_id must not be empty; leave it out to use $AGENTLENS_AGENT_ID or \"default\""
                        .to_owned(),
                ));
            }
            let chars = agent_id.chars().count();
            if chars > MAX_NAME_CHARS {
                return Err(BindingError::Configuration(format!(
                    "agent_id must be at most {MAX_NAME_CHARS} characters, got {chars}; use a \
                     shorter id"
                )));
            }
            options = options.agent_id(agent_id);
        }
        if let Some(size) = batch_size.filter(|value| !value.is_none()) {
            options = options.batch_size(setting_count(size, "batch_size", MAX_BATCH_SIZE)?);
        }
        if let Some(seconds) = flush_interval {
            options = options.flush_interval(duration_from_seconds(seconds, "flush_interval")?);
        }
        if let Some(capacity) = queue_capacity.filter(|value| !value.is_none()) {
            options =
                options.queue_capacity(setting_count(capacity, "queue_capacity", usize::MAX)?);
        }

        let client = options.build()?;
        Ok(PyClient { client })
    }

    /// Queues a `cost_tracked` event. Token counts follow the core convention:
    /// `input_tokens` includes cache reads and writes, `output_tokens` includes reasoning.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the keyword arguments of agentlens.Client.track_cost"
    )]
    #[pyo3(signature = (
        session_id, provider, model, input_tokens, output_tokens, cache_read_tokens,
        cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, web_searches,
        file_searches, code_interpreter_sessions, cost_usd, agent_id, trigger, call_id
    ))]
    fn track_cost(
        &self,
        session_id: &Bound<'_, PyAny>,
        provider: &Bound<'_, PyAny>,
        model: &Bound<'_, PyAny>,
        input_tokens: &Bound<'_, PyAny>,
        output_tokens: &Bound<'_, PyAny>,
        cache_read_tokens: &Bound<'_, PyAny>,
        cache_write_5m_tokens: &Bound<'_, PyAny>,
        cache_write_1h_tokens: &Bound<'_, PyAny>,
        reasoning_tokens: &Bound<'_, PyAny>,
        web_searches: &Bound<'_, PyAny>,
        file_searches: &Bound<'_, PyAny>,
        code_interpreter_sessions: &Bound<'_, PyAny>,
        cost_usd: Option<&Bound<'_, PyAny>>,
        agent_id: Option<&Bound<'_, PyAny>>,
        trigger: Option<&Bound<'_, PyAny>>,
        call_id: Option<&Bound<'_, PyAny>>,
    ) -> Result<(), BindingError> {
        let session_id = text(session_id, "session_id")?;
        let provider = text(provider, "provider")?;
        let model = text(model, "model")?;
        let usage = Usage {
            input_tokens: token_count(input_tokens, "input_tokens")?,
            cache_read_tokens: token_count(cache_read_tokens, "cache_read_tokens")?,
            cache_write_5m_tokens: token_count(cache_write_5m_tokens, "cache_write_5m_tokens")?,
            cache_write_1h_tokens: token_count(cache_write_1h_tokens, "cache_write_1h_tokens")?,
            output_tokens: token_count(output_tokens, "output_tokens")?,
            reasoning_tokens: token_count(reasoning_tokens, "reasoning_tokens")?,
            web_searches: token_count(web_searches, "web_searches")?,
            file_searches: token_count(file_searches, "file_searches")?,
            code_interpreter_sessions: token_count(
                code_interpreter_sessions,
                "code_interpreter_sessions",
            )?,
            ..Usage::default()
        };
        let cost_usd = match cost_usd {
            Some(value) if !value.is_none() => Some(usd_from_py(value, "cost_usd")?),
            _ => None,
        };

        let cost = CostEvent {
            agent_id: optional_text(agent_id, "agent_id")?,
            cost_usd,
            trigger: optional_text(trigger, "trigger")?,
            call_id: optional_text(call_id, "call_id")?,
            ..CostEvent::new(session_id, provider, model, usage)
        };
        self.log_cost(cost)
    }

    /// Validates an event of any client-sendable type and queues it.
    #[pyo3(signature = (session_id, event_type, payload, agent_id, severity, metadata))]
    fn log_event(
        &self,
        session_id: String,
        event_type: String,
        payload: &Bound<'_, PyAny>,
        agent_id: Option<String>,
        severity: String,
        metadata: Option<&Bound<'_, PyAny>>,
    ) -> Result<(), BindingError> {
        let payload = object_from_py(payload, "payload")?;
        let metadata = match metadata {
            Some(value) if !value.is_none() => object_from_py(value, "metadata")?,
            _ => Map::new(),
        };
        let agent_id = agent_id.unwrap_or_else(|| self.client.agent_id().to_owned());

        let mut event = Map::new();
        event.insert("sessionId".into(), session_id.into());
        event.insert("agentId".into(), agent_id.into());
        event.insert("eventType".into(), event_type.into());
        event.insert("severity".into(), severity.into());
        event.insert("payload".into(), Value::Object(payload));
        event.insert("metadata".into(), Value::Object(metadata));

        let valid = validate_event(&Value::Object(event)).map_err(to_argument_paths)?;
        let event = event_from_valid(valid);
        check_event_size(&event).map_err(|error| BindingError::Invalid(vec![error]))?;
        self.client.log(event);
        Ok(())
    }

    /// Prices a provider usage object, queues it as a `cost_tracked` event with the
    /// computed cost (none when unpriced), and returns the quote.
    ///
    /// `provider` is the one the caller or the response shape names, or `None`: the core
    /// then takes the model's maker, or records the call unpriced under `unknown`, and never
    /// prices it at a reseller's rates (`PriceTable::quote_call`).
    ///
    /// `output` is the response's `output` list when it has one (OpenAI's Responses API):
    /// its web search, file search and code interpreter items are billed as tool calls.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the keyword arguments of agentlens.Client.track_response"
    )]
    #[pyo3(signature = (
        session_id, provider, model, usage, output, at, agent_id, trigger, call_id
    ))]
    fn track_usage(
        &self,
        py: Python<'_>,
        session_id: String,
        provider: Option<String>,
        model: String,
        usage: &Bound<'_, PyAny>,
        output: Option<&Bound<'_, PyAny>>,
        at: Option<&Bound<'_, PyAny>>,
        agent_id: Option<String>,
        trigger: Option<String>,
        call_id: Option<String>,
    ) -> Result<PyQuote, BindingError> {
        let usage = json_from_py(usage, "usage", 0)?;
        let at = match at {
            Some(at) if !at.is_none() => datetime_from_py(at, "at")?,
            _ => Utc::now(),
        };
        let tools = match output {
            Some(output) if !output.is_none() => {
                let output = json_from_py(output, "output", 0)?;
                usage::tool_calls(&serde_json::json!({ "output": output }))
            }
            _ => ToolCalls::default(),
        };
        let (quote, counts, provider) =
            price_call(py, provider.as_deref(), &model, &usage, tools, at)?;

        let cost = CostEvent {
            agent_id,
            cost_usd: quote.total,
            trigger,
            call_id,
            ..CostEvent::new(session_id, provider, model, counts)
        };
        self.log_cost(cost)?;
        Ok(quote)
    }

    /// Sends everything queued and waits up to `timeout` seconds. Returns the number of
    /// events still pending.
    fn flush(&self, py: Python<'_>, timeout: f64) -> Result<usize, BindingError> {
        let timeout = duration_from_seconds(timeout, "timeout")?;
        Ok(without_gil(py, || self.client.flush(timeout)))
    }

    /// Sends what is queued, stops the background thread and waits up to `timeout`
    /// seconds. Returns the number of events still pending. Later events are dropped.
    fn shutdown(&self, py: Python<'_>, timeout: f64) -> Result<usize, BindingError> {
        let timeout = duration_from_seconds(timeout, "timeout")?;
        Ok(without_gil(py, || self.client.shutdown(timeout)))
    }

    /// Agent id used by events that do not name one.
    #[getter]
    fn agent_id(&self) -> &str {
        self.client.agent_id()
    }

    /// Number of events the collector accepted.
    #[getter]
    fn sent(&self) -> u64 {
        self.client.sent()
    }

    /// Number of events dropped because the queue was full or the client closed.
    #[getter]
    fn dropped(&self) -> u64 {
        self.client.dropped()
    }

    /// Number of events given up on after failed sends.
    #[getter]
    fn failed(&self) -> u64 {
        self.client.failed()
    }

    /// Number of events queued or in flight.
    #[getter]
    fn pending(&self) -> usize {
        self.client.pending()
    }

    /// Reason of the latest failed send: the HTTP status and the collector's error message,
    /// such as `status 401: Invalid API key`. `None` while no send failed.
    #[getter]
    fn last_failure(&self) -> Option<String> {
        self.client.last_failure()
    }
}

impl PyClient {
    /// Checks a cost event with the core's rules ([`CostEvent::check`]) and queues it when
    /// it passes, so an invalid cost raises here instead of being rejected by the collector
    /// and counted as failed.
    fn log_cost(&self, cost: CostEvent) -> Result<(), BindingError> {
        self.client
            .try_track_cost(cost)
            .map_err(|errors| renamed(errors, cost_argument_path))
    }
}

fn event_from_valid(valid: ValidEvent) -> Event {
    Event {
        id: valid.client_id,
        session_id: valid.session_id,
        agent_id: valid.agent_id,
        event_type: valid.event_type,
        severity: valid.severity,
        payload: valid.payload,
        metadata: valid.metadata,
        timestamp: valid.timestamp,
    }
}

/// Renames the paths of the core validator with `rename`, keeping the messages.
fn renamed(errors: Vec<FieldError>, rename: fn(&str) -> &str) -> BindingError {
    let renamed = errors
        .into_iter()
        .map(|error| FieldError {
            path: rename(&error.path).to_owned(),
            message: error.message,
        })
        .collect();
    BindingError::Invalid(renamed)
}

/// Renames the envelope paths of the core validator (`sessionId`, `eventType`) to the
/// Python argument names (`session_id`, `event_type`). Paths inside the payload and the
/// metadata stay as they are, because the caller passed those dicts with wire names.
fn to_argument_paths(errors: Vec<FieldError>) -> BindingError {
    renamed(errors, argument_path)
}

fn argument_path(path: &str) -> &str {
    match path {
        "sessionId" => "session_id",
        "agentId" => "agent_id",
        "eventType" => "event_type",
        other => other,
    }
}

/// Renames the paths of a cost event (`payload.costUsd`) to the keyword arguments of
/// `track_cost` (`cost_usd`). `payload.totalTokens` has no argument, because the total is
/// `input_tokens + output_tokens`, and stays as it is, like any path added later.
fn cost_argument_path(path: &str) -> &str {
    match path {
        "payload.provider" => "provider",
        "payload.model" => "model",
        "payload.inputTokens" => "input_tokens",
        "payload.outputTokens" => "output_tokens",
        "payload.cacheReadTokens" => "cache_read_tokens",
        "payload.cacheWrite5mTokens" => "cache_write_5m_tokens",
        "payload.cacheWrite1hTokens" => "cache_write_1h_tokens",
        "payload.reasoningTokens" => "reasoning_tokens",
        "payload.webSearches" => "web_searches",
        "payload.fileSearches" => "file_searches",
        "payload.codeInterpreterSessions" => "code_interpreter_sessions",
        "payload.costUsd" => "cost_usd",
        other => argument_path(other),
    }
}
