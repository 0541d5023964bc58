//! Conformance of usage extraction and pricing against recorded provider responses.
//!
//! Reads `$AGENTLENS_TEST_DATA/provider-responses`: VCR cassettes (YAML) recorded by the
//! pydantic-ai test suite and raw responses and stream chunk files from the Vercel AI SDK
//! test suite. The test is skipped with a message when `AGENTLENS_TEST_DATA` is unset, and
//! fails when the folder exists but a fixture listed below is missing.
//!
//! `every_recorded_usage_is_read` reads every usage object in the folder and prices it;
//! `fixtures_price_to_hand_computed_totals` checks exact dollar totals for a table of
//! fixtures against sums worked out by hand from the providers' list prices.

use std::path::{Path, PathBuf};

use agentlens_core::pricing::{PriceOutcome, PriceTable};
use agentlens_core::usage::{extract, merged_usage, reported_cost};
use agentlens_core::Usd;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// The day prices are taken from; every model below has one price entry in force then.
const PRICED_AT: &str = "2026-12-04T12:00:00Z";

/// One usage object found in a fixture.
#[derive(Debug)]
struct Recorded {
    provider: String,
    model: Option<String>,
    usage: Value,
}

fn data_dir() -> Option<PathBuf> {
    let Some(root) = std::env::var_os("AGENTLENS_TEST_DATA") else {
        println!("skipped: set AGENTLENS_TEST_DATA to the shared data folder to run conformance");
        return None;
    };
    let dir = PathBuf::from(root).join("provider-responses");
    assert!(dir.is_dir(), "{} is not a folder", dir.display());
    Some(dir)
}

/// Returns the usage objects of one fixture file, in response order.
fn read_fixture(path: &Path) -> Vec<Recorded> {
    let text = std::fs::read_to_string(path).unwrap();
    let name = path.to_string_lossy();
    if name.ends_with(".yaml") {
        return read_cassette(&text);
    }
    let provider = vercel_provider(path);
    let bodies: Vec<Value> = if name.ends_with(".chunks.txt") {
        let events: Vec<Value> = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let model = events.iter().find_map(model_of);
        let usage = merged_usage(&events);
        return usage
            .into_iter()
            .map(|usage| Recorded {
                provider: provider.clone(),
                model: model.clone(),
                usage,
            })
            .collect();
    } else {
        vec![serde_json::from_str(&text).unwrap()]
    };
    bodies
        .iter()
        .filter_map(|body| {
            let usage = merged_usage([body])?;
            Some(Recorded {
                provider: provider.clone(),
                model: model_of(body),
                usage,
            })
        })
        .collect()
}

fn vercel_provider(path: &Path) -> String {
    let parts: Vec<String> = path
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    let index = parts.iter().position(|part| part == "packages").unwrap();
    match parts[index + 1].as_str() {
        "amazon-bedrock" => "aws".into(),
        "moonshotai" => "moonshotai".into(),
        "xai" => "x-ai".into(),
        other => other.into(),
    }
}

fn model_of(body: &Value) -> Option<String> {
    let model = body
        .get("model")
        .or_else(|| body.pointer("/response/model"))
        .or_else(|| body.pointer("/message/model"))
        .or_else(|| body.get("modelVersion"));
    model.and_then(Value::as_str).map(str::to_owned)
}

fn read_cassette(text: &str) -> Vec<Recorded> {
    let cassette: Value = serde_norway::from_str(text).unwrap();
    let interactions = cassette["interactions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut found = Vec::new();
    for interaction in interactions {
        let uri = interaction.pointer("/request/uri").and_then(Value::as_str);
        let uri = uri.unwrap_or_default();
        if uri.contains("/cachedContents") {
            // Creating a Gemini cache is no model call; its usage has only a total.
            continue;
        }
        let provider = provider_of_uri(uri);
        let bodies = response_bodies(&interaction["response"]);
        let model = bodies
            .iter()
            .find_map(model_of)
            .or_else(|| bedrock_model(uri));
        if let Some(usage) = merged_usage(&bodies) {
            found.push(Recorded {
                provider,
                model,
                usage,
            });
        }
    }
    found
}

/// Returns the decoded JSON payloads of a recorded response: the parsed body, the JSON body
/// text, or each `data:` line of a server-sent event stream.
fn response_bodies(response: &Value) -> Vec<Value> {
    if let Some(parsed) = response.get("parsed_body").filter(|body| body.is_object()) {
        return vec![parsed.clone()];
    }
    let text = response
        .pointer("/body/string")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if let Ok(body) = serde_json::from_str::<Value>(text) {
        return vec![body];
    }
    text.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str(data.trim()).ok())
        .collect()
}

fn provider_of_uri(uri: &str) -> String {
    let hosts = [
        ("anthropic.com", "anthropic"),
        ("bedrock", "aws"),
        ("openai.com", "openai"),
        ("googleapis.com", "google"),
        ("openrouter.ai", "openrouter"),
        ("groq.com", "groq"),
        ("mistral.ai", "mistral"),
        ("cerebras.ai", "cerebras"),
        ("cohere", "cohere"),
        ("deepseek.com", "deepseek"),
        ("huggingface", "huggingface"),
        ("ollama", "ollama"),
        ("z.ai", "zai"),
    ];
    let found = hosts.iter().find(|(host, _)| uri.contains(host));
    found.map_or("unknown", |(_, provider)| provider).to_owned()
}

/// Returns the model id of a Bedrock Converse request URI, `/model/<id>/converse`.
fn bedrock_model(uri: &str) -> Option<String> {
    let (_, rest) = uri.split_once("/model/")?;
    let (model, _) = rest.split_once('/')?;
    Some(model.replace("%3A", ":").replace("%3a", ":"))
}

fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn at() -> DateTime<Utc> {
    PRICED_AT.parse().unwrap()
}

#[test]
fn every_recorded_usage_is_read() {
    let Some(dir) = data_dir() else {
        return;
    };
    let table = PriceTable::embedded();
    let (mut objects, mut priced, mut unpriced, mut rejected) = (0, 0, Vec::new(), Vec::new());

    for path in fixture_files(&dir) {
        for recorded in read_fixture(&path) {
            objects += 1;
            let usage = match extract(&recorded.provider, &recorded.usage) {
                Ok(usage) => usage,
                Err(error) => {
                    let name = path.file_name().unwrap().to_string_lossy().into_owned();
                    println!("rejected {name}: {error}");
                    rejected.push(name);
                    continue;
                }
            };
            let Some(model) = &recorded.model else {
                unpriced.push(format!("{}: no model id recorded", path.display()));
                continue;
            };
            match table.quote(Some(&recorded.provider), model, &usage, at()) {
                PriceOutcome::Priced(quote) => {
                    assert!(!quote.total.is_negative(), "{}", path.display());
                    priced += 1;
                }
                PriceOutcome::Unpriced { reason } => unpriced.push(reason),
            }
        }
    }

    println!(
        "{objects} usage objects, {priced} priced, {} unpriced:",
        unpriced.len()
    );
    for reason in &unpriced {
        println!("  {reason}");
    }
    // The one rejected object reports 11 reasoning tokens inside 10 completion tokens
    // (OpenRouter, minimax-m2:free, a stream that ended in an error); total_tokens is
    // prompt + completion, so no reading makes the parts fit.
    assert_eq!(rejected, ["test_openrouter_stream_error.yaml"]);
    assert!(objects >= 150, "found only {objects} usage objects");
    assert!(
        priced * 10 >= objects * 8,
        "priced only {priced} of {objects}"
    );
}

/// Prices the `index`-th usage object of a fixture; returns our total and the reported cost.
fn price_fixture(dir: &Path, relative: &str, index: usize) -> (Usd, Option<Usd>) {
    let path = dir.join(relative);
    assert!(
        path.is_file(),
        "listed fixture is missing: {}",
        path.display()
    );
    let recorded = read_fixture(&path);
    let recorded = recorded
        .get(index)
        .unwrap_or_else(|| panic!("{relative} has no usage object {index}"));
    let usage = extract(&recorded.provider, &recorded.usage).unwrap();
    let model = recorded.model.as_deref().unwrap();
    let outcome = PriceTable::embedded().quote(Some(&recorded.provider), model, &usage, at());
    let PriceOutcome::Priced(quote) = outcome else {
        panic!("{relative} is unpriced: {outcome:?}");
    };
    (quote.total, reported_cost(&recorded.usage))
}

#[test]
fn fixtures_price_to_hand_computed_totals() {
    let Some(dir) = data_dir() else {
        return;
    };
    let vercel = "vercel-ai/packages";
    let cassettes = "pydantic-ai/tests/models/cassettes";
    // (fixture, usage object, expected total, provider-reported cost). Rates are dollars per
    // million tokens from the price pages the table cites; 1 µ$ = 0.000001 USD.
    let rows: [(String, usize, &str, Option<&str>); 9] = [
        // claude-sonnet-4-5 at $3 in / $15 out: 12 × 3 = 36 µ$, 29 × 15 = 435 µ$.
        (
            format!("{vercel}/anthropic/src/__fixtures__/anthropic-text.json"),
            0,
            "0.000471",
            None,
        ),
        // gpt-5.3-codex stream, usage from response.completed, $1.75 in / $0.175 cached /
        // $14 out: (7112 − 3072) × 1.75 = 7070, 3072 × 0.175 = 537.6, 463 × 14 = 6482 µ$.
        (
            format!("{vercel}/openai/src/responses/__fixtures__/openai-phase.1.chunks.txt"),
            0,
            "0.0140896",
            None,
        ),
        // deepseek-reasoner at 12:00 UTC, inside the 00:30–16:30 standard window: $0.55 in /
        // $0.14 cache hit / $2.19 out: 19 × 0.55 = 10.45, 320 × 0.14 = 44.8,
        // 92 × 2.19 = 201.48 µ$.
        (
            format!("{vercel}/deepseek/src/chat/__fixtures__/deepseek-tool-call.json"),
            0,
            "0.00025673",
            None,
        ),
        // grok-3-mini, $0.30 in / $0.075 cached / $0.50 out; xAI leaves the 228 reasoning
        // tokens out of completion_tokens: 10 × 0.3 = 3, 2 × 0.075 = 0.15,
        // (1 + 228) × 0.5 = 114.5 µ$. xAI reported 1,176,500 ticks, the same $0.00011765.
        (
            format!("{vercel}/xai/src/__fixtures__/xai-text.json"),
            0,
            "0.00011765",
            Some("0.00011765"),
        ),
        // grok-3-mini: 47 × 0.3 = 14.1, 244 × 0.075 = 18.3, (26 + 189) × 0.5 = 107.5 µ$;
        // xAI reported 1,399,000 ticks, the same $0.0001399.
        (
            format!("{vercel}/xai/src/__fixtures__/xai-tool-call.json"),
            0,
            "0.0001399",
            Some("0.0001399"),
        ),
        // Bedrock Converse, us.anthropic.claude-sonnet-4-5 (regional profile, 10% above the
        // global rates): $3.30 in / $4.125 cache write / $16.50 out:
        // 2 × 3.3 = 6.6, 1322 × 4.125 = 5453.25, 5 × 16.5 = 82.5 µ$.
        (
            format!("{cassettes}/test_bedrock/test_bedrock_cache_write_and_read.yaml"),
            0,
            "0.00554235",
            None,
        ),
        // The second call reads the 1322 cached tokens at $0.33: 6.6 + 436.26 + 82.5 µ$.
        (
            format!("{cassettes}/test_bedrock/test_bedrock_cache_write_and_read.yaml"),
            1,
            "0.00052536",
            None,
        ),
        // OpenRouter anthropic/claude-4.5-sonnet-20250929 at $3 / $15: 14 × 3 = 42,
        // 4 × 15 = 60 µ$; OpenRouter reported the same $0.000102.
        (
            format!(
                "{cassettes}/test_openrouter/\
                 test_openrouter_thinking_false_supports_thinking_model.yaml"
            ),
            0,
            "0.000102",
            Some("0.000102"),
        ),
        // gemini-2.5-flash with 2395 toolUsePromptTokenCount billed as input, $0.30 in /
        // $2.50 out: (32 + 2395) × 0.3 = 728.1, (41 + 47 thoughts) × 2.5 = 220 µ$.
        (
            format!("{cassettes}/test_google/test_google_model_web_fetch_tool.yaml"),
            0,
            "0.0009481",
            None,
        ),
    ];

    for (relative, index, expected, reported) in rows {
        let (total, provider_cost) = price_fixture(&dir, &relative, index);
        assert_eq!(total, expected.parse().unwrap(), "{relative} #{index}");
        let reported = reported.map(|cost| cost.parse::<Usd>().unwrap());
        assert_eq!(provider_cost, reported, "{relative} #{index} reported cost");
    }
}
