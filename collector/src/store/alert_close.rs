//! Alerts closed by a change to their rule rather than by the evaluator.
//!
//! The evaluator looks at enabled rules only. A rule that was firing when it was disabled
//! or deleted would otherwise keep an open history entry with no `resolvedAt`, and no
//! `alert_resolved` event would follow its `alert_triggered`. So disabling or deleting a
//! rule closes its open entry in the same transaction. It then stores an `alert_resolved`
//! event whose `resolvedBy` names the change. It also posts the resolve notification to
//! the rule's webhooks, so a receiver that got the firing learns that the alert closed.
//! Each evaluation first closes the alerts that earlier versions left open on disabled
//! rules.
//!
//! History entries outlive their rule, because the `alert_triggered` and `alert_resolved`
//! events they match stay in the rule's `agentlens-alerts-` session. Migration 21 drops
//! the foreign key from `alert_history.rule_id` to `alert_rules`, which made deleting a
//! rule delete its history.

use std::str::FromStr;

use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;

use super::alert_deliveries::{insert_deliveries, stop_firing_notifications, NewDelivery};
use super::alerts::{find_rule, new_deliveries, pending, store_alert_event, AlertEventPayload};
use super::check_constraints::{check_schema, write_table_sql};
use super::{now_text, Store, StoreError, WriterContext};
use crate::alerts::webhook::{DeliveryKind, PendingDelivery, TransitionFacts};
use crate::alerts::AlertRule;

/// Tenant and id of each disabled rule with an open alert.
const DISABLED_AND_OPEN_SQL: &str = "SELECT r.tenant_id, r.id FROM alert_history AS h \
    JOIN alert_rules AS r ON r.id = h.rule_id AND r.tenant_id = h.tenant_id \
    WHERE h.resolved_at IS NULL AND NOT r.enabled";

/// The reference that migration 1 declared on `alert_history.rule_id`.
const RULE_REFERENCE: &str = "rule_id TEXT NOT NULL REFERENCES alert_rules (id)";

/// The same column without it.
const RULE_COLUMN: &str = "rule_id TEXT NOT NULL";

/// A change to a rule that closes its open alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RuleChange {
    /// `PUT /api/alerts/rules/{id}` with `enabled: false`.
    Disabled,
    /// `DELETE /api/alerts/rules/{id}`.
    Deleted,
}

impl RuleChange {
    /// Returns the `resolvedBy` value of the `alert_resolved` event.
    fn resolved_by(self) -> &'static str {
        match self {
            RuleChange::Disabled => "rule_disabled",
            RuleChange::Deleted => "rule_deleted",
        }
    }

    fn past_tense(self) -> &'static str {
        match self {
            RuleChange::Disabled => "disabled",
            RuleChange::Deleted => "deleted",
        }
    }
}

/// The closing of a rule's open alert, prepared before the transaction that writes it.
#[derive(Debug)]
pub(super) struct Closing {
    /// Id of the open history entry.
    id: String,
    /// The value that made the rule fire.
    current_value: Decimal,
    change: RuleChange,
    message: String,
    /// Time of the closing: the entry's `resolved_at` and the event's timestamp.
    now: String,
    /// The resolve notifications, one per webhook URL of the rule.
    deliveries: Vec<NewDelivery>,
}

impl Closing {
    /// Reads the rule's open history entry and mints its resolve notifications; `None`
    /// when the rule is not firing. Call it on the writer before the transaction that
    /// changes the rule, and [`Closing::write`] inside it.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails or the stored value is not a decimal.
    pub(super) fn prepare(
        context: &mut WriterContext,
        rule: &AlertRule,
        change: RuleChange,
        now: &str,
    ) -> Result<Option<Closing>, StoreError> {
        let open: Option<(String, String, String)> = context
            .conn
            .query_row(
                "SELECT id, triggered_at, current_value FROM alert_history \
                 WHERE rule_id = ?1 AND resolved_at IS NULL",
                [&rule.id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let Some((id, triggered_at, value)) = open else {
            return Ok(None);
        };
        let current_value = Decimal::from_str(&value).map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(2, Type::Text, Box::new(error))
        })?;
        let message = format!(
            "{} was {} while firing; its alert is closed",
            rule.name,
            change.past_tense()
        );
        let facts = TransitionFacts {
            rule,
            kind: DeliveryKind::Resolved,
            current_value,
            message: &message,
            triggered_at: &triggered_at,
            resolved_at: Some(now),
        };
        let deliveries = new_deliveries(context, &facts);
        Ok(Some(Closing {
            id,
            current_value,
            change,
            message,
            now: now.to_owned(),
            deliveries,
        }))
    }

    /// Sets the entry's `resolved_at` and stores its deliveries, inside the transaction
    /// that changes the rule.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a write fails.
    pub(super) fn write(&self, conn: &Connection, rule: &AlertRule) -> Result<(), StoreError> {
        conn.execute(
            "UPDATE alert_history SET resolved_at = ?1 WHERE id = ?2",
            params![self.now, self.id],
        )?;
        stop_firing_notifications(conn, &self.id)?;
        insert_deliveries(conn, &rule.tenant_id, &self.id, &self.deliveries, &self.now)
    }

    /// Stores the `alert_resolved` event after the transaction committed, and returns the
    /// deliveries for [`crate::alerts::webhook::WebhookSender::dispatch`].
    pub(super) fn finish(
        self,
        context: &mut WriterContext,
        rule: &AlertRule,
    ) -> Vec<PendingDelivery> {
        let payload = AlertEventPayload::new(
            rule,
            self.current_value,
            &self.message,
            Some(self.change.resolved_by()),
        );
        store_alert_event(
            context,
            rule,
            "alert_resolved",
            "info",
            &payload,
            &self.now,
            &self.id,
        );
        pending(self.deliveries)
    }
}

impl Store {
    /// Closes the open alerts of disabled rules, as disabling a rule does, and returns the
    /// resolve notifications to send. Versions before this rule left them open, and the
    /// evaluator, which reads enabled rules only, would never close them.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a query or write fails.
    pub async fn close_alerts_of_disabled_rules(&self) -> Result<Vec<PendingDelivery>, StoreError> {
        let rules: Vec<(String, String)> = self
            .read(|conn| {
                let mut statement = conn.prepare_cached(DISABLED_AND_OPEN_SQL)?;
                let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await?;
        if rules.is_empty() {
            return Ok(Vec::new());
        }
        self.write(move |context| {
            let mut deliveries = Vec::new();
            for (tenant, id) in rules {
                // The rule may have changed since the read.
                let Some(rule) = find_rule(&context.conn, &tenant, &id)? else {
                    continue;
                };
                if rule.enabled {
                    continue;
                }
                let Some(closing) =
                    Closing::prepare(context, &rule, RuleChange::Disabled, &now_text())?
                else {
                    continue;
                };
                let transaction = context.conn.transaction()?;
                closing.write(&transaction, &rule)?;
                transaction.commit()?;
                tracing::info!(alert.rule_id = %rule.id, "closed the alert of a disabled rule");
                deliveries.extend(closing.finish(context, &rule));
            }
            Ok(deliveries)
        })
        .await
    }
}

/// Drops the foreign key of `alert_history.rule_id`, so that history entries stay when
/// their rule is deleted. Migration 21 runs it. The key changes no stored row or page,
/// so the step edits the stored CREATE TABLE text, as migration 14 does, and takes no
/// time on a file of any size. A definition without the reference is left unchanged.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when SQLite refuses `writable_schema`, an update fails, or
/// the edited schema cannot be parsed.
pub(crate) fn drop_history_rule_reference(conn: &Connection) -> rusqlite::Result<()> {
    let sql: String = conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'alert_history'",
        [],
        |row| row.get(0),
    )?;
    if !sql.contains(RULE_REFERENCE) {
        tracing::warn!("alert_history.rule_id has no foreign key, table left unchanged");
        return Ok(());
    }
    write_table_sql(
        conn,
        "alert_history",
        &sql.replacen(RULE_REFERENCE, RULE_COLUMN, 1),
    )?;
    check_schema(conn)
}
