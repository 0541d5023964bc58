//! The alert engine: when to evaluate, and who hears about transitions.
//!
//! The engine evaluates rules on two occasions. A periodic tick evaluates every enabled
//! rule, which time-based conditions such as `no_events_for` need, and resolves rules
//! whose window moved past their events. After each committed ingest, the
//! [`IngestSignal`] wakes the engine, which evaluates the rules of the tenants that
//! ingested. Those wake-ups are debounced: at most one ingest-driven evaluation runs per
//! [`AlertOptions::debounce`], so a cost or count rule is re-checked well within a second
//! of the ingest that crosses it, however fast batches arrive.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::evaluator::evaluate_rules;
use super::webhook::{PendingDelivery, WebhookOptions, WebhookSender};
use super::IngestSignal;
use crate::store::alerts::Transition;
use crate::store::{Store, StoreError};

/// Default minimum time between two ingest-driven evaluations.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(250);

/// Settings of the alert engine.
#[derive(Debug, Clone)]
pub struct AlertOptions {
    /// Webhook delivery settings.
    pub webhooks: WebhookOptions,
    /// Minimum time between two ingest-driven evaluations.
    pub debounce: Duration,
}

impl Default for AlertOptions {
    fn default() -> Self {
        AlertOptions {
            webhooks: WebhookOptions::default(),
            debounce: DEFAULT_DEBOUNCE,
        }
    }
}

impl AlertOptions {
    /// Sets the webhook delivery settings.
    pub fn with_webhooks(mut self, webhooks: WebhookOptions) -> Self {
        self.webhooks = webhooks;
        self
    }
}

/// Evaluates alert rules and sends their webhooks. Cloning shares the engine.
#[derive(Debug, Clone)]
pub struct AlertEngine {
    store: Store,
    signal: Arc<IngestSignal>,
    sender: WebhookSender,
    debounce: Duration,
}

impl AlertEngine {
    /// Creates an engine over `store`.
    pub fn new(store: Store, options: AlertOptions) -> AlertEngine {
        AlertEngine {
            sender: WebhookSender::new(store.clone(), options.webhooks),
            store,
            signal: Arc::new(IngestSignal::default()),
            debounce: options.debounce,
        }
    }

    /// Tells the engine that `tenant` committed events; returns at once.
    pub fn ingested(&self, tenant: &str) {
        self.signal.ingested(tenant);
    }

    /// Returns the webhook settings.
    pub fn webhook_options(&self) -> &WebhookOptions {
        self.sender.options()
    }

    /// Evaluates every enabled rule at `now` and starts the webhook deliveries of the
    /// transitions; returns each rule's transition.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the rules cannot be loaded.
    pub async fn evaluate_at(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, Transition)>, StoreError> {
        self.evaluate(now, None).await
    }

    async fn evaluate(
        &self,
        now: DateTime<Utc>,
        tenants: Option<&HashSet<String>>,
    ) -> Result<Vec<(String, Transition)>, StoreError> {
        match self.store.close_alerts_of_disabled_rules().await {
            Ok(deliveries) => self.sender.dispatch(deliveries),
            Err(error) => tracing::error!(%error, "cannot close alerts of disabled rules"),
        }
        let mut rules = self.store.list_alert_rules(None).await?;
        if let Some(tenants) = tenants {
            rules.retain(|rule| tenants.contains(&rule.tenant_id));
        }
        let (transitions, deliveries) = evaluate_rules(&self.store, rules, now).await;
        self.sender.dispatch(deliveries);
        Ok(transitions)
    }

    /// Starts sending `deliveries`, such as the resolve notifications of an alert that a
    /// change to its rule closed.
    pub fn dispatch(&self, deliveries: Vec<PendingDelivery>) {
        self.sender.dispatch(deliveries);
    }

    /// Starts the evaluation loop; it stops when `shutdown` turns true or its sender is
    /// dropped. The first periodic run is one interval after start. Deliveries that a
    /// previous run left pending are resumed first.
    pub fn spawn(&self, interval: Duration, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            if let Err(error) = engine.sender.resume_pending().await {
                tracing::error!(%error, "cannot resume pending webhook deliveries");
            }
            let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            let mut last_ingest_run = Instant::now() - engine.debounce;
            loop {
                let woken_by_ingest = tokio::select! {
                    _ = ticks.tick() => false,
                    () = engine.signal.notified() => true,
                    _ = shutdown.wait_for(|stop| *stop) => break,
                };
                if !woken_by_ingest {
                    engine.run(None).await;
                    continue;
                }
                tokio::time::sleep_until(last_ingest_run + engine.debounce).await;
                last_ingest_run = Instant::now();
                let tenants = engine.signal.take();
                if !tenants.is_empty() {
                    engine.run(Some(&tenants)).await;
                }
            }
            tracing::debug!("alert evaluator stopped");
        })
    }

    async fn run(&self, tenants: Option<&HashSet<String>>) {
        if let Err(error) = self.evaluate(Utc::now(), tenants).await {
            tracing::error!(%error, "alert evaluation failed");
        }
    }
}
