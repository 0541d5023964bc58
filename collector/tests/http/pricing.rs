//! `POST /api/pricing/quote`, the price table in `GET /api/server-info`, and the pricing
//! columns that ingest records for derived costs.

use agentlens_collector::auth::{generate_key, hash_key};
use agentlens_collector::store::DEFAULT_TENANT;
use agentlens_core::pricing::PriceTable;
use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::{app, app_with_key, app_with_prices, llm_response, TestApp};

const OVERRIDES: &str = r#"
[[models]]
provider = "openai"
model = "gpt-4o"
input_mtok = "10"
output_mtok = "20"
"#;

async fn quote(app: &TestApp, body: Value) -> (StatusCode, Value, String) {
    let reply = app.post("/api/pricing/quote", &body).await;
    (reply.status, reply.json, reply.text)
}

/// Reads the pricing columns of every event, oldest first.
fn pricing_columns(app: &TestApp) -> Vec<[Option<String>; 5]> {
    let conn = rusqlite::Connection::open(app.state.store.path()).unwrap();
    let mut statement = conn
        .prepare(
            "SELECT cost_source, pricing_version, price_provider, price_model, price_date \
             FROM events ORDER BY seq",
        )
        .unwrap();
    let rows = statement
        .query_map([], |row| {
            Ok([
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ])
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[tokio::test]
async fn quote_returns_total_breakdown_and_entry() {
    let app = app().await;
    let body = json!({"provider": "openai", "model": "gpt-4o-2024-08-06",
        "usage": {"inputTokens": 2006, "cacheReadTokens": 1920, "outputTokens": 300},
        "at": "2026-02-10T12:00:00Z"});

    let (status, json, text) = quote(&app, body).await;

    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(json["status"], "priced");
    assert!(text.contains("\"total\":0.005615"), "{text}");
    assert_eq!(json["breakdown"]["input"]["count"], 86);
    assert_eq!(json["breakdown"]["input"]["rate"], "2.5");
    assert_eq!(json["breakdown"]["cacheRead"]["rate"], "1.25");
    assert_eq!(json["entry"]["provider"], "openai");
    assert_eq!(json["entry"]["model"], "gpt-4o");
    assert_eq!(json["entry"]["priceDate"], Value::Null);
    assert_eq!(json["source"], "genai-prices 0.2.5");
    assert_eq!(json["pricingVersion"], PriceTable::embedded().version());
    assert_eq!(json["at"], "2026-02-10T12:00:00Z");
}

#[tokio::test]
async fn quote_lists_audio_lines_in_camel_case() {
    let app = app().await;
    let body = json!({"provider": "openai", "model": "gpt-4o-audio-preview",
        "usage": {"inputTokens": 1000, "inputAudioTokens": 400,
                  "outputTokens": 100, "outputAudioTokens": 50}});

    let (status, json, text) = quote(&app, body).await;

    assert_eq!(status, StatusCode::OK, "{text}");
    let lines = json["breakdown"]["modalities"]
        .as_array()
        .expect("modality lines");
    let input_audio = lines
        .iter()
        .find(|line| line["unit"] == "input_audio")
        .expect("an input_audio line");
    assert_eq!(input_audio["priceKey"], "input_audio_mtok", "{text}");
    assert_eq!(input_audio["count"], 400);
    assert!(input_audio.get("price_key").is_none(), "{text}");
}

#[tokio::test]
async fn quote_reads_provider_usage_object() {
    let app = app().await;
    let raw = json!({"input_tokens": 86, "cache_read_input_tokens": 1920,
        "cache_creation_input_tokens": 0, "output_tokens": 300});
    let normalized = json!({"inputTokens": 2006, "cacheReadTokens": 1920, "outputTokens": 300});
    let body = |usage: Value| {
        json!({"provider": "anthropic", "model": "claude-haiku-4-5-20251001", "usage": usage,
            "at": "2026-02-10T12:00:00Z"})
    };

    let (raw_status, from_raw, _) = quote(&app, body(raw)).await;
    let (_, from_normalized, _) = quote(&app, body(normalized)).await;

    assert_eq!(raw_status, StatusCode::OK);
    assert_eq!(from_raw["status"], "priced");
    assert_eq!(from_raw["usage"]["inputTokens"], 2006);
    assert_eq!(from_raw["total"], from_normalized["total"]);
    assert_eq!(from_raw["entry"]["model"], "claude-haiku-4-5");
}

#[tokio::test]
async fn quote_accepts_recorded_bedrock_usage() {
    let app = app().await;
    // The usage object of a recorded Bedrock Converse response, with each cache count
    // spelt twice and an empty serverToolUsage.
    let recorded = json!({"cacheReadInputTokenCount": 0, "cacheReadInputTokens": 0,
        "cacheWriteInputTokenCount": 0, "cacheWriteInputTokens": 0, "inputTokens": 22,
        "outputTokens": 57, "serverToolUsage": {}, "totalTokens": 79});
    let trimmed = json!({"cacheReadInputTokens": 0, "cacheWriteInputTokens": 0,
        "inputTokens": 22, "outputTokens": 57, "totalTokens": 79});
    let body = |usage: Value| {
        json!({"provider": "bedrock", "model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "usage": usage, "at": "2026-02-10T12:00:00Z"})
    };

    let (status, from_recorded, text) = quote(&app, body(recorded)).await;
    let (_, from_trimmed, _) = quote(&app, body(trimmed)).await;

    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(from_recorded["status"], "priced");
    assert_eq!(from_recorded["total"], from_trimmed["total"]);
}

#[tokio::test]
async fn quote_rejects_mixed_cache_keys() {
    let app = app().await;
    let body = json!({"provider": "openai", "model": "gpt-4o",
        "usage": {"inputTokens": 1000, "outputTokens": 200, "cacheReadTokens": 500,
            "cacheReadInputTokens": 500}});

    let (status, json, text) = quote(&app, body).await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(
        json["details"][0]["path"], "usage.cacheReadInputTokens",
        "{text}"
    );
    assert!(text.contains("cacheReadTokens"), "{text}");
}

#[tokio::test]
async fn quote_brackets_unknown_dotted_usage_key() {
    let app = app().await;
    let body = json!({"provider": "openai", "model": "gpt-4o",
        "usage": {"inputTokens": 1000, "outputTokens": 200, "cache.read": 500}});

    let (status, json, text) = quote(&app, body).await;

    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert_eq!(
        json["details"][0]["path"], r#"usage["cache.read"]"#,
        "{text}"
    );
}

#[tokio::test]
async fn quote_without_price_is_unpriced() {
    let app = app().await;
    let body = json!({"provider": "openai", "model": "gpt-nonexistent-9",
        "usage": {"inputTokens": 10, "outputTokens": 1}});

    let (status, json, _) = quote(&app, body).await;

    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "unpriced");
    let reason = json["unpriced"].as_str().unwrap();
    assert!(
        reason.contains("unknown model \"gpt-nonexistent-9\""),
        "{reason}"
    );
    assert!(json.get("total").is_none(), "{json}");
}

#[tokio::test]
async fn quote_rejects_bad_fields_by_name() {
    let app = app().await;
    let cases = [
        (
            json!({"model": "gpt-4o", "usage": {"inputTokens": 1}}),
            "provider",
        ),
        (
            json!({"provider": "openai", "model": "gpt-4o", "usage": {"inputTokens": -5}}),
            "usage.inputTokens",
        ),
        (
            json!({"provider": "openai", "model": "gpt-4o", "usage": {"prompt_tokens": "x"}}),
            "usage.prompt_tokens",
        ),
        (
            json!({"provider": "openai", "model": "gpt-4o", "usage": {"inputTokens": 1},
                "at": "soon"}),
            "at",
        ),
        (json!({"provider": "openai", "model": "gpt-4o"}), "usage"),
        (
            json!({"provider": "openai", "model": "gpt-5", "usage": {"inputTokens": 1},
                "servicetier": "flex"}),
            "servicetier",
        ),
        (
            json!({"provider": "openai", "model": "gpt-5", "usage": {"inputTokens": 1},
                "serviceTier": ""}),
            "serviceTier",
        ),
    ];

    for (body, field) in cases {
        let (status, json, text) = quote(&app, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {text}");
        assert_eq!(json["details"][0]["path"], field, "{text}");
    }
}

#[tokio::test]
async fn quote_needs_only_read_access() {
    let mut app = app_with_key().await;
    let read_key = generate_key();
    let scopes = vec!["read".to_owned()];
    let name = "viewer".to_owned();
    let store = &app.state.store;
    store
        .insert_api_key(hash_key(&read_key), name, scopes, DEFAULT_TENANT)
        .await
        .unwrap();
    app.key = Some(read_key);
    let body = json!({"provider": "openai", "model": "gpt-4o",
        "usage": {"inputTokens": 10, "outputTokens": 1}});

    let (status, _, text) = quote(&app, body).await;
    let ingest = app.ingest(vec![]).await;
    app.key = None;
    let (anonymous_status, _, _) = quote(&app, json!({})).await;

    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        ingest.status,
        StatusCode::FORBIDDEN,
        "a read key cannot ingest"
    );
    assert_eq!(anonymous_status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn server_info_reports_model_count() {
    let app = app().await;

    let reply = app.get("/api/server-info").await;

    assert_eq!(reply.status, StatusCode::OK);
    let count = reply.json["pricing"]["modelCount"].as_u64().unwrap();
    assert_eq!(count, PriceTable::embedded().model_count() as u64);
    assert!(count > 2000, "{count}");
}

#[tokio::test]
async fn overrides_price_quotes_ingest_and_server_info() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prices.toml");
    std::fs::write(&file, OVERRIDES).unwrap();
    let app = app_with_prices(&file).await;
    let usage = json!({"inputTokens": 1_000_000, "outputTokens": 1_000_000});

    let body = json!({"provider": "openai", "model": "gpt-4o", "usage": usage});
    let (_, quoted, text) = quote(&app, body).await;
    let info = app.get("/api/server-info").await;

    assert!(text.contains("\"total\":30"), "{text}");
    let source = quoted["source"].as_str().unwrap();
    assert!(source.starts_with("overrides "), "{source}");
    assert_eq!(info.json["pricing"]["version"], quoted["pricingVersion"]);
    assert_ne!(quoted["pricingVersion"], PriceTable::embedded().version());
}

#[tokio::test]
async fn derived_cost_records_table_and_entry() {
    let app = app().await;
    let priced = llm_response(
        "s1",
        "a1",
        "gpt-4o-2024-08-06",
        Value::Null,
        "2026-02-10T12:00:00Z",
    );
    let unknown = llm_response("s1", "a1", "gpt-nope", Value::Null, "2026-02-10T12:00:01Z");
    let reported = llm_response("s1", "a1", "gpt-4o", json!(0.5), "2026-02-10T12:00:02Z");

    let reply = app.ingest(vec![priced, unknown, reported]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let version = Some(PriceTable::embedded().version().to_owned());
    let text = |value: &str| Some(value.to_owned());
    let rows = pricing_columns(&app);
    assert_eq!(
        rows[0],
        [
            text("derived"),
            version.clone(),
            text("openai"),
            text("gpt-4o"),
            None
        ]
    );
    assert_eq!(rows[1], [text("unpriced"), version, None, None, None]);
    assert_eq!(rows[2], [text("reported"), None, None, None, None]);
}

#[tokio::test]
async fn derived_cost_records_dated_price() {
    let app = app().await;
    let mut event = llm_response(
        "s1",
        "a1",
        "claude-opus-4-6",
        Value::Null,
        "2026-06-01T00:00:00Z",
    );
    event["payload"]["provider"] = json!("anthropic");

    let reply = app.ingest(vec![event]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);

    let rows = pricing_columns(&app);
    assert_eq!(rows[0][3].as_deref(), Some("claude-opus-4-6"));
    assert_eq!(rows[0][4].as_deref(), Some("2026-03-13"));
}
