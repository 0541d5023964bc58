//! The `Client` class and the `Session` handle that `client.session()` passes to its
//! callback.

use std::sync::Arc;

use agentlens_core::client::{Client, CostEvent};
use agentlens_core::event::{Event, EventType};
use agentlens_core::pricing::{PriceContext, PriceOutcome, PriceTable};
use agentlens_core::{usage, validate};
use chrono::Utc;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::{Map, Value};
use ulid::Ulid;

use crate::conversion::{invalid_arg, invalid_cost, to_cost_event, NapiCostInput, NapiQuote};
use crate::options::{build_options, NapiClientOptions};
use crate::tasks::{Wait, WaitTask};
use crate::{exit, response, timeout_from_ms};

/// Default wait of `flush()` and `close()`, in milliseconds.
const DEFAULT_TIMEOUT_MS: f64 = 5000.0;

/// An event for `logEvent`, in the AgentLens wire format.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NapiEventInput {
    /// Event type, such as `tool_call` or `custom`.
    pub event_type: String,
    /// Type-specific fields.
    #[napi(ts_type = "Record<string, unknown>")]
    pub payload: Option<Map<String, Value>>,
    /// Session of the event; the client's session when absent.
    pub session_id: Option<String>,
    /// Agent of the event; the client's agent when absent.
    pub agent_id: Option<String>,
    /// `debug`, `info` (default), `warn`, `error` or `critical`.
    pub severity: Option<String>,
    /// Free-form annotations.
    #[napi(ts_type = "Record<string, unknown>")]
    pub metadata: Option<Map<String, Value>>,
    /// RFC 3339 time of the event; the time of the call when absent.
    pub timestamp: Option<String>,
    /// Idempotency id; a ULID when absent.
    pub id: Option<String>,
}

/// Options of `trackResponse`. Values given here win over what the response says.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NapiResponseOptions {
    /// Provider name; recognized from the response shape when absent.
    pub provider: Option<String>,
    /// Model id; read from the response when absent.
    pub model: Option<String>,
    /// Session of the call; the client's session when absent.
    pub session_id: Option<String>,
    /// Agent of the call; the client's agent when absent.
    pub agent_id: Option<String>,
    /// Cause of the call, such as a tool name.
    pub trigger: Option<String>,
    /// Id of the model call, which lets the collector count it once.
    pub call_id: Option<String>,
}

/// Options of `session()`.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NapiSessionOptions {
    /// Agent of the session; the client's agent when absent.
    pub agent_id: Option<String>,
    /// Tags stored with the session.
    pub tags: Option<Vec<String>>,
    /// Session id; a new `ses_` ULID when absent.
    pub session_id: Option<String>,
    /// Human-readable agent name.
    pub agent_name: Option<String>,
}

/// Counters of a client.
#[napi(object)]
#[derive(Debug, Clone)]
pub struct NapiClientStats {
    /// Events the collector accepted.
    pub sent: f64,
    /// Events given up on after failed sends.
    pub failed: f64,
    /// Events dropped because the queue was full or the client closed.
    pub dropped: f64,
    /// Events queued or in flight.
    pub pending: f64,
    /// Reason of the latest failed send: the HTTP status and the collector's error message,
    /// such as `status 401: Invalid API key`. Absent while no send failed.
    pub last_failure: Option<String>,
}

/// Sends events to an AgentLens collector in batches, from a background thread.
///
/// Calls that record events only queue them and never throw for network problems: failed
/// sends are counted in `stats()` and reported once with `console.warn`. Before the process
/// exits on its own, pending events are flushed. Await `close()` before `process.exit()`.
/// A client collected as garbage without `close()` sends its queued events for up to 2 s
/// on its own thread, without blocking the event loop, unless the process exits first.
#[napi(js_name = "Client")]
#[derive(Debug)]
pub struct NapiClient {
    core: Arc<Client>,
    session_id: String,
}

#[napi]
impl NapiClient {
    /// Creates a client and starts its background thread.
    ///
    /// @throws {Error} when the URL is not an absolute http(s) URL, the API key cannot be
    /// sent in an HTTP header, the agent or session id is blank or longer than 256
    /// characters, or a number is outside the range its option documents.
    #[napi(constructor)]
    pub fn new(env: Env, options: Option<NapiClientOptions>) -> Result<Self> {
        let options = options.unwrap_or_default();
        let session_id = match &options.session_id {
            Some(session_id) => {
                // Every event without a session id of its own gets this one, and the
                // collector would reject each of them.
                validate::check_session_id(session_id)
                    .map_err(|message| invalid_arg(format!("invalid session id: {message}")))?;
                session_id.clone()
            }
            None => new_session_id(),
        };

        let core = build_options(options)?
            .build()
            .map_err(|error| invalid_arg(error.to_string()))?;
        let core = Arc::new(core);
        exit::register(&env, &core)?;

        Ok(NapiClient { core, session_id })
    }

    /// Agent id of events that name none.
    #[napi(getter)]
    pub fn agent_id(&self) -> String {
        self.core.agent_id().to_owned()
    }

    /// Session id of events that name none.
    #[napi(getter)]
    pub fn session_id(&self) -> String {
        self.session_id.clone()
    }

    /// Queues a `cost_tracked` event for one model call. Returns at once; nothing is sent
    /// on the calling thread.
    ///
    /// @throws {Error} naming each invalid field before anything is queued: a count that
    /// is not a whole number from 0 to 2^53 - 1, a part above its whole (cache tokens above
    /// input tokens), a blank provider or model, a session or agent id longer than 256
    /// characters, or a `costUsd` that is not a decimal string of 0 to
    /// 9223372.036854775807 with at most 12 decimal places. It also throws for an event
    /// above the collector's 1 MiB request limit.
    #[napi]
    pub fn track_cost(&self, env: Env, cost: NapiCostInput) -> Result<()> {
        let cost = to_cost_event(cost, &self.session_id)?;
        self.core.try_track_cost(cost).map_err(invalid_cost)?;
        exit::warn_about_losses(&env, &self.core);
        Ok(())
    }

    /// Validates an event with the collector's rules and queues it.
    ///
    /// @throws {Error} listing every invalid field by path (`payload.toolName`) before
    /// anything is queued, also for an event above the collector's 1 MiB request limit.
    #[napi]
    pub fn log_event(&self, env: Env, event: NapiEventInput) -> Result<()> {
        let event = self.to_event(event)?;
        self.core.log(event);
        exit::warn_about_losses(&env, &self.core);
        Ok(())
    }

    /// Reads usage from a model response and queues its cost, priced with the compiled-in
    /// table at the response's `created` (or `created_at`) time in Unix seconds, else now.
    /// Accepts OpenAI, Anthropic and Gemini responses, Vercel AI SDK results, and bare
    /// usage objects of each (then pass `model`).
    ///
    /// The provider is the `provider` option, else the one the response shape names
    /// (Gemini, Anthropic, the Vercel AI SDK's `providerMetadata`), else the maker of the
    /// model (`gpt-` for `openai`, `grok` for `x-ai`). A model that resellers also list,
    /// such as `qwen3-max`, is never priced at a reseller's rates: without the `provider`
    /// option it is sent unpriced under provider `unknown`, with the reason in
    /// `unpricedReason`.
    ///
    /// Returns the quote sent; an unpriced call is sent without `costUsd`.
    ///
    /// @throws {Error} when the response has no usage, a count is invalid, no model id is
    /// found, `created` is not in Unix seconds, or the cost event breaks a rule of
    /// `trackCost`.
    #[napi]
    pub fn track_response(
        &self,
        env: Env,
        response: Value,
        options: Option<NapiResponseOptions>,
    ) -> Result<NapiQuote> {
        let options = options.unwrap_or_default();
        let read = response::read(
            &response,
            options.provider.as_deref(),
            options.model.as_deref(),
        )
        .map_err(invalid_arg)?;
        let model = read.model.ok_or_else(|| {
            invalid_arg("no model id in the response: pass it as the model option")
        })?;
        let created = usage::response_created(&response)
            .map_err(|error| invalid_arg(format!("invalid response: {}", error.message)))?;

        let at = created.unwrap_or_else(Utc::now);
        let call = PriceTable::embedded().quote_call(
            read.provider.as_deref(),
            &model,
            &read.usage,
            at,
            &PriceContext::default(),
        );
        let cost_usd = match &call.outcome {
            PriceOutcome::Priced(quote) => Some(quote.total),
            PriceOutcome::Unpriced { .. } => None,
        };

        let session_id = options
            .session_id
            .unwrap_or_else(|| self.session_id.clone());
        let cost = CostEvent {
            agent_id: options.agent_id,
            cost_usd,
            trigger: options.trigger,
            call_id: options.call_id,
            ..CostEvent::new(session_id, call.provider, model, read.usage)
        };
        self.core.try_track_cost(cost).map_err(invalid_cost)?;
        exit::warn_about_losses(&env, &self.core);
        Ok(NapiQuote::from_outcome(&call.outcome))
    }

    /// Runs `callback` inside a session: queues `session_started`, awaits the callback,
    /// then queues `session_ended` with reason `completed`, or `error` when the callback
    /// throws or rejects, in which case the error is rethrown unchanged.
    ///
    /// Resolves to the callback's result.
    ///
    /// @throws {Error} before the callback runs when `session_started` is invalid, such as
    /// a blank session or agent id or one longer than 256 characters.
    #[napi(
        ts_generic_types = "T",
        ts_args_type = "options: NapiSessionOptions | undefined | null, callback: (session: Session) => Promise<T> | T",
        ts_return_type = "Promise<T>"
    )]
    pub fn session<'env>(
        &self,
        env: &'env Env,
        options: Option<NapiSessionOptions>,
        callback: Function<'env, NapiSession, Unknown<'env>>,
    ) -> Result<PromiseRaw<'env, Unknown<'env>>> {
        let handle = self.start_session(options.unwrap_or_default())?;
        let session_id = handle.session_id.clone();
        let agent_id = handle.agent_id.clone();

        let result = match callback.call(handle) {
            Ok(result) => result,
            Err(error) => {
                self.end_session(&session_id, &agent_id, "error");
                return Err(error);
            }
        };

        let promise = resolve_promise(env, result)?;
        let on_success = self.session_ender(&session_id, &agent_id);
        let on_failure = self.session_ender(&session_id, &agent_id);
        // The returned chain passes a rejection through untouched, so the caller sees the
        // original error object; the side chain only records the session's end.
        promise.catch(move |_: CallbackContext<Unknown>| -> Result<()> {
            on_failure("error");
            Ok(())
        })?;
        promise.then(move |context| {
            on_success("completed");
            Ok(context.value)
        })
    }

    /// Sends everything queued so far. Resolves to the number of events still pending
    /// after at most `timeoutMs` (default 5000), 0 when all were handled. A wait above
    /// 2^31 - 1 ms (about 24.8 days) is shortened to that.
    ///
    /// @throws {Error} when `timeoutMs` is negative, `NaN` or infinite.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn flush(&self, timeout_ms: Option<f64>) -> Result<AsyncTask<WaitTask>> {
        Ok(AsyncTask::new(WaitTask {
            client: Arc::clone(&self.core),
            wait: Wait::Flush,
            timeout: timeout_from_ms(timeout_ms, DEFAULT_TIMEOUT_MS)?,
        }))
    }

    /// Sends what is queued and stops the background thread. Resolves to the number of
    /// events still pending after at most `timeoutMs` (default 5000, shortened like
    /// `flush`). Events recorded afterwards are dropped and counted.
    ///
    /// @throws {Error} when `timeoutMs` is negative, `NaN` or infinite.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn close(&self, timeout_ms: Option<f64>) -> Result<AsyncTask<WaitTask>> {
        Ok(AsyncTask::new(WaitTask {
            client: Arc::clone(&self.core),
            wait: Wait::Shutdown,
            timeout: timeout_from_ms(timeout_ms, DEFAULT_TIMEOUT_MS)?,
        }))
    }

    /// Returns the client's counters.
    #[napi]
    pub fn stats(&self) -> NapiClientStats {
        NapiClientStats {
            sent: self.core.sent() as f64,
            failed: self.core.failed() as f64,
            dropped: self.core.dropped() as f64,
            pending: self.core.pending() as f64,
            last_failure: self.core.last_failure(),
        }
    }
}

impl NapiClient {
    /// Fills the client defaults into an event, validates it and converts it.
    fn to_event(&self, input: NapiEventInput) -> Result<Event> {
        let mut event = Map::new();
        let session_id = input.session_id.unwrap_or_else(|| self.session_id.clone());
        let agent_id = input
            .agent_id
            .unwrap_or_else(|| self.core.agent_id().to_owned());
        event.insert("sessionId".into(), session_id.into());
        event.insert("agentId".into(), agent_id.into());
        event.insert("eventType".into(), input.event_type.into());
        event.insert("payload".into(), input.payload.unwrap_or_default().into());
        let optional = [
            ("severity", input.severity.map(Value::from)),
            ("metadata", input.metadata.map(Value::from)),
            ("timestamp", input.timestamp.map(Value::from)),
            ("id", input.id.map(Value::from)),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                event.insert(key.into(), value);
            }
        }
        let event = Value::Object(event);

        if let Err(errors) = validate::validate_event(&event) {
            let details: Vec<String> = errors
                .iter()
                .map(|error| format!("{}: {}", error.path, error.message))
                .collect();
            return Err(invalid_arg(format!(
                "invalid event: {}",
                details.join("; ")
            )));
        }
        let event: Event = serde_json::from_value(event)
            .map_err(|error| invalid_arg(format!("invalid event: {error}")))?;
        validate::check_event_size(&event).map_err(|error| {
            invalid_arg(format!("invalid event: {}: {}", error.path, error.message))
        })?;
        Ok(event)
    }

    /// Queues `session_started` and returns the session. The event goes through the same
    /// check as `logEvent`, so an id that the collector would reject throws here.
    fn start_session(&self, options: NapiSessionOptions) -> Result<NapiSession> {
        let session_id = options.session_id.unwrap_or_else(new_session_id);
        let agent_id = options
            .agent_id
            .unwrap_or_else(|| self.core.agent_id().to_owned());

        let mut payload = Map::new();
        if let Some(name) = options.agent_name {
            payload.insert("agentName".into(), name.into());
        }
        payload.insert("tags".into(), options.tags.unwrap_or_default().into());
        let event = self.to_event(NapiEventInput {
            event_type: "session_started".to_owned(),
            payload: Some(payload),
            session_id: Some(session_id.clone()),
            agent_id: Some(agent_id.clone()),
            ..NapiEventInput::default()
        })?;
        self.core.log(event);

        Ok(NapiSession {
            core: Arc::clone(&self.core),
            session_id,
            agent_id,
        })
    }

    fn end_session(&self, session_id: &str, agent_id: &str, reason: &str) {
        end_session(&self.core, session_id, agent_id, reason);
    }

    fn session_ender(&self, session_id: &str, agent_id: &str) -> impl FnOnce(&str) {
        let core = Arc::clone(&self.core);
        let session_id = session_id.to_owned();
        let agent_id = agent_id.to_owned();
        move |reason| end_session(&core, &session_id, &agent_id, reason)
    }
}

/// A session started by `client.session()`: records events under its session and agent.
#[napi(js_name = "Session")]
#[derive(Debug)]
pub struct NapiSession {
    core: Arc<Client>,
    session_id: String,
    agent_id: String,
}

#[napi]
impl NapiSession {
    /// Id of this session.
    #[napi(getter)]
    pub fn session_id(&self) -> String {
        self.session_id.clone()
    }

    /// Agent of this session.
    #[napi(getter)]
    pub fn agent_id(&self) -> String {
        self.agent_id.clone()
    }

    /// Queues a `cost_tracked` event in this session, like `Client.trackCost`.
    ///
    /// @throws {Error} for the same invalid input as `Client.trackCost`.
    #[napi]
    pub fn track_cost(&self, env: Env, cost: NapiCostInput) -> Result<()> {
        let mut cost = to_cost_event(cost, &self.session_id)?;
        cost.agent_id.get_or_insert_with(|| self.agent_id.clone());
        self.core.try_track_cost(cost).map_err(invalid_cost)?;
        exit::warn_about_losses(&env, &self.core);
        Ok(())
    }
}

fn end_session(core: &Client, session_id: &str, agent_id: &str, reason: &str) {
    let mut payload = Map::new();
    payload.insert("reason".into(), reason.into());
    core.log(Event::new(
        session_id,
        agent_id,
        EventType::SessionEnded,
        payload,
    ));
}

fn new_session_id() -> String {
    format!("ses_{}", Ulid::generate())
}

/// Returns `Promise.resolve(value)`, so a callback may return a plain value or a promise.
fn resolve_promise<'env>(
    env: &'env Env,
    value: Unknown<'env>,
) -> Result<PromiseRaw<'env, Unknown<'env>>> {
    // `Promise` is a function, which the checked getter would reject as an `Object`.
    let promise_class: Object = env.get_global()?.get_named_property_unchecked("Promise")?;
    let resolve: Function<Unknown, PromiseRaw<Unknown>> =
        promise_class.get_named_property("resolve")?;
    resolve.apply(promise_class, value)
}
