use chrono::{DateTime, NaiveDate, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::money::Usd;
use crate::usage::Usage;
use variants::Resolved;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn decimal(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn tokens(input: u64, cache_read: u64, output: u64) -> Usage {
    Usage {
        input_tokens: input,
        cache_read_tokens: cache_read,
        output_tokens: output,
        ..Usage::default()
    }
}

fn priced(provider: Option<&str>, model: &str, usage: &Usage, when: &str) -> Quote {
    match PriceTable::embedded().quote(provider, model, usage, at(when)) {
        PriceOutcome::Priced(quote) => quote,
        PriceOutcome::Unpriced { reason } => panic!("{model} is unpriced: {reason}"),
    }
}

/// Returns the model entry a spelling resolves to.
fn resolved(provider: Option<&str>, model: &str) -> String {
    priced(provider, model, &tokens(1, 0, 1), "2026-02-10T00:00:00Z").model
}

#[test]
fn embedded_table_loads_with_source() {
    let table = PriceTable::embedded();

    assert_eq!(table.source(), "genai-prices 0.2.5 + litellm 1.110.2");
    assert!(table.version().starts_with("pv_"));
    assert_eq!(table.version().len(), 15);
    assert!(table.providers.len() > 40);
}

#[test]
fn version_changes_with_content() {
    let text = include_str!("../../data/prices.json");
    let changed = text.replacen("\"input_mtok\": \"8\"", "\"input_mtok\": \"9\"", 1);
    assert_ne!(changed, text);
    let first = PriceTable::from_json(text).unwrap();
    let second = PriceTable::from_json(&changed).unwrap();

    assert_ne!(first.version(), second.version());
}

#[test]
fn claude_rates_match_list_prices() {
    let feb_2026 = "2026-02-10T00:00:00Z";
    let cases = [
        ("claude-opus-4-6", "5", "25"),
        ("claude-sonnet-4-5", "3", "15"),
        ("claude-haiku-4-5", "1", "5"),
    ];
    for (model, input, output) in cases {
        let quote = priced(Some("anthropic"), model, &tokens(1, 1, 1), feb_2026);
        assert_eq!(quote.model, model);
        assert_eq!(
            quote.breakdown.input.rate,
            Some(decimal(input)),
            "{model} input"
        );
        assert_eq!(
            quote.breakdown.output.rate,
            Some(decimal(output)),
            "{model} output"
        );
        let read_rate = quote.breakdown.cache_read.rate.unwrap();
        assert!(
            read_rate < decimal(input),
            "{model} cache read rate {read_rate}"
        );
    }
}

#[test]
fn openai_models_have_cache_read_rates() {
    let cases = [
        ("gpt-5.3-codex", "1.75", "0.175"),
        ("gpt-4o", "2.5", "1.25"),
    ];
    for (model, input, cache_read) in cases {
        let quote = priced(
            Some("openai"),
            model,
            &tokens(10, 5, 1),
            "2026-02-10T00:00:00Z",
        );
        assert_eq!(quote.model, model);
        assert_eq!(quote.breakdown.input.rate, Some(decimal(input)), "{model}");
        assert_eq!(
            quote.breakdown.cache_read.rate,
            Some(decimal(cache_read)),
            "{model}"
        );
    }
}

#[test]
fn longer_ids_never_match_their_prefix_model() {
    assert_eq!(resolved(Some("openai"), "gpt-4o-mini"), "gpt-4o-mini");
    assert_eq!(resolved(Some("openai"), "o3-pro"), "o3-pro");
    assert_eq!(resolved(Some("openai"), "gpt-5-nano"), "gpt-5-nano");
    assert_eq!(resolved(None, "gpt-4o-mini"), "gpt-4o-mini");
    assert_eq!(resolved(None, "o3-pro"), "o3-pro");
    assert_eq!(resolved(None, "gpt-5-nano"), "gpt-5-nano");
}

#[test]
fn dated_ids_resolve_to_base_model() {
    assert_eq!(
        resolved(Some("anthropic"), "claude-haiku-4-5-20251001"),
        "claude-haiku-4-5"
    );
    assert_eq!(resolved(Some("openai"), "gpt-4o-2024-08-06"), "gpt-4o");
    assert_eq!(resolved(Some("openai"), "gpt-5.2-2025-12-11"), "gpt-5.2");
    assert_eq!(resolved(Some("openai"), "gpt-5.2-20251211"), "gpt-5.2");
}

#[test]
fn provider_prefix_and_case_are_normalized() {
    assert_eq!(
        resolved(Some("openai"), "openai/gpt-4o-mini"),
        "gpt-4o-mini"
    );
    assert_eq!(resolved(Some("OpenAI"), "GPT-4o"), "gpt-4o");
    let opus = resolved(Some("anthropic"), "anthropic/claude-4.6-opus-20260205");
    assert_eq!(opus, "claude-opus-4-6");
}

#[test]
fn provider_is_found_by_match_clause() {
    let quote = priced(
        Some("vertex_ai"),
        "gemini-2.5-pro",
        &tokens(1, 0, 1),
        "2026-02-10T00:00:00Z",
    );

    assert_eq!(quote.provider, "google");
}

#[test]
fn unknown_model_names_value_and_fix() {
    let usage = tokens(10, 0, 1);
    let outcome = PriceTable::embedded().quote(
        Some("anthropic"),
        "claude-nope-1",
        &usage,
        at("2026-01-01T00:00:00Z"),
    );

    let PriceOutcome::Unpriced { reason } = outcome else {
        panic!("unknown model was priced: {outcome:?}");
    };
    assert!(
        reason.contains("unknown model \"claude-nope-1\""),
        "{reason}"
    );
    assert!(reason.contains("provider \"anthropic\""), "{reason}");
    assert!(reason.contains("price override"), "{reason}");
}

#[test]
fn litellm_zero_placeholder_is_unpriced_not_free() {
    // litellm 1.110.2 lists zai/glm-4.5-flash with every rate at $0 and no note saying so.
    let usage = tokens(1000, 0, 100);
    let outcome = PriceTable::embedded().quote(
        Some("zai"),
        "glm-4.5-flash",
        &usage,
        at("2026-12-05T00:00:00Z"),
    );

    let PriceOutcome::Unpriced { reason } = outcome else {
        panic!("a $0 placeholder was priced: {outcome:?}");
    };
    assert!(
        reason.contains("unknown model \"glm-4.5-flash\""),
        "{reason}"
    );
    assert!(reason.contains("price override"), "{reason}");
}

#[test]
fn litellm_models_at_zero_are_documented_free() {
    // The two search APIs whose LiteLLM notes state they are free.
    let noted_free = ["duckduckgo/search", "searxng/search"];
    let table = PriceTable::embedded();

    for provider in &table.providers {
        for model in provider.models.iter() {
            let rates = model.entries.iter().flat_map(|entry| entry.rates.keyed());
            let variants = model.variants.iter().flat_map(|v| v.rates.keyed());
            let all_zero = rates
                .chain(variants)
                .all(|(_, rate)| rate.at(0).is_zero() && rate.at(u64::MAX).is_zero());
            if !model.source.starts_with("litellm") || !all_zero {
                continue;
            }

            let name = format!("{}/{}", provider.id, model.id);
            let named_free = model.id.ends_with(":free") || model.id.ends_with("-free");
            assert!(
                named_free || noted_free.contains(&name.as_str()),
                "{name} costs $0"
            );
        }
    }
}

#[test]
fn model_named_free_keeps_its_zero_price() {
    let quote = priced(
        Some("opencode_go"),
        "beam-free",
        &tokens(1000, 0, 100),
        "2026-12-05T00:00:00Z",
    );

    assert_eq!(quote.total, Usd::ZERO);
}

/// Returns the reason of an unpriced quote, and panics when the call is priced.
fn unpriced_reason(provider: &str, model: &str, usage: &Usage) -> String {
    let when = at("2026-12-05T00:00:00Z");
    match PriceTable::embedded().quote(Some(provider), model, usage, when) {
        PriceOutcome::Unpriced { reason } => reason,
        PriceOutcome::Priced(quote) => panic!("{model} was priced: {quote:?}"),
    }
}

#[test]
fn free_model_web_searches_stay_unpriced() {
    // genai-prices 0.2.5 lists google/gemma-3-27b-it:free without rates. Its tokens cost $0,
    // but the table has no web search rate for it, and a search is not assumed free.
    let model = "google/gemma-3-27b-it:free";
    let searched = Usage {
        web_searches: 2,
        ..tokens(1000, 0, 100)
    };

    let tokens_only = priced(
        Some("openrouter"),
        model,
        &tokens(1000, 0, 100),
        "2026-12-05T00:00:00Z",
    );
    let reason = unpriced_reason("openrouter", model, &searched);

    assert_eq!(tokens_only.total, Usd::ZERO);
    assert!(
        reason.contains("no price for web search (2 requests)"),
        "{reason}"
    );
}

#[test]
fn partially_rated_entry_leaves_gap_unpriced() {
    // genai-prices 0.2.5 gives text-embedding-3-small an input rate and no output rate, so
    // output tokens have no rate to be billed at.
    let model = "text-embedding-3-small";

    let input_only = priced(
        Some("openai"),
        model,
        &tokens(1000, 0, 0),
        "2026-12-05T00:00:00Z",
    );
    let reason = unpriced_reason("openai", model, &tokens(1000, 0, 10));

    assert_eq!(input_only.total, Usd::new(decimal("0.00002")));
    assert!(
        reason.contains("no price for output tokens (10 tokens)"),
        "{reason}"
    );
}

#[test]
fn deprecated_model_without_rates_is_unpriced() {
    // genai-prices 0.2.5 keeps Cerebras qwen-3-coder-480b without rates because Cerebras no
    // longer lists it, which does not make past calls free.
    let reason = unpriced_reason("cerebras", "qwen-3-coder-480b", &tokens(1000, 0, 100));

    assert!(
        reason.contains("no price for input tokens (1000 tokens)"),
        "{reason}"
    );
}

#[test]
fn unknown_provider_is_unpriced() {
    let usage = tokens(10, 0, 1);
    let outcome = PriceTable::embedded().quote(
        Some("my-proxy"),
        "gpt-4o",
        &usage,
        at("2026-01-01T00:00:00Z"),
    );

    let PriceOutcome::Unpriced { reason } = outcome else {
        panic!("unknown provider was priced: {outcome:?}");
    };
    assert!(reason.contains("unknown provider \"my-proxy\""), "{reason}");
    assert!(reason.contains("agentlens prices list"), "{reason}");
    assert!(!reason.contains("or none"), "{reason}");
}

#[test]
fn inconsistent_usage_is_unpriced() {
    let usage = tokens(10, 11, 1);
    let outcome =
        PriceTable::embedded().quote(Some("openai"), "gpt-4o", &usage, at("2026-01-01T00:00:00Z"));

    assert!(
        matches!(outcome, PriceOutcome::Unpriced { reason } if reason.contains("invalid usage"))
    );
}

#[test]
fn tokens_without_rate_are_unpriced() {
    let table = r#"{"format_version": 2, "generated": "2026-01-01",
        "sources": [{"package": "test", "version": "0"}],
        "providers": [{"id": "p", "provider_match": null, "model_match": null, "models": [
            {"id": "m", "match": {"equals": "m"}, "prices": [{"rates": {"output_mtok": "2"}}]}
        ]}]}"#;
    let table = PriceTable::from_json(table).unwrap();
    let outcome = table.quote(Some("p"), "m", &tokens(5, 0, 1), at("2026-01-01T00:00:00Z"));

    let PriceOutcome::Unpriced { reason } = outcome else {
        panic!("input without a rate was priced: {outcome:?}");
    };
    assert!(reason.contains("\"m\""), "{reason}");
    assert!(reason.contains("input tokens"), "{reason}");
}

#[test]
fn missing_cache_rate_falls_back_to_input_rate() {
    // genai-prices bills cache reads of an entry without a cache read rate as input.
    let table = r#"{"format_version": 2, "generated": "2026-01-01",
        "sources": [{"package": "test", "version": "0"}],
        "providers": [{"id": "p", "provider_match": null, "model_match": null, "models": [
            {"id": "m", "match": {"equals": "m"},
             "prices": [{"rates": {"input_mtok": "2", "output_mtok": "4"}}]}
        ]}]}"#;
    let table = PriceTable::from_json(table).unwrap();
    let outcome = table.quote(
        Some("p"),
        "m",
        &tokens(1_000_000, 400_000, 0),
        at("2026-01-01T00:00:00Z"),
    );

    let PriceOutcome::Priced(quote) = outcome else {
        panic!("expected a price: {outcome:?}");
    };
    assert_eq!(quote.breakdown.cache_read.rate, Some(decimal("2")));
    assert_eq!(quote.total, "2".parse::<Usd>().unwrap());
}

#[test]
fn price_date_reports_dated_entry() {
    let usage = tokens(1, 0, 1);
    let before = priced(
        Some("anthropic"),
        "claude-opus-4-6",
        &usage,
        "2026-02-10T00:00:00Z",
    );
    let after = priced(
        Some("anthropic"),
        "claude-opus-4-6",
        &usage,
        "2026-06-01T00:00:00Z",
    );

    assert_eq!(before.price_date, None);
    assert_eq!(after.price_date, NaiveDate::from_ymd_opt(2026, 3, 13));
}

#[test]
fn outcome_serializes_with_status_tag() {
    let quote = priced(
        Some("openai"),
        "gpt-4o",
        &tokens(2006, 1920, 300),
        "2026-02-10T00:00:00Z",
    );
    let json = serde_json::to_value(PriceOutcome::Priced(quote)).unwrap();

    assert_eq!(json["status"], "priced");
    assert_eq!(json["total"].to_string(), "0.005615");
    assert_eq!(json["breakdown"]["input"]["rate"], "2.5");
}

fn usage_strategy() -> impl Strategy<Value = Usage> {
    (
        0u64..2_000_000,
        0u64..2_000_000,
        0u64..500_000,
        0u64..500_000,
        0u64..200_000,
        0u64..5,
    )
        .prop_map(
            |(uncached, read, write_5m, write_1h, output, searches)| Usage {
                input_tokens: uncached + read + write_5m + write_1h,
                cache_read_tokens: read,
                cache_write_5m_tokens: write_5m,
                cache_write_1h_tokens: write_1h,
                output_tokens: output,
                reasoning_tokens: output / 2,
                web_searches: searches,
                ..Usage::default()
            },
        )
}

const PROPERTY_MODELS: [(&str, &str); 4] = [
    ("anthropic", "claude-opus-4-6"),
    ("anthropic", "claude-haiku-4-5"),
    ("google", "gemini-2.5-pro"),
    ("openai", "gpt-5.4-pro"),
];

proptest! {
    #[test]
    fn total_equals_sum_of_breakdown(usage in usage_strategy(), model in 0usize..4) {
        let (provider, model) = PROPERTY_MODELS[model];
        let quote = priced(Some(provider), model, &usage, "2026-02-10T00:00:00Z");

        prop_assert_eq!(quote.total, quote.breakdown.total());
        let lines = [
            quote.breakdown.input.cost,
            quote.breakdown.cache_read.cost,
            quote.breakdown.cache_write_5m.cost,
            quote.breakdown.cache_write_1h.cost,
            quote.breakdown.output.cost,
            quote.breakdown.web_searches.cost,
            quote.breakdown.file_searches.cost,
            quote.breakdown.code_interpreter_sessions.cost,
            quote.breakdown.request,
        ];
        prop_assert_eq!(quote.total, lines.iter().sum::<Usd>());
    }

    #[test]
    fn cost_never_decreases_when_tokens_grow(
        usage in usage_strategy(),
        extra in 1u64..300_000,
        unit in 0usize..5,
        model in 0usize..4,
    ) {
        let (provider, model) = PROPERTY_MODELS[model];
        let mut grown = usage;
        match unit {
            0 => grown.input_tokens += extra,
            1 => { grown.input_tokens += extra; grown.cache_read_tokens += extra }
            2 => { grown.input_tokens += extra; grown.cache_write_5m_tokens += extra }
            3 => { grown.input_tokens += extra; grown.cache_write_1h_tokens += extra }
            _ => grown.output_tokens += extra,
        }
        let before = priced(Some(provider), model, &usage, "2026-02-10T00:00:00Z");
        let after = priced(Some(provider), model, &grown, "2026-02-10T00:00:00Z");

        prop_assert!(after.total >= before.total, "{} -> {}", before.total, after.total);
    }
}

/// OpenAI models with web search, file search and code interpreter fees in the table.
const TOOL_MODELS: [&str; 3] = ["gpt-5.4-pro", "gpt-4o-mini", "o3"];

fn tool_usage_strategy() -> impl Strategy<Value = Usage> {
    (usage_strategy(), 0u64..50, 0u64..50).prop_map(|(usage, files, sessions)| Usage {
        file_searches: files,
        code_interpreter_sessions: sessions,
        ..usage
    })
}

proptest! {
    #[test]
    fn tool_fees_add_up_to_total(usage in tool_usage_strategy(), model in 0usize..3) {
        let quote = priced(Some("openai"), TOOL_MODELS[model], &usage, "2026-02-10T00:00:00Z");
        let lines = [
            quote.breakdown.input.cost,
            quote.breakdown.cache_read.cost,
            quote.breakdown.cache_write_5m.cost,
            quote.breakdown.cache_write_1h.cost,
            quote.breakdown.output.cost,
            quote.breakdown.output_reasoning.map_or(Usd::ZERO, |line| line.cost),
            quote.breakdown.web_searches.cost,
            quote.breakdown.file_searches.cost,
            quote.breakdown.code_interpreter_sessions.cost,
            quote.breakdown.request,
        ];

        prop_assert_eq!(quote.total, lines.iter().sum::<Usd>());
        prop_assert_eq!(quote.breakdown.file_searches.count, usage.file_searches);
        prop_assert_eq!(
            quote.breakdown.code_interpreter_sessions.count,
            usage.code_interpreter_sessions
        );
    }

    #[test]
    fn cost_never_decreases_when_any_count_grows(
        usage in tool_usage_strategy(),
        extra in 1u64..300_000,
        unit in 0usize..8,
        model in 0usize..3,
    ) {
        let mut grown = usage;
        match unit {
            0 => grown.input_tokens += extra,
            1 => { grown.input_tokens += extra; grown.cache_read_tokens += extra }
            2 => { grown.input_tokens += extra; grown.cache_write_5m_tokens += extra }
            3 => { grown.input_tokens += extra; grown.cache_write_1h_tokens += extra }
            4 => grown.output_tokens += extra,
            5 => grown.web_searches += extra,
            6 => grown.file_searches += extra,
            _ => grown.code_interpreter_sessions += extra,
        }
        let model = TOOL_MODELS[model];
        let before = priced(Some("openai"), model, &usage, "2026-02-10T00:00:00Z");
        let after = priced(Some("openai"), model, &grown, "2026-02-10T00:00:00Z");

        prop_assert!(after.total >= before.total, "{} -> {}", before.total, after.total);
    }
}

#[test]
fn file_searches_bill_at_storage_search_rate() {
    let usage = Usage {
        file_searches: 3,
        ..tokens(1_000, 0, 100)
    };

    let quote = priced(Some("openai"), "gpt-4o", &usage, "2026-02-10T00:00:00Z");

    // genai-prices 0.2.5 lists OpenAI file search at $2.50 per thousand calls.
    assert_eq!(quote.breakdown.file_searches.rate, Some(decimal("2.5")));
    assert_eq!(quote.breakdown.file_searches.cost.to_string(), "0.0075");
}

#[test]
fn code_interpreter_uses_provider_container_fee() {
    let usage = Usage {
        code_interpreter_sessions: 2,
        ..tokens(1_000, 0, 100)
    };

    let openai = priced(Some("openai"), "gpt-5", &usage, "2026-02-10T00:00:00Z");
    let azure = priced(Some("azure"), "gpt-5", &usage, "2026-02-10T00:00:00Z");

    // litellm 1.110.2: $0.03 per session on `openai/container`, $0.033 on `azure/container`.
    assert_eq!(
        openai.breakdown.code_interpreter_sessions.rate,
        Some(decimal("30"))
    );
    assert_eq!(
        openai.breakdown.code_interpreter_sessions.cost.to_string(),
        "0.06"
    );
    assert_eq!(
        azure.breakdown.code_interpreter_sessions.cost.to_string(),
        "0.066"
    );
}

#[test]
fn tool_calls_without_rate_are_unpriced_naming_unit() {
    let cases = [
        (
            Usage {
                file_searches: 1,
                ..tokens(100, 0, 10)
            },
            "no price for file search (storage_searches_kcount) (1 calls)",
        ),
        (
            Usage {
                code_interpreter_sessions: 2,
                ..tokens(100, 0, 10)
            },
            "no price for code interpreter sessions (code_interpreter_sessions_kcount) (2 sessions)",
        ),
    ];
    for (usage, expected) in cases {
        let at = at("2026-02-10T00:00:00Z");
        let outcome =
            PriceTable::embedded().quote(Some("anthropic"), "claude-haiku-4-5", &usage, at);

        let PriceOutcome::Unpriced { reason } = outcome else {
            panic!("a tool call without a rate must not be priced: {outcome:?}");
        };
        assert!(reason.contains(expected), "{reason}");
    }
}

#[test]
fn unused_tool_lines_stay_out_of_quote_json() {
    let quote = priced(
        Some("openai"),
        "gpt-4o",
        &tokens(1_000, 0, 100),
        "2026-02-10T00:00:00Z",
    );

    let json = serde_json::to_value(&quote).unwrap();

    assert!(json["breakdown"].get("file_searches").is_none());
    assert!(json["breakdown"].get("code_interpreter_sessions").is_none());
    assert!(json["breakdown"].get("web_searches").is_some());
}

#[test]
fn override_sets_tool_fees() {
    let overrides = r#"
[[models]]
provider = "mycorp"
model = "tool-llm"
input_mtok = "1"
output_mtok = "2"
storage_searches_kcount = "4"
code_interpreter_sessions_kcount = "50"
"#;
    let table = PriceTable::embedded().with_overrides(overrides).unwrap();
    let usage = Usage {
        file_searches: 10,
        code_interpreter_sessions: 1,
        ..Usage::default()
    };

    let outcome = table.quote(
        Some("mycorp"),
        "tool-llm",
        &usage,
        at("2026-02-10T00:00:00Z"),
    );

    let PriceOutcome::Priced(quote) = outcome else {
        panic!("override prices the model: {outcome:?}");
    };
    assert_eq!(quote.breakdown.file_searches.cost.to_string(), "0.04");
    assert_eq!(
        quote.breakdown.code_interpreter_sessions.cost.to_string(),
        "0.05"
    );
    assert_eq!(quote.total.to_string(), "0.09");
}

#[test]
fn litellm_models_fill_genai_gaps() {
    let quote = priced(
        Some("deepinfra"),
        "Gryphe/MythoMax-L2-13b",
        &tokens(1_000_000, 0, 1_000_000),
        "2026-02-10T00:00:00Z",
    );

    assert_eq!(quote.source, "litellm 1.110.2");
    assert_eq!(quote.provider, "deepinfra");
    // $0.40 in and $0.40 out per million tokens.
    assert_eq!(quote.total, Usd::new(decimal("0.8")));
    let genai = priced(
        Some("openai"),
        "gpt-4o",
        &tokens(1, 0, 1),
        "2026-02-10T00:00:00Z",
    );
    assert_eq!(genai.source, "genai-prices 0.2.5");
}

#[test]
fn no_listed_model_quotes_zero_unless_listed_free() {
    // Every entry is costed directly, because some genai-prices ids are labels that their
    // own clause does not match (`regional.amazon.nova-2-lite-v1:0` is matched by
    // `us.amazon.nova-2-lite`), so a quote by id cannot reach them.
    let table = PriceTable::embedded();
    let when = at("2026-02-10T12:00:00Z");
    let usage = tokens(1_000_000, 0, 1_000_000);
    let mut priced_count = 0;

    for listed in table.models() {
        let name = format!("{}/{}", listed.provider(), listed.id());
        let prices = listed.prices_at(when).unwrap();
        let provider = &table.providers[table.provider_ids[listed.provider()]];
        let model = provider.models.iter().find(|model| model.id == listed.id());
        let entry = rates::entry_at(&model.unwrap().entries, when).unwrap();
        let Ok(breakdown) =
            quote::price_usage(&Resolved::standard(&entry.rates), &usage, listed.id())
        else {
            continue;
        };
        priced_count += 1;
        if !breakdown.total().as_decimal().is_zero() {
            continue;
        }

        let rate_at = |key: &str| prices.rate(key).map(|rate| rate.at(usage.input_tokens));
        assert_eq!(rate_at("input_mtok"), Some(Decimal::ZERO), "{name} input");
        assert_eq!(rate_at("output_mtok"), Some(Decimal::ZERO), "{name} output");
    }

    assert!(priced_count > 2500, "only {priced_count} models priced");
}

#[test]
fn quote_by_listed_id_uses_resolved_entry() {
    let table = PriceTable::embedded();
    let when = at("2026-02-10T12:00:00Z");
    let usage = tokens(1_000_000, 0, 1_000_000);

    for listed in table.models() {
        let Ok(resolved) = table.find_model(Some(listed.provider()), listed.id()) else {
            continue;
        };
        let outcome = table.quote(Some(listed.provider()), listed.id(), &usage, when);
        let PriceOutcome::Priced(quote) = outcome else {
            continue;
        };
        assert_eq!(quote.provider, resolved.provider(), "{}", listed.id());
        assert_eq!(quote.model, resolved.id(), "{}", listed.id());
        if quote.total.as_decimal().is_zero() {
            let prices = resolved.prices_at(when).unwrap();
            let input = prices.rate("input_mtok").map(|rate| rate.at(1_000_000));
            let output = prices.rate("output_mtok").map(|rate| rate.at(1_000_000));
            assert_eq!(input, Some(Decimal::ZERO), "{}", listed.id());
            assert_eq!(output, Some(Decimal::ZERO), "{}", listed.id());
        }
    }
}

#[test]
fn model_listing_counts_and_finds_entries() {
    let table = PriceTable::embedded();
    let haiku = table
        .find_model(Some("anthropic"), "claude-haiku-4-5-20251001")
        .unwrap();

    assert_eq!(table.model_count(), table.models().count());
    assert_eq!(haiku.id(), "claude-haiku-4-5");
    assert_eq!(haiku.provider(), "anthropic");
    assert!(haiku.match_clause().contains("claude-haiku-4-5"));
    let current = haiku.prices_at(at("2026-02-10T00:00:00Z")).unwrap();
    assert_eq!(
        current.rate("input_mtok"),
        Some(&rates::Rate::Flat(decimal("1")))
    );
    let unknown = table.find_model(Some("anthropic"), "claude-nope-1");
    assert!(unknown.unwrap_err().contains("unknown model"));
}

#[test]
fn gemini_audio_and_video_bill_at_their_own_rates() {
    // gemini-2.5-flash: input $0.30, cache reads $0.03, audio input $1, cached audio reads
    // $0.10, output $2.50 per million tokens, and no video rates.
    let usage = Usage {
        input_tokens: 17_713,
        cache_read_tokens: 17_379,
        input_audio_tokens: 1_917,
        cache_audio_read_tokens: 1_881,
        input_video_tokens: 15_780,
        cache_video_read_tokens: 15_483,
        output_tokens: 889,
        reasoning_tokens: 821,
        ..Usage::default()
    };

    let quote = priced(
        Some("google"),
        "gemini-2.5-flash",
        &usage,
        "2026-02-10T12:00:00Z",
    );

    let units: Vec<(&str, &str, u64)> = quote
        .breakdown
        .modalities
        .iter()
        .map(|line| (line.unit, line.price_key, line.count))
        .collect();
    assert_eq!(
        units,
        [
            ("cache_audio_read", "cache_audio_read_mtok", 1_881),
            ("cache_video_read", "cache_read_mtok", 15_483),
            ("input_audio", "input_audio_mtok", 36),
            ("input_video", "input_mtok", 297),
        ]
    );
    assert_eq!(quote.breakdown.cache_read.count, 15);
    assert_eq!(quote.breakdown.input.count, 1);
    // 15,498 cached text and video tokens at $0.03, 1,881 cached audio at $0.10, 36 audio
    // at $1, 298 text and video at $0.30 and 889 output at $2.50, per million.
    assert_eq!(quote.total.to_string(), "0.00300094");
    assert_eq!(quote.total, quote.breakdown.total());
}

#[test]
fn realtime_audio_output_bills_at_audio_rate() {
    // gpt-realtime: output $16, audio output $64, audio input $32, input $4 per million.
    let usage = Usage {
        input_tokens: 1_000,
        input_audio_tokens: 600,
        output_tokens: 500,
        output_audio_tokens: 400,
        ..Usage::default()
    };

    let quote = priced(
        Some("openai"),
        "gpt-realtime",
        &usage,
        "2026-02-10T12:00:00Z",
    );

    assert_eq!(quote.breakdown.output.count, 100);
    assert_eq!(quote.breakdown.input.count, 400);
    // 400 x $4 + 600 x $32 + 100 x $16 + 400 x $64, per million.
    assert_eq!(quote.total.to_string(), "0.048");
}

#[test]
fn image_input_without_image_rate_falls_back_to_input() {
    let usage = Usage {
        input_tokens: 1_000,
        input_image_tokens: 800,
        output_tokens: 100,
        ..Usage::default()
    };

    let quote = priced(Some("openai"), "gpt-4o", &usage, "2026-02-10T12:00:00Z");

    let line = &quote.breakdown.modalities[0];
    assert_eq!((line.unit, line.price_key), ("input_image", "input_mtok"));
    assert_eq!(line.rate, quote.breakdown.input.rate.unwrap());
}

#[test]
fn output_image_without_any_output_rate_names_the_unit() {
    let table = PriceTable::embedded()
        .with_overrides(
            r#"
[[models]]
provider = "mycorp"
model = "painter"
input_mtok = "1"
input_image_mtok = "2"
"#,
        )
        .unwrap();
    let usage = Usage {
        input_tokens: 10,
        output_tokens: 50,
        output_image_tokens: 50,
        ..Usage::default()
    };
    let at = "2026-02-10T12:00:00Z".parse().unwrap();

    let outcome = table.quote(Some("mycorp"), "painter", &usage, at);

    let PriceOutcome::Unpriced { reason } = outcome else {
        panic!("an image output without a rate must be unpriced");
    };
    assert!(
        reason.contains("no price for image output tokens (50 tokens)"),
        "{reason}"
    );
}

#[test]
fn cached_audio_without_join_rate_is_unpriced() {
    let table = PriceTable::embedded()
        .with_overrides(
            r#"
[[models]]
provider = "mycorp"
model = "listener"
input_mtok = "1"
cache_read_mtok = "0.1"
input_audio_mtok = "4"
output_mtok = "2"
"#,
        )
        .unwrap();
    let usage = Usage {
        input_tokens: 100,
        cache_read_tokens: 50,
        input_audio_tokens: 60,
        cache_audio_read_tokens: 20,
        output_tokens: 5,
        ..Usage::default()
    };
    let at = "2026-02-10T12:00:00Z".parse().unwrap();

    let outcome = table.quote(Some("mycorp"), "listener", &usage, at);

    let PriceOutcome::Unpriced { reason } = outcome else {
        panic!("cached audio reads have no single fallback rate");
    };
    assert!(reason.contains("cache_audio_read_mtok"), "{reason}");
}

#[test]
fn flex_tier_uses_flex_variant() {
    let usage = tokens(1_000_000, 0, 1_000_000);
    let at = "2026-12-01T12:00:00Z".parse().unwrap();
    let context = PriceContext::from_service_tier("flex");

    let outcome = PriceTable::embedded().quote_with(Some("openai"), "gpt-5", &usage, at, &context);

    let PriceOutcome::Priced(quote) = outcome else {
        panic!("gpt-5 has a flex price: {outcome:?}");
    };
    // Half of the standard $1.25 input and $10 output per million.
    assert_eq!(quote.total.to_string(), "5.625");
    assert_eq!(quote.price_variant.as_deref(), Some("service_tier=flex"));
}

#[test]
fn batch_call_without_batch_price_is_unpriced() {
    let usage = tokens(1_000, 0, 100);
    let at = "2026-12-01T12:00:00Z".parse().unwrap();
    let context = PriceContext {
        service_tier: None,
        batch: true,
        from_speed: false,
    };

    let outcome = PriceTable::embedded().quote_with(
        Some("openai"),
        "gpt-4o-audio-preview",
        &usage,
        at,
        &context,
    );

    let PriceOutcome::Unpriced { reason } = outcome else {
        panic!("a batch call must not be priced at standard rates: {outcome:?}");
    };
    assert!(reason.contains("batch processing"), "{reason}");
}

#[test]
fn batch_tier_offered_only_with_batch_prices() {
    let table = PriceTable::embedded();
    let gpt5 = table.find_model(Some("openai"), "gpt-5").unwrap();
    let audio = table
        .find_model(Some("openai"), "gpt-4o-audio-preview")
        .unwrap();

    assert!(
        gpt5.service_tiers().contains(&"batch"),
        "{:?}",
        gpt5.service_tiers()
    );
    assert!(gpt5.offers_service_tier("Batch"));
    assert!(gpt5.offers_service_tier("flex"));
    assert!(gpt5.offers_service_tier("default"));
    assert!(!gpt5.offers_service_tier("flxe"));
    assert!(
        audio.service_tiers().is_empty(),
        "{:?}",
        audio.service_tiers()
    );
    assert!(!audio.offers_service_tier("batch"));
    assert!(audio.offers_service_tier("standard"));
}

fn modal_usage_strategy() -> impl Strategy<Value = Usage> {
    (
        (0u64..200_000, 0u64..200_000, 0u64..100_000),
        (0u64..100_000, 0u64..100_000),
        (0u64..100_000, 0u64..100_000, 0u64..100_000),
    )
        .prop_map(
            |((text, audio, image), (cached_text, cached_audio), (out, out_audio, out_image))| {
                let cached_audio = cached_audio.min(audio);
                Usage {
                    input_tokens: text + cached_text + audio + image,
                    cache_read_tokens: cached_text + cached_audio,
                    input_audio_tokens: audio,
                    cache_audio_read_tokens: cached_audio,
                    input_image_tokens: image,
                    output_tokens: out + out_audio + out_image,
                    reasoning_tokens: out / 2,
                    output_audio_tokens: out_audio,
                    output_image_tokens: out_image,
                    ..Usage::default()
                }
            },
        )
}

const MODAL_MODELS: [(&str, &str); 3] = [
    ("openai", "gpt-realtime"),
    ("google", "gemini-2.5-flash"),
    ("openai", "gpt-4o"),
];

proptest! {
    #[test]
    fn modal_tokens_are_billed_once(usage in modal_usage_strategy(), model in 0usize..3) {
        let (provider, model) = MODAL_MODELS[model];
        let quote = priced(Some(provider), model, &usage, "2026-02-10T00:00:00Z");
        let breakdown = &quote.breakdown;

        let text_counts = breakdown.input.count
            + breakdown.cache_read.count
            + breakdown.cache_write_5m.count
            + breakdown.cache_write_1h.count
            + breakdown.output.count
            + breakdown.output_reasoning.map_or(0, |line| line.count);
        let modal_counts: u64 = breakdown.modalities.iter().map(|line| line.count).sum();
        prop_assert_eq!(text_counts + modal_counts, usage.total_tokens());
        prop_assert_eq!(quote.total, breakdown.total());
    }

    #[test]
    fn modal_cost_never_decreases_when_audio_grows(
        usage in modal_usage_strategy(),
        extra in 1u64..100_000,
        model in 0usize..3,
    ) {
        let (provider, model) = MODAL_MODELS[model];
        let mut grown = usage;
        grown.input_tokens += extra;
        grown.input_audio_tokens += extra;
        grown.output_tokens += extra;
        grown.output_audio_tokens += extra;

        let before = priced(Some(provider), model, &usage, "2026-02-10T00:00:00Z");
        let after = priced(Some(provider), model, &grown, "2026-02-10T00:00:00Z");

        prop_assert!(after.total >= before.total);
    }
}

fn tiered_override(rule: &str) -> PriceTable {
    let text = format!(
        r#"
[[models]]
provider = "mycorp"
model = "long-llm"
output_mtok = "4"

[models.input_mtok]
base = "1"
tiers = [{{ start = 200000, price = "2" }}]
{rule}
"#
    );
    PriceTable::embedded().with_overrides(&text).unwrap()
}

fn long_llm_total(table: &PriceTable, input: u64, cache_read: u64) -> String {
    let usage = tokens(input, cache_read, 0);
    let at = "2026-02-10T12:00:00Z".parse().unwrap();
    match table.quote(Some("mycorp"), "long-llm", &usage, at) {
        PriceOutcome::Priced(quote) => quote.total.to_string(),
        PriceOutcome::Unpriced { reason } => panic!("{reason}"),
    }
}

#[test]
fn override_tier_default_rule_is_whole_request_above() {
    let table = tiered_override("");

    assert_eq!(long_llm_total(&table, 200_000, 0), "0.2");
    assert_eq!(long_llm_total(&table, 200_001, 0), "0.400002");
}

#[test]
fn override_tier_at_least_reaches_the_start() {
    let table = tiered_override(r#"rule = { comparison = ">=" }"#);

    assert_eq!(long_llm_total(&table, 199_999, 0), "0.199999");
    assert_eq!(long_llm_total(&table, 200_000, 0), "0.4");
}

#[test]
fn override_tier_excess_bills_only_tokens_past_start() {
    let table = tiered_override(r#"rule = { applies_to = "excess" }"#);

    // 200,000 tokens at $1 and 100,000 at $2 per million.
    assert_eq!(long_llm_total(&table, 300_000, 0), "0.4");
}

#[test]
fn override_tier_uncached_counts_skip_cache_reads() {
    let table = tiered_override(r#"rule = { counts = "uncached_prompt" }"#);

    // 150,000 uncached tokens stay under the tier although the prompt has 300,000; the cache
    // reads fall back to the input rate.
    assert_eq!(long_llm_total(&table, 300_000, 150_000), "0.3");
}

#[test]
fn override_tiers_out_of_order_are_rejected() {
    let text = r#"
[[models]]
provider = "mycorp"
model = "long-llm"
input_mtok = { base = "1", tiers = [{ start = 300000, price = "3" }, { start = 200000, price = "2" }] }
"#;

    let error = PriceTable::embedded().with_overrides(text).unwrap_err();

    let message = error.to_string();
    assert!(
        message.contains("tier start 200000 follows tier start 300000"),
        "{message}"
    );
    assert!(message.contains("line 5"), "{message}");
}

#[test]
fn override_tier_unknown_comparison_is_rejected() {
    let text = r#"
[[models]]
provider = "mycorp"
model = "long-llm"
input_mtok = { base = "1", tiers = [{ start = 200000, price = "2" }], rule = { comparison = "=>" } }
"#;

    let error = PriceTable::embedded().with_overrides(text).unwrap_err();

    let message = error.to_string();
    assert!(message.contains("unknown variant `=>`"), "{message}");
    assert!(message.contains("expected `>` or `>=`"), "{message}");
}

#[test]
fn override_tier_price_as_number_is_rejected() {
    let text = r#"{"models": [{"provider": "mycorp", "model": "m",
        "input_mtok": {"base": "1", "tiers": [{"start": 10, "price": 2.5}]}}]}"#;

    let error = PriceTable::embedded().with_overrides(text).unwrap_err();

    assert!(
        error.to_string().contains("rate 2.5 is a number"),
        "{error}"
    );
}

#[test]
fn override_rate_drops_trailing_zeros() {
    let text = r#"
[[models]]
provider = "mycorp"
model = "padded"
input_mtok = "2.500000"
output_mtok = "10.0"
"#;
    let table = PriceTable::embedded().with_overrides(text).unwrap();

    let quote = match table.quote(
        Some("mycorp"),
        "padded",
        &tokens(1, 0, 1),
        at("2026-01-01T00:00:00Z"),
    ) {
        PriceOutcome::Priced(quote) => quote,
        PriceOutcome::Unpriced { reason } => panic!("unpriced: {reason}"),
    };

    assert_eq!(quote.breakdown.input.rate.unwrap().to_string(), "2.5");
    assert_eq!(quote.breakdown.output.rate.unwrap().to_string(), "10");
}
