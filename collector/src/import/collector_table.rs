//! Asks the collector which price table it prices events with, so the import's summary can
//! state whether its total matches the costs the collector stored.
//!
//! The import sends usage without `costUsd`, and the collector prices each event with its
//! own table: the embedded one, or the embedded one with the overrides of its `--prices`
//! file. The import prices the same usage with its own table to print a total. The two
//! totals agree exactly when both tables have the same content hash, which
//! `POST /api/pricing/quote` reports as `pricingVersion`.

use std::time::Duration;

use serde_json::{json, Value};

/// Time allowed for the one quote request.
const QUOTE_TIMEOUT: Duration = Duration::from_secs(10);

/// Returns the `pricingVersion` of the collector at `url`, or `None` when the collector
/// cannot be asked (unreachable, an older version without the field, or a refused key).
pub async fn collector_pricing_version(url: &str, api_key: Option<&str>) -> Option<String> {
    // reqwest is built without a default crypto provider, so one is installed here. An
    // error means that one is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(QUOTE_TIMEOUT)
        .build()
        .ok()?;

    // Any model works: the response carries the table's version whether or not it is priced.
    let body = json!({
        "provider": "anthropic",
        "model": "claude-haiku-4-5",
        "usage": {"inputTokens": 1, "outputTokens": 1},
    });
    let mut request = client
        .post(format!("{}/api/pricing/quote", url.trim_end_matches('/')))
        .json(&body);
    if let Some(key) = api_key {
        request = request.bearer_auth(key);
    }

    let response = request.send().await.ok()?.error_for_status().ok()?;
    let report: Value = response.json().await.ok()?;
    let version = report.get("pricingVersion")?.as_str()?.to_owned();
    tracing::debug!(pricing.version = %version, "collector price table read");
    Some(version)
}
