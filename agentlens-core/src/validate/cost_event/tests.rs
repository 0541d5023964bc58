use chrono::{NaiveDate, TimeDelta};
use serde_json::Value;

use super::*;
use crate::money::Usd;
use crate::usage::Usage;
use crate::validate::fields::MAX_TOKEN_COUNT;
use crate::validate::validate_event;

const OVER_MAX: u64 = MAX_TOKEN_COUNT + 1;

fn valid_cost() -> CostEvent {
    let usage = Usage {
        input_tokens: 1200,
        cache_read_tokens: 200,
        cache_write_5m_tokens: 100,
        cache_write_1h_tokens: 50,
        output_tokens: 300,
        reasoning_tokens: 120,
        ..Usage::default()
    };
    CostEvent {
        agent_id: Some("agent_cost".into()),
        cost_usd: Some(usd("0.005615")),
        trigger: Some("search".into()),
        call_id: Some("call_1".into()),
        timestamp: Some(utc(2026, 2, 7, 10, 0, 0, 0)),
        ..CostEvent::new("ses_1", "anthropic", "claude-sonnet-4", usage)
    }
}

fn usd(text: &str) -> Usd {
    text.parse().unwrap()
}

fn utc(
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nano: u32,
) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(year, month, day)
        .unwrap()
        .and_hms_nano_opt(hour, minute, second, nano)
        .unwrap()
        .and_utc()
}

fn with_usage(change: impl FnOnce(&mut Usage)) -> CostEvent {
    let mut cost = valid_cost();
    change(&mut cost.usage);
    cost
}

/// Runs the JSON validator over the event the cost becomes on the wire.
fn json_check(cost: &CostEvent) -> Result<(), Vec<FieldError>> {
    let event = cost.clone().into_event("agent_default");
    let json = serde_json::to_value(&event).unwrap();
    validate_event(&json).map(drop)
}

/// Returns bad cost events, each named for the rule it breaks.
fn bad_costs() -> Vec<(&'static str, CostEvent)> {
    vec![
        (
            "empty session",
            CostEvent {
                session_id: String::new(),
                ..valid_cost()
            },
        ),
        (
            "blank session",
            CostEvent {
                session_id: " \t".into(),
                ..valid_cost()
            },
        ),
        (
            "blank agent",
            CostEvent {
                agent_id: Some("  ".into()),
                ..valid_cost()
            },
        ),
        (
            "empty agent",
            CostEvent {
                agent_id: Some(String::new()),
                ..valid_cost()
            },
        ),
        (
            "session over 256 characters",
            CostEvent {
                session_id: "s".repeat(257),
                ..valid_cost()
            },
        ),
        (
            "agent over 256 characters",
            CostEvent {
                agent_id: Some("é".repeat(300)),
                ..valid_cost()
            },
        ),
        (
            "empty provider",
            CostEvent {
                provider: String::new(),
                ..valid_cost()
            },
        ),
        (
            "blank model",
            CostEvent {
                model: "\n".into(),
                ..valid_cost()
            },
        ),
        (
            "input over max",
            with_usage(|usage| usage.input_tokens = OVER_MAX),
        ),
        (
            "output over max",
            with_usage(|usage| usage.output_tokens = OVER_MAX),
        ),
        (
            "input at u64 max",
            with_usage(|usage| usage.input_tokens = u64::MAX),
        ),
        (
            "sum over max",
            with_usage(|usage| {
                usage.input_tokens = 1 << 52;
                usage.output_tokens = 1 << 52;
            }),
        ),
        (
            "cache read over max",
            with_usage(|usage| usage.cache_read_tokens = OVER_MAX),
        ),
        (
            "cache write 5m over max",
            with_usage(|usage| usage.cache_write_5m_tokens = OVER_MAX),
        ),
        (
            "cache write 1h over max",
            with_usage(|usage| usage.cache_write_1h_tokens = OVER_MAX),
        ),
        (
            "reasoning over max",
            with_usage(|usage| usage.reasoning_tokens = OVER_MAX),
        ),
        (
            "cache over input",
            with_usage(|usage| usage.cache_read_tokens = 2000),
        ),
        (
            "cache writes over input",
            with_usage(|usage| usage.cache_write_1h_tokens = 1100),
        ),
        (
            "reasoning over output",
            with_usage(|usage| usage.reasoning_tokens = 301),
        ),
        (
            "negative cost",
            CostEvent {
                cost_usd: Some(usd("-0.5")),
                ..valid_cost()
            },
        ),
        (
            "13 decimals",
            CostEvent {
                cost_usd: Some(usd("0.0000000000001")),
                ..valid_cost()
            },
        ),
        (
            "13 decimals above 1",
            CostEvent {
                cost_usd: Some(usd("1.1234567890123")),
                ..valid_cost()
            },
        ),
        (
            "cost over max",
            CostEvent {
                cost_usd: Some(usd("9223373")),
                ..valid_cost()
            },
        ),
        (
            "cost just over max",
            CostEvent {
                cost_usd: Some(usd("9223372.5")),
                ..valid_cost()
            },
        ),
        (
            "year before 1970",
            CostEvent {
                timestamp: Some(utc(1969, 12, 31, 23, 59, 59, 0)),
                ..valid_cost()
            },
        ),
        (
            "year 10000",
            CostEvent {
                timestamp: Some(utc(10000, 1, 1, 0, 0, 0, 0)),
                ..valid_cost()
            },
        ),
        (
            "leap second",
            CostEvent {
                timestamp: Some(utc(2016, 12, 31, 23, 59, 59, 1_500_000_000)),
                ..valid_cost()
            },
        ),
        (
            "token error hides cache over input",
            with_usage(|usage| {
                usage.cache_read_tokens = 5000;
                usage.output_tokens = OVER_MAX;
            }),
        ),
        (
            "several at once",
            CostEvent {
                session_id: String::new(),
                provider: " ".into(),
                cost_usd: Some(usd("-1.00000000000001")),
                timestamp: Some(utc(1960, 1, 1, 0, 0, 0, 0)),
                usage: Usage {
                    input_tokens: u64::MAX,
                    reasoning_tokens: OVER_MAX,
                    ..Usage::default()
                },
                ..valid_cost()
            },
        ),
    ]
}

#[test]
fn bad_costs_fail_both_checks_alike() {
    for (case, cost) in bad_costs() {
        let typed = cost.check();
        let json = json_check(&cost);

        assert!(typed.is_err(), "{case}: the typed check passed");
        assert_eq!(typed, json, "{case}");
    }
}

#[test]
fn cost_event_larger_than_one_request_is_rejected() {
    let cost = CostEvent {
        trigger: Some("t".repeat(crate::validate::MAX_BODY_BYTES)),
        ..valid_cost()
    };

    let errors = cost.check().unwrap_err();

    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].path, "payload");
    assert!(errors[0].message.contains("bytes per event"), "{errors:?}");
}

#[test]
fn valid_costs_pass_both_checks() {
    let cases = [
        ("full", valid_cost()),
        (
            "minimal",
            CostEvent::new("ses_1", "openai", "gpt-4o", Usage::default()),
        ),
        (
            "no agent",
            CostEvent {
                agent_id: None,
                ..valid_cost()
            },
        ),
        (
            "12 decimals",
            CostEvent {
                cost_usd: Some(usd("0.000000000001")),
                ..valid_cost()
            },
        ),
        (
            "zero cost",
            CostEvent {
                cost_usd: Some(Usd::ZERO),
                ..valid_cost()
            },
        ),
        (
            "maximum cost",
            CostEvent {
                cost_usd: Some(usd("9223372")),
                ..valid_cost()
            },
        ),
        (
            "maximum tokens",
            with_usage(|usage| {
                usage.input_tokens = MAX_TOKEN_COUNT - 300;
                usage.cache_read_tokens = MAX_TOKEN_COUNT - 450;
            }),
        ),
        (
            "year 1970",
            CostEvent {
                timestamp: Some(utc(1970, 1, 1, 0, 0, 0, 0)),
                ..valid_cost()
            },
        ),
        (
            "now",
            CostEvent {
                timestamp: Some(Utc::now()),
                ..valid_cost()
            },
        ),
    ];
    for (case, cost) in cases {
        assert_eq!(cost.check(), Ok(()), "{case}");
        assert_eq!(json_check(&cost), Ok(()), "{case}");
    }
}

#[test]
fn bad_costs_name_the_field() {
    let expected = [
        (
            "13 decimals",
            "payload.costUsd",
            "more than 12 decimal places",
        ),
        (
            "cost over max",
            "payload.costUsd",
            "larger than the maximum of 9223372.036854775807 USD",
        ),
        (
            "input over max",
            "payload.inputTokens",
            "larger than the maximum of 9007199254740991",
        ),
        (
            "sum over max",
            "payload.totalTokens",
            "token count 9007199254740992",
        ),
        (
            "cache over input",
            "payload.inputTokens",
            "exceed input tokens",
        ),
        (
            "reasoning over output",
            "payload.reasoningTokens",
            "exceed output tokens",
        ),
        ("blank agent", "agentId", "agentId must not be empty"),
        ("year 10000", "timestamp", "expected RFC 3339"),
        ("leap second", "timestamp", "leap seconds are not supported"),
    ];
    let costs = bad_costs();
    for (case, path, message) in expected {
        let (_, cost) = costs.iter().find(|(name, _)| *name == case).unwrap();

        let errors = cost.check().unwrap_err();

        assert_eq!(errors[0].path, path, "{case}: {errors:?}");
        assert!(
            errors[0].message.contains(message),
            "{case}: {}",
            errors[0].message
        );
    }
}

#[test]
fn future_timestamp_fails_both_checks() {
    let cost = CostEvent {
        timestamp: Some(Utc::now() + TimeDelta::days(2)),
        ..valid_cost()
    };

    let typed = cost.check().unwrap_err();
    let json = json_check(&cost).unwrap_err();

    assert_eq!(typed.len(), 1);
    assert_eq!(typed[0].path, "timestamp");
    assert_eq!(json[0].path, "timestamp");
    // The messages name the current time, which moves between the two checks.
    let prefix = |message: &str| message.split("(now is").next().unwrap().to_owned();
    assert_eq!(prefix(&typed[0].message), prefix(&json[0].message));
    assert!(typed[0]
        .message
        .contains("more than 24 hours in the future"));
}

/// Returns the serde names of every field of `Usage`, including those its serializer
/// skips when zero, by reading the list that its derived `Deserialize` passes to
/// `deserialize_struct`.
fn usage_field_names() -> &'static [&'static str] {
    use serde::de::{self, Deserialize, Visitor};

    struct FieldNames;

    impl<'de> de::Deserializer<'de> for FieldNames {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("only a struct has field names"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            // The error carries the list out; `Usage` never gets built.
            Err(de::Error::custom(fields.join(",")))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map
            enum identifier ignored_any
        }
    }

    let error = Usage::deserialize(FieldNames).unwrap_err().to_string();
    let names: Vec<&'static str> = error
        .split(',')
        .map(|name| &*Box::leak(name.to_owned().into_boxed_str()))
        .collect();
    names.leak()
}

/// Sets every count of `Usage`, including any added later, so a count that the payload
/// validator starts to check fails this test until the typed check covers it too.
#[test]
fn every_usage_count_over_max_fails_both_checks() {
    let names = usage_field_names();
    assert!(names.contains(&"inputTokens"), "{names:?}");
    let fields: serde_json::Map<String, Value> = names
        .iter()
        .map(|name| ((*name).to_owned(), OVER_MAX.into()))
        .collect();
    let usage: Usage = serde_json::from_value(Value::Object(fields)).unwrap();
    assert_eq!(usage.output_tokens, OVER_MAX);
    let cost = CostEvent {
        usage,
        ..valid_cost()
    };

    let typed = cost.check();

    assert_eq!(typed, json_check(&cost));
    assert!(typed
        .unwrap_err()
        .iter()
        .any(|error| error.path == "payload.inputTokens"));
}

#[test]
fn try_track_cost_queues_only_valid_costs() {
    use std::time::Duration;

    use crate::client::test::CapturingTransport;
    use crate::client::Client;

    let capture = CapturingTransport::new();
    let client = Client::builder("http://localhost:3400")
        .transport(capture.clone())
        .build()
        .unwrap();
    let too_precise = CostEvent {
        cost_usd: Some(usd("0.0000000000001")),
        ..valid_cost()
    };

    let rejected = client.try_track_cost(too_precise).unwrap_err();
    let accepted = client.try_track_cost(valid_cost());
    client.flush(Duration::from_secs(5));

    assert_eq!(rejected[0].path, "payload.costUsd");
    assert_eq!(accepted, Ok(()));
    let events = capture.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload["costUsd"], serde_json::json!(0.005615));
}

#[test]
fn usage_violation_names_the_payload_field() {
    use crate::usage::UsageError;
    use crate::validate::cost::usage_violation;

    let part = |part: &str, whole: &str| UsageError::PartExceedsWhole {
        part: part.to_owned(),
        part_count: 2,
        whole: whole.to_owned(),
        whole_count: 1,
    };
    let cases = [
        (
            part("output_audio_tokens", "output_tokens"),
            "outputAudioTokens",
        ),
        (
            part("cache_write_5m_tokens", "input_tokens"),
            "cacheWrite5mTokens",
        ),
        (
            part("input_audio_tokens + input_image_tokens", "input_tokens"),
            "inputTokens",
        ),
        (
            part("reasoning_tokens + output_audio_tokens", "output_tokens"),
            "outputTokens",
        ),
        (
            part("uncached audio input tokens", "uncached input tokens"),
            "inputTokens",
        ),
        (
            UsageError::Overflow {
                field: "reasoning_tokens + output_audio_tokens".into(),
            },
            "reasoningTokens",
        ),
        (
            UsageError::CacheExceedsInput {
                cached: 2,
                input: 1,
            },
            "inputTokens",
        ),
        (
            UsageError::ReasoningExceedsOutput {
                reasoning: 2,
                output: 1,
            },
            "reasoningTokens",
        ),
    ];
    for (error, field) in cases {
        assert_eq!(usage_violation(&error, "").0, field, "{error}");
    }
}

#[test]
fn maximum_cost_is_the_largest_pico_count() {
    use crate::validate::cost::check_cost_amount;

    for text in [
        "9223372.036854775807",
        "9223372.036854775808",
        "9223373",
        "0",
    ] {
        let amount = usd(text);

        let storable = amount.to_pico().is_some();

        assert_eq!(check_cost_amount(amount).is_ok(), storable, "{text}");
    }
}

#[test]
fn cost_over_maximum_names_exact_limit() {
    use crate::validate::cost::check_cost_amount;

    let error = check_cost_amount(usd("9223372.036854775808")).unwrap_err();

    assert_eq!(
        error,
        "costUsd 9223372.036854775808 is larger than the maximum of 9223372.036854775807 USD \
         per event"
    );
}
