//! `agentlens import claude-code` against a real server: exit codes, the line printed
//! while it waits on the collector's rate limit, and a total that matches the collector's
//! price table.

use std::path::Path;
use std::process::Output;

use crate::mcp::{spawn_server, spawn_server_with, Server};

const CALL: &str = r#"{"type":"assistant","sessionId":"s1","requestId":"r1","timestamp":"2026-11-02T12:00:00Z","message":{"id":"m1","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":10,"output_tokens":1}}}"#;
const USER_LINE: &str = r#"{"type":"user","sessionId":"s1","timestamp":"2026-11-02T12:00:00Z","message":{"role":"user","content":"hi"}}"#;

/// Writes `lines` as the transcript `app/s1.jsonl` under `dir`.
fn write_transcript(dir: &Path, lines: &[&str]) {
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(dir.join("app/s1.jsonl"), lines.join("\n") + "\n").unwrap();
}

async fn import(server: &Server, dir: &Path) -> Output {
    import_with(server, dir, &[]).await
}

async fn import_with(server: &Server, dir: &Path, extra: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_agentlens"))
        .args(["import", "claude-code"])
        .arg(dir)
        .args(["--url", &server.base_url, "--api-key", &server.key])
        .args(extra)
        .env_remove("AGENTLENS_PRICES")
        .output()
        .await
        .unwrap()
}

/// Writes a price file that sets Claude Haiku 4.5 to $1000 per million tokens each way.
fn write_haiku_prices(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("prices.toml");
    let text = "[[models]]\nprovider = \"anthropic\"\nmodel = \"claude-haiku-4-5\"\n\
                input_mtok = \"1000\"\noutput_mtok = \"1000\"\n";
    std::fs::write(&path, text).unwrap();
    path
}

async fn session_total(server: &Server, session: &str) -> serde_json::Value {
    let response = server
        .client
        .get(format!("{}/api/sessions/{session}", server.base_url))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    body.get("session").unwrap_or(&body)["totalCostUsd"].clone()
}

#[tokio::test]
async fn import_total_matches_collector_started_with_prices() {
    let dir = tempfile::tempdir().unwrap();
    let prices = write_haiku_prices(dir.path());
    let server = spawn_server_with(true, Some(prices.clone()), 0).await;
    write_transcript(dir.path(), &[CALL]);

    let output = import_with(&server, dir.path(), &["--prices", prices.to_str().unwrap()]).await;

    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    // 11 tokens at $1000 per million.
    assert!(summary.contains("priced total:    $0.011"), "{summary}");
    assert!(
        summary.contains("the total matches its stored costs"),
        "{summary}"
    );
    assert_eq!(session_total(&server, "s1").await, serde_json::json!(0.011));
}

#[tokio::test]
async fn import_without_collector_prices_says_tables_differ() {
    let dir = tempfile::tempdir().unwrap();
    let server = spawn_server_with(true, Some(write_haiku_prices(dir.path())), 0).await;
    write_transcript(dir.path(), &[CALL]);

    let output = import(&server, dir.path()).await;

    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(
        summary.contains("but the collector prices with pv_"),
        "{summary}"
    );
    assert!(
        summary.contains("pass the collector's --prices file"),
        "{summary}"
    );
}

#[tokio::test]
async fn import_without_events_fails_naming_the_folder() {
    let server = spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    write_transcript(dir.path(), &[USER_LINE]);

    let output = import(&server, dir.path()).await;

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("no Claude Code events in"), "{stderr}");
    assert!(
        stderr.contains(&dir.path().display().to_string()),
        "{stderr}"
    );
    assert!(stderr.contains("message.usage"), "{stderr}");
}

#[tokio::test]
async fn reimport_of_stored_events_succeeds() {
    let server = spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    write_transcript(dir.path(), &[CALL]);

    let first = import(&server, dir.path()).await;
    let second = import(&server, dir.path()).await;

    assert!(first.status.success(), "{first:?}");
    assert!(second.status.success(), "{second:?}");
    let summary = String::from_utf8_lossy(&second.stdout);
    assert!(summary.contains("  already stored: 1"), "{summary}");
}

#[tokio::test]
async fn import_says_when_it_waits_on_rate_limit() {
    use tokio::io::AsyncBufReadExt;

    let server = spawn_server_with(true, None, 1).await;
    // The limit is one request per minute, and this request uses it up.
    let used = server
        .client
        .get(format!("{}/api/sessions", server.base_url))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap();
    assert!(used.status().is_success(), "{}", used.status());
    let dir = tempfile::tempdir().unwrap();
    write_transcript(dir.path(), &[CALL]);

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_agentlens"))
        .args(["import", "claude-code"])
        .arg(dir.path())
        .args(["--url", &server.base_url, "--api-key", &server.key])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("rate limit") {
                return line;
            }
        }
        panic!("stderr ended without a rate limit line");
    })
    .await
    .expect("no rate limit line within 20 s");
    child.kill().await.unwrap();

    // The window that the first request opened still runs, so this request learns how
    // long the import has to wait.
    let limited = server
        .client
        .get(format!("{}/api/sessions", server.base_url))
        .bearer_auth(&server.key)
        .send()
        .await
        .unwrap();
    let retry_after: f64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();

    let waited: f64 = line
        .strip_prefix("the collector's rate limit was reached; waiting ")
        .and_then(|rest| rest.strip_suffix(" s before sending again"))
        .unwrap_or_else(|| panic!("unexpected line: {line}"))
        .parse()
        .unwrap();
    // The import waits the whole window out instead of retrying early into another 429.
    // Both values count whole seconds to the end of the same window, read a few seconds
    // apart at most.
    assert!(waited > 10.0, "{line}");
    assert!(waited <= 60.0, "{line}");
    assert!(
        waited >= retry_after,
        "{line}; Retry-After now {retry_after}"
    );
    assert!(
        waited <= retry_after + 20.0,
        "{line}; Retry-After now {retry_after}"
    );
}

/// Returns a copy of the call `id`, written at second `second`, with `output` tokens.
fn streamed_copy(id: &str, second: u32, output: u32) -> String {
    format!(
        r#"{{"type":"assistant","sessionId":"s1","requestId":"r{id}","timestamp":"2026-11-02T12:00:{second:02}Z","message":{{"id":"m{id}","model":"claude-haiku-4-5-20251001","usage":{{"input_tokens":10,"output_tokens":{output}}}}}}}"#
    )
}

#[tokio::test]
async fn growing_transcript_reimport_keeps_other_events() {
    let server = spawn_server().await;
    let dir = tempfile::tempdir().unwrap();
    let done = streamed_copy("a", 0, 5);
    let partial = streamed_copy("b", 1, 26);
    let same_usage = streamed_copy("c", 2, 7);
    write_transcript(dir.path(), &[&done, &partial, &same_usage]);
    let first = import(&server, dir.path()).await;
    assert!(first.status.success(), "{first:?}");

    // Claude Code writes the final copies of b and c, then a new call d. An event carries
    // the time of the copy read, so both b and c differ from what the first import stored.
    let final_copy = streamed_copy("b", 3, 109);
    let same_usage_again = streamed_copy("c", 4, 7);
    let new = streamed_copy("d", 5, 1);
    let lines = [
        &done,
        &partial,
        &same_usage,
        &final_copy,
        &same_usage_again,
        &new,
    ];
    write_transcript(dir.path(), &lines.map(String::as_str));
    let second = import(&server, dir.path()).await;
    let third = import(&server, dir.path()).await;

    for output in [&second, &third] {
        let summary = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{output:?}");
        assert!(summary.contains("id conflicts:    2 "), "{summary}");
        for id in ["mb:rb", "mc:rc"] {
            assert!(
                summary.contains(&format!(
                    "  claude-code:{id}: already stored with a different timestamp"
                )),
                "{summary}"
            );
        }
        assert!(!summary.contains("events failed"), "{summary}");
    }
    let second = String::from_utf8_lossy(&second.stdout);
    assert!(second.contains("  new:            1"), "{second}");
    assert!(second.contains("  already stored: 1"), "{second}");
    let third = String::from_utf8_lossy(&third.stdout);
    assert!(third.contains("  already stored: 2"), "{third}");
}
