//! Measures the cost of pricing one call with the embedded table.
//!
//! Run with `cargo bench -p agentlens-core --bench pricing`. The quote benchmarks reuse one
//! parsed table, and criterion's warm-up fills the lookup cache, so they measure a warm
//! process; `table/parse_embedded_json` measures the one-time parse.

use std::hint::black_box;

use agentlens_core::pricing::{PriceContext, PriceTable};
use agentlens_core::usage::Usage;
use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion};

fn quote_known_models(criterion: &mut Criterion) {
    let table = PriceTable::embedded();
    let at: DateTime<Utc> = "2026-02-10T12:00:00Z".parse().unwrap();
    let usage = Usage {
        input_tokens: 2006,
        cache_read_tokens: 1920,
        output_tokens: 300,
        ..Usage::default()
    };
    let cases = [
        ("quote_openai_dated_id", Some("openai"), "gpt-4o-2024-08-06"),
        (
            "quote_anthropic_dated_id",
            Some("anthropic"),
            "claude-haiku-4-5-20251001",
        ),
        ("quote_without_provider", None, "gpt-4o"),
        ("quote_tiered_gemini", Some("vertex_ai"), "gemini-2.5-pro"),
    ];

    for (name, provider, model) in cases {
        criterion.bench_function(name, |bencher| {
            bencher.iter(|| table.quote(black_box(provider), black_box(model), &usage, at));
        });
    }
}

fn quote_audio_and_tier(criterion: &mut Criterion) {
    let table = PriceTable::embedded();
    let at: DateTime<Utc> = "2026-12-01T12:00:00Z".parse().unwrap();
    let audio = Usage {
        input_tokens: 2006,
        cache_read_tokens: 1024,
        input_audio_tokens: 1500,
        cache_audio_read_tokens: 800,
        output_tokens: 600,
        output_audio_tokens: 450,
        ..Usage::default()
    };
    let text = Usage {
        input_tokens: 2006,
        cache_read_tokens: 1920,
        output_tokens: 300,
        ..Usage::default()
    };
    let flex = PriceContext::from_service_tier("flex");

    criterion.bench_function("quote_realtime_audio", |bencher| {
        bencher.iter(|| table.quote(Some("openai"), black_box("gpt-realtime"), &audio, at));
    });
    criterion.bench_function("quote_flex_tier", |bencher| {
        bencher.iter(|| table.quote_with(Some("openai"), black_box("gpt-5"), &text, at, &flex));
    });
}

fn quote_unknown_model(criterion: &mut Criterion) {
    let table = PriceTable::embedded();
    let at: DateTime<Utc> = "2026-02-10T12:00:00Z".parse().unwrap();
    let usage = Usage {
        input_tokens: 10_000,
        output_tokens: 1_000,
        ..Usage::default()
    };

    criterion.bench_function("quote_unknown_model_cached", |bencher| {
        bencher.iter(|| {
            let model = black_box("claude-nonexistent-9-20990101");
            table.quote(Some("anthropic"), model, &usage, at)
        });
    });
}

fn parse_table(criterion: &mut Criterion) {
    let text = include_str!("../data/prices.json");
    let mut group = criterion.benchmark_group("table");
    group.sample_size(10);
    group.bench_function("parse_embedded_json", |bencher| {
        bencher.iter(|| PriceTable::from_json(black_box(text)).unwrap());
    });
    group.finish();
}

criterion_group!(
    benches,
    quote_known_models,
    quote_audio_and_tier,
    quote_unknown_model,
    parse_table
);
criterion_main!(benches);
