//! The Node.js binding of AgentLens, built with napi-rs.
//!
//! Every call converts its arguments, calls `agentlens-core`, and converts the result. The
//! core client batches events on its own background thread, so `trackCost` and `logEvent`
//! only queue, and `flush` and `close` wait for the network on a libuv worker thread,
//! never on the JavaScript thread.
//!
//! - [`client`]: the `Client` class and its `Session` handle.
//! - [`conversion`]: plain objects that cross the boundary and their conversions.
//! - [`response`]: reading usage from provider and Vercel AI SDK responses.
//! - [`exit`]: the `beforeExit` flush and the once-per-kind warnings.
//! - [`options`]: the settings of `new Client()` and their range checks.
//! - [`tasks`]: `flush` and `close` as async tasks.

mod client;
mod conversion;
mod exit;
mod options;
mod response;
mod tasks;

use agentlens_core::pricing::PriceTable;
use agentlens_core::validate;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use conversion::{invalid_arg, parse_at, to_usage, NapiFieldError, NapiQuote, NapiUsage};

/// Prices a model call with the price table compiled into the addon.
///
/// `usage` counts every prompt token in `inputTokens` (cache reads and writes are parts of
/// it) and every generated token in `outputTokens` (reasoning is part of it). `at` picks
/// the dated price entry and defaults to now. A model the table does not know is unpriced,
/// with `costUsd: null` and the reason in `unpricedReason`, never $0.
///
/// @throws {Error} when a count is not a whole number >= 0 or `at` is not a valid date.
#[napi]
pub fn quote(
    provider: Option<String>,
    model: String,
    usage: NapiUsage,
    #[napi(ts_arg_type = "string | Date")] at: Option<Either<String, Date>>,
) -> Result<NapiQuote> {
    let usage = to_usage(&usage)?;
    let at = parse_at(at)?;

    let outcome = PriceTable::embedded().quote(provider.as_deref(), &model, &usage, at);

    Ok(NapiQuote::from_outcome(&outcome))
}

/// Validates one event in the AgentLens wire format without sending it.
///
/// Returns every violation, each with the dotted path of the value (`payload.toolName`),
/// or an empty array for a valid event.
#[napi]
pub fn validate_event(event: serde_json::Value) -> Vec<NapiFieldError> {
    match validate::validate_event(&event) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(NapiFieldError::from).collect(),
    }
}

/// Returns the content hash of the compiled-in price table, such as `pv_0123456789ab`.
#[napi]
pub fn pricing_version() -> String {
    PriceTable::embedded().version().to_owned()
}

/// Checks that a plain number of milliseconds is usable as a timeout, and shortens one
/// above [`options::MAX_WAIT_MS`] to that.
fn timeout_from_ms(ms: Option<f64>, default_ms: f64) -> Result<std::time::Duration> {
    let ms = ms.unwrap_or(default_ms);
    if !ms.is_finite() || ms < 0.0 {
        return Err(invalid_arg(format!(
            "invalid timeout {}: expected a finite number of milliseconds >= 0",
            options::js_number(ms)
        )));
    }
    let ms = ms.min(options::MAX_WAIT_MS);
    Ok(std::time::Duration::from_secs_f64(ms / 1000.0))
}
