//! Imports real Claude Code transcripts and checks the collector's cost figures against
//! values computed independently by `scripts/claude_code_expected.py`.
//!
//! That script shares no code or price table with AgentLens: it applies Anthropic's
//! published per-million rates (Opus 4.6 $5/$25, Sonnet 4.5 $3/$15, Haiku 4.5 $1/$5; cache
//! writes 1.25x input for 5 minutes and 2x for 1 hour, cache reads 0.1x) with Python's
//! `Decimal`, keeping the last streamed copy of each (message id, request id). Rerun it
//! with `python3 scripts/claude_code_expected.py $AGENTLENS_TEST_DATA/claude-code/spotter`.

use std::process::Command;

use serde_json::Value;

use crate::common::{agentlens_bin, decimal, test_data, Collector, API_KEY};

const EXPECTED_MESSAGES: u64 = 899;
const EXPECTED_TOTAL_USD: &str = "51.7044178";
const EXPECTED_INPUT_TOKENS: u64 = 79_403_351;
const EXPECTED_OUTPUT_TOKENS: u64 = 195_794;
const EXPECTED_CACHE_READ_TOKENS: u64 = 77_328_535;
const EXPECTED_CACHE_WRITE_TOKENS: u64 = 1_297_908 + 767_767;
const EXPECTED_BY_MODEL: [(&str, &str); 3] = [
    ("claude-haiku-4-5-20251001", "1.7890471"),
    ("claude-opus-4-6", "49.11465375"),
    ("claude-sonnet-4-5-20250929", "0.80071695"),
];
const EXPECTED_BY_DAY: [(&str, &str); 3] = [
    ("2026-02-10T00:00:00Z", "1.0157068"),
    ("2026-02-11T00:00:00Z", "23.8900939"),
    ("2026-02-12T00:00:00Z", "26.7986171"),
];
const RANGE: &str = "from=2026-02-01T00:00:00Z&to=2026-03-01T00:00:00Z";

fn run_import(collector: &Collector, dir: &std::path::Path) -> String {
    let output = Command::new(agentlens_bin())
        .args(["import", "claude-code"])
        .arg(dir)
        .args(["--url", &collector.url, "--api-key", API_KEY])
        .output()
        .expect("agentlens import runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "import failed: {stderr}");
    stderr + &String::from_utf8_lossy(&output.stdout)
}

fn costs(collector: &Collector, granularity: &str) -> Value {
    let (status, body) = collector.get(&format!(
        "/api/analytics/costs?{RANGE}&granularity={granularity}"
    ));
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn spotter_import_matches_independent_totals() {
    let Some(data) = test_data() else { return };
    let collector = Collector::start();
    let summary = run_import(&collector, &data.join("claude-code/spotter"));
    assert!(
        summary.contains("899"),
        "summary lacks the event count: {summary}"
    );

    let body = costs(&collector, "day");
    let totals = &body["totals"];
    assert_eq!(
        decimal(&totals["totalCostUsd"]),
        decimal(&EXPECTED_TOTAL_USD.into())
    );
    assert_eq!(totals["eventCount"], EXPECTED_MESSAGES);
    assert_eq!(totals["unpricedCount"], 0);
    assert_eq!(totals["totalInputTokens"], EXPECTED_INPUT_TOKENS);
    assert_eq!(totals["totalOutputTokens"], EXPECTED_OUTPUT_TOKENS);
    assert_eq!(totals["cacheReadTokens"], EXPECTED_CACHE_READ_TOKENS);
    assert_eq!(totals["cacheWriteTokens"], EXPECTED_CACHE_WRITE_TOKENS);

    for (model, expected) in EXPECTED_BY_MODEL {
        let row = body["byModel"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["model"] == model)
            .unwrap_or_else(|| panic!("no byModel row for {model}: {body}"));
        assert_eq!(
            decimal(&row["totalCostUsd"]),
            decimal(&expected.into()),
            "{model}"
        );
    }
    // The collector priced every imported event itself and recorded the table version.
    let (status, page) = collector.get("/api/events?eventType=cost_tracked&limit=500");
    assert_eq!(status, 200, "{page}");
    for event in page["events"].as_array().unwrap() {
        let pricing = &event["pricing"];
        assert_eq!(pricing["source"], "derived", "{event}");
        assert!(pricing["pricingVersion"].is_string(), "{event}");
        assert!(event["payload"].get("costUsd").is_none(), "{event}");
    }
    for (bucket, expected) in EXPECTED_BY_DAY {
        let row = body["overTime"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["bucket"] == bucket)
            .unwrap_or_else(|| panic!("no overTime bucket {bucket}: {body}"));
        assert_eq!(
            decimal(&row["totalCostUsd"]),
            decimal(&expected.into()),
            "{bucket}"
        );
    }
}

#[test]
fn spotter_parts_add_up_to_total() {
    let Some(data) = test_data() else { return };
    let collector = Collector::start();
    run_import(&collector, &data.join("claude-code/spotter"));

    for granularity in ["hour", "day", "week"] {
        let body = costs(&collector, granularity);
        let total = decimal(&body["totals"]["totalCostUsd"]);
        for part in ["byAgent", "byModel", "overTime"] {
            let sum: rust_decimal::Decimal = body[part]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| decimal(&row["totalCostUsd"]))
                .sum();
            assert_eq!(sum, total, "{part} at {granularity} granularity");
        }
    }
    let (_, sessions) = collector.get("/api/sessions?limit=500");
    let session_sum: rust_decimal::Decimal = sessions["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| decimal(&session["totalCostUsd"]))
        .sum();
    assert_eq!(session_sum, decimal(&EXPECTED_TOTAL_USD.into()));
}

#[test]
fn reimport_does_not_double_count() {
    let Some(data) = test_data() else { return };
    let collector = Collector::start();
    let dir = data.join("claude-code/spotter");
    let first = run_import(&collector, &dir);
    let before = costs(&collector, "day");
    let second = run_import(&collector, &dir);

    let after = costs(&collector, "day");
    assert!(first.contains("  new:            899\n"), "{first}");
    assert!(first.contains("  already stored: 0\n"), "{first}");
    assert!(second.contains("  new:            0\n"), "{second}");
    assert!(second.contains("  already stored: 899\n"), "{second}");
    assert_eq!(after["totals"], before["totals"]);
    assert_eq!(after["totals"]["eventCount"], EXPECTED_MESSAGES);
    assert_eq!(
        decimal(&after["totals"]["totalCostUsd"]),
        decimal(&EXPECTED_TOTAL_USD.into())
    );
}

/// ccusage's fixtures have no `type` field, and one call reports `usage.speed: "fast"` for
/// a model without fast-mode prices, so it stays unpriced instead of costing standard rates.
#[test]
fn untyped_ccusage_lines_are_imported() {
    let Some(data) = test_data() else { return };
    let collector = Collector::start();

    let summary = run_import(&collector, &data.join("claude-code/ccusage-fixtures"));

    assert!(summary.contains("events found:    5"), "{summary}");
    assert!(summary.contains("unpriced events: 1"), "{summary}");
    let body = costs_between(&collector, "2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z");
    assert_eq!(body["totals"]["eventCount"], 5, "{body}");
    assert_eq!(body["totals"]["unpricedCount"], 1, "{body}");
}

fn costs_between(collector: &Collector, from: &str, to: &str) -> Value {
    let (status, body) = collector.get(&format!(
        "/api/analytics/costs?from={from}&to={to}&granularity=day"
    ));
    assert_eq!(status, 200, "{body}");
    body
}
