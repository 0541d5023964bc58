//! Price overrides on top of the embedded table, and tables read from LiteLLM's layout.

use agentlens_core::pricing::{PriceOutcome, PriceOverridesError, PriceTable, Quote};
use agentlens_core::usage::Usage;
use agentlens_core::Usd;
use chrono::{DateTime, Utc};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn usage() -> Usage {
    Usage {
        input_tokens: 1_000_000,
        output_tokens: 1_000_000,
        ..Usage::default()
    }
}

fn priced(table: &PriceTable, provider: &str, model: &str, when: &str) -> Quote {
    match table.quote(Some(provider), model, &usage(), at(when)) {
        PriceOutcome::Priced(quote) => quote,
        PriceOutcome::Unpriced { reason } => panic!("{model} is unpriced: {reason}"),
    }
}

#[test]
fn override_replaces_existing_model_price() {
    let overrides = r#"
[[models]]
provider = "openai"
model = "gpt-4o"
input_mtok = "2"
output_mtok = "8"
"#;
    let table = PriceTable::embedded().with_overrides(overrides).unwrap();
    let quote = priced(
        &table,
        "openai",
        "gpt-4o-2024-08-06",
        "2026-02-10T00:00:00Z",
    );

    assert_eq!(quote.total, "10".parse::<Usd>().unwrap());
    assert_eq!(quote.source, "overrides <overrides>");
    assert_ne!(table.version(), PriceTable::embedded().version());
}

#[test]
fn dated_override_applies_from_its_day() {
    let overrides = r#"{"models": [{"provider": "anthropic", "model": "claude-haiku-4-5",
        "valid_from": "2026-06-01", "input_mtok": "0.5", "output_mtok": "2.5"}]}"#;
    let table = PriceTable::embedded().with_overrides(overrides).unwrap();
    let model = "claude-haiku-4-5-20251001";

    let before = priced(&table, "anthropic", model, "2026-05-31T23:00:00Z");
    let after = priced(&table, "anthropic", model, "2026-06-01T00:00:00Z");
    assert_eq!(before.total, "6".parse::<Usd>().unwrap());
    assert_eq!(after.total, "3".parse::<Usd>().unwrap());
}

#[test]
fn new_provider_model_matches_aliases() {
    let overrides = r#"
[[models]]
provider = "mycorp"
model = "inhouse-llm"
aliases = ["inhouse-llm-v2"]
input_mtok = "0.1"
output_mtok = "0.2"
"#;
    let table = PriceTable::embedded().with_overrides(overrides).unwrap();
    let quote = priced(&table, "mycorp", "inhouse-llm-v2", "2026-02-10T00:00:00Z");

    assert_eq!(quote.model, "inhouse-llm");
    assert_eq!(quote.total, "0.3".parse::<Usd>().unwrap());
}

#[test]
fn version_follows_override_text() {
    let base = PriceTable::embedded();
    let text = |rate: &str| {
        format!("[[models]]\nprovider = \"x\"\nmodel = \"m\"\ninput_mtok = \"{rate}\"\n")
    };
    let first = base.with_overrides(&text("1")).unwrap();
    let same = base.with_overrides(&text("1")).unwrap();
    let second = base.with_overrides(&text("2")).unwrap();

    assert_eq!(first.version(), same.version());
    assert_ne!(first.version(), second.version());
}

#[test]
fn numeric_rate_error_names_line_and_fix() {
    let overrides = "[[models]]\nprovider = \"openai\"\nmodel = \"gpt-4o\"\ninput_mtok = 2.5\n";
    let error = PriceTable::embedded()
        .with_overrides(overrides)
        .unwrap_err();

    let message = error.to_string();
    assert!(
        matches!(error, PriceOverridesError::Parse { .. }),
        "{message}"
    );
    assert!(message.contains("line 4"), "{message}");
    assert!(message.contains("decimal strings"), "{message}");
}

#[test]
fn unknown_field_error_names_field() {
    let overrides = r#"{"models": [{"provider": "openai", "model": "gpt-4o",
        "input_mtoks": "2"}]}"#;
    let message = PriceTable::embedded()
        .with_overrides(overrides)
        .unwrap_err()
        .to_string();

    assert!(message.contains("input_mtoks"), "{message}");
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn entry_without_rates_is_rejected() {
    let overrides = "[[models]]\nprovider = \"openai\"\nmodel = \"gpt-4o\"\n";
    let error = PriceTable::embedded()
        .with_overrides(overrides)
        .unwrap_err();

    let PriceOverridesError::InvalidEntry { index, message, .. } = error else {
        panic!("expected an invalid entry, got {error}");
    };
    assert_eq!(index, 0);
    assert!(message.contains("input_mtok"), "{message}");
}

#[test]
fn override_file_error_names_path() {
    let error = PriceTable::embedded()
        .with_overrides_file("/nonexistent/prices.toml")
        .unwrap_err();

    assert!(error.to_string().contains("/nonexistent/prices.toml"));
}

#[test]
fn litellm_sample_spec_is_not_reported_invalid() {
    let text = r#"{
        "sample_spec": {"litellm_provider": "one of https://docs.litellm.ai/docs/providers",
            "input_cost_per_token": "cost per input token, a number",
            "search_context_cost_per_query": {"search_context_size_low": "a number"}},
        "inhouse-llm": {"litellm_provider": "mycorp", "input_cost_per_token": 1e-07,
            "output_cost_per_token": 2e-07}
    }"#;
    let (_, skips) = PriceTable::from_litellm_json_with_skips(text).unwrap();

    assert_eq!(skips.invalid, []);
    assert_eq!(skips.deliberate, 1);
}

#[test]
fn litellm_json_prices_per_token_costs() {
    let text = r#"{
        "sample_spec": {"litellm_provider": "one of https://docs.litellm.ai/docs/providers"},
        "bedrock/us.anthropic.claude-x-v1:0": {"litellm_provider": "bedrock_converse",
            "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05,
            "cache_read_input_token_cost": 3e-07},
        "bedrock/us-east-1/meta.llama3-8b-instruct-v1:0": {"litellm_provider": "bedrock",
            "input_cost_per_token": 3e-07, "output_cost_per_token": 6e-07},
        "gemini/gemini-x": {"litellm_provider": "gemini",
            "input_cost_per_token": 7.999999999999999e-07, "output_cost_per_token": 1e-05,
            "input_cost_per_token_above_200k_tokens": 1.6e-06},
        "dall-e-x": {"litellm_provider": "openai", "output_cost_per_image": 0.04}
    }"#;
    let table = PriceTable::from_litellm_json(text).unwrap();

    let claude = priced(
        &table,
        "bedrock",
        "us.anthropic.claude-x-v1:0",
        "2026-01-01T00:00:00Z",
    );
    assert_eq!(claude.provider, "aws");
    assert_eq!(claude.total, "18".parse::<Usd>().unwrap());
    let gemini = priced(&table, "vertex_ai", "gemini-x", "2026-01-01T00:00:00Z");
    assert_eq!(gemini.breakdown.input.rate, Some("1.6".parse().unwrap()));
    let small = Usage {
        input_tokens: 1000,
        ..Usage::default()
    };
    let outcome = table.quote(
        Some("gemini"),
        "gemini-x",
        &small,
        at("2026-01-01T00:00:00Z"),
    );
    let PriceOutcome::Priced(quote) = outcome else {
        panic!("gemini-x is unpriced");
    };
    assert_eq!(quote.breakdown.input.rate, Some("0.8".parse().unwrap()));
    let regional = table.quote(
        Some("aws"),
        "meta.llama3-8b-instruct-v1:0",
        &usage(),
        at("2026-01-01T00:00:00Z"),
    );
    assert!(matches!(regional, PriceOutcome::Unpriced { .. }));
}

#[test]
fn invalid_litellm_json_is_rejected() {
    assert!(PriceTable::from_litellm_json("[1, 2]").is_err());
}

#[test]
fn latest_dated_override_wins_in_any_order() {
    let later_first = r#"{"models": [
        {"provider": "anthropic", "model": "claude-haiku-4-5", "valid_from": "2026-06-01",
         "input_mtok": "3", "output_mtok": "0"},
        {"provider": "anthropic", "model": "claude-haiku-4-5", "valid_from": "2026-01-01",
         "input_mtok": "4", "output_mtok": "0"}]}"#;
    let earlier_first = r#"{"models": [
        {"provider": "anthropic", "model": "claude-haiku-4-5", "valid_from": "2026-01-01",
         "input_mtok": "4", "output_mtok": "0"},
        {"provider": "anthropic", "model": "claude-haiku-4-5", "valid_from": "2026-06-01",
         "input_mtok": "3", "output_mtok": "0"}]}"#;
    let model = "claude-haiku-4-5-20251001";

    for overrides in [later_first, earlier_first] {
        let table = PriceTable::embedded().with_overrides(overrides).unwrap();
        let spring = priced(&table, "anthropic", model, "2026-03-01T00:00:00Z");
        let winter = priced(&table, "anthropic", model, "2026-12-01T00:00:00Z");
        assert_eq!(spring.total, "4".parse::<Usd>().unwrap(), "{overrides}");
        assert_eq!(winter.total, "3".parse::<Usd>().unwrap(), "{overrides}");
        assert_eq!(winter.price_date, Some("2026-06-01".parse().unwrap()));
    }
}

#[test]
fn undated_override_keeps_later_dated_one() {
    let overrides = r#"{"models": [
        {"provider": "mycorp", "model": "inhouse", "valid_from": "2026-06-01",
         "input_mtok": "3", "output_mtok": "0"},
        {"provider": "mycorp", "model": "inhouse", "input_mtok": "4", "output_mtok": "0"}]}"#;
    let table = PriceTable::embedded().with_overrides(overrides).unwrap();

    let spring = priced(&table, "mycorp", "inhouse", "2026-03-01T00:00:00Z");
    let winter = priced(&table, "mycorp", "inhouse", "2026-12-01T00:00:00Z");

    assert_eq!(spring.total, "4".parse::<Usd>().unwrap());
    assert_eq!(winter.total, "3".parse::<Usd>().unwrap());
}

#[test]
fn repeated_model_day_is_rejected() {
    let same_day = r#"{"models": [
        {"provider": "openai", "model": "gpt-4o", "valid_from": "2026-06-01",
         "input_mtok": "3", "output_mtok": "0"},
        {"provider": "OpenAI", "model": "GPT-4o ", "valid_from": "2026-06-01",
         "input_mtok": "4", "output_mtok": "0"}]}"#;
    let both_undated = r#"{"models": [
        {"provider": "openai", "model": "gpt-4o", "input_mtok": "3", "output_mtok": "0"},
        {"provider": "openai", "model": "gpt-4o", "input_mtok": "4", "output_mtok": "0"}]}"#;

    for (overrides, day) in [(same_day, "2026-06-01"), (both_undated, "no `valid_from`")] {
        let error = PriceTable::embedded()
            .with_overrides(overrides)
            .unwrap_err();
        let PriceOverridesError::InvalidEntry { index, .. } = &error else {
            panic!("unexpected error {error}");
        };
        assert_eq!(*index, 1);
        let message = error.to_string();
        assert!(message.contains("entry 0 already prices"), "{message}");
        assert!(message.contains(day), "{message}");
    }
}
