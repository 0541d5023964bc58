//! [`CostEvent`], the input of [`Client::track_cost`](super::Client::track_cost), and its
//! `cost_tracked` payload.

use std::mem;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::event::{Event, EventType};
use crate::money::Usd;
use crate::usage::Usage;

/// Number of keys in the largest payload: five always present, `costUsd`, `trigger`,
/// sixteen optional counts and `callId`.
const MAX_PAYLOAD_KEYS: usize = 24;

/// The cost of one model call, sent as a `cost_tracked` event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CostEvent {
    /// Session the call belongs to.
    pub session_id: String,
    /// Agent that made the call. The client's agent id is used when `None`.
    pub agent_id: Option<String>,
    /// Provider name (`openai`, `anthropic`, ...).
    pub provider: String,
    /// Model id as the provider names it.
    pub model: String,
    /// Token counts of the call.
    pub usage: Usage,
    /// Cost computed by the caller. When `None` the payload has no `costUsd`, and the
    /// collector prices the call from its table.
    pub cost_usd: Option<Usd>,
    /// Cause of the call, such as a tool name or a workflow step.
    pub trigger: Option<String>,
    /// Identifier of the model call, which lets the collector count one call once.
    pub call_id: Option<String>,
    /// Time of the call. The time of enqueueing is used when `None`.
    pub timestamp: Option<DateTime<Utc>>,
    /// Free-form annotations.
    pub metadata: Map<String, Value>,
}

impl CostEvent {
    /// Creates a cost event with no cost, trigger, call id, timestamp or metadata.
    pub fn new(
        session_id: impl Into<String>,
        provider: impl Into<String>,
        model: impl Into<String>,
        usage: Usage,
    ) -> Self {
        CostEvent {
            session_id: session_id.into(),
            provider: provider.into(),
            model: model.into(),
            usage,
            ..CostEvent::default()
        }
    }

    /// Converts the cost into a `cost_tracked` event whose agent id falls back to
    /// `default_agent_id`.
    ///
    /// The event has no id, and no timestamp unless [`CostEvent::timestamp`] is set.
    /// [`Client::log`](super::Client::log) fills in both, so set them here only to
    /// choose them yourself, such as an id derived from the source for idempotent imports.
    pub fn into_event(mut self, default_agent_id: &str) -> Event {
        let payload = self.take_payload();
        let agent_id = self.agent_id.unwrap_or_else(|| default_agent_id.to_owned());

        let mut event = Event::new(self.session_id, agent_id, EventType::CostTracked, payload);
        event.metadata = self.metadata;
        event.timestamp = self.timestamp;
        event
    }

    /// Builds the camelCase payload, moving the strings out of `self` instead of copying
    /// them. The key order is fixed because the collector hashes the payload as sent.
    fn take_payload(&mut self) -> Map<String, Value> {
        let usage = &self.usage;
        let mut payload = Map::with_capacity(MAX_PAYLOAD_KEYS);

        payload.insert("provider".into(), mem::take(&mut self.provider).into());
        payload.insert("model".into(), mem::take(&mut self.model).into());
        payload.insert("inputTokens".into(), usage.input_tokens.into());
        payload.insert("outputTokens".into(), usage.output_tokens.into());
        payload.insert("totalTokens".into(), usage.total_tokens().into());
        if let Some(cost) = self.cost_usd {
            payload.insert("costUsd".into(), cost_value(cost));
        }
        if let Some(trigger) = self.trigger.take() {
            payload.insert("trigger".into(), trigger.into());
        }

        let optional_counts = [
            ("cacheReadTokens", usage.cache_read_tokens),
            ("cacheWrite5mTokens", usage.cache_write_5m_tokens),
            ("cacheWrite1hTokens", usage.cache_write_1h_tokens),
            ("reasoningTokens", usage.reasoning_tokens),
            ("webSearches", usage.web_searches),
            ("fileSearches", usage.file_searches),
            ("codeInterpreterSessions", usage.code_interpreter_sessions),
            ("inputAudioTokens", usage.input_audio_tokens),
            ("inputImageTokens", usage.input_image_tokens),
            ("inputVideoTokens", usage.input_video_tokens),
            ("cacheAudioReadTokens", usage.cache_audio_read_tokens),
            ("cacheImageReadTokens", usage.cache_image_read_tokens),
            ("cacheVideoReadTokens", usage.cache_video_read_tokens),
            ("outputAudioTokens", usage.output_audio_tokens),
            ("outputImageTokens", usage.output_image_tokens),
            ("outputVideoTokens", usage.output_video_tokens),
        ];
        for (key, count) in optional_counts {
            if count != 0 {
                payload.insert(key.into(), count.into());
            }
        }

        if let Some(call_id) = self.call_id.take() {
            payload.insert("callId".into(), call_id.into());
        }
        payload
    }
}

/// Converts a cost into its JSON value, exact as [`Usd::to_json_value`] describes.
fn cost_value(cost: Usd) -> Value {
    cost.to_json_value()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn usage(input: u64, output: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        }
    }

    #[test]
    fn minimal_payload_has_required_fields_only() {
        let cost = CostEvent::new("ses_1", "openai", "gpt-4o", usage(1000, 500));

        let event = cost.into_event("agent_main");

        assert_eq!(event.event_type, EventType::CostTracked);
        assert_eq!(event.agent_id, "agent_main");
        assert_eq!(
            Value::Object(event.payload),
            json!({
                "provider": "openai",
                "model": "gpt-4o",
                "inputTokens": 1000,
                "outputTokens": 500,
                "totalTokens": 1500
            })
        );
    }

    #[test]
    fn full_payload_is_camel_case_in_fixed_order() {
        let cost = CostEvent {
            agent_id: Some("agent_cost".into()),
            cost_usd: Some("0.005615".parse().unwrap()),
            trigger: Some("search".into()),
            call_id: Some("call_9".into()),
            usage: Usage {
                input_tokens: 1200,
                cache_read_tokens: 200,
                cache_write_5m_tokens: 100,
                cache_write_1h_tokens: 50,
                output_tokens: 300,
                reasoning_tokens: 120,
                web_searches: 2,
                ..Usage::default()
            },
            ..CostEvent::new("ses_1", "anthropic", "claude-sonnet-4", Usage::default())
        };

        let event = cost.into_event("agent_main");
        let text = serde_json::to_string(&event.payload).unwrap();

        assert_eq!(event.agent_id, "agent_cost");
        assert_eq!(
            text,
            concat!(
                r#"{"provider":"anthropic","model":"claude-sonnet-4","inputTokens":1200,"#,
                r#""outputTokens":300,"totalTokens":1500,"costUsd":0.005615,"#,
                r#""trigger":"search","cacheReadTokens":200,"cacheWrite5mTokens":100,"#,
                r#""cacheWrite1hTokens":50,"reasoningTokens":120,"webSearches":2,"#,
                r#""callId":"call_9"}"#
            )
        );
    }

    #[test]
    fn cost_reads_back_exactly() {
        for text in ["0.000000000125", "0.0075", "12.5", "3", "999.123456789012"] {
            let amount: Usd = text.parse().unwrap();
            let cost = CostEvent {
                cost_usd: Some(amount),
                ..CostEvent::new("ses_1", "openai", "gpt-4o-mini", usage(1, 0))
            };

            let payload = cost.into_event("agent").payload;
            let number = payload["costUsd"].as_number().expect("costUsd is a number");

            assert_eq!(Usd::from_json_number(number).unwrap(), amount, "{text}");
        }
    }

    #[test]
    fn costs_beyond_f64_precision_travel_as_exact_strings() {
        for text in [
            "1234567.123456789012",
            "9223372.036854775807",
            "0.1234567890123456",
        ] {
            let amount: Usd = text.parse().unwrap();
            let cost = CostEvent {
                cost_usd: Some(amount),
                ..CostEvent::new("ses_1", "openai", "gpt-4o-mini", usage(1, 0))
            };

            let payload = cost.into_event("agent").payload;

            assert_eq!(payload["costUsd"], Value::String(text.to_owned()));
        }
    }

    #[test]
    fn cost_value_matches_serializer() {
        for text in [
            "0.000000000125",
            "0.0075",
            "12.5",
            "3",
            "-0.5",
            "999.123456789012",
        ] {
            let amount: Usd = text.parse().unwrap();

            assert_eq!(
                cost_value(amount),
                serde_json::to_value(amount).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn timestamp_and_metadata_carry_over() {
        let timestamp = "2026-02-07T10:00:01Z".parse().unwrap();
        let mut metadata = Map::new();
        metadata.insert("team".into(), "search".into());
        let cost = CostEvent {
            timestamp: Some(timestamp),
            metadata: metadata.clone(),
            ..CostEvent::new("ses_1", "openai", "gpt-4o", usage(1, 1))
        };

        let event = cost.into_event("agent");

        assert_eq!(event.timestamp, Some(timestamp));
        assert_eq!(event.metadata, metadata);
    }

    #[test]
    fn modality_counts_are_written_when_non_zero() {
        let cost = CostEvent::new(
            "ses_1",
            "openai",
            "gpt-4o-audio-preview",
            Usage {
                input_audio_tokens: 400,
                output_audio_tokens: 50,
                ..usage(1000, 100)
            },
        );

        let payload = cost.into_event("agent").payload;

        assert_eq!(payload["inputAudioTokens"], 400);
        assert_eq!(payload["outputAudioTokens"], 50);
        assert!(payload.get("inputImageTokens").is_none());
        assert!(payload.len() <= MAX_PAYLOAD_KEYS);
    }

    #[test]
    fn tool_call_counts_are_written_when_non_zero() {
        let cost = CostEvent::new(
            "ses_1",
            "openai",
            "gpt-5",
            Usage {
                file_searches: 3,
                code_interpreter_sessions: 1,
                ..usage(1000, 100)
            },
        );

        let payload = cost.into_event("agent").payload;

        assert_eq!(payload["fileSearches"], 3);
        assert_eq!(payload["codeInterpreterSessions"], 1);
        assert!(payload.get("webSearches").is_none());
    }

    #[test]
    fn largest_payload_fits_key_capacity() {
        let every_count = Usage {
            input_tokens: 100,
            cache_read_tokens: 10,
            cache_write_5m_tokens: 10,
            cache_write_1h_tokens: 10,
            output_tokens: 100,
            reasoning_tokens: 10,
            web_searches: 1,
            file_searches: 1,
            code_interpreter_sessions: 1,
            input_audio_tokens: 10,
            input_image_tokens: 10,
            input_video_tokens: 10,
            cache_audio_read_tokens: 1,
            cache_image_read_tokens: 1,
            cache_video_read_tokens: 1,
            output_audio_tokens: 10,
            output_image_tokens: 10,
            output_video_tokens: 10,
        };
        let cost = CostEvent {
            cost_usd: Some("0.01".parse().unwrap()),
            trigger: Some("tool".into()),
            call_id: Some("call_1".into()),
            ..CostEvent::new("ses_1", "openai", "gpt-5", every_count)
        };

        let payload = cost.into_event("agent").payload;

        assert_eq!(payload.len(), MAX_PAYLOAD_KEYS);
    }
}
