//! Evaluation of alert rules at a given time.
//!
//! [`evaluate_rules`] computes each rule's value over the trailing window
//! `(now - windowMinutes, now]` and records the transition with
//! [`Store::record_evaluation`]. An event exactly `windowMinutes` old is outside the
//! window, and an event stamped `now` is inside. The caller passes `now`, so tests drive
//! the clock instead of sleeping.
//!
//! NOTE: only enabled rules are evaluated, so an entry that is open when its rule is
//! disabled stays unresolved until the rule is enabled again.

use agentlens_core::event::format_timestamp;
use agentlens_core::validate::MAX_FUTURE_SKEW;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::webhook::PendingDelivery;
use super::{AlertRule, Condition};
use crate::store::alerts::{Judgement, Transition, WindowMetrics};
use crate::store::{Store, StoreError};

/// Evaluates `rules` at time `now` and returns each rule's transition, with the webhook
/// deliveries the transitions created.
///
/// A failure on one rule is logged and reported as [`Transition::Unchanged`], so one bad
/// rule does not stop the others.
pub async fn evaluate_rules(
    store: &Store,
    rules: Vec<AlertRule>,
    now: DateTime<Utc>,
) -> (Vec<(String, Transition)>, Vec<PendingDelivery>) {
    let mut transitions = Vec::with_capacity(rules.len());
    let mut deliveries = Vec::new();
    for rule in rules {
        let transition = match evaluate_rule(store, &rule, now).await {
            Ok((transition, mut created)) => {
                deliveries.append(&mut created);
                transition
            }
            Err(error) => {
                tracing::error!(%error, alert.rule_id = %rule.id, "alert rule evaluation failed");
                Transition::Unchanged
            }
        };
        log_transition(&rule, &transition);
        transitions.push((rule.id, transition));
    }
    (transitions, deliveries)
}

fn log_transition(rule: &AlertRule, transition: &Transition) {
    match transition {
        Transition::Fired(entry) => tracing::warn!(
            alert.rule_id = %rule.id,
            alert.entry_id = %entry.id,
            message = %entry.message,
            "alert fired"
        ),
        Transition::Resolved(id) => {
            tracing::info!(alert.rule_id = %rule.id, alert.entry_id = %id, "alert resolved")
        }
        Transition::Unchanged => {}
    }
}

async fn evaluate_rule(
    store: &Store,
    rule: &AlertRule,
    now: DateTime<Utc>,
) -> Result<(Transition, Vec<PendingDelivery>), StoreError> {
    let metrics = window_metrics(store, rule, now).await?;
    let judgement = judge(rule, &metrics)?;
    store
        .record_evaluation(rule, judgement, format_timestamp(&now))
        .await
}

/// Computes the figures of the rule's window ending at `now`.
///
/// The window also takes the stored events stamped after `now`, which ingest accepts up to
/// [`MAX_FUTURE_SKEW`] ahead. An agent whose clock runs fast would otherwise spend past a
/// budget unseen until its timestamps enter the window. Such an event counts from its
/// arrival until its timestamp leaves the window.
///
/// # Errors
///
/// Returns [`StoreError`] when the query fails.
pub async fn window_metrics(
    store: &Store,
    rule: &AlertRule,
    now: DateTime<Utc>,
) -> Result<WindowMetrics, StoreError> {
    let from = now - chrono::Duration::minutes(rule.window_minutes);
    let to = now + MAX_FUTURE_SKEW;
    store
        .window_metrics(
            &rule.tenant_id,
            &rule.scope,
            format_timestamp(&from),
            format_timestamp(&to),
        )
        .await
}

/// Returns the rule's current value, whether it fires, and the message for a firing.
///
/// # Errors
///
/// Returns [`StoreError::SumOutOfRange`] when the cost sum does not fit a decimal.
pub fn judge(rule: &AlertRule, metrics: &WindowMetrics) -> Result<Judgement, StoreError> {
    let threshold = rule.threshold.0;
    let window = format!("in the last {}m", rule.window_minutes);
    let result = match rule.condition {
        Condition::CostExceeds => {
            let cost = metrics.cost.to_usd()?.as_decimal();
            let message = format!("Cost ${cost} exceeds threshold ${threshold} {window}");
            (cost, cost > threshold, message)
        }
        Condition::EventCountExceeds => {
            let count = Decimal::from(metrics.event_count);
            let message = format!("Event count {count} exceeds threshold {threshold} {window}");
            (count, count > threshold, message)
        }
        Condition::ErrorRateExceeds => {
            let rate = if metrics.event_count == 0 {
                Decimal::ZERO
            } else {
                Decimal::from(metrics.error_count) / Decimal::from(metrics.event_count)
            };
            let percent = |ratio: Decimal| (ratio * Decimal::ONE_HUNDRED).round_dp(1);
            let message = format!(
                "Error rate {}% exceeds threshold {}% {window}",
                percent(rate),
                percent(threshold)
            );
            (rate.round_dp(6), rate > threshold, message)
        }
        Condition::LatencyExceeds => {
            // Latency is a measurement, not money, so the f64 average is fine here.
            let average = metrics
                .average_latency_ms
                .and_then(|ms| Decimal::try_from(ms).ok())
                .unwrap_or(Decimal::ZERO)
                .round_dp(3);
            let message =
                format!("Average latency {average}ms exceeds threshold {threshold}ms {window}");
            (average, average > threshold, message)
        }
        Condition::NoEventsFor => {
            let count = Decimal::from(metrics.event_count);
            (
                count,
                metrics.event_count == 0,
                format!("No events received {window}"),
            )
        }
        Condition::UnpricedEventsExceed => {
            let count = Decimal::from(metrics.unpriced_count);
            let message =
                format!("Unpriced cost events {count} exceed threshold {threshold} {window}");
            (count, count > threshold, message)
        }
    };
    let (value, firing, message) = result;
    Ok(Judgement {
        value,
        firing,
        message,
    })
}
