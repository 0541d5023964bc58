//! Conformance cases for cost computation: raw provider usage in, exact dollars out.
//!
//! Each case is a known way to miscount cost (cached tokens billed twice, cache writes
//! billed as input, reasoning billed twice, long-context tiers ignored, dated ids priced at
//! $0). The inputs are embedded so the tests always run. When `AGENTLENS_TEST_DATA` points
//! at the shared data folder, `shared_cases_file_agrees` also replays the cases file.

use agentlens_core::pricing::{PriceOutcome, PriceTable, Quote};
use agentlens_core::usage::extract;
use agentlens_core::Usd;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// The day the expected values were recorded; every model below has one entry in force then.
const PRICED_AT: &str = "2026-12-04T12:00:00Z";

fn outcome(provider: &str, model: &str, usage: &Value) -> PriceOutcome {
    let usage = extract(provider, usage).unwrap();
    let at: DateTime<Utc> = PRICED_AT.parse().unwrap();
    PriceTable::embedded().quote(Some(provider), model, &usage, at)
}

fn quote(provider: &str, model: &str, usage: &Value) -> Quote {
    match outcome(provider, model, usage) {
        PriceOutcome::Priced(quote) => quote,
        PriceOutcome::Unpriced { reason } => panic!("{model} is unpriced: {reason}"),
    }
}

fn usd(text: &str) -> Usd {
    text.parse().unwrap()
}

#[test]
fn openai_cached_tokens_billed_once() {
    let usage = json!({
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920},
        "completion_tokens_details": {"reasoning_tokens": 0}
    });
    let quote = quote("openai", "gpt-4o-2024-08-06", &usage);

    assert_eq!(quote.model, "gpt-4o");
    assert_eq!(quote.total, usd("0.005615"));
    assert_eq!(quote.breakdown.input.cost, usd("0.000215"));
    assert_eq!(quote.breakdown.cache_read.cost, usd("0.0024"));
    assert_eq!(quote.breakdown.output.cost, usd("0.003"));
    assert_eq!(quote.breakdown.input.count, 86);
}

#[test]
fn anthropic_cache_writes_billed_once() {
    let usage = json!({
        "input_tokens": 3,
        "cache_creation_input_tokens": 12304,
        "cache_read_input_tokens": 0,
        "output_tokens": 550
    });
    let quote = quote("anthropic", "claude-3-7-sonnet-20250219", &usage);

    assert_eq!(quote.total, usd("0.054399"));
    assert_ne!(quote.total, usd("0.091311"));
    assert_eq!(quote.breakdown.cache_write_5m.cost, usd("0.04614"));
    assert_eq!(quote.breakdown.input.cost, usd("0.000009"));
    assert_eq!(quote.breakdown.output.cost, usd("0.00825"));
}

#[test]
fn gemini_long_prompt_uses_upper_tier() {
    let usage = json!({
        "prompt_tokens": 262960,
        "completion_tokens": 1744,
        "total_tokens": 264704,
        "prompt_tokens_details": {"text_tokens": 262960, "cached_tokens": 257955},
        "completion_tokens_details": {"reasoning_tokens": 0}
    });
    let quote = quote("vertex_ai", "gemini-2.5-pro", &usage);

    assert_eq!(quote.total, usd("0.10316125"));
    assert_ne!(quote.total, usd("0.055940625"));
    assert_eq!(quote.breakdown.input.count, 5005);
    assert_eq!(quote.breakdown.cache_read.cost, usd("0.06448875"));
}

#[test]
fn gemini_native_usage_prices_the_same() {
    let usage = json!({
        "promptTokenCount": 262960,
        "cachedContentTokenCount": 257955,
        "candidatesTokenCount": 1744,
        "totalTokenCount": 264704
    });

    assert_eq!(
        quote("google", "gemini-2.5-pro", &usage).total,
        usd("0.10316125")
    );
}

#[test]
fn openai_reasoning_billed_once() {
    let usage = json!({
        "prompt_tokens": 14746,
        "completion_tokens": 1944,
        "completion_tokens_details": {"reasoning_tokens": 1360}
    });
    let quote = quote("openai", "gpt-5.4-pro", &usage);

    assert_eq!(quote.total, usd("0.7923"));
    assert_ne!(quote.total, usd("1.0371"));
    assert_eq!(quote.breakdown.reasoning_tokens, 1360);
    assert_eq!(quote.breakdown.output.count, 1944);
    assert_eq!(quote.breakdown.output_reasoning, None);
}

#[test]
fn dated_ids_are_priced_not_zero() {
    let anthropic = json!({"input_tokens": 10000, "output_tokens": 1000});
    let openai = json!({"prompt_tokens": 10000, "completion_tokens": 1000});
    let cases = [
        (
            "anthropic",
            "claude-haiku-4-5-20251001",
            &anthropic,
            "0.015",
        ),
        (
            "anthropic",
            "anthropic/claude-4.6-opus-20260205",
            &anthropic,
            "0.075",
        ),
        ("openai", "gpt-5.2-2025-12-11", &openai, "0.0315"),
    ];
    for (provider, model, usage, expected) in cases {
        assert_eq!(
            quote(provider, model, usage).total,
            usd(expected),
            "{model}"
        );
    }
}

#[test]
fn unknown_dated_id_is_unpriced() {
    let usage = json!({"input_tokens": 10000, "output_tokens": 1000});
    let outcome = outcome("anthropic", "claude-nonexistent-9-20990101", &usage);

    let PriceOutcome::Unpriced { reason } = outcome else {
        panic!("unknown model was priced: {outcome:?}");
    };
    assert!(reason.contains("claude-nonexistent-9-20990101"), "{reason}");
}

#[test]
fn openrouter_free_model_costs_zero() {
    // genai-prices 0.2.5 lists this id without rates and prices it at $0, while the same
    // model without `:free` has rates of its own.
    let usage = json!({
        "prompt_tokens": 2000,
        "completion_tokens": 300,
        "total_tokens": 2300,
        "prompt_tokens_details": {"cached_tokens": 1500},
        "completion_tokens_details": {"reasoning_tokens": 120}
    });
    let model = "meta-llama/llama-3.3-70b-instruct:free";
    let free = quote("openrouter", model, &usage);
    let paid = quote("openrouter", model.trim_end_matches(":free"), &usage);

    assert_eq!(free.model, model);
    assert_eq!(free.source, "genai-prices 0.2.5");
    assert_eq!(free.total, Usd::ZERO);
    assert_eq!(free.breakdown.input.count, 500);
    assert_eq!(free.breakdown.input.rate, Some(Decimal::ZERO));
    assert_eq!(free.breakdown.cache_read.count, 1500);
    assert_eq!(free.breakdown.cache_read.rate, Some(Decimal::ZERO));
    assert_eq!(free.breakdown.output.count, 300);
    assert_eq!(free.breakdown.output.rate, Some(Decimal::ZERO));
    assert_eq!(free.breakdown.reasoning_tokens, 120);
    assert_ne!(paid.total, Usd::ZERO);
}

/// Replays P01–P05 from the shared cases file, when the shared data folder is available.
#[test]
fn shared_cases_file_agrees() {
    let Ok(data) = std::env::var("AGENTLENS_TEST_DATA") else {
        println!("skipped: AGENTLENS_TEST_DATA is not set");
        return;
    };
    let path = std::path::Path::new(&data).join("../../cases/cost-cases.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!("skipped: {} is not readable", path.display());
        return;
    };
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();

    for case in cases
        .iter()
        .filter(|case| case["id"].as_str() < Some("P05"))
    {
        let input = &case["input"];
        let provider = input["provider"].as_str().unwrap();
        let model = input["model"].as_str().unwrap();
        let expected = case["expected"]["cost_usd"].as_str().unwrap();
        let total = quote(provider, model, &input["usage"]).total;
        assert_eq!(total, usd(expected), "case {}", case["id"]);
    }
    let vectors = cases.iter().find(|case| case["id"] == "P05").unwrap();
    for vector in vectors["input"]["vectors"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let provider = vector["provider"].as_str().unwrap();
        let model = vector["model"].as_str().unwrap();
        let expected = &vectors["expected"]["cost_usd"][name];
        match outcome(provider, model, &vector["usage"]) {
            PriceOutcome::Priced(quote) => {
                assert_eq!(quote.total, usd(expected.as_str().unwrap()), "P05 {name}")
            }
            PriceOutcome::Unpriced { .. } => assert!(name.starts_with("d_"), "P05 {name}"),
        }
    }
}

#[test]
fn alibaba_provider_name_finds_dashscope_prices() {
    let usage = json!({"inputTokens": 1000, "outputTokens": 100});
    let expected = quote("dashscope", "qwen3-max", &usage);

    for provider in ["alibaba", "Alibaba", "aliyun"] {
        let found = quote(provider, "qwen3-max", &usage);
        assert_eq!(found.provider, "dashscope", "{provider}");
        assert_eq!(found.total, expected.total, "{provider}");
    }
    // $1.20 per million input tokens and $6 per million output tokens below 32k.
    assert_eq!(expected.total, usd("0.0018"));
}

#[test]
fn embedded_table_lists_each_model_id_once_per_provider() {
    let table: Value =
        serde_json::from_str(include_str!("../data/prices.json")).expect("valid table JSON");
    for provider in table["providers"].as_array().unwrap() {
        let mut seen = std::collections::HashSet::new();
        for model in provider["models"].as_array().unwrap() {
            let id = model["id"].as_str().unwrap().to_lowercase();
            assert!(
                seen.insert(id.clone()),
                "provider {} lists model {id} twice",
                provider["id"]
            );
        }
    }
}
