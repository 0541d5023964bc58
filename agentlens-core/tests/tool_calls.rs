//! Reads the built-in tool calls of recorded OpenAI Responses API bodies and prices them.
//!
//! The recorded responses live under `$AGENTLENS_TEST_DATA/provider-responses`. Without
//! the variable the test looks in `shared/data/real` beside the repository checkout.

use std::path::PathBuf;

use agentlens_core::pricing::{PriceOutcome, PriceTable, Quote};
use agentlens_core::usage::{self, Usage};
use agentlens_core::Usd;
use serde_json::Value;

const VERCEL_FIXTURES: &str = "vercel-ai/packages/openai/src/responses/__fixtures__";

fn data_path(relative: &str) -> PathBuf {
    let root = match std::env::var_os("AGENTLENS_TEST_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/real"),
    };
    root.join("provider-responses").join(relative)
}

fn read_text(relative: &str) -> String {
    let path = data_path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "failed to read {}: {error}; set AGENTLENS_TEST_DATA to the folder that contains \
             provider-responses/",
            path.display()
        )
    })
}

fn read_json(relative: &str) -> Value {
    serde_json::from_str(&read_text(relative)).unwrap()
}

fn priced(model: &str, usage: &Usage) -> Quote {
    let at = "2026-02-10T12:00:00Z".parse().unwrap();
    match PriceTable::embedded().quote(Some("openai"), model, usage, at) {
        PriceOutcome::Priced(quote) => quote,
        PriceOutcome::Unpriced { reason } => panic!("{model} is unpriced: {reason}"),
    }
}

#[test]
fn recorded_web_search_calls_are_billed_per_call() {
    let body = read_json(&format!("{VERCEL_FIXTURES}/openai-web-search-tool.1.json"));

    let usage = usage::from_response("openai", &body).unwrap();
    let quote = priced("gpt-5-mini", &usage);

    // The response lists a `search`, an `open_page` and a `find_in_page` call.
    assert_eq!(usage.web_searches, 3);
    assert_eq!(usage.input_tokens, 19_681);
    assert_eq!(
        quote.breakdown.web_searches.cost,
        "0.03".parse::<Usd>().unwrap()
    );
    assert_eq!(quote.total, quote.breakdown.total());
}

#[test]
fn recorded_file_search_call_is_billed_once() {
    let body = read_json(&format!("{VERCEL_FIXTURES}/openai-file-search-tool.1.json"));

    let usage = usage::from_response("openai", &body).unwrap();
    let quote = priced("gpt-5-mini", &usage);

    // One call with four queries is one billed call at $2.50 per thousand.
    assert_eq!(usage.file_searches, 1);
    assert_eq!(usage.web_searches, 0);
    assert_eq!(
        quote.breakdown.file_searches.cost,
        "0.0025".parse::<Usd>().unwrap()
    );
}

#[test]
fn recorded_code_interpreter_container_is_one_session() {
    let path = "pydantic-ai/tests/models/cassettes/test_openai_responses/\
                test_openai_responses_thinking_with_code_execution_tool.yaml";
    let cassette: Value = serde_norway::from_str(&read_text(path)).unwrap();
    let body = &cassette["interactions"][0]["response"]["parsed_body"];

    let usage = usage::from_response("openai", body).unwrap();
    let quote = priced("gpt-5", &usage);

    assert_eq!(usage.code_interpreter_sessions, 1);
    assert_eq!(
        quote.breakdown.code_interpreter_sessions.cost,
        "0.03".parse::<Usd>().unwrap()
    );
}

#[test]
fn bare_usage_object_reports_no_tool_calls() {
    let body = read_json(&format!("{VERCEL_FIXTURES}/openai-web-search-tool.1.json"));

    let usage = usage::extract("openai", &body["usage"]).unwrap();

    assert_eq!(usage.web_searches, 0);
    assert_eq!(usage.file_searches, 0);
}
