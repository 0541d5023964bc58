//! Alert rules, alert history and the window metrics the evaluator reads.

use agentlens_core::validate::FieldError;
use rusqlite::{params, OptionalExtension, Row};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};

use super::alert_close::{Closing, RuleChange};
use super::alert_deliveries::{
    deliveries_of, insert_deliveries, stop_firing_notifications, stop_rule_retries, NewDelivery,
};
use super::cost_rule::COUNTED_COST_ROWS;
use super::event_writer::ingest_batch;
use super::filter::SqlFilter;
use super::{now_text, Page, Paging, PicoSum, Store, StoreError, WriterContext};
use crate::alerts::webhook::{self, DeliveryKind, PendingDelivery, TransitionFacts};
use crate::alerts::{
    AlertHistoryEntry, AlertRule, Condition, ExactNumber, NewRule, RulePatch, RuleScope,
};
use crate::ingest::{prepare_batch, PreparedEvent};

/// Prefix of the session ids of the `alert_triggered` and `alert_resolved` events the
/// evaluator stores: each rule has its own session, `agentlens-alerts-<rule id>`, so the
/// session belongs to the rule's agent and never mixes with a session a client named.
pub const ALERT_SESSION_PREFIX: &str = "agentlens-alerts-";

/// Agent id of those events when the rule has no agent scope.
pub const ALERT_AGENT_ID: &str = "agentlens";

/// SQL condition leaving out alert events, so a rule never counts its own transitions.
const NOT_ALERT_EVENT: &str = "event_type NOT IN ('alert_triggered', 'alert_resolved')";

const RULE_COLUMNS: &str = "id, name, enabled, condition, threshold, window_minutes, scope, \
    notify_channels, created_at, updated_at, tenant_id";

const HISTORY_COLUMNS: &str =
    "id, rule_id, triggered_at, resolved_at, current_value, threshold, message, tenant_id";

/// Outcome of evaluating one rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    /// The rule started firing; a history entry was written.
    Fired(AlertHistoryEntry),
    /// The rule stopped firing; the open entry with this id got its `resolvedAt`.
    Resolved(String),
    /// Nothing changed.
    Unchanged,
}

/// A rule after `PUT /api/alerts/rules/{id}`, with the resolve notifications of the
/// alert that disabling it closed.
#[derive(Debug)]
pub struct UpdatedRule {
    /// The rule as stored.
    pub rule: AlertRule,
    /// Deliveries for [`webhook::WebhookSender::dispatch`].
    pub deliveries: Vec<PendingDelivery>,
}

/// Figures of the events in one rule's window. Alert events are not counted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowMetrics {
    /// All events.
    pub event_count: i64,
    /// Events that count as errors.
    pub error_count: i64,
    /// Exact sum of known costs of the cost rows that the
    /// [cost rule](super::cost_rule) counts.
    pub cost: PicoSum,
    /// Cost rows that the cost rule counts and whose cost is unknown.
    pub unpriced_count: i64,
    /// Average of `tool_response` `durationMs` and `llm_response` `latencyMs`, if any.
    pub average_latency_ms: Option<f64>,
}

/// Result of one evaluation of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The rule's current value.
    pub value: Decimal,
    /// Whether the value is over the threshold.
    pub firing: bool,
    /// Message of a firing.
    pub message: String,
}

fn text_error(
    index: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(error))
}

fn decimal(row: &Row<'_>, index: usize) -> rusqlite::Result<ExactNumber> {
    let text: String = row.get(index)?;
    text.parse::<Decimal>()
        .map(ExactNumber)
        .map_err(|error| text_error(index, error))
}

fn rule_from_row(row: &Row<'_>) -> rusqlite::Result<AlertRule> {
    let condition: String = row.get(3)?;
    let scope: String = row.get(6)?;
    let channels: String = row.get(7)?;
    Ok(AlertRule {
        id: row.get(0)?,
        name: row.get(1)?,
        enabled: row.get(2)?,
        condition: Condition::parse(&condition).ok_or_else(|| {
            text_error(
                3,
                crate::store::StoreError::Corrupt(format!("condition {condition:?}")),
            )
        })?,
        threshold: decimal(row, 4)?,
        window_minutes: row.get(5)?,
        scope: serde_json::from_str(&scope).map_err(|error| text_error(6, error))?,
        notify_channels: serde_json::from_str(&channels).map_err(|error| text_error(7, error))?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
        tenant_id: row.get(10)?,
    })
}

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<AlertHistoryEntry> {
    Ok(AlertHistoryEntry {
        id: row.get(0)?,
        rule_id: row.get(1)?,
        triggered_at: row.get(2)?,
        resolved_at: row.get(3)?,
        current_value: decimal(row, 4)?,
        threshold: decimal(row, 5)?,
        message: row.get(6)?,
        tenant_id: row.get(7)?,
        deliveries: Vec::new(),
    })
}

pub(super) fn find_rule(
    conn: &rusqlite::Connection,
    tenant: &str,
    id: &str,
) -> Result<Option<AlertRule>, StoreError> {
    let sql = format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE tenant_id = ?1 AND id = ?2");
    Ok(conn
        .query_row(&sql, params![tenant, id], rule_from_row)
        .optional()?)
}

fn scope_text(scope: &RuleScope) -> String {
    serde_json::to_string(scope).unwrap_or_else(|_| "{}".to_owned())
}

fn channels_text(channels: &[String]) -> String {
    serde_json::to_string(channels).unwrap_or_else(|_| "[]".to_owned())
}

impl Store {
    /// Stores a new rule.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the insert fails.
    pub async fn insert_alert_rule(
        &self,
        tenant: &str,
        rule: NewRule,
    ) -> Result<AlertRule, StoreError> {
        let tenant = tenant.to_owned();
        self.write(move |context| {
            let now = now_text();
            let stored = AlertRule {
                id: context.next_id(),
                name: rule.name,
                enabled: rule.enabled,
                condition: rule.condition,
                threshold: ExactNumber(rule.threshold),
                window_minutes: rule.window_minutes,
                scope: rule.scope,
                notify_channels: rule.notify_channels,
                created_at: now.clone(),
                updated_at: now,
                tenant_id: tenant,
            };
            let scope = scope_text(&stored.scope);
            let channels = channels_text(&stored.notify_channels);
            context.conn.execute(
                &format!("INSERT INTO alert_rules ({RULE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"),
                params![
                    stored.id, stored.name, stored.enabled, stored.condition.as_str(),
                    stored.threshold.0.normalize().to_string(), stored.window_minutes, scope, channels,
                    stored.created_at, stored.updated_at, stored.tenant_id,
                ],
            )?;
            Ok(stored)
        })
        .await
    }

    /// Returns a tenant's rule, or `None` when it has no rule with that id.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn alert_rule(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<AlertRule>, StoreError> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.read(move |conn| find_rule(conn, &tenant, &id)).await
    }

    /// Applies a partial update to a tenant's rule and bumps its `updatedAt`; returns
    /// `None` when the tenant has no rule with that id. A disabled rule's open alert is
    /// closed ([`super::alert_close`]).
    ///
    /// The inner result contains the field errors of a patch that is invalid only together
    /// with the stored rule (see [`RulePatch::apply_to`]), and the rule then stays
    /// unchanged.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the update fails.
    pub async fn update_alert_rule(
        &self,
        tenant: &str,
        id: &str,
        patch: RulePatch,
    ) -> Result<Option<Result<UpdatedRule, Vec<FieldError>>>, StoreError> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.write(move |context| {
            let Some(mut rule) = find_rule(&context.conn, &tenant, &id)? else {
                return Ok(None);
            };
            if let Err(errors) = patch.apply_to(&mut rule) {
                return Ok(Some(Err(errors)));
            }
            rule.updated_at = now_text();
            let closing = if rule.enabled {
                None
            } else {
                Closing::prepare(context, &rule, RuleChange::Disabled, &rule.updated_at)?
            };
            let transaction = context.conn.transaction()?;
            transaction.execute(
                "UPDATE alert_rules SET name = ?1, enabled = ?2, condition = ?3, threshold = ?4, \
                 window_minutes = ?5, scope = ?6, notify_channels = ?7, updated_at = ?8 \
                 WHERE tenant_id = ?9 AND id = ?10",
                params![
                    rule.name,
                    rule.enabled,
                    rule.condition.as_str(),
                    rule.threshold.0.normalize().to_string(),
                    rule.window_minutes,
                    scope_text(&rule.scope),
                    channels_text(&rule.notify_channels),
                    rule.updated_at,
                    tenant,
                    id,
                ],
            )?;
            if let Some(closing) = &closing {
                closing.write(&transaction, &rule)?;
            }
            transaction.commit()?;
            let deliveries = closing
                .map(|closing| closing.finish(context, &rule))
                .unwrap_or_default();
            Ok(Some(Ok(UpdatedRule { rule, deliveries })))
        })
        .await
    }

    /// Deletes a tenant's rule and closes its open alert in one transaction. Returns the
    /// resolve notifications to send, or `None` when the tenant has no rule with that id.
    /// The rule's history entries and their delivery records stay, as its alert events
    /// do. A delivery that already failed once is not retried
    /// ([`Store::claim_delivery_attempt`]).
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the delete fails.
    pub async fn delete_alert_rule(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<Vec<PendingDelivery>>, StoreError> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.write(move |context| {
            let Some(rule) = find_rule(&context.conn, &tenant, &id)? else {
                return Ok(None);
            };
            let closing = Closing::prepare(context, &rule, RuleChange::Deleted, &now_text())?;
            let transaction = context.conn.transaction()?;
            stop_rule_retries(&transaction, &tenant, &id)?;
            if let Some(closing) = &closing {
                closing.write(&transaction, &rule)?;
            }
            transaction.execute(
                "DELETE FROM alert_rules WHERE tenant_id = ?1 AND id = ?2",
                params![tenant, id],
            )?;
            transaction.commit()?;
            let deliveries = closing
                .map(|closing| closing.finish(context, &rule))
                .unwrap_or_default();
            Ok(Some(deliveries))
        })
        .await
    }

    /// Lists a tenant's rules, oldest first; with `None`, lists the enabled rules of all
    /// tenants.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn list_alert_rules(
        &self,
        tenant: Option<&str>,
    ) -> Result<Vec<AlertRule>, StoreError> {
        let tenant = tenant.map(str::to_owned);
        self.read(move |conn| {
            let condition = match tenant {
                Some(_) => "tenant_id = ?1",
                None => "enabled = 1 AND ?1 IS NULL",
            };
            let sql =
                format!("SELECT {RULE_COLUMNS} FROM alert_rules WHERE {condition} ORDER BY id");
            let mut statement = conn.prepare(&sql)?;
            let rows = statement.query_map([tenant], rule_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Lists history entries, newest first.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn list_alert_history(
        &self,
        tenant: &str,
        rule_id: Option<String>,
        paging: Paging,
    ) -> Result<Page<AlertHistoryEntry>, StoreError> {
        let mut filter = SqlFilter::for_tenant(tenant);
        filter.eq("rule_id", rule_id.as_deref());
        self.read(move |conn| {
            let where_sql = filter.where_sql();
            let count_sql = format!("SELECT COUNT(*) FROM alert_history {where_sql}");
            let total: i64 = conn.query_row(
                &count_sql,
                rusqlite::params_from_iter(filter.params()),
                |row| row.get(0),
            )?;
            let sql = format!(
                "SELECT {HISTORY_COLUMNS} FROM alert_history {where_sql} \
                 ORDER BY triggered_at DESC, id DESC LIMIT ? OFFSET ?"
            );
            let mut statement = conn.prepare(&sql)?;
            let params = filter.params_with(&[paging.limit, paging.offset]);
            let rows = statement.query_map(rusqlite::params_from_iter(params), entry_from_row)?;
            let mut items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            let ids: Vec<String> = items.iter().map(|entry| entry.id.clone()).collect();
            let mut deliveries = deliveries_of(conn, &ids)?;
            for entry in &mut items {
                entry.deliveries = deliveries.remove(&entry.id).unwrap_or_default();
            }
            Ok(Page::new(items, paging.offset, total))
        })
        .await
    }

    /// Computes the figures of the events of `scope` with timestamps in `(from, to]`,
    /// leaving out alert events.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn window_metrics(
        &self,
        tenant: &str,
        scope: &RuleScope,
        from: String,
        to: String,
    ) -> Result<WindowMetrics, StoreError> {
        let mut filter = SqlFilter::for_tenant(tenant);
        filter.push("timestamp > ?", [from.into()]);
        filter.at_most("timestamp", Some(&to));
        filter.push(NOT_ALERT_EVENT, []);
        filter.eq("agent_id", scope.agent_id.as_deref());
        if !scope.tags.is_empty() {
            let placeholders = vec!["?"; scope.tags.len()].join(", ");
            let clause = format!(
                "session_id IN (SELECT s.id FROM sessions s, json_each(s.tags) t \
                 WHERE s.tenant_id = ? AND t.value IN ({placeholders}))"
            );
            let params = std::iter::once(tenant.to_owned().into())
                .chain(scope.tags.iter().map(|t| t.clone().into()));
            filter.push(&clause, params.collect::<Vec<_>>());
        }

        self.read(move |conn| {
            let sql = format!(
                "SELECT COUNT(*), COALESCE(SUM(is_error), 0), \
                 COALESCE(SUM(CASE WHEN {COUNTED_COST_ROWS} THEN cost_pico / 1000000 END), 0), \
                 COALESCE(SUM(CASE WHEN {COUNTED_COST_ROWS} THEN cost_pico % 1000000 END), 0), \
                 AVG(CASE WHEN event_type = 'tool_response' \
                       THEN json_extract(payload, '$.durationMs') \
                     WHEN event_type = 'llm_response' \
                       THEN json_extract(payload, '$.latencyMs') END), \
                 COALESCE(SUM({COUNTED_COST_ROWS} AND cost_pico IS NULL), 0) \
                 FROM events {}",
                filter.where_sql()
            );
            Ok(
                conn.query_row(&sql, rusqlite::params_from_iter(filter.params()), |row| {
                    Ok(WindowMetrics {
                        event_count: row.get(0)?,
                        error_count: row.get(1)?,
                        cost: PicoSum::from_row(row, 2)?,
                        average_latency_ms: row.get(4)?,
                        unpriced_count: row.get(5)?,
                    })
                })?,
            )
        })
        .await
    }

    /// Records the result of evaluating a rule at `now`: opens an entry when it starts
    /// firing and resolves the open entry when it stops.
    ///
    /// A transition is written in one writer job: the history change and a pending
    /// delivery row per webhook URL in one transaction, then an `alert_triggered` or
    /// `alert_resolved` event through the ingest path, so it joins the `alerts` session's
    /// hash chain. The returned deliveries are for [`webhook::WebhookSender::dispatch`].
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a write fails.
    pub async fn record_evaluation(
        &self,
        rule: &AlertRule,
        judgement: Judgement,
        now: String,
    ) -> Result<(Transition, Vec<PendingDelivery>), StoreError> {
        let rule = rule.clone();
        self.write(move |context| {
            // The rule may have been disabled or deleted since the evaluator read it.
            let enabled: Option<bool> = context
                .conn
                .query_row(
                    "SELECT enabled FROM alert_rules WHERE tenant_id = ?1 AND id = ?2",
                    params![rule.tenant_id, rule.id],
                    |row| row.get(0),
                )
                .optional()?;
            if enabled != Some(true) {
                return Ok((Transition::Unchanged, Vec::new()));
            }
            let open: Option<(String, String)> = context
                .conn
                .query_row(
                    "SELECT id, triggered_at FROM alert_history \
                     WHERE rule_id = ?1 AND resolved_at IS NULL",
                    [&rule.id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            match (judgement.firing, open) {
                (true, None) => fire(context, &rule, judgement, now),
                (false, Some((id, triggered_at))) => {
                    resolve(context, &rule, judgement, now, id, triggered_at)
                }
                _ => Ok((Transition::Unchanged, Vec::new())),
            }
        })
        .await
    }
}

/// Mints one delivery per webhook URL of the rule, with its body.
pub(super) fn new_deliveries(
    context: &mut WriterContext,
    facts: &TransitionFacts<'_>,
) -> Vec<NewDelivery> {
    let urls = facts.rule.notify_channels.iter();
    let body = webhook::body(facts);
    urls.filter(|channel| webhook::is_webhook_url(channel))
        .map(|url| NewDelivery {
            id: context.next_id(),
            kind: facts.kind,
            url: url.clone(),
            body: body.clone(),
        })
        .collect()
}

pub(super) fn pending(deliveries: Vec<NewDelivery>) -> Vec<PendingDelivery> {
    deliveries
        .into_iter()
        .map(|delivery| PendingDelivery {
            id: delivery.id,
            url: delivery.url,
            body: delivery.body,
            attempts: 0,
            next_attempt_at: None,
        })
        .collect()
}

fn fire(
    context: &mut WriterContext,
    rule: &AlertRule,
    judgement: Judgement,
    now: String,
) -> Result<(Transition, Vec<PendingDelivery>), StoreError> {
    let entry = AlertHistoryEntry {
        id: context.next_id(),
        rule_id: rule.id.clone(),
        triggered_at: now.clone(),
        resolved_at: None,
        current_value: ExactNumber(judgement.value),
        threshold: rule.threshold,
        message: judgement.message,
        tenant_id: rule.tenant_id.clone(),
        deliveries: Vec::new(),
    };
    let facts = TransitionFacts {
        rule,
        kind: DeliveryKind::Triggered,
        current_value: judgement.value,
        message: &entry.message,
        triggered_at: &entry.triggered_at,
        resolved_at: None,
    };
    let deliveries = new_deliveries(context, &facts);

    let transaction = context.conn.transaction()?;
    transaction.execute(
        &format!(
            "INSERT INTO alert_history ({HISTORY_COLUMNS}) \
             VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, ?7)"
        ),
        params![
            entry.id,
            entry.rule_id,
            entry.triggered_at,
            entry.current_value.0.normalize().to_string(),
            entry.threshold.0.normalize().to_string(),
            entry.message,
            entry.tenant_id,
        ],
    )?;
    insert_deliveries(&transaction, &rule.tenant_id, &entry.id, &deliveries, &now)?;
    transaction.commit()?;

    let payload = AlertEventPayload::new(rule, judgement.value, &entry.message, None);
    store_alert_event(
        context,
        rule,
        "alert_triggered",
        "warn",
        &payload,
        &now,
        &entry.id,
    );
    Ok((Transition::Fired(entry), pending(deliveries)))
}

fn resolve(
    context: &mut WriterContext,
    rule: &AlertRule,
    judgement: Judgement,
    now: String,
    id: String,
    triggered_at: String,
) -> Result<(Transition, Vec<PendingDelivery>), StoreError> {
    let message = format!(
        "{} is back within threshold {}: current value {}",
        rule.condition.as_str(),
        rule.threshold.0.normalize(),
        judgement.value.normalize()
    );
    let facts = TransitionFacts {
        rule,
        kind: DeliveryKind::Resolved,
        current_value: judgement.value,
        message: &message,
        triggered_at: &triggered_at,
        resolved_at: Some(&now),
    };
    let deliveries = new_deliveries(context, &facts);

    let transaction = context.conn.transaction()?;
    transaction.execute(
        "UPDATE alert_history SET resolved_at = ?1 WHERE id = ?2",
        params![now, id],
    )?;
    stop_firing_notifications(&transaction, &id)?;
    insert_deliveries(&transaction, &rule.tenant_id, &id, &deliveries, &now)?;
    transaction.commit()?;

    let payload = AlertEventPayload::new(rule, judgement.value, &message, Some("evaluator"));
    store_alert_event(context, rule, "alert_resolved", "info", &payload, &now, &id);
    Ok((Transition::Resolved(id), pending(deliveries)))
}

/// Payload of an `alert_triggered` or `alert_resolved` event.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AlertEventPayload<'a> {
    alert_rule_id: &'a str,
    alert_name: &'a str,
    condition: &'static str,
    current_value: ExactNumber,
    threshold: ExactNumber,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_by: Option<&'static str>,
}

impl<'a> AlertEventPayload<'a> {
    /// Creates the payload of a transition of `rule` at `current_value`.
    pub(super) fn new(
        rule: &'a AlertRule,
        current_value: Decimal,
        message: &'a str,
        resolved_by: Option<&'static str>,
    ) -> Self {
        AlertEventPayload {
            alert_rule_id: &rule.id,
            alert_name: &rule.name,
            condition: rule.condition.as_str(),
            current_value: ExactNumber(current_value),
            threshold: rule.threshold,
            message,
            resolved_by,
        }
    }
}

/// Stores an alert event through the ingest path.
///
/// It runs after the history transaction committed, in the same writer job, so no other
/// write comes between them. A failure is logged: the history entry is the record that
/// keeps the alert from firing twice, and it is already stored.
pub(super) fn store_alert_event(
    context: &mut WriterContext,
    rule: &AlertRule,
    event_type: &str,
    severity: &str,
    payload: &AlertEventPayload<'_>,
    now: &str,
    history_id: &str,
) {
    let stored = prepare_alert_event(rule, event_type, severity, payload, now, history_id)
        .and_then(|prepared| {
            ingest_batch(context, &rule.tenant_id, &prepared).map_err(|error| error.to_string())
        });
    if let Err(error) = stored {
        tracing::error!(
            alert.rule_id = %rule.id,
            alert.entry_id = %history_id,
            %error,
            "cannot store the alert event"
        );
    }
}

/// Validates and prepares an alert event as `POST /api/events` would. The stored payload
/// keeps every digit of `currentValue` and `threshold`, which a `serde_json::Value` would
/// round to an `f64` (see [`PreparedEvent::keep_exact_payload`]).
fn prepare_alert_event(
    rule: &AlertRule,
    event_type: &str,
    severity: &str,
    payload: &AlertEventPayload<'_>,
    now: &str,
    history_id: &str,
) -> Result<Vec<PreparedEvent>, String> {
    let exact_payload = serde_json::to_string(payload).map_err(|error| error.to_string())?;
    let parsed: Value = serde_json::from_str(&exact_payload).map_err(|error| error.to_string())?;
    let agent_id = rule.scope.agent_id.as_deref().unwrap_or(ALERT_AGENT_ID);
    let event = json!({
        "sessionId": format!("{ALERT_SESSION_PREFIX}{}", rule.id),
        "agentId": agent_id,
        "eventType": event_type,
        "severity": severity,
        "timestamp": now,
        "payload": parsed,
        "metadata": {"alertHistoryId": history_id},
    });

    // Alert events carry no cost, so the embedded table is never consulted for them.
    let prices = agentlens_core::pricing::PriceTable::embedded();
    let mut prepared = prepare_batch(&json!({ "events": [event] }), chrono::Utc::now(), prices)
        .map_err(|error| format!("{error:?}"))?;
    for event in &mut prepared {
        event.keep_exact_payload(exact_payload.clone());
    }
    Ok(prepared)
}
