//! `agentlens prices reprice` and `Store::reprice_unpriced`: stored unpriced events that an
//! updated price table can price become derived costs, every report moves from the unpriced
//! count to their cost, and the result equals ingesting the events under that table.

use std::path::Path;
use std::process::{Command, Output};

use agentlens_collector::db_lock::DatabaseLock;
use agentlens_core::event::format_timestamp;
use agentlens_core::pricing::PriceTable;
use chrono::Utc;
use rusqlite::Connection;
use serde_json::{json, Value};

use crate::common::{app, app_with_prices, recent, TestApp};
use crate::cost_fill::{figures, ingest, pricing, tracked, unpriced_response, Figures};
use crate::cost_fill_migration::{assert_dumps_equal, at, dump, DERIVED};

/// Prices for a model that the embedded table does not know: $1 per million input tokens
/// and $2 per million output tokens.
const OVERRIDES: &str = r#"
[[models]]
provider = "openai"
model = "my-finetune-1"
input_mtok = "1"
output_mtok = "2"
"#;

/// Returns `event` with `model` in its payload.
fn with_model(mut event: Value, model: &str) -> Value {
    event["payload"]["model"] = json!(model);
    event
}

/// Returns the events of the test, all stamped `timestamp`. A `cost_tracked` and an
/// `llm_response` of the new model count. A `cost_tracked` of the new model is superseded by
/// an `llm_response` of a model that neither table prices, and a `cost_tracked` of another
/// such model stays unpriced.
fn events(timestamp: &str) -> Vec<Value> {
    let mut response = unpriced_response("s2", "c2");
    response["payload"]["provider"] = json!("openai");
    [
        with_model(tracked("s1", "c1", Value::Null), "my-finetune-1"),
        with_model(response, "my-finetune-1"),
        with_model(tracked("s3", "c3", Value::Null), "my-finetune-1"),
        unpriced_response("s3", "c3"),
        with_model(tracked("s4", "c4", Value::Null), "still-unknown-9"),
    ]
    .into_iter()
    .map(|event| at(event, timestamp))
    .collect()
}

fn overrides_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("prices.toml");
    std::fs::write(&path, OVERRIDES).unwrap();
    path
}

/// Returns the figures before repricing, where the four events of the unknown models count
/// as unpriced, two of them in the LLM report.
fn unpriced_figures() -> Figures {
    let mut figures = Figures::expected(0, 4);
    figures.llm_unpriced = 2;
    figures
}

/// Returns the figures after repricing, in pico-dollars. The `cost_tracked` of s1 costs
/// 10 input and 5 output tokens, $0.00002, and so does that of s3, whose cost its response
/// takes. The response of s2 costs 1000 input and 200 output tokens, $0.0014. Only the
/// `cost_tracked` of s4 stays unpriced, and the LLM report does not count it.
fn repriced_figures() -> Figures {
    let mut figures = Figures::expected(1_440_000_000, 1);
    figures.llm_cost = 1_420_000_000;
    figures.llm_unpriced = 0;
    figures
}

#[tokio::test]
async fn reprice_prices_stored_unpriced_events() {
    let dir = tempfile::tempdir().unwrap();
    let prices = overrides_file(dir.path());
    let timestamp = recent();
    let app = app().await;
    let ids = ingest(&app, events(&timestamp)).await;
    assert_eq!(figures(&app).await, unpriced_figures());

    let table = PriceTable::embedded().with_overrides_file(&prices).unwrap();
    let version = table.version().to_owned();
    let outcome = app
        .state
        .store
        .reprice_unpriced(std::sync::Arc::new(table))
        .await
        .unwrap();

    assert_eq!(outcome.priced, 3);
    assert_eq!(outcome.filled, 1);
    assert_eq!(outcome.unpriced.len(), 1, "{:?}", outcome.unpriced);
    let (reason, count) = outcome.unpriced.iter().next().unwrap();
    assert!(reason.contains("still-unknown-9"), "{reason}");
    assert_eq!(*count, 1);
    assert_eq!(figures(&app).await, repriced_figures());

    let tracked_pricing = pricing(&app, &ids[0]).await;
    assert_eq!(tracked_pricing["source"], "derived");
    assert_eq!(tracked_pricing["costUsd"], "0.00002");
    assert_eq!(tracked_pricing["pricingVersion"], version.as_str());
    assert_eq!(tracked_pricing["entry"]["model"], "my-finetune-1");
    let filled = pricing(&app, &ids[3]).await;
    assert_eq!(filled["costUsd"], "0.00002");
    assert_eq!(filled["costFrom"], ids[2].as_str());

    // Ingesting the same events under the updated table gives the same derived tables.
    let reference = app_with_prices(&prices).await;
    ingest(&reference, events(&timestamp)).await;
    assert_eq!(figures(&reference).await, repriced_figures());
    let conn = Connection::open(app.db_path()).unwrap();
    let reference_conn = Connection::open(reference.db_path()).unwrap();
    assert_dumps_equal(&dump(&conn, &DERIVED), &dump(&reference_conn, &DERIVED));
}

#[tokio::test]
async fn reprice_keeps_reason_of_still_unpriced_event() {
    let dir = tempfile::tempdir().unwrap();
    let prices = overrides_file(dir.path());
    let app = app().await;
    let ids = ingest(&app, events(&format_timestamp(&Utc::now()))).await;
    let unknown = &ids[4];
    let before = pricing(&app, unknown).await;
    assert!(before["unpricedReason"].is_string(), "{before}");
    let table = PriceTable::embedded().with_overrides_file(&prices).unwrap();
    let version = table.version().to_owned();

    app.state
        .store
        .reprice_unpriced(std::sync::Arc::new(table))
        .await
        .unwrap();

    // A collector that runs the updated table reads the event again.
    let app = app.reopen_with_prices(Some(prices)).await;
    let after = pricing(&app, unknown).await;
    assert_eq!(after["source"], "unpriced", "{after}");
    assert_eq!(after["pricingVersion"], version.as_str(), "{after}");
    let reason = after["unpricedReason"].as_str().unwrap_or_default();
    assert!(reason.contains("still-unknown-9"), "{after}");
}

#[tokio::test]
async fn reprice_twice_changes_nothing_more() {
    let dir = tempfile::tempdir().unwrap();
    let prices = overrides_file(dir.path());
    let app = app().await;
    ingest(&app, events(&format_timestamp(&Utc::now()))).await;
    let table = std::sync::Arc::new(PriceTable::embedded().with_overrides_file(&prices).unwrap());
    app.state
        .store
        .reprice_unpriced(table.clone())
        .await
        .unwrap();
    let conn = Connection::open(app.db_path()).unwrap();
    let mut queries = DERIVED.to_vec();
    queries.push("SELECT * FROM events ORDER BY seq");
    let before = dump(&conn, &queries);

    let again = app.state.store.reprice_unpriced(table).await.unwrap();

    assert_eq!(again.priced, 0);
    assert_eq!(again.filled, 0);
    assert_eq!(again.unpriced.values().sum::<u64>(), 1);
    assert_dumps_equal(&dump(&conn, &queries), &before);
}

fn reprice_command(db: &Path, prices: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentlens"))
        .args(["prices", "reprice", "--db"])
        .arg(db)
        .arg("--prices")
        .arg(prices)
        .env_remove("AGENTLENS_DB")
        .env_remove("AGENTLENS_PRICES")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn reprice_command_rejects_database_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let prices = overrides_file(dir.path());
    let app: TestApp = app().await;
    ingest(&app, events(&format_timestamp(&Utc::now()))).await;
    let db = app.db_path();
    let lock = DatabaseLock::acquire(&db, "127.0.0.1:4318".parse().unwrap()).unwrap();

    let refused = reprice_command(&db, &prices);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("in use by another agentlens serve"),
        "{stderr}"
    );
    assert!(stderr.contains("127.0.0.1:4318"), "{stderr}");
    assert_eq!(figures(&app).await, unpriced_figures());

    drop(lock);
    let output = reprice_command(&db, &prices);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("priced 3 events with price table pv_"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n1 llm_response events took the cost"),
        "{stdout}"
    );
    assert!(stdout.contains("\n1 events stay unpriced\n"), "{stdout}");
    assert!(stdout.contains("still-unknown-9"), "{stdout}");
    assert_eq!(figures(&app).await, repriced_figures());
}

#[test]
fn reprice_command_leaves_empty_and_foreign_files_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let prices = overrides_file(dir.path());
    let files = [
        ("empty.db", &b""[..]),
        ("notes.txt", &b"not a database\n"[..]),
    ];

    // Another program's SQLite file, with an `events` table of its own.
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE events (x); CREATE TABLE sessions (y);")
        .unwrap();
    let foreign_content = std::fs::read(&foreign).unwrap();
    let files = [
        files[0],
        files[1],
        ("foreign.db", foreign_content.as_slice()),
    ];

    for (name, content) in files {
        let db = dir.path().join(name);
        std::fs::write(&db, content).unwrap();

        let refused = reprice_command(&db, &prices);

        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success(), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("{} is not an AgentLens database", db.display())),
            "{stderr}"
        );
        assert!(stderr.contains("agentlens serve --db"), "{stderr}");
        assert_eq!(std::fs::read(&db).unwrap(), content, "{name} changed");
    }
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["empty.db", "foreign.db", "notes.txt", "prices.toml"]);
}

#[test]
fn reprice_command_names_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let prices = overrides_file(dir.path());
    let db = dir.path().join("data.db");
    std::fs::create_dir(&db).unwrap();

    let refused = reprice_command(&db, &prices);

    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("--db {} is a directory", db.display())),
        "{stderr}"
    );
}
