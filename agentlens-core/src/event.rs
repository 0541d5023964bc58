//! Events in the wire format of upstream AgentLens: camelCase JSON with `sessionId`,
//! `agentId`, `eventType`, `severity`, `payload`, `metadata` and `timestamp`.
//!
//! [`Event`] is what a client builds and sends. [`crate::validate`] turns untrusted JSON
//! into a [`ValidEvent`], which also carries the cost facts that storage and analytics
//! need, read once from the payload.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::money::Usd;
use crate::pricing::PriceContext;
use crate::usage::Usage;

/// Event types that clients may send.
pub const INGESTIBLE_TYPES: [EventType; 21] = [
    EventType::SessionStarted,
    EventType::SessionEnded,
    EventType::ToolCall,
    EventType::ToolResponse,
    EventType::ToolError,
    EventType::ApprovalRequested,
    EventType::ApprovalGranted,
    EventType::ApprovalDenied,
    EventType::ApprovalExpired,
    EventType::FormSubmitted,
    EventType::FormCompleted,
    EventType::FormExpired,
    EventType::CostTracked,
    EventType::LlmCall,
    EventType::LlmResponse,
    EventType::AlertTriggered,
    EventType::AlertResolved,
    EventType::Custom,
    EventType::Retrieval,
    EventType::Embedding,
    EventType::ChainStep,
];

macro_rules! event_types {
    ($($variant:ident => $name:literal),+ $(,)?) => {
        /// The kind of an event, written in snake_case on the wire.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum EventType {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )+
        }

        impl EventType {
            /// Every event type, the server-only ones included, in declaration order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)+];

            /// Returns the wire name of the type.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)+
                }
            }
        }

        impl FromStr for EventType {
            type Err = UnknownEventType;

            fn from_str(name: &str) -> Result<Self, Self::Err> {
                match name {
                    $($name => Ok(EventType::$variant),)+
                    _ => Err(UnknownEventType(name.to_owned())),
                }
            }
        }
    };
}

event_types! {
    SessionStarted => "session_started",
    SessionEnded => "session_ended",
    ToolCall => "tool_call",
    ToolResponse => "tool_response",
    ToolError => "tool_error",
    ApprovalRequested => "approval_requested",
    ApprovalGranted => "approval_granted",
    ApprovalDenied => "approval_denied",
    ApprovalExpired => "approval_expired",
    FormSubmitted => "form_submitted",
    FormCompleted => "form_completed",
    FormExpired => "form_expired",
    CostTracked => "cost_tracked",
    LlmCall => "llm_call",
    LlmResponse => "llm_response",
    AlertTriggered => "alert_triggered",
    AlertResolved => "alert_resolved",
    Custom => "custom",
    Retrieval => "retrieval",
    Embedding => "embedding",
    ChainStep => "chain_step",
    Error => "error",
    EvalResult => "eval_result",
    HumanScore => "human_score",
    Feedback => "feedback",
    SkillActivated => "skill_activated",
}

impl EventType {
    /// Returns true for the types a client may send; the others are written by the server.
    pub fn is_ingestible(&self) -> bool {
        INGESTIBLE_TYPES.contains(self)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Error for an event type name that AgentLens does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}")]
pub struct UnknownEventType(pub String);

/// Seriousness of an event. Events of severity `error` or `critical` count as errors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Detail for troubleshooting.
    Debug,
    /// Normal operation; the default.
    #[default]
    Info,
    /// Something recoverable went wrong.
    Warn,
    /// An operation failed.
    Error,
    /// The agent cannot continue.
    Critical,
}

impl Severity {
    /// Every severity, from the least to the most serious.
    pub const ALL: [Severity; 5] = [
        Severity::Debug,
        Severity::Info,
        Severity::Warn,
        Severity::Error,
        Severity::Critical,
    ];

    /// Returns the wire name of the severity.
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Debug => "debug",
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
            Severity::Critical => "critical",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Severity> {
        match name {
            "debug" => Some(Severity::Debug),
            "info" => Some(Severity::Info),
            "warn" => Some(Severity::Warn),
            "error" => Some(Severity::Error),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// An event as a client sends it to `POST /api/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Client-chosen id that makes a retried send idempotent: the collector stores an id
    /// once, however often it arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Session the event belongs to.
    pub session_id: String,
    /// Agent that produced the event.
    pub agent_id: String,
    /// Kind of the event.
    pub event_type: EventType,
    /// Seriousness; `info` when absent.
    #[serde(default)]
    pub severity: Severity,
    /// Type-specific fields.
    pub payload: Map<String, Value>,
    /// Free-form annotations.
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// When the event happened; the collector uses its own clock when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
}

impl Event {
    /// Creates an event with severity `info`, empty metadata and no timestamp.
    pub fn new(
        session_id: impl Into<String>,
        agent_id: impl Into<String>,
        event_type: EventType,
        payload: Map<String, Value>,
    ) -> Self {
        Event {
            id: None,
            session_id: session_id.into(),
            agent_id: agent_id.into(),
            event_type,
            severity: Severity::Info,
            payload,
            metadata: Map::new(),
            timestamp: None,
        }
    }
}

/// Formats a timestamp the way AgentLens stores it: UTC, microseconds, `Z` suffix.
///
/// The fixed width makes stored timestamps sort correctly as strings.
pub fn format_timestamp(timestamp: &DateTime<Utc>) -> String {
    timestamp.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Explains why `text`, which starts with `YYYY-MM-DD`, names no calendar date, such as
/// 2026-02-30. Returns `None` when the date exists or `text` has another form.
pub fn explain_missing_date(text: &str) -> Option<String> {
    let prefix = text.get(..10)?;
    let shape_matches = prefix.char_indices().all(|(index, character)| match index {
        4 | 7 => character == '-',
        _ => character.is_ascii_digit(),
    });
    if !shape_matches {
        return None;
    }

    let year: i32 = prefix[..4].parse().ok()?;
    let month: u32 = prefix[5..7].parse().ok()?;
    let day: u32 = prefix[8..10].parse().ok()?;
    if NaiveDate::from_ymd_opt(year, month, day).is_some() {
        return None;
    }
    if !(1..=12).contains(&month) {
        return Some(format!(
            "month {month:02} does not exist, expected a month from 01 to 12"
        ));
    }
    let first_of_next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    let days = first_of_next?.pred_opt()?.day();
    Some(format!(
        "the date {prefix} does not exist because {year:04}-{month:02} has {days} days"
    ))
}

/// An event that passed validation, with its cost facts read out of the payload.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEvent {
    /// Client idempotency id, if one was sent.
    pub client_id: Option<String>,
    /// Session id.
    pub session_id: String,
    /// Agent id.
    pub agent_id: String,
    /// Event type.
    pub event_type: EventType,
    /// Severity with the default applied.
    pub severity: Severity,
    /// Payload exactly as received, unknown keys included.
    pub payload: Map<String, Value>,
    /// Metadata with the server-reserved keys removed.
    pub metadata: Map<String, Value>,
    /// Event time normalised to UTC; `None` means "use the server's clock".
    pub timestamp: Option<DateTime<Utc>>,
    /// Cost facts of `cost_tracked` and `llm_response` events.
    pub cost: Option<CostFacts>,
}

impl ValidEvent {
    /// Returns true when the event counts as an error: severity `error` or `critical`, or
    /// a `tool_error`.
    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Error | Severity::Critical)
            || self.event_type == EventType::ToolError
    }
}

/// The money-relevant fields of a `cost_tracked` or `llm_response` payload.
#[derive(Debug, Clone, PartialEq)]
pub struct CostFacts {
    /// Provider name as sent (`openai`, `anthropic`, ...).
    pub provider: String,
    /// Model id as sent.
    pub model: String,
    /// Cost reported by the client, if any. `None` means the collector has to price it.
    pub cost_usd: Option<Usd>,
    /// Token counts. `input_tokens` includes cache reads and writes, `output_tokens`
    /// includes reasoning.
    pub usage: Usage,
    /// Identifier of the LLM call, used to avoid counting one call twice.
    pub call_id: Option<String>,
    /// Service tier and batch flag of the call, which select tier or batch prices.
    pub context: PriceContext,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_type_round_trips_through_its_name() {
        for event_type in EventType::ALL {
            assert_eq!(event_type.as_str().parse::<EventType>(), Ok(*event_type));
        }
        assert!(INGESTIBLE_TYPES
            .iter()
            .all(|ingestible| EventType::ALL.contains(ingestible)));
        assert!(EventType::ALL.contains(&EventType::EvalResult));
    }

    #[test]
    fn missing_date_names_days_of_month() {
        for (text, expected) in [
            (
                "2026-02-30T10:00:00Z",
                "the date 2026-02-30 does not exist because 2026-02 has 28 days",
            ),
            (
                "2028-02-30",
                "the date 2028-02-30 does not exist because 2028-02 has 29 days",
            ),
            (
                "2026-13-01",
                "month 13 does not exist, expected a month from 01 to 12",
            ),
        ] {
            assert_eq!(
                explain_missing_date(text).as_deref(),
                Some(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn existing_or_unshaped_date_has_no_explanation() {
        for text in [
            "2028-02-29T10:00:00Z",
            "2026-12-31",
            "yesterday",
            "26-02-30",
            "",
        ] {
            assert_eq!(explain_missing_date(text), None, "{text}");
        }
    }

    #[test]
    fn every_severity_round_trips_through_its_name() {
        for severity in Severity::ALL {
            assert_eq!(Severity::parse(severity.as_str()), Some(severity));
        }
    }
}
