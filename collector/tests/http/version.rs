//! The build's version text: `agentlens --version` and `GET /api/server-info` name the git
//! commit that the build script recorded, and `version` stays the crate version.

use std::path::Path;
use std::process::Command;

use axum::http::StatusCode;

use crate::common::app;

/// Returns the short hash of the workspace's `HEAD`, with `-dirty` when the crates'
/// tracked sources differ from it, or `None` when the workspace is not a git checkout or
/// `git` fails, the cases in which the build records no commit.
fn expected_commit() -> Option<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    if !root.join(".git").exists() {
        return None;
    }
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    let commit = output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).unwrap().trim().to_owned())?;
    let sources = [
        "agentlens-core/src",
        "collector/src",
        "Cargo.toml",
        "Cargo.lock",
    ];
    let changed = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["diff", "--quiet", "HEAD", "--"])
        .args(sources)
        .status()
        .unwrap();
    Some(match changed.code() {
        Some(1) => format!("{commit}-dirty"),
        _ => commit,
    })
}

#[test]
fn version_flag_names_commit() {
    let output = Command::new(env!("CARGO_BIN_EXE_agentlens"))
        .arg("--version")
        .output()
        .unwrap();

    assert!(output.status.success(), "{output:?}");
    let version = env!("CARGO_PKG_VERSION");
    let expected = match expected_commit() {
        Some(commit) => format!("agentlens {version} ({commit})\n"),
        None => format!("agentlens {version}\n"),
    };
    assert_eq!(String::from_utf8(output.stdout).unwrap(), expected);
}

#[tokio::test]
async fn server_info_names_commit() {
    let app = app().await;

    let info = app.get("/api/server-info").await;
    let health = app.get("/api/health").await;

    assert_eq!(info.status, StatusCode::OK, "{}", info.text);
    assert_eq!(info.json["version"], env!("CARGO_PKG_VERSION"));
    match expected_commit() {
        Some(commit) => assert_eq!(info.json["commit"], commit.as_str(), "{}", info.text),
        None => assert!(info.json["commit"].is_null(), "{}", info.text),
    }
    assert_eq!(
        health.json["version"],
        env!("CARGO_PKG_VERSION"),
        "{}",
        health.text
    );
}

#[tokio::test]
async fn openapi_documents_commit() {
    let app = app().await;

    let document = app.get("/api/openapi.json").await;

    let schema = &document.json["components"]["schemas"]["ServerInfo"];
    let commit = &schema["properties"]["commit"];
    assert!(commit.is_object(), "{schema}");
    let description = commit["description"].as_str().unwrap_or_default();
    assert!(description.contains("git commit"), "{commit}");
    let required = schema["required"].as_array().unwrap();
    assert!(!required.iter().any(|name| name == "commit"), "{schema}");
}
