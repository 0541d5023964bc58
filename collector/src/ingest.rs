//! Preparation of an ingest batch: validation, server timestamps and cost columns.
//!
//! [`prepare_batch`] turns a request body into events ready to store. It runs before the
//! write transaction, so a rejected batch never reaches the database. An event with a
//! reported `costUsd` keeps it. A `cost_tracked` or `llm_response` without one is priced
//! from the collector's price table (the embedded table, with the `--prices` overrides
//! applied) at the event's time, and [`PricingRef`] records the table version and the entry
//! used. A payload's `serviceTier` or `service_tier` (such as `flex`) and `batch: true`, as
//! the event validator reads them, select the model's
//! tier or batch prices, and a tier the model has no price for leaves the event unpriced.
//! When the table has no price for it, the cost stays unknown: it is stored as NULL and
//! counted as unpriced, never as $0.
//!
//! A payload whose JavaScript JSON text is longer than [`MAX_PAYLOAD_BYTES`] UTF-8 bytes
//! is replaced, as in upstream AgentLens, by
//! `{"type":"_truncated","data":{"_truncated":true,"originalSize":N,"maxSize":10240,
//! "preview":"<first 200 UTF-16 units of the text>..."}}`. Unlike upstream, the stub keeps
//! the cost fields that fit, and `data.droppedKeys` names those that did not, as the
//! `truncate` module describes. Cost columns are read from the payload before truncation, so totals
//! never change.

use agentlens_core::canonical::object_to_js_json;
use agentlens_core::event::{format_timestamp, EventType, ValidEvent};
use agentlens_core::money::Usd;
use agentlens_core::pricing::{PriceOutcome, PriceTable};
use agentlens_core::usage::Usage;
use agentlens_core::validate::{
    validate_batch, validate_batch_bytes, validate_batch_owned, validate_event, BatchError,
    FieldError,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::store::alerts::ALERT_SESSION_PREFIX;

mod truncate;

pub(crate) use truncate::dropped_price_inputs;
use truncate::truncate_payload;
pub use truncate::MAX_PAYLOAD_BYTES;

/// Origin of the stored cost of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostSource {
    /// The client sent `costUsd`.
    Reported,
    /// The collector priced the usage with its price table.
    Derived,
    /// The price table has no price for the event, so its cost is unknown.
    Unpriced,
}

impl CostSource {
    /// Returns the value stored in the `cost_source` column.
    pub fn as_str(&self) -> &'static str {
        match self {
            CostSource::Reported => "reported",
            CostSource::Derived => "derived",
            CostSource::Unpriced => "unpriced",
        }
    }
}

/// The cost columns of a `cost_tracked` or `llm_response` event.
#[derive(Debug, Clone, PartialEq)]
pub struct CostColumns {
    /// Provider name as sent.
    pub provider: String,
    /// Model id as sent.
    pub model: String,
    /// Cost in pico-dollars; `None` when unpriced.
    pub cost_pico: Option<i64>,
    /// Origin of the cost.
    pub source: CostSource,
    /// Token counts.
    pub usage: Usage,
    /// LLM call id, when sent.
    pub call_id: Option<String>,
    /// The price table that priced the event; `None` for a reported cost.
    pub pricing: Option<PricingRef>,
}

/// The price table and entry behind a derived cost, or the table that found no price.
#[derive(Debug, Clone, PartialEq)]
pub struct PricingRef {
    /// Content hash of the price table, see [`PriceTable::version`].
    pub version: String,
    /// Provider id of the entry used; `None` when unpriced.
    pub provider: Option<String>,
    /// Model id of the entry used; `None` when unpriced.
    pub model: Option<String>,
    /// First day of the dated price used; `None` when undated or unpriced.
    pub price_date: Option<NaiveDate>,
}

/// A validated event with its final timestamp text and cost columns.
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    /// The validated event.
    pub event: ValidEvent,
    /// Stored timestamp text: the client's time in UTC, or the server's arrival time.
    pub timestamp: String,
    /// Cost columns for cost-bearing events.
    pub cost: Option<CostColumns>,
    /// The payload as JavaScript-compatible JSON text, exactly as hashed. It is also the
    /// stored text unless [`Self::keep_exact_payload`] kept one with more digits.
    pub payload_json: String,
    /// The metadata as JavaScript-compatible JSON text, exactly as stored and hashed.
    pub metadata_json: String,
    /// Payload text stored in place of `payload_json`, set by [`Self::keep_exact_payload`].
    exact_payload_json: Option<String>,
    /// The payload's `toolName` of a tool or cost event, read before truncation.
    pub tool_name: Option<String>,
}

impl PreparedEvent {
    /// Stores `text` in place of `payload_json` when it is the same payload with more
    /// digits in its numbers, that is, when the JavaScript-compatible text of the parsed
    /// `text` is `payload_json`. Otherwise, such as for a truncated payload, nothing
    /// changes.
    ///
    /// The hash keeps covering `payload_json`. The timeline check parses the stored text
    /// and hashes its JavaScript-compatible text, so it still matches.
    pub fn keep_exact_payload(&mut self, text: String) {
        let Ok(parsed) = serde_json::from_str::<Map<String, Value>>(&text) else {
            return;
        };
        if object_to_js_json(&parsed) == self.payload_json {
            self.exact_payload_json = Some(text);
        }
    }

    /// Returns the payload text to store.
    pub fn stored_payload_json(&self) -> &str {
        self.exact_payload_json
            .as_deref()
            .unwrap_or(&self.payload_json)
    }
}

/// Validates a `{"events": [...]}` body and prepares every event for storage.
///
/// Events without a timestamp get `received_at`, payloads over [`MAX_PAYLOAD_BYTES`]
/// are replaced by the `_truncated` stub, and costs not reported are priced with `prices`.
///
/// # Errors
///
/// Returns [`ApiError::InvalidJson`] or [`ApiError::Validation`] with one detail per
/// violation, including a cost too large to store.
pub fn prepare_batch(
    body: &Value,
    received_at: DateTime<Utc>,
    prices: &PriceTable,
) -> Result<Vec<PreparedEvent>, ApiError> {
    prepare_validated(validate_batch(body), received_at, prices)
}

/// The events of a request body after validation.
#[derive(Debug)]
pub struct ValidatedBody {
    /// The valid events, or every violation found.
    pub events: Result<Vec<ValidEvent>, BatchError>,
    /// Events the body carried: the length of its `events` array, or 1 without one.
    pub sent: usize,
}

/// Validates the batch in a `POST /api/events` body.
///
/// A body of valid events is read by [`validate_batch_bytes`], which parses the event
/// envelopes without building a `serde_json::Value` for them. Any other body is parsed as
/// [`JsonBody`] and checked by [`validate_batch_owned`], which names every violation.
/// Valid events are then checked by [`reject_reserved_sessions`].
///
/// # Errors
///
/// Returns [`ApiError::InvalidJson`] when the body is not JSON, or is `null`, `false`, `0`
/// or `""`.
pub fn validate_body(body: &[u8]) -> Result<ValidatedBody, ApiError> {
    if let Some(events) = validate_batch_bytes(body) {
        return Ok(ValidatedBody {
            sent: events.len(),
            events: reject_reserved_sessions(events),
        });
    }

    let JsonBody(body) = JsonBody::from_bytes(body)?;
    let sent = body["events"].as_array().map_or(1, Vec::len);
    Ok(ValidatedBody {
        events: validate_batch_owned(body).and_then(reject_reserved_sessions),
        sent,
    })
}

/// Rejects a client batch with an event in a session whose id starts with
/// [`ALERT_SESSION_PREFIX`]. Those sessions hold the `alert_triggered` and `alert_resolved`
/// events of the alert evaluator, which stores them through [`prepare_batch`] and so skips
/// this check. A client event there could add a cost that a rule counts or forge a
/// transition.
///
/// # Errors
///
/// Returns a [`BatchError`] with one `events.N.sessionId` detail per such event.
pub fn reject_reserved_sessions(events: Vec<ValidEvent>) -> Result<Vec<ValidEvent>, BatchError> {
    let details: Vec<FieldError> = events
        .iter()
        .enumerate()
        .filter(|(_, event)| event.session_id.starts_with(ALERT_SESSION_PREFIX))
        .map(|(index, event)| FieldError {
            path: format!("events.{index}.sessionId"),
            message: format!(
                "session id {:?} is reserved: ids starting with {ALERT_SESSION_PREFIX} \
                 contain the collector's own alert events; use a session id without that \
                 prefix",
                event.session_id
            ),
        })
        .collect();

    if details.is_empty() {
        Ok(events)
    } else {
        Err(BatchError {
            message: "Validation failed".to_owned(),
            details,
        })
    }
}

/// Prepares validated events for storage as [`prepare_batch`] does.
///
/// # Errors
///
/// Returns [`ApiError::InvalidJson`] or [`ApiError::Validation`] for a rejected batch, and
/// [`ApiError::Validation`] for a cost too large to store.
pub fn prepare_validated(
    validated: Result<Vec<ValidEvent>, BatchError>,
    received_at: DateTime<Utc>,
    prices: &PriceTable,
) -> Result<Vec<PreparedEvent>, ApiError> {
    let events = validated.map_err(|error| {
        if error.message == "Invalid JSON body" {
            let reason = error.details.into_iter().next();
            ApiError::InvalidJson(reason.map_or_else(String::new, |detail| detail.message))
        } else {
            ApiError::Validation(error.details)
        }
    })?;

    let mut prepared = Vec::with_capacity(events.len());
    let mut details = Vec::new();
    let mut timestamps = TimestampText::default();
    for (index, mut event) in events.into_iter().enumerate() {
        let tool_name = tool_name(&event);
        let payload_json = truncate_payload(&mut event);
        let at = event.timestamp.unwrap_or(received_at);
        let cost = match cost_columns(&event, at, prices) {
            Ok(cost) => cost,
            Err(mut error) => {
                error.path = format!("events.{index}.payload.{}", error.path);
                details.push(error);
                None
            }
        };
        let metadata_json = object_to_js_json(&event.metadata);
        prepared.push(PreparedEvent {
            event,
            timestamp: timestamps.format(at),
            cost,
            payload_json,
            metadata_json,
            exact_payload_json: None,
            tool_name,
        });
    }

    if details.is_empty() {
        Ok(prepared)
    } else {
        Err(ApiError::Validation(details))
    }
}

/// The stored text of the last timestamp formatted. The events of a batch often share
/// one time, such as the arrival time of those sent without one, and copying the text
/// costs less than formatting it again.
#[derive(Debug, Default)]
struct TimestampText {
    last: Option<(DateTime<Utc>, String)>,
}

impl TimestampText {
    fn format(&mut self, at: DateTime<Utc>) -> String {
        match &self.last {
            Some((last, text)) if *last == at => text.clone(),
            _ => {
                let text = format_timestamp(&at);
                self.last = Some((at, text.clone()));
                text
            }
        }
    }
}

/// The stored fields of a cost event that pricing reads again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredCostEvent<'a> {
    pub(crate) session_id: &'a str,
    pub(crate) agent_id: &'a str,
    /// Event type wire name.
    pub(crate) event_type: &'a str,
    /// Stored timestamp text.
    pub(crate) timestamp: &'a str,
    /// Stored payload JSON.
    pub(crate) payload: &'a str,
}

/// Prices a stored event again with `prices`. The stored payload is validated as at ingest,
/// which yields the same usage, service tier and batch flag, and quoted at the event's
/// time, so a table that now has the price gives the cost that ingest would give.
///
/// # Errors
///
/// Returns the reason the event stays unpriced. That is the reason of the price table, the
/// price inputs that a truncated stub left out, or the path of the first validation error
/// of the stored payload, such as that of a truncated `llm_response` stub.
pub(crate) fn price_stored(
    stored: StoredCostEvent<'_>,
    prices: &PriceTable,
) -> Result<CostColumns, String> {
    const INVALID: &str = "stored payload fails validation";
    let payload: Value = serde_json::from_str(stored.payload).map_err(|_| INVALID.to_owned())?;
    if let Some(reason) = dropped_price_inputs(&payload, prices) {
        return Err(reason);
    }
    let input = json!({
        "sessionId": stored.session_id,
        "agentId": stored.agent_id,
        "eventType": stored.event_type,
        "timestamp": stored.timestamp,
        "payload": payload,
    });
    // The path alone, without the message and its values, so that a summary can group
    // the events by reason.
    let valid = validate_event(&input).map_err(|details| match details.first() {
        Some(detail) => format!("{INVALID} at {}", detail.path),
        None => INVALID.to_owned(),
    })?;
    let (Some(at), Some(facts)) = (valid.timestamp, valid.cost.as_ref()) else {
        return Err(INVALID.to_owned());
    };

    let provider = Some(facts.provider.as_str());
    let outcome = prices.quote_with(provider, &facts.model, &facts.usage, at, &facts.context);
    if let PriceOutcome::Unpriced { reason } = outcome {
        return Err(reason);
    }
    match cost_columns(&valid, at, prices) {
        Ok(Some(columns)) => Ok(columns),
        Ok(None) => Err(INVALID.to_owned()),
        Err(error) => Err(format!("{}: {}", error.path, error.message)),
    }
}

/// Builds the cost columns, pricing the usage when the client sent no cost.
///
/// # Errors
///
/// Returns a [`FieldError`] whose path is relative to the payload when the cost does not
/// fit the pico-dollar column: `costUsd` for a reported cost, and the larger token count
/// for a derived one, because the client never sent a `costUsd`.
fn cost_columns(
    event: &ValidEvent,
    at: DateTime<Utc>,
    prices: &PriceTable,
) -> Result<Option<CostColumns>, FieldError> {
    let Some(facts) = &event.cost else {
        return Ok(None);
    };

    let (cost, source, pricing) = match facts.cost_usd {
        Some(reported) => (Some(reported), CostSource::Reported, None),
        None => {
            let provider = Some(facts.provider.as_str());
            let context = &facts.context;
            match prices.quote_with(provider, &facts.model, &facts.usage, at, context) {
                PriceOutcome::Priced(quote) => {
                    let pricing = PricingRef {
                        version: quote.pricing_version,
                        provider: Some(quote.provider),
                        model: Some(quote.model),
                        price_date: quote.price_date,
                    };
                    (Some(quote.total), CostSource::Derived, Some(pricing))
                }
                PriceOutcome::Unpriced { .. } => {
                    let pricing = PricingRef {
                        version: prices.version().to_owned(),
                        provider: None,
                        model: None,
                        price_date: None,
                    };
                    (None, CostSource::Unpriced, Some(pricing))
                }
            }
        }
    };
    let cost_pico = match cost {
        Some(amount) => Some(
            amount
                .to_pico()
                .ok_or_else(|| cost_too_large(event, source, amount))?,
        ),
        None => None,
    };

    Ok(Some(CostColumns {
        provider: facts.provider.clone(),
        model: facts.model.clone(),
        cost_pico,
        source,
        usage: facts.usage,
        call_id: facts.call_id.clone(),
        pricing,
    }))
}

/// Returns the non-empty `toolName` string of a tool or cost event's payload, which
/// `byTool` of the cost report and the tool report group by.
fn tool_name(event: &ValidEvent) -> Option<String> {
    let counts = matches!(
        event.event_type,
        EventType::ToolCall
            | EventType::ToolResponse
            | EventType::ToolError
            | EventType::CostTracked
            | EventType::LlmResponse
    );
    if !counts {
        return None;
    }
    match event.payload.get("toolName") {
        Some(Value::String(name)) if !name.is_empty() => Some(name.clone()),
        _ => None,
    }
}

/// Describes a cost too large for the pico-dollar column (`i64::MAX` pico-dollars, about
/// 9,223,372 USD), on the field that the client can fix.
fn cost_too_large(event: &ValidEvent, source: CostSource, amount: Usd) -> FieldError {
    let maximum = "the maximum of 9,223,372 USD per event";
    if source == CostSource::Reported {
        return FieldError {
            path: "costUsd".to_owned(),
            message: format!("cost {amount} USD exceeds {maximum}"),
        };
    }

    // Cache and reasoning tokens are parts of the input and output counts, so the larger
    // of those two is what drove the cost up.
    let usage = event
        .cost
        .as_ref()
        .map(|facts| facts.usage)
        .unwrap_or_default();
    let field = if usage.input_tokens >= usage.output_tokens {
        "inputTokens"
    } else {
        "outputTokens"
    };
    let path = match event.event_type {
        EventType::LlmResponse => format!("usage.{field}"),
        _ => field.to_owned(),
    };
    FieldError {
        path,
        message: format!("derived cost {amount} USD exceeds {maximum}; check the token counts"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validates and prepares `body` the way `POST /api/events` does.
    fn prepare_body(
        body: &Value,
        received_at: DateTime<Utc>,
        prices: &PriceTable,
    ) -> Result<Vec<PreparedEvent>, ApiError> {
        let bytes = serde_json::to_vec(body).unwrap();
        prepare_validated(validate_body(&bytes)?.events, received_at, prices)
    }

    #[test]
    fn shared_timestamps_keep_their_own_text() {
        let received_at = "2026-02-07T12:00:00.5Z".parse::<DateTime<Utc>>().unwrap();
        let event = |timestamp: Value| {
            json!({"sessionId": "s1", "agentId": "a1", "eventType": "session_started",
                   "timestamp": timestamp, "payload": {}})
        };
        let body = json!({"events": [
            event(json!("2026-02-07T10:00:00Z")),
            event(json!("2026-02-07T15:30:00+05:30")),
            event(Value::Null),
            event(json!("2026-02-07T10:00:00.000001Z")),
            event(Value::Null),
        ]});
        let prepared = prepare_body(&body, received_at, PriceTable::embedded()).unwrap();
        let texts: Vec<&str> = prepared
            .iter()
            .map(|event| event.timestamp.as_str())
            .collect();
        assert_eq!(
            texts,
            [
                "2026-02-07T10:00:00.000000Z",
                "2026-02-07T10:00:00.000000Z",
                "2026-02-07T12:00:00.500000Z",
                "2026-02-07T10:00:00.000001Z",
                "2026-02-07T12:00:00.500000Z",
            ]
        );
    }

    #[test]
    fn stub_without_dropped_tier_stays_unpriced() {
        let body = json!({"events": [{"sessionId": "s1", "agentId": "a1",
            "eventType": "cost_tracked", "timestamp": "2026-02-07T10:00:00Z",
            "payload": {"provider": "openai", "model": "gpt-4o", "inputTokens": 300,
                "outputTokens": 20, "serviceTier": "t".repeat(20_000)}}]});
        let prices = PriceTable::embedded();
        let prepared = prepare_batch(&body, Utc::now(), prices).unwrap();
        let cost = prepared[0].cost.as_ref().unwrap();
        assert_eq!(cost.source, CostSource::Unpriced);
        assert_eq!(cost.model, "gpt-4o");
        assert_eq!(cost.usage.input_tokens, 300);

        let stored = StoredCostEvent {
            session_id: "s1",
            agent_id: "a1",
            event_type: "cost_tracked",
            timestamp: &prepared[0].timestamp,
            payload: prepared[0].stored_payload_json(),
        };
        let repriced = price_stored(stored, prices);

        let reason = repriced.unwrap_err();
        assert!(reason.contains("without serviceTier"), "{reason}");
    }

    #[test]
    fn request_body_prepares_like_value() {
        let received_at = Utc::now();
        let body = json!({"events": [
            {"sessionId": "s1", "agentId": "a1", "eventType": "cost_tracked",
             "metadata": {"b": 1, "a": [2]},
             "payload": {"provider": "openai", "model": "gpt-4o", "inputTokens": 100,
                         "outputTokens": 20, "note": "x".repeat(MAX_PAYLOAD_BYTES)}},
            {"id": "c1", "sessionId": "s2", "agentId": "a2", "eventType": "cost_tracked",
             "payload": {"provider": "anthropic", "model": "claude-sonnet-4-5",
                         "inputTokens": 10, "outputTokens": 5, "costUsd": "0.5"}},
        ]});
        let prices = PriceTable::embedded();
        let borrowed = prepare_batch(&body, received_at, prices).unwrap();
        let owned = prepare_body(&body, received_at, prices).unwrap();

        assert_eq!(owned.len(), borrowed.len());
        for (owned, borrowed) in owned.iter().zip(&borrowed) {
            assert_eq!(owned.event, borrowed.event);
            assert_eq!(owned.timestamp, borrowed.timestamp);
            assert_eq!(owned.cost, borrowed.cost);
            assert_eq!(owned.payload_json, borrowed.payload_json);
            assert_eq!(owned.metadata_json, borrowed.metadata_json);
        }
        assert!(owned[0].payload_json.starts_with(r#"{"type":"_truncated""#));
        assert_eq!(owned[0].metadata_json, r#"{"b":1,"a":[2]}"#);
    }
}
