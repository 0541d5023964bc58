//! Alerts closed by a change to their rule rather than by the evaluator.
//!
//! The evaluator looks at enabled rules only. A rule that was firing when it was disabled
//! or deleted would otherwise keep an open history entry with no `resolvedAt`, and no
//! `alert_resolved` event would follow its `alert_triggered`. So disabling or deleting a
//! rule closes its open entry in the same transaction, and then stores an
//! `alert_resolved` event whose `resolvedBy` names the change. No webhook is sent for it:
//! the rule no longer notifies. Each evaluation first closes the alerts that earlier
//! versions left open on disabled rules.
//!
//! History entries outlive their rule, because the `alert_triggered` and `alert_resolved`
//! events they match stay in the rule's `agentlens-alerts-` session. Migration 21 drops
//! the foreign key from `alert_history.rule_id` to `alert_rules`, which made deleting a
//! rule delete its history.

use std::str::FromStr;

use rusqlite::types::Type;
use rusqlite::{params, Connection, OptionalExtension};
use rust_decimal::Decimal;

use super::alerts::{find_rule, store_alert_event, AlertEventPayload};
use super::check_constraints::{check_schema, write_table_sql};
use super::{now_text, Store, StoreError, WriterContext};
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

/// The open history entry of a rule, once closed.
#[derive(Debug)]
pub(super) struct ClosedEntry {
    id: String,
    /// The value that made the rule fire.
    current_value: Decimal,
}

/// Sets `resolved_at` of the rule's open history entry to `now`, inside the caller's
/// transaction, and returns the entry; `None` when the rule is not firing.
///
/// # Errors
///
/// Returns [`rusqlite::Error`] when a query fails or the stored value is not a decimal.
pub(super) fn close_open_entry(
    conn: &Connection,
    rule_id: &str,
    now: &str,
) -> rusqlite::Result<Option<ClosedEntry>> {
    let open: Option<(String, String)> = conn
        .query_row(
            "SELECT id, current_value FROM alert_history \
             WHERE rule_id = ?1 AND resolved_at IS NULL",
            [rule_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((id, value)) = open else {
        return Ok(None);
    };
    let current_value = Decimal::from_str(&value).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(1, Type::Text, Box::new(error))
    })?;
    conn.execute(
        "UPDATE alert_history SET resolved_at = ?1 WHERE id = ?2",
        params![now, id],
    )?;
    Ok(Some(ClosedEntry { id, current_value }))
}

/// Stores the `alert_resolved` event of an entry that `change` closed, after the
/// transaction that closed it committed.
pub(super) fn record_closed(
    context: &mut WriterContext,
    rule: &AlertRule,
    entry: &ClosedEntry,
    change: RuleChange,
    now: &str,
) {
    let message = format!(
        "{} was {} while firing; its alert is closed",
        rule.name,
        change.past_tense()
    );
    let payload = AlertEventPayload::new(
        rule,
        entry.current_value,
        &message,
        Some(change.resolved_by()),
    );
    store_alert_event(
        context,
        rule,
        "alert_resolved",
        "info",
        &payload,
        now,
        &entry.id,
    );
}

impl Store {
    /// Closes the open alerts of disabled rules, as disabling a rule does, and returns how
    /// many it closed. Versions before this rule left them open, and the evaluator, which
    /// reads enabled rules only, would never close them.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a query or write fails.
    pub async fn close_alerts_of_disabled_rules(&self) -> Result<usize, StoreError> {
        let rules: Vec<(String, String)> = self
            .read(|conn| {
                let mut statement = conn.prepare_cached(DISABLED_AND_OPEN_SQL)?;
                let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await?;
        if rules.is_empty() {
            return Ok(0);
        }
        self.write(move |context| {
            let mut closed = 0;
            for (tenant, id) in rules {
                // The rule may have changed since the read.
                let Some(rule) = find_rule(&context.conn, &tenant, &id)? else {
                    continue;
                };
                if rule.enabled {
                    continue;
                }
                let now = now_text();
                let transaction = context.conn.transaction()?;
                let entry = close_open_entry(&transaction, &rule.id, &now)?;
                transaction.commit()?;
                if let Some(entry) = entry {
                    record_closed(context, &rule, &entry, RuleChange::Disabled, &now);
                    closed += 1;
                }
            }
            Ok(closed)
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
