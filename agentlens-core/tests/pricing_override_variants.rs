//! Service-tier and batch prices declared in a price override file.

use agentlens_core::pricing::{PriceContext, PriceOutcome, PriceOverridesError, PriceTable};
use agentlens_core::usage::Usage;
use agentlens_core::Usd;

fn usage() -> Usage {
    Usage {
        input_tokens: 1_000_000,
        cache_read_tokens: 400_000,
        output_tokens: 1_000_000,
        ..Usage::default()
    }
}

fn flex() -> PriceContext {
    PriceContext::from_service_tier("flex")
}

fn batch() -> PriceContext {
    PriceContext {
        batch: true,
        ..PriceContext::default()
    }
}

fn quote(table: &PriceTable, model: &str, when: &str, context: &PriceContext) -> PriceOutcome {
    let at = when.parse().unwrap();
    table.quote_with(Some("mycorp"), model, &usage(), at, context)
}

fn total(outcome: PriceOutcome) -> Usd {
    match outcome {
        PriceOutcome::Priced(quote) => quote.total,
        PriceOutcome::Unpriced { reason } => panic!("unpriced: {reason}"),
    }
}

fn parse_error(overrides: &str) -> String {
    let error = PriceTable::embedded()
        .with_overrides(overrides)
        .unwrap_err();
    assert!(
        matches!(error, PriceOverridesError::Parse { .. }),
        "{error}"
    );
    error.to_string()
}

const NEW_MODEL: &str = r#"
[[models]]
provider = "mycorp"
model = "inhouse-llm"
input_mtok = "2"
cache_read_mtok = "0.5"
output_mtok = "8"

[[models.price_variants]]
when = { service_tier = "flex" }
rates = { input_mtok = "1", output_mtok = "4" }

[[models.price_variants]]
when = { processing = "batch" }
rates = { input_mtok = "1.5", cache_read_mtok = "0.25", output_mtok = "6" }
"#;

#[test]
fn flex_variant_replaces_only_its_keys() {
    let table = PriceTable::embedded().with_overrides(NEW_MODEL).unwrap();

    let outcome = quote(&table, "inhouse-llm", "2026-02-10T00:00:00Z", &flex());

    // 600k uncached x $1 + 400k cached x $0.5 (standard) + 1M x $4, per million.
    assert_eq!(total(outcome), "4.8".parse().unwrap());
}

#[test]
fn batch_variant_prices_batch_calls() {
    let table = PriceTable::embedded().with_overrides(NEW_MODEL).unwrap();

    let outcome = quote(&table, "inhouse-llm", "2026-02-10T00:00:00Z", &batch());

    // 600k x $1.5 + 400k x $0.25 + 1M x $6, per million.
    assert_eq!(total(outcome), "7".parse().unwrap());
}

#[test]
fn tier_without_variant_stays_unpriced() {
    let table = PriceTable::embedded().with_overrides(NEW_MODEL).unwrap();
    let priority = PriceContext::from_service_tier("priority");

    let outcome = quote(&table, "inhouse-llm", "2026-02-10T00:00:00Z", &priority);

    let PriceOutcome::Unpriced { reason } = outcome else {
        panic!("a tier without a variant must not get standard prices");
    };
    assert!(reason.contains("service tier \"priority\""), "{reason}");
}

#[test]
fn dated_variant_applies_from_its_day() {
    let overrides = r#"{"models": [{"provider": "openai", "model": "gpt-5",
        "valid_from": "2026-11-01", "input_mtok": "1", "output_mtok": "8",
        "price_variants": [{"when": {"service_tier": "flex"},
            "rates": {"input_mtok": "0.1", "output_mtok": "0.8"}}]}]}"#;
    let table = PriceTable::embedded().with_overrides(overrides).unwrap();
    let usage = Usage {
        input_tokens: 1_000_000,
        output_tokens: 1_000_000,
        ..Usage::default()
    };
    let price = |when: &str| {
        let outcome = table.quote_with(
            Some("openai"),
            "gpt-5",
            &usage,
            when.parse().unwrap(),
            &flex(),
        );
        total(outcome)
    };

    // Before the day the table's flex price of gpt-5 applies ($0.625 and $5 per million).
    assert_eq!(price("2026-10-20T12:00:00Z"), "5.625".parse().unwrap());
    assert_eq!(price("2026-11-01T00:00:00Z"), "0.9".parse().unwrap());
}

#[test]
fn invalid_processing_names_line_and_fix() {
    let overrides = "[[models]]\nprovider = \"mycorp\"\nmodel = \"m\"\ninput_mtok = \"1\"\n\n\
                     [[models.price_variants]]\nwhen = { processing = \"fast\" }\n\
                     rates = { input_mtok = \"0.5\" }\n";

    let message = parse_error(overrides);

    assert!(message.contains("line 7"), "{message}");
    assert!(message.contains("\"batch\""), "{message}");
}

#[test]
fn unknown_variant_rate_key_is_named() {
    let overrides = "[[models]]\nprovider = \"mycorp\"\nmodel = \"m\"\ninput_mtok = \"1\"\n\n\
                     [[models.price_variants]]\nwhen = { service_tier = \"flex\" }\n\
                     rates = { input_mtoks = \"0.5\" }\n";

    let message = parse_error(overrides);

    assert!(message.contains("line 8"), "{message}");
    assert!(message.contains("\"input_mtoks\""), "{message}");
}

#[test]
fn standard_tier_variant_is_rejected() {
    let overrides = r#"{"models": [{"provider": "mycorp", "model": "m", "input_mtok": "1",
        "price_variants": [{"when": {"service_tier": "default"},
            "rates": {"input_mtok": "0.5"}}]}]}"#;

    let message = parse_error(overrides);

    assert!(message.contains("line 2"), "{message}");
    assert!(
        message.contains("standard prices belong in the entry"),
        "{message}"
    );
}

#[test]
fn empty_when_and_rates_are_rejected() {
    let empty_when = r#"{"models": [{"provider": "mycorp", "model": "m", "input_mtok": "1",
        "price_variants": [{"when": {}, "rates": {"input_mtok": "0.5"}}]}]}"#;
    let empty_rates = r#"{"models": [{"provider": "mycorp", "model": "m", "input_mtok": "1",
        "price_variants": [{"when": {"processing": "batch"}, "rates": {}}]}]}"#;

    assert!(parse_error(empty_when).contains("`when` is empty"));
    assert!(parse_error(empty_rates).contains("`rates` is empty"));
}
