//! Rates above [`MAX_RATE`](super::rates::MAX_RATE) are rejected where they enter, so that
//! no quote can overflow `Decimal` and panic.

use chrono::{DateTime, Utc};

use super::*;
use crate::usage::Usage;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Returns a one-model table whose input and output rates are `rate`.
fn table_json(rate: &str) -> String {
    format!(
        r#"{{"format_version": 2, "generated": "2026-01-01",
        "sources": [{{"package": "test", "version": "0"}}],
        "providers": [{{"id": "p", "provider_match": null, "model_match": null, "models": [
            {{"id": "m", "match": {{"equals": "m"}},
             "prices": [{{"rates": {{"input_mtok": "{rate}", "output_mtok": "{rate}"}}}}]}}
        ]}}]}}"#
    )
}

#[test]
fn override_rate_above_maximum_is_rejected() {
    let text = r#"
[[models]]
provider = "mycorp"
model = "pricey"
input_mtok = "10000000000000"
"#;

    let error = PriceTable::embedded().with_overrides(text).unwrap_err();

    let message = error.to_string();
    assert!(message.contains("\"10000000000000\""), "{message}");
    assert!(message.contains("at most 1000000 dollars"), "{message}");
}

#[test]
fn override_tier_price_above_maximum_is_rejected() {
    let text = r#"
[[models]]
provider = "mycorp"
model = "long-llm"
input_mtok = { base = "1", tiers = [{ start = 200000, price = "79228162514264337593543950335" }] }
"#;

    let error = PriceTable::embedded().with_overrides(text).unwrap_err();

    let message = error.to_string();
    assert!(message.contains("at most 1000000 dollars"), "{message}");
}

#[test]
fn table_rate_above_maximum_is_rejected() {
    let error = PriceTable::from_json(&table_json("1000000.000001")).unwrap_err();

    let PriceTableError::InvalidRate { owner, key, rate } = &error else {
        panic!("expected an invalid rate error, got {error}");
    };
    assert_eq!(owner, "p/m");
    assert_eq!(key, "input_mtok");
    assert_eq!(rate.to_string(), "1000000.000001");
}

#[test]
fn table_negative_rate_is_rejected() {
    let error = PriceTable::from_json(&table_json("-1")).unwrap_err();

    assert!(
        matches!(error, PriceTableError::InvalidRate { .. }),
        "{error}"
    );
}

#[test]
fn maximum_rate_prices_largest_counts_exactly() {
    let table = PriceTable::from_json(&table_json("1000000")).unwrap();
    let usage = Usage {
        input_tokens: 9_007_199_254_740_991,
        output_tokens: 9_007_199_254_740_991,
        ..Usage::default()
    };

    let outcome = table.quote(Some("p"), "m", &usage, at("2026-01-01T00:00:00Z"));

    let PriceOutcome::Priced(quote) = outcome else {
        panic!("expected a price: {outcome:?}");
    };
    assert_eq!(quote.total.to_string(), "18014398509481982");
}
