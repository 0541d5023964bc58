//! Checks the shared expected-cost table `tests/fixtures/provider-costs.json` natively.
//!
//! The Node and WebAssembly test suites read the same table, so the three builds are held
//! to the same hand-computed costs. Each row is read from its recorded provider response
//! with [`usage::extract`] and priced with the embedded table.
//!
//! The recorded responses live under `$AGENTLENS_TEST_DATA/provider-responses`. Without
//! the variable the test looks in `shared/data/real` beside the repository checkout.

use std::path::PathBuf;

use agentlens_core::pricing::{PriceOutcome, PriceTable};
use agentlens_core::usage::{self, Usage};
use chrono::{DateTime, Utc};
use serde_json::Value;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the core crate sits inside the workspace")
        .to_path_buf()
}

fn test_data_dir() -> PathBuf {
    match std::env::var_os("AGENTLENS_TEST_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("../shared/data/real"),
    }
}

fn read_json(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| {
        panic!(
            "failed to read {}: {error}; set AGENTLENS_TEST_DATA to the folder that \
             contains provider-responses/",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn rows() -> Vec<Value> {
    let table = read_json(&workspace_root().join("tests/fixtures/provider-costs.json"));
    table["rows"].as_array().expect("rows is an array").clone()
}

fn text<'a>(row: &'a Value, key: &str) -> &'a str {
    row[key]
        .as_str()
        .unwrap_or_else(|| panic!("row field {key} must be a string: {row}"))
}

#[test]
fn table_has_rows_for_each_provider_shape() {
    let rows = rows();
    let providers: Vec<&str> = rows.iter().map(|row| text(row, "provider")).collect();

    for expected in ["openai", "anthropic", "google", "mistral"] {
        assert!(providers.contains(&expected), "no row for {expected}");
    }
}

#[test]
fn recorded_usage_reads_as_table_usage() {
    let data = test_data_dir().join("provider-responses");

    for row in rows() {
        let name = text(&row, "name");
        let response = read_json(&data.join(text(&row, "fixture")));
        let raw_usage = response
            .pointer(text(&row, "usagePointer"))
            .unwrap_or_else(|| panic!("{name}: usage pointer matches nothing"));
        let model = response.pointer(text(&row, "modelPointer"));

        let extracted = usage::extract(text(&row, "provider"), raw_usage)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        let expected: Usage = serde_json::from_value(row["usage"].clone()).unwrap();

        assert_eq!(extracted, expected, "{name}: usage");
        assert_eq!(
            model.and_then(Value::as_str),
            Some(text(&row, "model")),
            "{name}: model"
        );
    }
}

#[test]
fn table_usage_prices_to_expected_cost() {
    for row in rows() {
        let name = text(&row, "name");
        let usage: Usage = serde_json::from_value(row["usage"].clone()).unwrap();
        let at: DateTime<Utc> = text(&row, "at").parse().unwrap();

        let outcome = PriceTable::embedded().quote(
            Some(text(&row, "provider")),
            text(&row, "model"),
            &usage,
            at,
        );

        let PriceOutcome::Priced(quote) = outcome else {
            panic!("{name}: expected a price, got {outcome:?}");
        };
        assert_eq!(
            quote.total.to_string(),
            text(&row, "costUsd"),
            "{name}: cost"
        );
        assert_eq!(
            quote.breakdown.total(),
            quote.total,
            "{name}: breakdown sum"
        );
    }
}
