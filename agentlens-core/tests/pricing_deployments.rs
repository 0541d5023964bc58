//! Azure deployment names mapped to models in a price override file.

use agentlens_core::pricing::{PriceOutcome, PriceOverridesError, PriceTable, Quote};
use agentlens_core::usage::Usage;
use chrono::{DateTime, Utc};

const DEPLOYMENTS: &str = r#"
[deployments.azure]
my-gpt4o-prod = "gpt-4o-2024-08-06"
eu-mini = "gpt-4o-mini"
"#;

fn at() -> DateTime<Utc> {
    "2026-06-01T12:00:00Z".parse().unwrap()
}

fn usage() -> Usage {
    Usage {
        input_tokens: 1_000_000,
        output_tokens: 1_000_000,
        ..Usage::default()
    }
}

fn outcome(table: &PriceTable, provider: &str, model: &str) -> PriceOutcome {
    table.quote(Some(provider), model, &usage(), at())
}

fn priced(table: &PriceTable, provider: &str, model: &str) -> Quote {
    match outcome(table, provider, model) {
        PriceOutcome::Priced(quote) => quote,
        PriceOutcome::Unpriced { reason } => panic!("{provider}/{model} is unpriced: {reason}"),
    }
}

fn unpriced(table: &PriceTable, provider: &str, model: &str) -> String {
    match outcome(table, provider, model) {
        PriceOutcome::Priced(quote) => panic!("{provider}/{model} is priced: {quote:?}"),
        PriceOutcome::Unpriced { reason } => reason,
    }
}

#[test]
fn deployment_prices_as_mapped_model() {
    let table = PriceTable::embedded().with_overrides(DEPLOYMENTS).unwrap();
    let direct = priced(&table, "azure", "gpt-4o-2024-08-06");

    let quote = priced(&table, "azure", "my-gpt4o-prod");

    assert_eq!(quote.deployment.as_deref(), Some("my-gpt4o-prod"));
    assert_eq!(quote.model, direct.model);
    assert_eq!(quote.provider, direct.provider);
    assert_eq!(quote.total, direct.total);
    assert_eq!(direct.deployment, None);
}

#[test]
fn deployment_uses_azure_rates_before_fallback() {
    let overrides = "[deployments.azure]\nreasoning-prod = \"o3-mini\"\nchat = \"gpt-4o\"\n";
    let table = PriceTable::embedded().with_overrides(overrides).unwrap();

    // The table lists o3-mini under azure itself, and gpt-4o only under openai, which
    // azure falls back to.
    assert_eq!(priced(&table, "azure", "reasoning-prod").provider, "azure");
    assert_eq!(priced(&table, "azure", "chat").provider, "openai");
}

#[test]
fn deployment_names_ignore_case_and_azure_spelling() {
    let table = PriceTable::embedded().with_overrides(DEPLOYMENTS).unwrap();
    let expected = priced(&table, "azure", "eu-mini").total;

    for provider in [
        "azure",
        "Azure",
        "azure_openai",
        "azure.ai.openai",
        "az.ai.openai",
    ] {
        let quote = priced(&table, provider, " EU-Mini ");
        assert_eq!(quote.total, expected, "{provider}");
        assert_eq!(quote.deployment.as_deref(), Some("EU-Mini"), "{provider}");
    }
}

#[test]
fn deployment_map_reads_json() {
    let json = r#"{"deployments": {"azure": {"my-gpt4o-prod": "gpt-4o-2024-08-06"}}}"#;
    let table = PriceTable::embedded().with_overrides(json).unwrap();

    let quote = priced(&table, "azure", "my-gpt4o-prod");

    assert_eq!(quote.deployment.as_deref(), Some("my-gpt4o-prod"));
}

#[test]
fn deployment_name_wins_over_model_of_same_name() {
    let overrides = "[deployments.azure]\n\"gpt-4o\" = \"gpt-4o-mini\"\n";
    let table = PriceTable::embedded().with_overrides(overrides).unwrap();
    let mini = priced(&table, "azure", "gpt-4o-mini");

    let quote = priced(&table, "azure", "gpt-4o");

    assert_eq!(quote.model, mini.model);
    assert_eq!(quote.total, mini.total);
}

#[test]
fn unknown_deployment_reason_names_map() {
    let table = PriceTable::embedded().with_overrides(DEPLOYMENTS).unwrap();

    let reason = unpriced(&table, "azure", "my-new-deployment");

    assert!(reason.contains("\"my-new-deployment\""), "{reason}");
    assert!(reason.contains("[deployments.azure]"), "{reason}");
}

#[test]
fn unknown_azure_model_hints_without_map() {
    let reason = unpriced(PriceTable::embedded(), "azure", "prod-chat");

    assert!(reason.contains("[deployments.azure]"), "{reason}");
}

#[test]
fn deployments_stay_with_their_provider() {
    let table = PriceTable::embedded().with_overrides(DEPLOYMENTS).unwrap();

    let reason = unpriced(&table, "openai", "my-gpt4o-prod");

    assert!(!reason.contains("deployments"), "{reason}");
}

#[test]
fn deployment_may_map_to_override_model() {
    let overrides = r#"
[[models]]
provider = "azure"
model = "inhouse-ft"
input_mtok = "1"
output_mtok = "2"

[deployments.azure]
ft-prod = "inhouse-ft"
"#;
    let table = PriceTable::embedded().with_overrides(overrides).unwrap();

    let quote = priced(&table, "azure", "ft-prod");

    assert_eq!(quote.model, "inhouse-ft");
    assert_eq!(quote.total.to_string(), "3");
}

#[test]
fn deployment_to_unknown_model_is_rejected() {
    let overrides = "[deployments.azure]\nprod = \"gpt-nonexistent-9\"\n";

    let error = PriceTable::embedded()
        .with_overrides(overrides)
        .unwrap_err();

    let PriceOverridesError::InvalidDeployment {
        deployment,
        message,
        ..
    } = &error
    else {
        panic!("unexpected error {error:?}");
    };
    assert_eq!(deployment, "prod");
    assert!(message.contains("gpt-nonexistent-9"), "{message}");
}

#[test]
fn deployment_of_unknown_provider_is_rejected() {
    let overrides = "[deployments.nowhere]\nprod = \"gpt-4o\"\n";

    let error = PriceTable::embedded()
        .with_overrides(overrides)
        .unwrap_err();

    assert!(matches!(
        error,
        PriceOverridesError::InvalidDeployment { ref provider, .. } if provider == "nowhere"
    ));
    assert!(error.to_string().contains("unknown provider"), "{error}");
}

#[test]
fn empty_deployment_name_is_rejected() {
    let overrides = "[deployments.azure]\n\" \" = \"gpt-4o\"\n";

    let error = PriceTable::embedded()
        .with_overrides(overrides)
        .unwrap_err();

    assert!(error.to_string().contains("must not be empty"), "{error}");
}

#[test]
fn deployment_names_differing_in_case_are_rejected() {
    let overrides = "[deployments.azure]\nx = \"gpt-4o\"\nX = \"gpt-4o-mini\"\n";

    let error = PriceTable::embedded()
        .with_overrides(overrides)
        .unwrap_err()
        .to_string();

    assert!(error.contains("\"X\""), "{error}");
    assert!(error.contains("\"x\""), "{error}");
    assert!(error.contains("differ only in case"), "{error}");
}

#[test]
fn provider_prefixed_deployment_is_found() {
    let table = PriceTable::embedded().with_overrides(DEPLOYMENTS).unwrap();
    let expected = priced(&table, "azure", "eu-mini");

    let quote = priced(&table, "azure", "azure/eu-mini");

    assert_eq!(quote.model, expected.model);
    assert_eq!(quote.total, expected.total);
    assert_eq!(quote.deployment.as_deref(), Some("azure/eu-mini"));
}

#[test]
fn other_provider_prefix_is_not_stripped() {
    let table = PriceTable::embedded().with_overrides(DEPLOYMENTS).unwrap();

    let reason = unpriced(&table, "azure", "openai/eu-mini");

    assert!(reason.contains("openai/eu-mini"), "{reason}");
}

#[test]
fn find_model_follows_deployment() {
    let table = PriceTable::embedded().with_overrides(DEPLOYMENTS).unwrap();

    let model = table.find_model(Some("azure"), "eu-mini").unwrap();

    assert_eq!(model.id(), priced(&table, "azure", "eu-mini").model);
    assert_eq!(model.deployment(), Some("eu-mini"));
}

#[test]
fn find_model_without_deployment_names_none() {
    let table = PriceTable::embedded().with_overrides(DEPLOYMENTS).unwrap();

    let model = table.find_model(Some("azure"), "gpt-4o-mini").unwrap();

    assert_eq!(model.deployment(), None);
}
