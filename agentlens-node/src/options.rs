//! `NapiClientOptions`, the settings of `new Client(options)`, and their range checks.
//!
//! The numbers arrive as JavaScript doubles and are checked here, before any conversion,
//! because napi's `u32` conversion wraps: `-1` would become about 49 days and `2 ** 32`
//! would become 0.
//!
//! The range checks are tested from JavaScript in `test/validation.test.js`, because a Rust
//! test that builds a `napi::Error` does not link outside Node.js.

use std::time::Duration;

use agentlens_core::client::{ClientOptions, MAX_BATCH_SIZE};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::conversion::invalid_arg;

/// Largest whole number that a double represents exactly, `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Maximum flush interval and wait of `flush()` and `close()`, in milliseconds: 2^31 - 1,
/// the maximum delay of `setTimeout`.
pub(crate) const MAX_WAIT_MS: f64 = 2_147_483_647.0;

/// Settings of a client. Each one falls back to an environment variable, then a default.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NapiClientOptions {
    /// Collector base URL; `AGENTLENS_SERVER_URL`, else `http://localhost:3400`.
    pub url: Option<String>,
    /// API key sent as a bearer token; `AGENTLENS_API_KEY`.
    pub api_key: Option<String>,
    /// Agent id of events that name none, 1 to 256 characters; `AGENTLENS_AGENT_ID`, else
    /// `default`.
    pub agent_id: Option<String>,
    /// Session id of events that name none, 1 to 256 characters; a new `ses_` ULID when
    /// absent.
    pub session_id: Option<String>,
    /// Events per request, a whole number from 1 to 1000 (default 512).
    pub batch_size: Option<f64>,
    /// Milliseconds a partial batch waits before it is sent, 0 to 2^31 - 1 (default 1000).
    pub flush_interval_ms: Option<f64>,
    /// Events the queue keeps before new ones are dropped, a whole number from 1 to
    /// 2^53 - 1 (default 10000).
    pub queue_capacity: Option<f64>,
}

/// Converts the options of `new Client()` into core options.
///
/// # Errors
///
/// Returns an `InvalidArg` error naming the option and its range when a number is out of
/// range, fractional, `NaN` or infinite.
pub(crate) fn build_options(options: NapiClientOptions) -> Result<ClientOptions> {
    // The garbage collector drops a client on the JavaScript thread, which must not wait
    // for the network. The `beforeExit` listener flushes the clients still alive.
    let mut built = ClientOptions::from_env().wait_on_drop(false);
    if let Some(url) = options.url {
        built = built.server_url(url);
    }
    if let Some(key) = options.api_key {
        built = built.api_key(key);
    }
    if let Some(agent_id) = options.agent_id {
        built = built.agent_id(agent_id);
    }
    if let Some(size) = options.batch_size {
        built = built.batch_size(whole_number("batchSize", size, MAX_BATCH_SIZE as f64)?);
    }
    if let Some(ms) = options.flush_interval_ms {
        if !(0.0..=MAX_WAIT_MS).contains(&ms) {
            return Err(out_of_range("flushIntervalMs", ms, "0 to 2147483647"));
        }
        built = built.flush_interval(Duration::from_secs_f64(ms / 1000.0));
    }
    if let Some(capacity) = options.queue_capacity {
        built = built.queue_capacity(whole_number("queueCapacity", capacity, MAX_SAFE_INTEGER)?);
    }
    Ok(built)
}

/// Reads a whole number from 1 to `max`.
fn whole_number(name: &str, value: f64, max: f64) -> Result<usize> {
    if value.fract() != 0.0 || !(1.0..=max).contains(&value) {
        let range = format!("a whole number from 1 to {max}");
        return Err(out_of_range(name, value, &range));
    }
    Ok(value as usize)
}

fn out_of_range(name: &str, value: f64, range: &str) -> Error {
    let value = js_number(value);
    invalid_arg(format!("invalid {name} {value}: expected {range}"))
}

/// Formats a number the way JavaScript prints it where Rust differs: `Infinity`, not `inf`.
pub(crate) fn js_number(value: f64) -> String {
    match value {
        f64::INFINITY => "Infinity".to_owned(),
        f64::NEG_INFINITY => "-Infinity".to_owned(),
        _ => value.to_string(),
    }
}
