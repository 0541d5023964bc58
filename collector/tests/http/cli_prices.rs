//! `agentlens prices quote|show|list|update` and `agentlens serve --prices`, run as the
//! real binary.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const USAGE: &str = r#"{"inputTokens":2006,"cacheReadTokens":1920,"outputTokens":300}"#;

/// A LiteLLM price file with one flat model and one model with a prompt-size tier.
const LITELLM: &str = r#"{
  "sample_spec": {"litellm_provider": "one of https://docs.litellm.ai/docs/providers",
                  "input_cost_per_token": 0.0},
  "inhouse-llm": {"litellm_provider": "mycorp", "input_cost_per_token": 1e-07,
                  "output_cost_per_token": 2e-07},
  "gemini/gemini-huge": {"litellm_provider": "gemini", "input_cost_per_token": 1.25e-06,
                  "input_cost_per_token_above_200k_tokens": 2.5e-06,
                  "output_cost_per_token": 1e-05}
}"#;

fn agentlens(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_agentlens"));
    command
        .args(args)
        .env_remove("AGENTLENS_PRICES")
        .env("RUST_LOG", "warn");
    command
}

fn run(args: &[&str]) -> Output {
    agentlens(args).output().unwrap()
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "{error}: stdout {} stderr {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn quote_args<'a>(provider: &'a str, model: &'a str, usage: &'a str) -> Vec<&'a str> {
    vec![
        "prices",
        "quote",
        "--provider",
        provider,
        "--model",
        model,
        "--usage",
        usage,
        "--at",
        "2026-02-10T12:00:00Z",
    ]
}

fn path_text(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn quote_prints_priced_json() {
    let output = run(&quote_args("openai", "gpt-4o-2024-08-06", USAGE));

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("\"total\": 0.005615"), "{text}");
    let json = stdout_json(&output);
    assert_eq!(json["status"], "priced");
    assert_eq!(json["breakdown"]["cacheRead"]["count"], 1920);
    assert_eq!(json["breakdown"]["output"]["rate"], "10");
    assert_eq!(json["entry"]["model"], "gpt-4o");
    assert!(json["pricingVersion"].as_str().unwrap().starts_with("pv_"));
    assert_eq!(json["source"], "genai-prices 0.2.5");
}

#[test]
fn quote_reads_provider_usage() {
    let raw = r#"{"prompt_tokens":2006,"completion_tokens":300,
        "prompt_tokens_details":{"cached_tokens":1920}}"#;

    let from_raw = stdout_json(&run(&quote_args("openai", "gpt-4o", raw)));
    let normalized = stdout_json(&run(&quote_args("openai", "gpt-4o", USAGE)));

    assert_eq!(from_raw["total"], normalized["total"]);
    assert_eq!(from_raw["usage"]["cacheReadTokens"], 1920);
}

#[test]
fn quote_reports_dated_entry() {
    let mut args = quote_args("anthropic", "claude-opus-4-6", USAGE);
    let at = args.len() - 1;
    args[at] = "2026-06-01T00:00:00Z";

    let json = stdout_json(&run(&args));

    assert_eq!(json["entry"]["model"], "claude-opus-4-6");
    assert_eq!(json["entry"]["priceDate"], "2026-03-13");
}

#[test]
fn unpriced_quote_exits_with_code_3() {
    let output = run(&quote_args("openai", "gpt-nonexistent-9", USAGE));

    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let json = stdout_json(&output);
    assert_eq!(json["status"], "unpriced");
    let reason = json["unpriced"].as_str().unwrap();
    assert!(
        reason.contains("unknown model \"gpt-nonexistent-9\""),
        "{reason}"
    );
}

#[test]
fn quote_help_documents_exit_code() {
    let output = run(&["prices", "quote", "--help"]);

    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("3 when the price table"), "{help}");
}

#[test]
fn invalid_usage_names_the_field() {
    let bad_count = run(&quote_args("openai", "gpt-4o", r#"{"inputTokens":-1}"#));
    let not_json = run(&quote_args("openai", "gpt-4o", "{inputTokens"));

    assert_eq!(bad_count.status.code(), Some(1));
    assert!(
        stderr(&bad_count).contains("invalid --usage field usage.inputTokens"),
        "{}",
        stderr(&bad_count)
    );
    assert_eq!(not_json.status.code(), Some(1));
    assert!(
        stderr(&not_json).contains("invalid --usage JSON"),
        "{}",
        stderr(&not_json)
    );
}

#[test]
fn missing_usage_count_named_once() {
    let output = run(&quote_args("openai", "gpt-4o", r#"{"foo":1}"#));

    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("invalid --usage: usage field"),
        "{message}"
    );
    assert_eq!(
        message.matches("prompt_tokens or input_tokens").count(),
        1,
        "{message}"
    );
}

#[test]
fn unknown_service_tier_names_model_tiers() {
    let mut args = quote_args("openai", "gpt-5", r#"{"inputTokens":10,"outputTokens":1}"#);
    args.extend(["--service-tier", "flxe"]);

    let output = run(&args);

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert!(
        message.contains("invalid --service-tier: model \"gpt-5\" has no service tier \"flxe\""),
        "{message}"
    );
    assert!(
        message.contains("pass one of its tiers (batch, fast, flex, priority)"),
        "{message}"
    );
    assert!(
        message.contains("standard, default, auto, on_demand"),
        "{message}"
    );
}

#[test]
fn batch_tier_without_batch_prices_is_rejected() {
    let usage = r#"{"inputTokens":10,"outputTokens":1}"#;
    let mut args = quote_args("openai", "gpt-4o-audio-preview", usage);
    args.extend(["--service-tier", "batch"]);

    let output = run(&args);

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    let message = stderr(&output);
    assert!(
        message.contains(
            "invalid --service-tier: model \"gpt-4o-audio-preview\" has no service tier \"batch\""
        ),
        "{message}"
    );
    assert!(
        message.contains("no other service tier prices"),
        "{message}"
    );
}

#[test]
fn batch_tier_uses_batch_prices() {
    let mut args = quote_args("openai", "gpt-5", r#"{"inputTokens":1000000}"#);
    // gpt-5's batch prices start on 2026-10-14.
    *args.last_mut().unwrap() = "2026-12-01T12:00:00Z";
    args.extend(["--service-tier", "batch"]);

    let output = run(&args);

    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json = stdout_json(&output);
    assert_eq!(json["priceVariant"], "processing=batch", "{json}");
    // Half of the standard $1.25 per million input tokens.
    assert_eq!(json["total"], 0.625, "{json}");
}

#[test]
fn known_tier_before_its_prices_is_unpriced() {
    // gpt-5's flex prices start on 2026-10-12, after the quoted day.
    let mut args = quote_args("openai", "gpt-5", r#"{"inputTokens":10,"outputTokens":1}"#);
    args.extend(["--service-tier", "Flex"]);

    let output = run(&args);

    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let reason = stdout_json(&output)["unpriced"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("service tier \"flex\""), "{reason}");
    assert!(
        reason.contains("nor for any other service tier"),
        "{reason}"
    );
}

#[test]
fn empty_service_tier_is_rejected() {
    let mut args = quote_args("openai", "gpt-4o", r#"{"inputTokens":10,"outputTokens":1}"#);
    args.extend(["--service-tier", ""]);

    let output = run(&args);

    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("invalid --service-tier: serviceTier must not be empty"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn show_prints_entry_and_dated_prices() {
    let output = run(&[
        "prices",
        "show",
        "claude-opus-4-6-20260101",
        "--provider",
        "anthropic",
    ]);

    assert!(output.status.success(), "{}", stderr(&output));
    let json = stdout_json(&output);
    assert_eq!(json["provider"], "anthropic");
    assert_eq!(json["model"], "claude-opus-4-6");
    let prices = json["prices"].as_array().unwrap();
    assert!(prices.len() >= 2, "{json}");
    assert_eq!(prices[0]["rates"]["input_mtok"]["base"], "5");
    assert_eq!(
        prices[0]["rates"]["input_mtok"]["tiers"][0]["start"],
        200_000
    );
    assert_eq!(prices.last().unwrap()["startDate"], "2026-03-13");
    assert!(json["match"].as_str().unwrap().contains("claude-opus-4-6"));
}

#[test]
fn show_prints_tier_and_batch_prices() {
    let output = run(&["prices", "show", "gpt-5", "--provider", "openai"]);

    assert!(output.status.success(), "{}", stderr(&output));
    let json = stdout_json(&output);
    let variants = json["priceVariants"].as_array().unwrap();
    let find = |key: &str, value: &str| {
        variants
            .iter()
            .find(|variant| variant["when"][key] == value)
            .unwrap_or_else(|| panic!("no {key}={value} variant in {json}"))
    };
    let flex = find("service_tier", "flex");
    assert_eq!(flex["startDate"], "2026-10-12");
    assert_eq!(flex["rates"]["input_mtok"], "0.625");
    assert_eq!(flex["rates"]["output_mtok"], "5");
    let priority = find("service_tier", "priority");
    assert_eq!(priority["rates"]["input_mtok"], "2.5");
    let batch = find("processing", "batch");
    assert_eq!(batch["startDate"], "2026-10-14");
    assert_eq!(batch["rates"]["output_mtok"], "5");
}

#[test]
fn show_leaves_out_variants_without_rates() {
    // genai-prices lists `{"service_tier": "default"}` for gpt-4o with no rates.
    let output = run(&["prices", "show", "gpt-4o", "--provider", "openai"]);

    assert!(output.status.success(), "{}", stderr(&output));
    let json = stdout_json(&output);
    let variants = json["priceVariants"].as_array().unwrap();
    assert!(!variants.is_empty(), "{json}");
    for variant in variants {
        assert_ne!(variant["rates"], serde_json::json!({}), "{json}");
        assert_ne!(variant["when"]["service_tier"], "default", "{json}");
    }
}

#[test]
fn show_without_tier_prices_prints_empty_list() {
    let output = run(&["prices", "show", "gpt-4o-audio-preview"]);

    assert!(output.status.success(), "{}", stderr(&output));
    let json = stdout_json(&output);
    assert_eq!(json["priceVariants"], serde_json::json!([]), "{json}");
}

#[test]
fn show_lists_tool_fees_of_named_provider() {
    let output = run(&["prices", "show", "gpt-5", "--provider", "azure"]);

    assert!(output.status.success(), "{}", stderr(&output));
    let json = stdout_json(&output);
    // Azure serves gpt-5 from OpenAI's entry but bills its own container fee.
    assert_eq!(json["provider"], "openai");
    let fees = &json["providerToolFees"];
    assert_eq!(fees["code_interpreter_sessions_kcount"], "33", "{json}");
}

#[test]
fn show_unknown_model_fails() {
    let output = run(&["prices", "show", "claude-nope-1", "--provider", "anthropic"]);

    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("unknown model \"claude-nope-1\""));
}

#[test]
fn list_prints_rates_per_million() {
    let output = run(&["prices", "list", "--provider", "anthropic"]);

    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("PROVIDER\tMODEL\tINPUT/M\tOUTPUT/M\tCACHE_READ/M\tCACHE_WRITE/M")
    );
    let haiku = text
        .lines()
        .find(|line| line.starts_with("anthropic\tclaude-haiku-4-5\t"))
        .unwrap_or_else(|| panic!("no haiku 4.5 row: {text}"));
    assert_eq!(haiku, "anthropic\tclaude-haiku-4-5\t1\t5\t0.1\t1.25");
    assert!(lines.all(|line| line.starts_with("anthropic\t")));

    let unknown = run(&["prices", "list", "--provider", "nobody"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no provider \"nobody\""));
}

#[test]
fn list_resolves_provider_name_like_quote() {
    let output = run(&["prices", "list", "--provider", "bedrock"]);

    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(!rows.is_empty(), "{text}");
    assert!(rows.iter().all(|row| row.starts_with("aws\t")), "{text}");
}

#[test]
fn cli_error_prints_plain_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_agentlens"))
        .args(["prices", "list", "--provider", "nobody"])
        .env_remove("RUST_LOG")
        .env_remove("AGENTLENS_PRICES")
        .output()
        .unwrap();

    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(text.starts_with("error: no provider \"nobody\""), "{text}");
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(!text.contains("ERROR"), "{text}");
}

#[test]
fn cli_info_logs_need_rust_log() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = dir.path().join("prices.toml");
    let text = "[[models]]\nprovider = \"mycorp\"\nmodel = \"inhouse\"\ninput_mtok = \"1\"\n";
    std::fs::write(&overrides, text).unwrap();
    let mut args = quote_args("mycorp", "inhouse", r#"{"inputTokens":1000000}"#);
    args.extend(["--prices", path_text(&overrides)]);
    let quote = |rust_log: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_agentlens"));
        command.args(&args).env_remove("AGENTLENS_PRICES");
        match rust_log {
            Some(level) => command.env("RUST_LOG", level),
            None => command.env_remove("RUST_LOG"),
        };
        command.output().unwrap()
    };

    let quiet = quote(None);
    let verbose = quote(Some("info"));

    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert_eq!(stderr(&quiet), "");
    assert!(verbose.status.success(), "{}", stderr(&verbose));
    assert!(stderr(&verbose).contains("INFO"), "{}", stderr(&verbose));
}

#[test]
fn update_writes_overrides_that_quote_uses() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("litellm.json");
    let out = dir.path().join("agentlens-prices.json");
    std::fs::write(&source, LITELLM).unwrap();

    let args = [
        "prices",
        "update",
        "--from",
        path_text(&source),
        "--out",
        path_text(&out),
    ];
    let updated = run(&args);

    assert!(updated.status.success(), "{}", stderr(&updated));
    let summary = String::from_utf8_lossy(&updated.stdout);
    assert!(summary.contains("wrote 2 models"), "{summary}");
    assert!(!summary.contains("tiers"), "{summary}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(written["models"][0]["input_mtok"], "0.1");

    let mut quote = quote_args("mycorp", "inhouse-llm", r#"{"inputTokens":1000000}"#);
    quote.extend(["--prices", path_text(&out)]);
    let json = stdout_json(&run(&quote));
    assert_eq!(json["total"], 0.1);
    assert!(json["source"].as_str().unwrap().starts_with("overrides "));

    let from_env = agentlens(&quote[..quote.len() - 2])
        .env("AGENTLENS_PRICES", &out)
        .output()
        .unwrap();
    assert_eq!(from_env.status.code(), Some(0), "{}", stderr(&from_env));
}

#[test]
fn update_writes_prompt_size_tiers() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("litellm.json");
    let out = dir.path().join("agentlens-prices.json");
    std::fs::write(&source, LITELLM).unwrap();

    let args = [
        "prices",
        "update",
        "--from",
        path_text(&source),
        "--out",
        path_text(&out),
    ];
    let updated = run(&args);

    assert!(updated.status.success(), "{}", stderr(&updated));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let huge = &written["models"][1];
    assert_eq!(huge["model"], "gemini-huge");
    assert_eq!(
        huge["input_mtok"],
        serde_json::json!({"base": "1.25", "tiers": [{"start": 200000, "price": "2.5"}]})
    );
    // Above 200k prompt tokens the whole prompt pays the tier rate: 300k at $2.50/M.
    let mut quote = quote_args("google", "gemini-huge", r#"{"inputTokens":300000}"#);
    quote.extend(["--prices", path_text(&out)]);
    assert_eq!(stdout_json(&run(&quote))["total"], 0.75);
}

#[test]
fn update_names_invalid_entries() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("litellm.json");
    let out = dir.path().join("agentlens-prices.json");
    let mut entries = serde_json::Map::new();
    entries.insert(
        "good".to_owned(),
        serde_json::json!({"litellm_provider": "openai", "input_cost_per_token": 1e-06}),
    );
    entries.insert(
        "us-east-1/regional".to_owned(),
        serde_json::json!({"litellm_provider": "bedrock", "input_cost_per_token": 1e-06}),
    );
    for index in 0..22 {
        entries.insert(
            format!("weird-{index:02}"),
            serde_json::json!({"litellm_provider": "openai", "input_cost_per_token": "abc"}),
        );
    }
    std::fs::write(&source, Value::Object(entries).to_string()).unwrap();

    let updated = run(&[
        "prices",
        "update",
        "--from",
        path_text(&source),
        "--out",
        path_text(&out),
    ]);

    assert!(updated.status.success(), "{}", stderr(&updated));
    let summary = String::from_utf8_lossy(&updated.stdout);
    assert!(summary.contains("wrote 1 models"), "{summary}");
    assert!(summary.contains("skipped 23 entries"), "{summary}");
    assert!(summary.contains("and 22 invalid"), "{summary}");
    assert!(
        summary.contains("invalid weird-00: input_cost_per_token is \"abc\""),
        "{summary}"
    );
    assert!(summary.contains("invalid weird-19:"), "{summary}");
    assert!(!summary.contains("invalid weird-20:"), "{summary}");
    assert!(summary.contains("and 2 more invalid entries"), "{summary}");
    assert!(!summary.contains("regional"), "{summary}");
}

#[test]
fn update_keeps_flex_prices_as_variants() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("litellm.json");
    let out = dir.path().join("agentlens-prices.json");
    let litellm = r#"{"flexy": {"litellm_provider": "mycorp", "input_cost_per_token": 1e-06,
        "output_cost_per_token": 2e-06, "input_cost_per_token_flex": 5e-07,
        "output_cost_per_token_flex": 1e-06}}"#;
    std::fs::write(&source, litellm).unwrap();
    let args = [
        "prices",
        "update",
        "--from",
        path_text(&source),
        "--out",
        path_text(&out),
    ];

    let updated = run(&args);

    assert!(updated.status.success(), "{}", stderr(&updated));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let variant = &written["models"][0]["price_variants"][0];
    assert_eq!(variant["when"]["service_tier"], "flex");
    assert_eq!(variant["rates"]["input_mtok"], "0.5");
    let mut quote = quote_args("mycorp", "flexy", r#"{"inputTokens":1000000}"#);
    quote.extend(["--service-tier", "flex", "--prices", path_text(&out)]);
    let json = stdout_json(&run(&quote));
    assert_eq!(json["total"], 0.5, "{json}");
}

#[test]
fn invalid_overrides_name_file_line_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prices.toml");
    let text = "[[models]]\nprovider = \"openai\"\nmodel = \"gpt-4o\"\ninput_mtok = 2.5\n";
    std::fs::write(&file, text).unwrap();

    let mut args = quote_args("openai", "gpt-4o", USAGE);
    args.extend(["--prices", path_text(&file)]);
    let output = run(&args);

    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains(path_text(&file)), "{message}");
    assert!(message.contains("line 4"), "{message}");
    assert!(message.contains("decimal strings"), "{message}");

    let missing = agentlens(&["prices", "list"])
        .env("AGENTLENS_PRICES", dir.path().join("absent.toml"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("absent.toml"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn serve_refuses_invalid_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prices.json");
    std::fs::write(
        &file,
        r#"{"models": [{"provider": "openai", "model": "gpt-4o"}]}"#,
    )
    .unwrap();
    let db = dir.path().join("agentlens.db");
    let args = [
        "serve",
        "--no-auth",
        "--bind",
        "127.0.0.1:0",
        "--db",
        path_text(&db),
        "--prices",
        path_text(&file),
    ];

    let mut child = agentlens(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("serve started with an invalid price file");
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    let output = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("cannot load the price overrides"),
        "{message}"
    );
    assert!(message.contains("models[0] (openai/gpt-4o)"), "{message}");
    assert!(message.contains("no rates given"), "{message}");
}

#[test]
fn quote_rejects_repeated_usage_key() {
    let usage = r#"{"inputTokens":1,"outputTokens":1,"inputTokens":5}"#;

    let output = run(&quote_args("openai", "gpt-4o", usage));

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("duplicate key \"inputTokens\""),
        "{message}"
    );
}

#[test]
fn update_without_models_keeps_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("litellm.json");
    let out = dir.path().join("agentlens-prices.json");
    std::fs::write(
        &source,
        r#"{"weird": {"litellm_provider": "openai", "input_cost_per_token": "abc"}}"#,
    )
    .unwrap();
    std::fs::write(&out, r#"{"keep": "me"}"#).unwrap();

    let updated = run(&[
        "prices",
        "update",
        "--from",
        path_text(&source),
        "--out",
        path_text(&out),
    ]);

    assert_eq!(updated.status.code(), Some(1), "{}", stderr(&updated));
    let message = stderr(&updated);
    assert!(message.contains("has no model"), "{message}");
    assert!(message.contains("was not written"), "{message}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), r#"{"keep": "me"}"#);
}

#[test]
fn list_into_closed_pipe_exits_quietly() {
    use std::io::BufRead;

    let mut child = agentlens(&["prices", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // The list is larger than a pipe's buffer, so the binary is still writing when the
    // reader closes its end after the first line, as `head -1` does.
    let mut first = String::new();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    reader.read_line(&mut first).unwrap();
    drop(reader);
    let output = child.wait_with_output().unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(first.starts_with("PROVIDER\tMODEL"), "{first}");
    assert!(output.status.success(), "{:?} {stderr}", output.status);
    assert!(stderr.is_empty(), "{stderr}");
}
