use agentlens_core::client::IdConflict;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::*;

/// Builds a call on a day when the embedded table has Haiku 4.5 batch prices, which start
/// on 2026-10-14.
fn message(model: &str, usage: Value) -> AssistantMessage {
    let timestamp: DateTime<Utc> = "2026-11-02T12:00:00Z".parse().unwrap();
    AssistantMessage {
        message_id: "m1".to_owned(),
        request_id: "r1".to_owned(),
        project: "app".to_owned(),
        session_id: "s1".to_owned(),
        model: model.to_owned(),
        usage,
        timestamp,
        location: "app/s1.jsonl:1".to_owned(),
    }
}

fn priced(model: &str, usage: Value) -> (agentlens_core::event::Event, ImportSummary) {
    let mut summary = ImportSummary::default();
    let event = cost_event(PriceTable::embedded(), &message(model, usage), &mut summary)
        .expect("event is valid");
    (event, summary)
}

const HAIKU: &str = "claude-haiku-4-5-20251001";

#[test]
fn standard_tier_uses_standard_rates() {
    let (event, summary) = priced(
        HAIKU,
        json!({"input_tokens": 1_000_000, "output_tokens": 0, "service_tier": "standard"}),
    );

    assert_eq!(summary.total_usd, "1".parse().unwrap());
    assert!(event.payload.get("serviceTier").is_none());
    assert!(event.payload.get("batch").is_none());
}

#[test]
fn batch_tier_uses_batch_rates() {
    let (event, summary) = priced(
        HAIKU,
        json!({"input_tokens": 1_000_000, "output_tokens": 0, "service_tier": "batch"}),
    );

    assert_eq!(summary.total_usd, "0.5".parse().unwrap());
    assert_eq!(event.payload["batch"], true);
    assert!(event.payload.get("serviceTier").is_none());
}

#[test]
fn priority_tier_without_price_is_unpriced() {
    let (event, summary) = priced(
        HAIKU,
        json!({"input_tokens": 1_000_000, "output_tokens": 0, "service_tier": "priority"}),
    );

    assert_eq!(summary.total_usd, Usd::ZERO);
    assert_eq!(summary.unpriced.get(HAIKU), Some(&1));
    assert!(event.payload.get("costUsd").is_none());
    assert_eq!(event.payload["serviceTier"], "priority");
}

#[test]
fn fast_speed_uses_fast_rates() {
    let (event, summary) = priced(
        "claude-opus-4-8",
        json!({"input_tokens": 1_000_000, "output_tokens": 0, "speed": "fast"}),
    );

    assert_eq!(summary.total_usd, "10".parse().unwrap());
    assert_eq!(event.payload["serviceTier"], "fast");
}

#[test]
fn fast_speed_without_price_is_unpriced() {
    let (_, summary) = priced(
        HAIKU,
        json!({"input_tokens": 1_000_000, "output_tokens": 0, "speed": "fast"}),
    );

    assert_eq!(summary.unpriced.get(HAIKU), Some(&1));
    let text = summary.to_string();
    assert!(
        text.contains("fast"),
        "the summary hides the reason: {text}"
    );
}

#[test]
fn undelivered_summary_names_priced_total() {
    let summary = ImportSummary {
        events: 2,
        failed: 2,
        total_usd: "2".parse().unwrap(),
        ..ImportSummary::default()
    };

    let text = summary.to_string();

    assert!(text.contains("events failed:   2"), "{text}");
    assert!(!text.contains("total cost"), "{text}");
    assert!(text.contains("did not store"), "{text}");
}

#[test]
fn summary_lists_conflicting_ids() {
    let message = "id \"claude-code:m1:r1\" is already used by an event with a different \
                   payload; give each new event a new id";
    let listed = (0..12)
        .map(|_| IdConflict {
            id: Some("claude-code:m1:r1".to_owned()),
            message: message.to_owned(),
        })
        .collect();
    let summary = ImportSummary {
        events: 20,
        sent: 8,
        id_conflicts: IdConflicts { total: 12, listed },
        ..ImportSummary::default()
    };

    let text = summary.to_string();

    assert!(text.contains("id conflicts:    12"), "{text}");
    assert!(
        text.contains("  claude-code:m1:r1: already stored with a different payload\n"),
        "{text}"
    );
    assert!(text.contains("  and 2 more"), "{text}");
    assert!(text.contains("still writing them"), "{text}");
    assert!(!text.contains("events failed"), "{text}");
}

#[test]
fn summary_reports_lines_without_usage() {
    let summary = ImportSummary {
        no_usage_lines: 3,
        ..ImportSummary::default()
    };

    assert!(summary.to_string().contains("lines without usage: 3"));
}

#[test]
fn summary_without_events_says_what_import_reads() {
    let summary = ImportSummary {
        files: 6,
        skipped_lines: 1,
        unreadable_examples: vec!["a.jsonl:3: no sessionId text".to_owned()],
        ..ImportSummary::default()
    };

    let text = summary.to_string();

    assert!(text.contains("  a.jsonl:3: no sessionId text"), "{text}");
    assert!(text.contains("not other tools' logs"), "{text}");
}

#[test]
fn invalid_call_is_not_listed_as_unpriced() {
    let dir = tempfile::tempdir().unwrap();
    let empty_model = r#"{"type":"assistant","sessionId":"s1","requestId":"r1","timestamp":"2026-11-02T12:00:00Z","message":{"id":"m1","model":"","usage":{"input_tokens":10,"output_tokens":1}}}"#;
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(dir.path().join("app/s1.jsonl"), format!("{empty_model}\n")).unwrap();

    let scan = scan(dir.path()).unwrap();
    let mut summary = ImportSummary::from_scan(&scan);
    let events = price_messages(PriceTable::embedded(), &scan, &mut summary);
    let text = summary.to_string();

    assert!(events.is_empty());
    assert_eq!(summary.invalid_usage, 1);
    assert!(summary.unpriced.is_empty(), "{:?}", summary.unpriced);
    assert!(text.contains("unpriced events: 0"), "{text}");
    assert!(!text.contains("not other tools' logs"), "{text}");
}

#[test]
fn invalid_call_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let valid = r#"{"type":"assistant","sessionId":"s1","requestId":"r1","timestamp":"2026-11-02T12:00:00Z","message":{"id":"m1","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":10,"output_tokens":1}}}"#;
    let negative = r#"{"type":"assistant","sessionId":"s1","requestId":"r2","timestamp":"2026-11-02T12:00:01Z","message":{"id":"m2","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":-10,"output_tokens":1}}}"#;
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    let file = dir.path().join("app/s1.jsonl");
    std::fs::write(&file, format!("{valid}\n{negative}\n")).unwrap();

    let scan = scan(dir.path()).unwrap();
    let mut summary = ImportSummary::from_scan(&scan);
    let events = price_messages(PriceTable::embedded(), &scan, &mut summary);
    let text = summary.to_string();

    assert_eq!(events.len(), 1);
    assert_eq!(summary.invalid_usage, 1);
    let place = format!("  {}:2: ", file.display());
    assert!(text.contains(&place), "{text}");
}

#[test]
fn synthetic_messages_are_skipped_not_unpriced() {
    let dir = tempfile::tempdir().unwrap();
    let synthetic = r#"{"type":"assistant","sessionId":"s1","requestId":"r2","timestamp":"2026-11-02T12:00:01Z","message":{"id":"m2","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}}"#;
    let real = r#"{"type":"assistant","sessionId":"s1","requestId":"r1","timestamp":"2026-11-02T12:00:00Z","message":{"id":"m1","model":"claude-haiku-4-5-20251001","usage":{"input_tokens":1000000,"output_tokens":0}}}"#;
    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    std::fs::write(
        dir.path().join("app/s1.jsonl"),
        format!("{real}\n{synthetic}\n"),
    )
    .unwrap();

    let scan = scan(dir.path()).unwrap();
    let mut summary = ImportSummary::from_scan(&scan);
    let events = price_messages(PriceTable::embedded(), &scan, &mut summary);
    let text = summary.to_string();

    assert_eq!(events.len(), 1);
    assert_eq!(summary.events, 1);
    assert!(summary.unpriced.is_empty(), "{:?}", summary.unpriced);
    assert_eq!(summary.synthetic_messages, 1);
    assert!(text.contains("unpriced events: 0"), "{text}");
    assert!(text.contains("synthetic messages skipped: 1"), "{text}");
    assert!(!text.contains("<synthetic>"), "{text}");
}

fn waits(count: u64, seconds: u64) -> RateLimitWaits {
    RateLimitWaits {
        count,
        latest: Duration::from_secs(seconds),
    }
}

#[test]
fn stall_clock_gives_up_without_progress() {
    let start = Instant::now();
    let mut stall = StallClock::new(start, 10);
    assert!(!stall.observe(start + Duration::from_secs(60), 10, &waits(0, 0)));
    assert!(!stall.expired(start + STALL_TIMEOUT - Duration::from_secs(1)));
    assert!(stall.expired(start + STALL_TIMEOUT));
}

#[test]
fn stall_clock_waits_while_events_are_accepted() {
    let start = Instant::now();
    let mut stall = StallClock::new(start, 10);
    for minute in 1..=10u64 {
        let now = start + Duration::from_secs(60 * minute);
        let pending = 10 - usize::try_from(minute).unwrap();
        stall.observe(now, pending, &waits(0, 0));
        assert!(
            !stall.expired(now + Duration::from_secs(119)),
            "minute {minute}"
        );
    }
}

#[test]
fn stall_clock_extends_past_rate_limit_wait() {
    let start = Instant::now();
    let mut stall = StallClock::new(start, 10);
    let requested = start + Duration::from_secs(100);
    assert!(stall.observe(requested, 10, &waits(1, 300)));
    assert!(!stall.observe(requested, 10, &waits(1, 300)));
    let end_of_wait = requested + Duration::from_secs(300);
    assert!(!stall.expired(end_of_wait + STALL_TIMEOUT - Duration::from_secs(1)));
    assert!(stall.expired(end_of_wait + STALL_TIMEOUT));
}
