//! `agentlens keys create|list|revoke` on a database file, checked through the API.

use std::path::Path;
use std::process::{Command, Output};

use agentlens_collector::router::build_router;
use agentlens_collector::store::Store;
use agentlens_collector::{open_state, ServeOptions};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;
use tower::ServiceExt;

use crate::common::serve_options;

fn agentlens(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agentlens"))
        .arg("keys")
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("AGENTLENS_DB")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// Creates and migrates a collector database at `db`, as `agentlens serve` would.
fn new_database(db: &Path) {
    drop(Store::open(db).unwrap());
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Sends one request with `key` to a router over `db` with authentication on.
async fn status_with_key(db: &Path, key: &str, method: Method, uri: &str) -> StatusCode {
    let options = ServeOptions {
        auth_enabled: true,
        ..serve_options(db.to_owned())
    };
    let state = open_state(&options).await.unwrap();
    let body = match method {
        Method::POST => {
            let event = json!({"sessionId": "s1", "agentId": "a1", "eventType": "custom",
                "payload": {"type": "t", "data": {}}});
            Body::from(json!({"events": [event]}).to_string())
        }
        _ => Body::empty(),
    };
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(body)
        .unwrap();
    build_router(state).oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn created_key_works_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    new_database(&db);
    let created = stdout(&agentlens(
        &db,
        &["create", "--name", "ci ingest", "--scopes", "write,read"],
    ));
    let key = created.lines().next().unwrap().to_owned();
    assert!(key.starts_with("als_"), "{created}");
    assert_eq!(key.len(), 68, "{created}");
    assert!(created.contains("scopes: write,read"), "{created}");

    assert_eq!(
        status_with_key(&db, &key, Method::POST, "/api/events").await,
        StatusCode::CREATED
    );
    assert_eq!(
        status_with_key(&db, &key, Method::GET, "/api/keys").await,
        StatusCode::FORBIDDEN,
        "a write key is not an admin key"
    );

    let listed = stdout(&agentlens(&db, &["list"]));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines[0], "ID\tNAME\tSCOPES\tCREATED\tREVOKED");
    let columns: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(columns[1], "ci ingest");
    assert_eq!(columns[2], "write,read");
    assert_eq!(columns[4], "-");
    assert!(!listed.contains(&key), "the list never shows a key");

    let id = columns[0];
    let revoked = stdout(&agentlens(&db, &["revoke", id]));
    assert_eq!(revoked.trim(), format!("revoked key {id}"));
    assert_eq!(
        status_with_key(&db, &key, Method::GET, "/api/sessions").await,
        StatusCode::UNAUTHORIZED
    );
    let listed = stdout(&agentlens(&db, &["list"]));
    assert!(!listed.lines().nth(1).unwrap().ends_with("\t-"), "{listed}");

    let again = agentlens(&db, &["revoke", id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already revoked"));
}

#[tokio::test]
async fn invalid_key_requests_fail() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    new_database(&db);
    let empty_scope = agentlens(&db, &["create", "--scopes", "write,"]);
    assert!(!empty_scope.status.success());
    assert!(String::from_utf8_lossy(&empty_scope.stderr).contains("invalid scopes"));

    let no_scopes = agentlens(&db, &["create", "--scopes", ""]);
    assert!(!no_scopes.status.success());
    let message = stderr(&no_scopes);
    assert!(
        message.contains("*, manage, write, audit, read"),
        "{message}"
    );
    assert!(
        !stdout(&agentlens(&db, &["list"])).contains("Unnamed Key"),
        "a key without scopes was stored"
    );

    let unknown = agentlens(&db, &["revoke", "01NOSUCHKEY"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no key with id 01NOSUCHKEY"));
}

#[test]
fn keys_commands_need_existing_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("missing.db");
    for args in [
        &["create"][..],
        &["list"][..],
        &["revoke", "01NOSUCHKEY"][..],
    ] {
        let output = agentlens(&db, args);
        assert!(!output.status.success(), "{args:?} succeeded");
        let message = stderr(&output);
        assert!(message.contains(&db.display().to_string()), "{message}");
        assert!(message.contains("pass --db"), "{message}");
        assert!(output.stdout.is_empty(), "{args:?} printed a key or table");
    }
    assert!(!db.exists(), "a keys command created the database");
}

#[test]
fn keys_commands_leave_other_files_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        b"not a database, but long enough to hold a header\n".repeat(4),
    )
    .unwrap();
    let text_before = std::fs::read(&text).unwrap();

    for db in [&empty, &text] {
        for args in [
            &["create"][..],
            &["list"][..],
            &["revoke", "01NOSUCHKEY"][..],
        ] {
            let output = agentlens(db, args);
            assert!(!output.status.success(), "{args:?} succeeded on {db:?}");
            let message = stderr(&output);
            assert!(message.contains("is not a collector database"), "{message}");
            assert!(message.contains(&db.display().to_string()), "{message}");
            assert!(output.stdout.is_empty(), "{args:?} printed a key or table");
        }
    }
    assert_eq!(
        std::fs::read(&empty).unwrap(),
        b"",
        "the schema was written"
    );
    assert_eq!(std::fs::read(&text).unwrap(), text_before);
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files, 2, "a keys command created a file");
}

#[test]
fn db_directory_is_named_as_directory() {
    let dir = tempfile::tempdir().unwrap();

    let output = agentlens(dir.path(), &["list"]);

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("is a directory"), "{message}");
    assert!(!message.contains("not found"), "{message}");
    assert!(message.contains("agentlens.db"), "{message}");
}

#[test]
fn list_without_keys_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    new_database(&db);

    let listed = stdout(&agentlens(&db, &["list", "--tenant", "team-a"]));

    assert_eq!(
        listed,
        "no API keys in tenant team-a; create one with `agentlens keys create`\n"
    );
}

#[test]
fn unknown_scope_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    new_database(&db);

    let output = agentlens(&db, &["create", "--scopes", "wrte"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("\"wrte\""), "{message}");
    assert!(
        message.contains("*, manage, write, audit, read"),
        "{message}"
    );

    let listed = stdout(&agentlens(&db, &["list"]));
    assert_eq!(listed.lines().count(), 1, "a key was created: {listed}");
}

#[test]
fn scopes_are_trimmed_and_deduplicated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    new_database(&db);

    let created = stdout(&agentlens(&db, &["create", "--scopes", "read, write,read"]));

    assert!(created.contains("scopes: read,write\n"), "{created}");
}

#[test]
fn name_with_control_character_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    new_database(&db);

    let output = agentlens(&db, &["create", "--name", "ci\tdeploy"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("U+0009"), "{message}");

    let listed = stdout(&agentlens(&db, &["list"]));
    assert_eq!(listed.lines().count(), 1, "a key was created: {listed}");
}

#[test]
fn list_escapes_control_characters_of_older_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    new_database(&db);
    assert!(agentlens(&db, &["create", "--name", "old"])
        .status
        .success());
    // Versions before the name check stored such names.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE api_keys SET name = 'old' || char(9) || 'key' || char(10) || 'x'",
        [],
    )
    .unwrap();
    drop(conn);

    let listed = stdout(&agentlens(&db, &["list"]));

    assert_eq!(listed.lines().count(), 2, "{listed}");
    let row = listed.lines().nth(1).unwrap();
    assert_eq!(row.split('\t').nth(1), Some("old\\tkey\\nx"), "{row}");
}

#[test]
fn empty_tenant_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("agentlens.db");
    new_database(&db);

    let output = agentlens(&db, &["create", "--tenant", ""]);

    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("--tenant"), "{message}");
    let listed = stdout(&agentlens(&db, &["list"]));
    assert_eq!(listed.lines().count(), 1, "a key was created: {listed}");
}

#[test]
fn upgrade_waits_for_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.db");
    // A file that has the collector's keys table and records none of the migrations after
    // the first, as one from an older collector lacks the newest.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE api_keys (id TEXT PRIMARY KEY);
         CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, \
         applied_at TEXT NOT NULL);
         INSERT INTO schema_migrations VALUES (1, 'initial', '2026-01-01T00:00:00Z');",
    )
    .unwrap();
    drop(conn);
    let address = "127.0.0.1:3700".parse().unwrap();
    let _server = agentlens_collector::db_lock::DatabaseLock::acquire(&db, address).unwrap();

    for args in [&["list"][..], &["revoke", "01NOSUCHKEY"][..]] {
        let output = agentlens(&db, args);

        assert!(!output.status.success(), "{args:?} succeeded");
        let message = stderr(&output);
        assert!(message.contains("needs a schema upgrade"), "{message}");
        assert!(message.contains("127.0.0.1:3700"), "{message}");
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tables: i64 = conn
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| row.get(0))
        .unwrap();
    assert_eq!(
        tables, 3,
        "the upgrade ran: only api_keys, its index and schema_migrations should exist"
    );
}
