//! The background task that evaluates enabled alert rules on a fixed interval.
//!
//! Each tick loads the enabled rules of every tenant, computes each rule's value over
//! `[now - windowMinutes, now]` and records the transition with
//! [`Store::record_evaluation`]. The first tick runs one interval after start, and a tick
//! that overruns delays the next one instead of piling up.
//!
//! NOTE: only enabled rules are evaluated, so an entry that is open when its rule is
//! disabled stays unresolved until the rule is enabled again.

use std::time::Duration;

use agentlens_core::event::format_timestamp;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::{AlertRule, Condition};
use crate::store::alerts::{Transition, WindowMetrics};
use crate::store::{Store, StoreError};

/// Default time between evaluations.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Starts the evaluator; it stops when `shutdown` turns true or its sender is dropped.
pub fn spawn(
    store: Store,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let start = tokio::time::Instant::now() + interval;
        let mut ticks = tokio::time::interval_at(start, interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
            if let Err(error) = evaluate_once(&store, Utc::now()).await {
                tracing::error!(%error, "alert evaluation failed");
            }
        }
        tracing::debug!("alert evaluator stopped");
    })
}

/// Evaluates every enabled rule once at time `now` and returns each rule's transition.
///
/// # Errors
///
/// Returns [`StoreError`] when the rules cannot be loaded. A failure on one rule is logged
/// and reported as [`Transition::Unchanged`], so one bad rule does not stop the others.
pub async fn evaluate_once(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<(String, Transition)>, StoreError> {
    let rules = store.list_alert_rules(None).await?;
    let mut transitions = Vec::with_capacity(rules.len());
    for rule in rules {
        let transition = match evaluate_rule(store, &rule, now).await {
            Ok(transition) => transition,
            Err(error) => {
                tracing::error!(%error, alert.rule_id = %rule.id, "alert rule evaluation failed");
                Transition::Unchanged
            }
        };
        match &transition {
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
        transitions.push((rule.id, transition));
    }
    Ok(transitions)
}

async fn evaluate_rule(
    store: &Store,
    rule: &AlertRule,
    now: DateTime<Utc>,
) -> Result<Transition, StoreError> {
    let from = now - chrono::Duration::minutes(rule.window_minutes);
    let metrics = store
        .window_metrics(
            &rule.tenant_id,
            &rule.scope,
            format_timestamp(&from),
            format_timestamp(&now),
        )
        .await?;
    let (value, firing, message) = judge(rule, &metrics)?;
    store.record_evaluation(rule, firing, value, message).await
}

/// Returns the rule's current value, whether it fires, and the message for a firing.
fn judge(rule: &AlertRule, metrics: &WindowMetrics) -> Result<(Decimal, bool, String), StoreError> {
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
            let message = format!(
                "Average tool latency {average}ms exceeds threshold {threshold}ms {window}"
            );
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
    };
    Ok(result)
}
