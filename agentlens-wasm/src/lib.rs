//! The AgentLens price engine and event validation for WebAssembly hosts (Node.js and
//! browsers), built with wasm-bindgen.
//!
//! Values cross the boundary as JSON text, so the exported functions need no JS glue
//! beyond `JSON.parse`. Amounts of money are decimal strings, never numbers, for the same
//! reason as in the native binding: a float cannot hold every cost exactly.
//!
//! Build (run from the workspace root):
//!
//! ```text
//! cargo build -p agentlens-wasm --target wasm32-unknown-unknown --release
//! wasm-bindgen --target nodejs --out-dir agentlens-wasm/pkg \
//!     target/wasm32-unknown-unknown/release/agentlens_wasm.wasm
//! ```

use agentlens_core::pricing::{LineItem, PriceOutcome, PriceTable, UnitLine};
use agentlens_core::usage::{self, Usage};
use agentlens_core::validate;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;

/// Prices a model call with the embedded price table.
///
/// `usage_json` is the normalized usage, such as
/// `{"inputTokens": 1200, "cacheReadTokens": 200, "outputTokens": 300}`, where input counts
/// every prompt token and output includes reasoning. `at` is an RFC 3339 time that selects
/// the dated price entry; the current time is used when it is absent.
///
/// Returns JSON text: `{"costUsd": "0.0125" | null, "breakdown", "provider", "model",
/// "priceDate", "pricingVersion", "unpricedReason"}`.
///
/// # Errors
///
/// Throws an `Error` when `usage_json` is not a usage object or `at` is not RFC 3339.
#[wasm_bindgen]
pub fn quote(
    provider: Option<String>,
    model: &str,
    usage_json: &str,
    at: Option<String>,
) -> Result<String, JsError> {
    let usage = parse_usage(usage_json)?;
    let at = parse_at(at.as_deref())?;

    let outcome = PriceTable::embedded().quote(provider.as_deref(), model, &usage, at);

    Ok(outcome_json(&outcome).to_string())
}

/// Reads a provider's raw usage object into the normalized usage that [`quote`] takes.
///
/// The reader is chosen by provider name and shape: Anthropic, Gemini `usageMetadata`, or
/// the OpenAI Chat Completions and Responses shapes.
///
/// # Errors
///
/// Throws an `Error` naming the field when the JSON is invalid or a count is missing,
/// negative, fractional, or larger than the count that includes it.
#[wasm_bindgen(js_name = extractUsage)]
pub fn extract_usage(provider: &str, raw_usage_json: &str) -> Result<String, JsError> {
    let raw: Value = serde_json::from_str(raw_usage_json)
        .map_err(|error| JsError::new(&format!("invalid usage json: {error}")))?;
    let usage = usage::extract(provider, &raw).map_err(|error| JsError::new(&error.to_string()))?;
    Ok(usage_json(&usage).to_string())
}

/// Validates one event in the AgentLens wire format.
///
/// Returns JSON text: `{"valid": true}` or `{"valid": false, "errors": [{"path",
/// "message"}]}` with every violation, paths relative to the event (`payload.costUsd`).
///
/// # Errors
///
/// Throws an `Error` when `event_json` is not JSON at all.
#[wasm_bindgen(js_name = validateEvent)]
pub fn validate_event(event_json: &str) -> Result<String, JsError> {
    let event: Value = serde_json::from_str(event_json)
        .map_err(|error| JsError::new(&format!("invalid event json: {error}")))?;
    let result = match validate::validate_event(&event) {
        Ok(_) => json!({ "valid": true }),
        Err(errors) => json!({ "valid": false, "errors": errors }),
    };
    Ok(result.to_string())
}

/// Returns the content hash of the embedded price table, such as `pv_0123456789ab`.
#[wasm_bindgen(js_name = pricingVersion)]
pub fn pricing_version() -> String {
    PriceTable::embedded().version().to_owned()
}

fn parse_usage(text: &str) -> Result<Usage, JsError> {
    serde_json::from_str(text).map_err(|error| {
        JsError::new(&format!(
            "invalid usage json: {error}; expected an object such as \
             {{\"inputTokens\": 1200, \"outputTokens\": 300}}"
        ))
    })
}

fn parse_at(at: Option<&str>) -> Result<DateTime<Utc>, JsError> {
    let Some(text) = at else {
        return Ok(Utc::now());
    };
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            JsError::new(&format!(
                "invalid time {text:?}: expected RFC 3339 such as 2026-02-07T10:00:00Z"
            ))
        })
}

fn outcome_json(outcome: &PriceOutcome) -> Value {
    match outcome {
        PriceOutcome::Priced(quote) => {
            let lines = &quote.breakdown;
            json!({
                "costUsd": quote.total.to_string(),
                "breakdown": {
                    "input": line_json(&lines.input),
                    "cacheRead": line_json(&lines.cache_read),
                    "cacheWrite5m": line_json(&lines.cache_write_5m),
                    "cacheWrite1h": line_json(&lines.cache_write_1h),
                    "output": line_json(&lines.output),
                    "outputReasoning": lines.output_reasoning.as_ref().map(line_json),
                    "webSearches": line_json(&lines.web_searches),
                    "fileSearches": line_json(&lines.file_searches),
                    "codeInterpreterSessions": line_json(&lines.code_interpreter_sessions),
                    "requestUsd": lines.request.to_string(),
                    "modalities": lines.modalities.iter().map(unit_line_json).collect::<Vec<_>>(),
                },
                "provider": quote.provider,
                "model": quote.model,
                "priceDate": quote.price_date.map(|date| date.to_string()),
                "pricingVersion": quote.pricing_version,
                "unpricedReason": null,
            })
        }
        PriceOutcome::Unpriced { reason } => json!({
            "costUsd": null,
            "breakdown": null,
            "provider": null,
            "model": null,
            "priceDate": null,
            "pricingVersion": PriceTable::embedded().version(),
            "unpricedReason": reason,
        }),
    }
}

fn line_json(line: &LineItem) -> Value {
    json!({
        "count": line.count,
        "rate": line.rate.map(|rate| rate.normalize().to_string()),
        "costUsd": line.cost.to_string(),
    })
}

fn unit_line_json(line: &UnitLine) -> Value {
    json!({
        "unit": line.unit,
        "priceKey": line.price_key,
        "count": line.count,
        "rate": line.rate.normalize().to_string(),
        "costUsd": line.cost.to_string(),
    })
}

/// Writes the normalized usage; audio, image and video counts appear only when above 0.
fn usage_json(usage: &Usage) -> Value {
    serde_json::to_value(usage).unwrap_or(Value::Null)
}
