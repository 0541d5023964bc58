use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::*;

fn rates(pairs: &[(&str, &str)]) -> Rates {
    let keys: BTreeMap<String, Rate> = pairs
        .iter()
        .map(|(key, rate)| ((*key).to_owned(), Rate::Flat(rate.parse().unwrap())))
        .collect();
    Rates::from_keys(keys)
}

fn variant(key: &str, value: &str, start: Option<&str>, pairs: &[(&str, &str)]) -> PriceVariant {
    PriceVariant {
        when: vec![(key.to_owned(), value.to_owned())],
        start_date: start.map(|day| day.parse().unwrap()),
        rates: rates(pairs),
    }
}

fn standard() -> Rates {
    rates(&[
        ("input_mtok", "1.25"),
        ("cache_read_mtok", "0.125"),
        ("output_mtok", "10"),
    ])
}

fn variants() -> Vec<PriceVariant> {
    vec![
        variant("service_tier", "default", None, &[]),
        variant(
            "service_tier",
            "flex",
            Some("2026-10-12"),
            &[("input_mtok", "0.625"), ("output_mtok", "5")],
        ),
        variant(
            "processing",
            "batch",
            None,
            &[("input_mtok", "0.625"), ("output_mtok", "5")],
        ),
    ]
}

fn at(time: &str) -> DateTime<Utc> {
    time.parse().unwrap()
}

fn input_rate(resolved: &Resolved<'_>) -> Option<Decimal> {
    match resolved.token(Unit::Input) {
        Some(Rate::Flat(rate)) => Some(*rate),
        _ => None,
    }
}

#[test]
fn standard_tier_names_keep_standard_rates() {
    let (standard_rates, variants) = (standard(), variants());
    for tier in ["standard", "default", "auto", "on_demand", "DEFAULT"] {
        let context = PriceContext::from_service_tier(tier);

        let (resolved, applied) = resolve(
            &standard_rates,
            &variants,
            &context,
            at("2026-12-01T00:00:00Z"),
            "m",
        )
        .unwrap();

        assert_eq!(
            input_rate(&resolved),
            Some("1.25".parse().unwrap()),
            "{tier}"
        );
        assert_eq!(applied, None, "{tier}");
    }
}

#[test]
fn flex_tier_selects_flex_rates_key_by_key() {
    let (standard_rates, variants) = (standard(), variants());
    let context = PriceContext::from_service_tier("flex");

    let (resolved, applied) = resolve(
        &standard_rates,
        &variants,
        &context,
        at("2026-12-01T00:00:00Z"),
        "m",
    )
    .unwrap();

    assert_eq!(input_rate(&resolved), Some("0.625".parse().unwrap()));
    assert_eq!(
        resolved.token(Unit::CacheRead),
        Some(&Rate::Flat("0.125".parse().unwrap())),
        "a key the variant lacks keeps the standard rate"
    );
    assert_eq!(applied.as_deref(), Some("service_tier=flex"));
}

#[test]
fn variant_before_its_start_date_is_missing() {
    let (standard_rates, variants) = (standard(), variants());
    let context = PriceContext::from_service_tier("flex");

    let reason = resolve(
        &standard_rates,
        &variants,
        &context,
        at("2026-10-11T23:00:00Z"),
        "gpt-x",
    )
    .unwrap_err();

    assert!(reason.contains("service tier \"flex\""), "{reason}");
    assert!(reason.contains("2026-10-11"), "{reason}");
}

#[test]
fn tier_without_variant_is_unpriced() {
    let (standard_rates, variants) = (standard(), variants());
    let context = PriceContext::from_service_tier("priority");

    let reason = resolve(
        &standard_rates,
        &variants,
        &context,
        at("2026-12-01T00:00:00Z"),
        "gpt-x",
    )
    .unwrap_err();

    assert!(reason.starts_with("model \"gpt-x\" has no price for service tier \"priority\""));
    assert!(
        reason.contains("its service tiers are batch, flex"),
        "{reason}"
    );
}

#[test]
fn special_tiers_skip_standard_names() {
    let variants = variants();
    let in_force_on = |time| {
        special_tiers(
            variants
                .iter()
                .filter(|variant| in_force(variant, at(time))),
        )
    };

    assert_eq!(special_tiers(&variants), ["batch", "flex"]);
    assert_eq!(in_force_on("2026-12-01T00:00:00Z"), ["batch", "flex"]);
    assert_eq!(in_force_on("2026-10-11T00:00:00Z"), ["batch"]);
}

#[test]
fn special_tiers_name_batch_only_for_batch_alone() {
    let flex_batch = PriceVariant {
        when: vec![
            ("service_tier".to_owned(), "flex".to_owned()),
            ("processing".to_owned(), "batch".to_owned()),
        ],
        start_date: None,
        rates: rates(&[("input_mtok", "0.3")]),
    };
    let batch = variant("processing", "batch", None, &[("input_mtok", "0.6")]);

    assert_eq!(special_tiers([&flex_batch]), ["flex"]);
    assert_eq!(special_tiers([&flex_batch, &batch]), ["batch", "flex"]);
}

#[test]
fn tier_reason_says_when_no_tier_is_priced() {
    let standard_rates = standard();
    let mut variants = variants();
    variants.retain(|variant| !is_batch_only(variant));
    let context = PriceContext::from_service_tier("flex");

    let reason = resolve(
        &standard_rates,
        &variants,
        &context,
        at("2026-10-11T00:00:00Z"),
        "gpt-x",
    )
    .unwrap_err();

    assert!(
        reason.contains("nor for any other service tier"),
        "{reason}"
    );
}

#[test]
fn anthropic_batch_tier_selects_batch_rates() {
    let (standard_rates, variants) = (standard(), variants());
    let context = PriceContext::from_service_tier("batch");

    let (resolved, applied) = resolve(
        &standard_rates,
        &variants,
        &context,
        at("2026-12-01T00:00:00Z"),
        "m",
    )
    .unwrap();

    assert!(context.batch);
    assert_eq!(input_rate(&resolved), Some("0.625".parse().unwrap()));
    assert_eq!(applied.as_deref(), Some("processing=batch"));
}

#[test]
fn batch_without_variant_is_unpriced() {
    let standard_rates = standard();
    let context = PriceContext {
        service_tier: None,
        batch: true,
        from_speed: false,
    };

    let reason = resolve(
        &standard_rates,
        &[],
        &context,
        at("2026-12-01T00:00:00Z"),
        "m",
    )
    .unwrap_err();

    assert!(reason.contains("no price for batch processing"), "{reason}");
}

#[test]
fn fast_tier_selects_speed_variant() {
    let standard_rates = standard();
    let variants = vec![variant(
        "speed",
        "fast",
        None,
        &[("input_mtok", "7.5"), ("output_mtok", "60")],
    )];
    let context = PriceContext::from_service_tier("fast");

    let (resolved, applied) = resolve(
        &standard_rates,
        &variants,
        &context,
        at("2026-12-01T00:00:00Z"),
        "m",
    )
    .unwrap();

    assert_eq!(input_rate(&resolved), Some("7.5".parse().unwrap()));
    assert_eq!(applied.as_deref(), Some("service_tier=fast"));
}

#[test]
fn missing_fast_speed_is_named_a_speed() {
    let standard_rates = standard();
    let context = crate::usage::usage_price_context(&serde_json::json!({
        "input_tokens": 10,
        "service_tier": "standard",
        "speed": "fast",
    }));

    let reason = resolve(
        &standard_rates,
        &variants(),
        &context,
        at("2026-12-01T00:00:00Z"),
        "m",
    )
    .unwrap_err();

    assert!(reason.contains("no price for speed \"fast\""), "{reason}");
    assert!(!reason.contains("service tier \"fast\""), "{reason}");
}

#[test]
fn tier_with_batch_needs_a_variant_naming_both() {
    let standard_rates = standard();
    let context = PriceContext {
        service_tier: Some("flex".to_owned()),
        batch: true,
        from_speed: false,
    };

    let reason = resolve(
        &standard_rates,
        &variants(),
        &context,
        at("2026-12-01T00:00:00Z"),
        "m",
    )
    .unwrap_err();

    assert!(
        reason.contains("service tier \"flex\" with batch processing"),
        "{reason}"
    );
}

#[test]
fn variant_naming_tier_and_batch_prices_the_combination() {
    let standard_rates = standard();
    let mut variants = variants();
    variants.push(PriceVariant {
        when: vec![
            ("service_tier".to_owned(), "flex".to_owned()),
            ("processing".to_owned(), "batch".to_owned()),
        ],
        start_date: None,
        rates: rates(&[("input_mtok", "0.3125")]),
    });
    let context = PriceContext {
        service_tier: Some("flex".to_owned()),
        batch: true,
        from_speed: false,
    };

    let (resolved, applied) = resolve(
        &standard_rates,
        &variants,
        &context,
        at("2026-12-01T00:00:00Z"),
        "m",
    )
    .unwrap();

    assert_eq!(input_rate(&resolved), Some("0.3125".parse().unwrap()));
    assert_eq!(
        applied.as_deref(),
        Some("service_tier=flex, processing=batch")
    );
}
