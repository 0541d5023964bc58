//! Reads Claude Code transcripts: `<projects>/<project>/<session>.jsonl`, subagent files
//! in `<session>/subagents/` included.
//!
//! Each line is one JSON record. A `"type": "assistant"` record with a `message.usage`
//! object describes a billed model call. A record without `type` counts as one when it has
//! both `message.usage` and `message.model`, the form that ccusage also reads (older Claude
//! Code versions and ccusage's test fixtures). Records of other types are not calls. Claude Code writes one record per
//! streamed content block, so one call can appear several times with the same
//! `message.id` and `requestId`. The last copy contains the final usage.
//!
//! Claude Code also writes assistant records with `"model": "<synthetic>"` and zero usage
//! for messages it inserts itself without an API call. They carry no cost, so the scan
//! counts and skips them.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::Value;

/// One billed model call found in a transcript.
#[derive(Debug, Clone)]
pub struct AssistantMessage {
    /// `message.id`, or the record's `uuid` when the message has none.
    pub message_id: String,
    /// `requestId`; empty when absent.
    pub request_id: String,
    /// Project folder name, used as the agent id.
    pub project: String,
    /// Claude Code session id.
    pub session_id: String,
    /// Model id, such as `claude-opus-4-6`.
    pub model: String,
    /// The Anthropic usage object as written.
    pub usage: Value,
    /// When the record was written.
    pub timestamp: DateTime<Utc>,
    /// `file:line` of the transcript line the call was read from; the last such line when
    /// Claude Code wrote the call more than once.
    pub location: String,
}

/// Result of scanning a transcript folder.
#[derive(Debug, Default)]
pub struct Scan {
    /// Unique calls, in the order they first appeared.
    pub messages: Vec<AssistantMessage>,
    /// Transcript files read.
    pub files: usize,
    /// Lines that were not JSON or lacked a field the import needs.
    pub skipped_lines: usize,
    /// The first [`MAX_UNREADABLE_EXAMPLES`] of those lines, as `file:line: reason`.
    pub unreadable_examples: Vec<String>,
    /// Assistant lines, or lines without `type`, that have no `message.usage` object or no
    /// `message.model`, so no cost can be read from them.
    pub no_usage_lines: usize,
    /// Unique messages with the model `<synthetic>`, which Claude Code writes without
    /// calling a model.
    pub synthetic_messages: usize,
}

/// Number of unreadable lines that a scan names with their file, line and reason.
pub const MAX_UNREADABLE_EXAMPLES: usize = 5;

/// Model id that Claude Code writes on messages it generates without a model call.
const SYNTHETIC_MODEL: &str = "<synthetic>";

/// Errors from reading a transcript folder.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The folder does not exist or cannot be listed.
    #[error("cannot read {path}: {source}; pass a Claude Code projects folder such as ~/.claude/projects")]
    Unreadable {
        /// The folder or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The folder contains no `.jsonl` transcript.
    #[error("no .jsonl transcripts under {0}; pass a Claude Code projects folder such as ~/.claude/projects or the folder that contains projects/")]
    Empty(PathBuf),
}

/// Scans a projects folder, or a Claude Code config folder that contains `projects/`.
///
/// # Errors
///
/// Returns [`ScanError`] when the folder cannot be read or contains no transcript.
pub fn scan(dir: &Path) -> Result<Scan, ScanError> {
    let projects = if dir.join("projects").is_dir() {
        dir.join("projects")
    } else {
        dir.to_path_buf()
    };

    let mut files = Vec::new();
    collect_jsonl(&projects, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(ScanError::Empty(dir.to_path_buf()));
    }

    let mut scan = Scan::default();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut synthetic: HashSet<(String, String)> = HashSet::new();
    for file in &files {
        let project = project_name(&projects, file);
        let bytes = std::fs::read(file).map_err(|source| ScanError::Unreadable {
            path: file.clone(),
            source,
        })?;
        scan.files += 1;
        for (number, raw_line) in bytes.split(|byte| *byte == b'\n').enumerate() {
            let mut unreadable = |reason: String| {
                scan.skipped_lines += 1;
                if scan.unreadable_examples.len() < MAX_UNREADABLE_EXAMPLES {
                    let place = format!("{}:{}", file.display(), number + 1);
                    scan.unreadable_examples.push(format!("{place}: {reason}"));
                }
            };
            // A line that is not UTF-8 is skipped like any other unreadable line.
            let Ok(line) = std::str::from_utf8(raw_line) else {
                unreadable("not UTF-8 text".to_owned());
                continue;
            };
            if line.trim().is_empty() {
                continue;
            }
            match parse_line(line, &project) {
                LineKind::Call(message) if message.model == SYNTHETIC_MODEL => {
                    synthetic.insert((message.message_id, message.request_id));
                }
                LineKind::Call(mut message) => {
                    message.location = format!("{}:{}", file.display(), number + 1);
                    let key = (message.message_id.clone(), message.request_id.clone());
                    match index.get(&key) {
                        // The last copy's time is kept too, as earlier versions stored
                        // it, so that events they imported stay duplicates.
                        Some(&position) => scan.messages[position] = *message,
                        None => {
                            index.insert(key, scan.messages.len());
                            scan.messages.push(*message);
                        }
                    }
                }
                LineKind::Other => {}
                LineKind::NoUsage => scan.no_usage_lines += 1,
                LineKind::Invalid(reason) => unreadable(reason),
            }
        }
    }
    scan.synthetic_messages = synthetic.len();
    Ok(scan)
}

fn collect_jsonl(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), ScanError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ScanError::Unreadable {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_jsonl(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "jsonl")
        {
            files.push(path);
        }
    }
    Ok(())
}

/// Returns the first folder below the projects folder, or the projects folder's own name
/// when the transcript sits directly in it.
fn project_name(projects: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(projects).unwrap_or(file);
    let mut components = relative.components();
    let first = components.next();
    match (first, components.next()) {
        (Some(folder), Some(_)) => folder.as_os_str().to_string_lossy().into_owned(),
        _ => projects
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "claude-code".to_owned()),
    }
}

enum LineKind {
    Call(Box<AssistantMessage>),
    Other,
    NoUsage,
    /// A line the import cannot use, with the reason.
    Invalid(String),
}

fn parse_line(line: &str, project: &str) -> LineKind {
    // A repeated key, such as two `input_tokens`, makes the line invalid: either value
    // would give a different cost.
    let record = match agentlens_core::json::from_slice_unique_keys(line.as_bytes()) {
        Ok(record) => record,
        Err(error) if error.is_data() => {
            return LineKind::Invalid(format!("invalid JSON ({error})"))
        }
        Err(error) => return LineKind::Invalid(format!("not JSON ({error})")),
    };
    let message = &record["message"];
    let usage = &message["usage"];
    let has_usage = usage.is_object() && message["model"].is_string();
    match record.get("type") {
        Some(kind) if *kind != "assistant" => return LineKind::Other,
        // A record without `type` is a call only when it carries usage and a model, so
        // unrelated typeless records are not counted as lines without usage.
        None if !has_usage && !message.is_object() => return LineKind::Other,
        _ if !has_usage => return LineKind::NoUsage,
        _ => {}
    }

    let text = |value: &Value| value.as_str().map(str::to_owned);
    let message_id = text(&message["id"]).or_else(|| text(&record["uuid"]));
    let session_id = text(&record["sessionId"]);
    let model = text(&message["model"]);
    let timestamp = record["timestamp"]
        .as_str()
        .and_then(|stamp| DateTime::parse_from_rfc3339(stamp).ok());
    match (message_id, session_id, model, timestamp) {
        (None, ..) => LineKind::Invalid("no message.id or uuid text".to_owned()),
        (_, None, ..) => LineKind::Invalid("no sessionId text".to_owned()),
        (_, _, _, None) => LineKind::Invalid(format!(
            "timestamp {} is not an RFC 3339 time",
            record["timestamp"]
        )),
        (Some(message_id), Some(session_id), Some(model), Some(timestamp)) => {
            LineKind::Call(Box::new(AssistantMessage {
                message_id,
                request_id: text(&record["requestId"]).unwrap_or_default(),
                project: project.to_owned(),
                session_id,
                model,
                usage: usage.clone(),
                timestamp: timestamp.with_timezone(&Utc),
                location: String::new(),
            }))
        }
        // `has_usage` above requires a model text.
        (_, _, None, _) => LineKind::Invalid("no message.model text".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, relative: &str, lines: &[&str]) {
        let path = dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, lines.join("\n")).unwrap();
    }

    const FIRST: &str = r#"{"type":"assistant","sessionId":"s1","requestId":"r1","timestamp":"2026-02-10T21:11:52.438Z","message":{"id":"m1","model":"claude-opus-4-6","usage":{"input_tokens":3,"output_tokens":1}}}"#;
    const FINAL: &str = r#"{"type":"assistant","sessionId":"s1","requestId":"r1","timestamp":"2026-02-10T21:11:53.000Z","message":{"id":"m1","model":"claude-opus-4-6","usage":{"input_tokens":3,"output_tokens":211}}}"#;

    #[test]
    fn streamed_copies_keep_final_usage() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "projects/-home-me-app/s1.jsonl",
            &[FIRST, "not json", FINAL],
        );

        let scan = scan(dir.path()).unwrap();

        assert_eq!(scan.messages.len(), 1);
        assert_eq!(scan.messages[0].usage["output_tokens"], 211);
        assert_eq!(scan.messages[0].project, "-home-me-app");
        assert_eq!(scan.skipped_lines, 1);
    }

    #[test]
    fn repeated_usage_key_makes_line_invalid() {
        let dir = tempfile::tempdir().unwrap();
        let repeated = FINAL.replace(
            r#""output_tokens":211}"#,
            r#""output_tokens":211,"input_tokens":1000000}"#,
        );
        write(dir.path(), "app/s1.jsonl", &[&repeated]);

        let scan = scan(dir.path()).unwrap();

        assert!(scan.messages.is_empty());
        assert_eq!(scan.skipped_lines, 1);
        let example = &scan.unreadable_examples[0];
        assert!(
            example.contains("invalid JSON (duplicate key \"input_tokens\""),
            "{example}"
        );
    }

    #[test]
    fn subagent_files_belong_to_their_project() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app/s1/subagents/agent-a1.jsonl", &[FIRST]);

        let scan = scan(dir.path()).unwrap();

        assert_eq!(scan.files, 1);
        assert_eq!(scan.messages[0].project, "app");
    }

    #[test]
    fn invalid_utf8_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app/s1.jsonl");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut bytes = FIRST.as_bytes().to_vec();
        bytes.extend_from_slice(b"\n\xff\xfe not text\n");
        std::fs::write(&path, bytes).unwrap();

        let scan = scan(dir.path()).unwrap();

        assert_eq!(scan.messages.len(), 1);
        assert_eq!(scan.skipped_lines, 1);
    }

    #[test]
    fn unreadable_lines_name_file_line_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let bad_time = FIRST.replace("2026-02-10T21:11:52.438Z", "not-a-time");
        let no_session = FIRST.replace(r#""sessionId":"s1""#, r#""sessionId":null"#);
        write(
            dir.path(),
            "app/s1.jsonl",
            &[FIRST, &bad_time, "{oops", &no_session],
        );

        let scan = scan(dir.path()).unwrap();

        assert_eq!(scan.skipped_lines, 3);
        let file = dir.path().join("app/s1.jsonl").display().to_string();
        assert_eq!(
            scan.unreadable_examples[0],
            format!("{file}:2: timestamp \"not-a-time\" is not an RFC 3339 time")
        );
        assert!(
            scan.unreadable_examples[1].starts_with(&format!("{file}:3: not JSON (")),
            "{:?}",
            scan.unreadable_examples
        );
        assert_eq!(
            scan.unreadable_examples[2],
            format!("{file}:4: no sessionId text")
        );
    }

    #[test]
    fn untyped_line_with_usage_is_a_call() {
        let dir = tempfile::tempdir().unwrap();
        let untyped = r#"{"timestamp":"2026-02-03T08:00:00.000Z","sessionId":"s1","requestId":"r1","costUSD":0.03,"message":{"role":"assistant","id":"m1","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":50,"output_tokens":25}}}"#;
        let user = r#"{"type":"user","sessionId":"s1","timestamp":"2026-02-03T08:00:00.000Z","message":{"role":"user","content":"hi"}}"#;
        write(dir.path(), "app/s1.jsonl", &[untyped, user]);

        let scan = scan(dir.path()).unwrap();

        assert_eq!(scan.messages.len(), 1);
        assert_eq!(scan.messages[0].model, "claude-haiku-4-5-20251001");
        assert_eq!(scan.no_usage_lines, 0);
        assert_eq!(scan.skipped_lines, 0);
    }

    #[test]
    fn lines_without_usage_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let assistant = r#"{"type":"assistant","sessionId":"s1","timestamp":"2026-02-03T08:00:00.000Z","message":{"id":"m1","model":"claude-opus-4-6"}}"#;
        let untyped = r#"{"sessionId":"s1","timestamp":"2026-02-03T08:00:00.000Z","message":{"id":"m2","usage":{"input_tokens":1}}}"#;
        let summary = r#"{"type":"summary","summary":"chat"}"#;
        write(dir.path(), "app/s1.jsonl", &[assistant, untyped, summary]);

        let scan = scan(dir.path()).unwrap();

        assert!(scan.messages.is_empty());
        assert_eq!(scan.no_usage_lines, 2);
        assert_eq!(scan.skipped_lines, 0);
    }

    #[test]
    fn synthetic_messages_are_not_calls() {
        let dir = tempfile::tempdir().unwrap();
        let synthetic = r#"{"type":"assistant","sessionId":"s1","timestamp":"2026-02-03T08:00:00.000Z","message":{"id":"m9","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0}}}"#;
        write(dir.path(), "app/s1.jsonl", &[synthetic, synthetic, FIRST]);

        let scan = scan(dir.path()).unwrap();

        assert_eq!(scan.messages.len(), 1);
        assert_eq!(scan.messages[0].model, "claude-opus-4-6");
        assert_eq!(scan.synthetic_messages, 1);
        assert_eq!(scan.skipped_lines, 0);
    }

    #[test]
    fn empty_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(scan(dir.path()), Err(ScanError::Empty(_))));
    }
}
