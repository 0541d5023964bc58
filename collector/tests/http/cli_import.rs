//! `agentlens import claude-code` exit codes against a real server.

use std::path::Path;
use std::process::Output;

use crate::mcp::{spawn_server, Server};

const CALL: &str = r#"{"type":"assistant","sessionId":"s1","requestId":"r1","timestamp":"2026-11-02T12:00:00Z","message":{"id":"m1","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":10,"output_tokens":1}}}"#;
const USER_LINE: &str = r#"{"type":"user","sessionId":"s1","timestamp":"2026-11-02T12:00:00Z","message":{"role":"user","content":"hi"}}"#;

/// Writes `lines` as the transcript `app/s1.jsonl` under `dir`.
fn write_transcript(dir: &Path, lines: &[&str]) {
    std::fs::create_dir_all(dir.join("app")).unwrap();
    std::fs::write(dir.join("app/s1.jsonl"), lines.join("\n") + "\n").unwrap();
}

async fn import(server: &Server, dir: &Path) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_agentlens"))
        .args(["import", "claude-code"])
        .arg(dir)
        .args(["--url", &server.base_url, "--api-key", &server.key])
        .output()
        .await
        .unwrap()
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
