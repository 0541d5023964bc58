//! Alert rules and their evaluation.
//!
//! A rule watches one [`Condition`] over a trailing window of events. The
//! [`evaluator`] computes each enabled rule's current value and records a history entry
//! when the rule starts firing. While the rule keeps firing, no new entry is written. When
//! the value falls back to the threshold or below, the open entry gets its `resolvedAt`,
//! so the next crossing fires again.
//!
//! ```text
//!  POST /api/events ──commit──▶ IngestSignal ─┐   (debounced, at most every 250 ms)
//!                                             ├──▶ AlertEngine::evaluate_at(now)
//!  interval tick (--alert-interval-secs) ─────┘         │
//!                                                       ▼ one writer job per transition
//!                               alert_history row + pending alert_deliveries rows
//!                               + alert_triggered / alert_resolved event (ingest path)
//!                                                       │
//!                                                       ▼ tokio::spawn, never awaited
//!                               webhook POSTs with retries ──▶ delivery rows updated
//! ```
//!
//! Every piece of state lives in the database. An open entry survives a restart, so a
//! restarted collector never fires it again, and deliveries still pending at shutdown
//! are resumed by the next start.

mod engine;
pub mod evaluator;
mod rule;
mod signal;
pub mod webhook;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};

pub use engine::{AlertEngine, AlertOptions};
pub use rule::{NewRule, RulePatch};
pub use signal::IngestSignal;

/// Condition that a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Error events divided by all events exceeds the threshold (a ratio from 0 to 1).
    ErrorRateExceeds,
    /// Exact sum of known costs of `cost_tracked` and `llm_response` events exceeds the
    /// threshold in USD. The sum follows the [cost rule](crate::store::cost_rule).
    CostExceeds,
    /// Average of the `durationMs` of `tool_response` events and the `latencyMs` of
    /// `llm_response` events exceeds the threshold in milliseconds.
    LatencyExceeds,
    /// Number of events exceeds the threshold.
    EventCountExceeds,
    /// No events at all arrived in the window; the threshold is not used.
    NoEventsFor,
    /// Number of counted `cost_tracked` and `llm_response` events whose cost is unknown,
    /// because the price table has no price for them, exceeds the threshold.
    UnpricedEventsExceed,
}

impl Condition {
    /// Returns the wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Condition::ErrorRateExceeds => "error_rate_exceeds",
            Condition::CostExceeds => "cost_exceeds",
            Condition::LatencyExceeds => "latency_exceeds",
            Condition::EventCountExceeds => "event_count_exceeds",
            Condition::NoEventsFor => "no_events_for",
            Condition::UnpricedEventsExceed => "unpriced_events_exceed",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Condition> {
        [
            Condition::ErrorRateExceeds,
            Condition::CostExceeds,
            Condition::LatencyExceeds,
            Condition::EventCountExceeds,
            Condition::NoEventsFor,
            Condition::UnpricedEventsExceed,
        ]
        .into_iter()
        .find(|condition| condition.as_str() == name)
    }
}

/// Selection of the events that a rule looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleScope {
    /// Only this agent's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, nullable = false)]
    pub agent_id: Option<String>,
    /// Only events of sessions tagged with at least one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// A decimal written to JSON as a number with exactly its digits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ExactNumber(pub Decimal);

impl Serialize for ExactNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.0.normalize().to_string();
        let raw =
            serde_json::value::RawValue::from_string(text).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl utoipa::PartialSchema for ExactNumber {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        crate::openapi::schemas::exact_decimal().into()
    }
}

impl utoipa::ToSchema for ExactNumber {}

/// A stored alert rule.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertRule {
    /// Rule id (ULID).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Disabled rules are not evaluated.
    pub enabled: bool,
    /// Watched condition.
    pub condition: Condition,
    /// Value the current value must exceed to fire.
    pub threshold: ExactNumber,
    /// Length of the trailing window.
    pub window_minutes: i64,
    /// Events the rule looks at.
    pub scope: RuleScope,
    /// Webhook URLs to notify. The API shows them with any password masked; delivery uses
    /// them as stored. Entries that are not http(s) URLs, saved before the API rejected
    /// them, are skipped.
    #[serde(serialize_with = "webhook::serialize_masked_urls")]
    pub notify_channels: Vec<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Tenant of the rule.
    pub tenant_id: String,
}

/// One firing of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertHistoryEntry {
    /// Entry id (ULID).
    pub id: String,
    /// Rule that fired.
    pub rule_id: String,
    /// When the evaluator saw the value cross the threshold.
    pub triggered_at: String,
    /// When the evaluator saw the value back within the threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
    /// Value that crossed the threshold.
    pub current_value: ExactNumber,
    /// Threshold at the time.
    pub threshold: ExactNumber,
    /// Human-readable description.
    pub message: String,
    /// Tenant of the rule.
    pub tenant_id: String,
    /// Webhook deliveries of the firing and of its resolution, oldest first.
    pub deliveries: Vec<webhook::DeliveryRecord>,
}
