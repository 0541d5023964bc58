//! Webhook notifications of alert transitions.
//!
//! Each raw `http` or `https` URL in a rule's `notifyChannels` gets one JSON POST when the
//! rule fires and one when it resolves, in the shape of upstream's notification router:
//!
//! ```json
//! {"source": "alert_rule", "severity": "warning", "title": "...", "message": "...",
//!  "metadata": {"condition": "cost_exceeds", "currentValue": 0.2, "threshold": 0.1,
//!               "windowMinutes": 60, "scope": {}},
//!  "triggeredAt": "...", "ruleId": "...", "ruleName": "...", "agentId": "..."}
//! ```
//!
//! A resolution adds `resolvedAt` and has `"severity": "info"`, whatever the condition:
//! the rule has stopped firing, so nothing needs attention, and `info` is a severity that
//! receivers of upstream's notifications already handle. The `title` distinguishes a firing
//! from a resolution.
//!
//! A webhook URL may carry credentials (`https://user:password@host/hook`). They are stored
//! and sent as given, but every API response shows the password as `***`, see
//! [`mask_credentials`].
//!
//! The body is built and stored with a pending
//! delivery row in the transaction that records the transition. [`WebhookSender`] then
//! sends it on a spawned task, so neither the evaluator nor ingest ever waits for a
//! receiver. Each attempt has a 10 second timeout, failed attempts are retried after the
//! configured delays (1 s, 5 s and 30 s by default), and the outcome is written back to the
//! delivery row, which `GET /api/alerts/history` shows.
//!
//! The row also keeps the retry schedule: the attempt count is written before each
//! request and the time of the next attempt after each failure. A restarted collector
//! resumes pending rows from there, so it waits out the remaining delay, continues at the
//! next attempt number, and sends no more requests in all than the retry delays allow.
//!
//! With a secret, every attempt carries `X-AgentLens-Timestamp` (RFC 3339) and
//! `X-AgentLens-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
//!
//! Before each attempt the host is resolved, and the request goes to the checked
//! address only, never through a proxy, so a DNS answer that changes between check and
//! connect cannot reach a private network. See [`ssrf`] for the refused ranges.

mod sender;
pub mod ssrf;

use std::borrow::Cow;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

pub use sender::{sign, WebhookSender};

use super::{AlertRule, Condition, ExactNumber, RuleScope};

/// Time limit of one delivery attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits between failed attempts, as in upstream: four attempts in all.
pub const DEFAULT_RETRY_DELAYS: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(30),
];

/// Environment variable holding the signing secret.
pub const SECRET_ENV: &str = "AGENTLENS_WEBHOOK_SECRET";

/// Environment variable that allows private webhook addresses when set to `1` or `true`.
pub const ALLOW_PRIVATE_ENV: &str = "AGENTLENS_ALLOW_PRIVATE_WEBHOOKS";

/// Settings of webhook delivery.
#[derive(Clone)]
pub struct WebhookOptions {
    /// HMAC-SHA256 signing secret; no signature headers without one.
    pub secret: Option<String>,
    /// Sends to private, loopback, link-local, unique-local and unspecified addresses.
    pub allow_private: bool,
    /// Time limit of one attempt.
    pub timeout: Duration,
    /// Waits before the second, third, ... attempt; its length plus one is the number of
    /// attempts.
    pub retry_delays: Vec<Duration>,
}

impl std::fmt::Debug for WebhookOptions {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("WebhookOptions")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("allow_private", &self.allow_private)
            .field("timeout", &self.timeout)
            .field("retry_delays", &self.retry_delays)
            .finish()
    }
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            secret: None,
            allow_private: false,
            timeout: ATTEMPT_TIMEOUT,
            retry_delays: DEFAULT_RETRY_DELAYS.to_vec(),
        }
    }
}

impl WebhookOptions {
    /// Sets the signing secret; an empty secret means no signing.
    pub fn with_secret(mut self, secret: Option<String>) -> Self {
        self.secret = secret.filter(|secret| !secret.is_empty());
        self
    }

    /// Allows or refuses private addresses.
    pub fn with_allow_private(mut self, allow: bool) -> Self {
        self.allow_private = allow;
        self
    }

    /// Sets the waits between attempts.
    pub fn with_retry_delays(mut self, delays: Vec<Duration>) -> Self {
        self.retry_delays = delays;
        self
    }

    /// Sets the time limit of one attempt.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Returns true when a `notifyChannels` entry starts with `http://` or `https://`, in any
/// case.
pub fn is_webhook_url(channel: &str) -> bool {
    let lower = channel.to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Text that replaces the password of a webhook URL in API output.
const MASKED_PASSWORD: &str = "***";

/// Returns `url` with its password replaced by `***` (`http://user:***@host/`), or `url`
/// unchanged when it has no password or does not parse.
pub fn mask_credentials(url: &str) -> Cow<'_, str> {
    let Ok(mut parsed) = Url::parse(url) else {
        return Cow::Borrowed(url);
    };
    if parsed.password().is_none() || parsed.set_password(Some(MASKED_PASSWORD)).is_err() {
        return Cow::Borrowed(url);
    }
    Cow::Owned(parsed.to_string())
}

/// Serializes webhook URLs through [`mask_credentials`].
pub(crate) fn serialize_masked_urls<S: Serializer>(
    urls: &[String],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(urls.iter().map(|url| mask_credentials(url)))
}

/// Serializes one webhook URL through [`mask_credentials`].
fn serialize_masked_url<S: Serializer>(url: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&mask_credentials(url))
}

/// Kind of transition that a delivery reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryKind {
    /// The rule started firing.
    Triggered,
    /// The rule stopped firing.
    Resolved,
}

impl DeliveryKind {
    /// Returns the stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryKind::Triggered => "triggered",
            DeliveryKind::Resolved => "resolved",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<DeliveryKind> {
        match name {
            "triggered" => Some(DeliveryKind::Triggered),
            "resolved" => Some(DeliveryKind::Resolved),
            _ => None,
        }
    }
}

/// Outcome of a delivery so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Attempts are still running or waiting.
    Pending,
    /// A receiver returned a 2xx status.
    Delivered,
    /// Every attempt failed, or the URL was refused.
    Failed,
}

impl DeliveryStatus {
    /// Returns the stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<DeliveryStatus> {
        match name {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One webhook delivery as shown in the alert history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    /// Delivery id (ULID).
    pub id: String,
    /// Transition reported.
    pub event: DeliveryKind,
    /// Receiver URL, shown with any password masked.
    #[serde(serialize_with = "serialize_masked_url")]
    pub url: String,
    /// Outcome so far.
    pub status: DeliveryStatus,
    /// Requests sent so far; 0 when the URL was refused before sending.
    pub attempts: i64,
    /// HTTP status of the last response, if one arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i64>,
    /// Error of the last failed attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When a receiver accepted the delivery.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
}

/// A delivery waiting to be sent: its row id, receiver, stored body and retry schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDelivery {
    /// Delivery id.
    pub id: String,
    /// Receiver URL.
    pub url: String,
    /// JSON body, sent byte for byte on every attempt.
    pub body: String,
    /// Attempts started so far, by this run and by earlier runs of the collector.
    pub attempts: i64,
    /// When the next attempt is due; `None` when it is due at once.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Facts about a transition that the webhook body reports.
#[derive(Debug, Clone)]
pub struct TransitionFacts<'a> {
    /// The rule.
    pub rule: &'a AlertRule,
    /// Transition reported.
    pub kind: DeliveryKind,
    /// Value at the evaluation that fired or resolved.
    pub current_value: Decimal,
    /// Message of the history entry or of the resolution.
    pub message: &'a str,
    /// When the rule fired.
    pub triggered_at: &'a str,
    /// When the rule resolved, for a resolution.
    pub resolved_at: Option<&'a str>,
}

/// Returns the severity upstream's router gives a firing of a condition.
pub fn severity(condition: Condition) -> &'static str {
    match condition {
        Condition::ErrorRateExceeds => "critical",
        Condition::CostExceeds | Condition::NoEventsFor => "warning",
        _ => "info",
    }
}

/// JSON body of a webhook. It is serialized directly, never through `serde_json::Value`,
/// so `currentValue` and `threshold` keep every digit.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookBody<'a> {
    source: &'static str,
    severity: &'static str,
    title: String,
    message: &'a str,
    metadata: WebhookMetadata<'a>,
    triggered_at: &'a str,
    rule_id: &'a str,
    rule_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_at: Option<&'a str>,
}

/// The `metadata` member of a [`WebhookBody`].
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookMetadata<'a> {
    condition: &'static str,
    current_value: ExactNumber,
    threshold: ExactNumber,
    window_minutes: i64,
    scope: &'a RuleScope,
}

/// Builds the JSON body of a webhook.
pub fn body(facts: &TransitionFacts<'_>) -> String {
    let rule = facts.rule;
    let (title, severity) = match facts.kind {
        DeliveryKind::Triggered => (
            format!("Alert triggered: {}", rule.name),
            severity(rule.condition),
        ),
        DeliveryKind::Resolved => (format!("Alert resolved: {}", rule.name), "info"),
    };
    let body = WebhookBody {
        source: "alert_rule",
        severity,
        title,
        message: facts.message,
        metadata: WebhookMetadata {
            condition: rule.condition.as_str(),
            current_value: ExactNumber(facts.current_value),
            threshold: rule.threshold,
            window_minutes: rule.window_minutes,
            scope: &rule.scope,
        },
        triggered_at: facts.triggered_at,
        rule_id: &rule.id,
        rule_name: &rule.name,
        agent_id: rule.scope.agent_id.as_deref(),
        resolved_at: facts.resolved_at,
    };
    // Only `ExactNumber` can fail to serialize, on decimal text that is not a JSON number,
    // and a `Decimal` prints only an optional minus sign, digits and at most one point.
    serde_json::to_string(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_masked() {
        assert_eq!(
            mask_credentials("http://user:pass@example.com/hook"),
            "http://user:***@example.com/hook"
        );
        assert_eq!(
            mask_credentials("https://example.com/hook?x=1"),
            "https://example.com/hook?x=1"
        );
        assert_eq!(
            mask_credentials("https://user@example.com/"),
            "https://user@example.com/"
        );
    }
}
