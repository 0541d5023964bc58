//! Webhook delivery rows of alert transitions.

use std::collections::HashMap;

use chrono::DateTime;
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{Store, StoreError};
use crate::alerts::webhook::{DeliveryKind, DeliveryRecord, DeliveryStatus, PendingDelivery};

/// The outcome of a delivery after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryUpdate {
    /// Outcome so far.
    pub status: DeliveryStatus,
    /// Requests sent so far.
    pub attempts: i64,
    /// HTTP status of the last response.
    pub last_status: Option<i64>,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// When a receiver accepted the delivery.
    pub delivered_at: Option<String>,
    /// When the next attempt is due, while the delivery is pending.
    pub next_attempt_at: Option<String>,
}

/// A delivery row to insert with a transition.
#[derive(Debug, Clone)]
pub(crate) struct NewDelivery {
    /// Delivery id.
    pub(crate) id: String,
    /// Transition reported.
    pub(crate) kind: DeliveryKind,
    /// Receiver URL.
    pub(crate) url: String,
    /// JSON body.
    pub(crate) body: String,
}

/// `last_error` of a delivery whose retries stopped because its rule was deleted.
const RULE_DELETED: &str = "retries stopped: the alert rule was deleted";

/// `last_error` of a firing notification whose retries stopped because its alert resolved.
const ALERT_RESOLVED: &str =
    "retries stopped: the alert resolved before this notification got through";

/// `last_error` of a firing notification not sent at all because its alert resolved first.
const ALERT_RESOLVED_UNSENT: &str =
    "not sent: the alert resolved before this notification's first attempt";

/// The `SET` list that fails a delivery with the reason `?2`, keeping the error of its
/// last attempt after it.
const STOP_SET: &str = "status = 'failed', next_attempt_at = NULL, \
    last_error = ?2 || COALESCE('; last attempt: ' || last_error, '')";

/// Fails the pending firing notifications of the history entry `history_id`, whose alert
/// has just resolved. A firing must not reach a receiver after the resolution of its
/// alert, so this includes the notifications that made no attempt yet.
pub(crate) fn stop_firing_notifications(
    conn: &Connection,
    history_id: &str,
) -> rusqlite::Result<()> {
    let sql = format!(
        "UPDATE alert_deliveries SET {STOP_SET} WHERE history_id = ?1 \
         AND status = 'pending' AND kind = 'triggered' AND attempts > 0"
    );
    conn.execute(&sql, params![history_id, ALERT_RESOLVED])?;
    let sql = format!(
        "UPDATE alert_deliveries SET {STOP_SET} WHERE history_id = ?1 \
         AND status = 'pending' AND kind = 'triggered' AND attempts = 0"
    );
    conn.execute(&sql, params![history_id, ALERT_RESOLVED_UNSENT])?;
    Ok(())
}

/// Fails the pending deliveries of a deleted rule that already made an attempt. A
/// delivery that made none yet still gets its first attempt, because it reports a
/// transition from before the delete.
pub(crate) fn stop_rule_retries(
    conn: &Connection,
    tenant: &str,
    rule_id: &str,
) -> rusqlite::Result<()> {
    let sql = format!(
        "UPDATE alert_deliveries SET {STOP_SET} WHERE status = 'pending' AND attempts > 0 \
         AND history_id IN (SELECT id FROM alert_history WHERE tenant_id = ?1 AND rule_id = ?3)"
    );
    conn.execute(&sql, params![tenant, RULE_DELETED, rule_id])?;
    Ok(())
}

/// Returns why an attempt of the delivery must not be made, if it must not: its rule was
/// deleted, or it reports a firing whose alert has resolved since. The changes that cause
/// this stop the waiting deliveries at once ([`stop_firing_notifications`],
/// [`stop_rule_retries`]). This check covers a delivery resumed after a restart and an
/// attempt that was under way.
fn retry_stop_reason(
    conn: &Connection,
    delivery_id: &str,
    first_attempt: bool,
) -> rusqlite::Result<Option<&'static str>> {
    let (rule_exists, resolved_trigger): (bool, bool) = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM alert_rules AS r \
         WHERE r.id = h.rule_id AND r.tenant_id = h.tenant_id), \
         d.kind = 'triggered' AND h.resolved_at IS NOT NULL \
         FROM alert_deliveries AS d JOIN alert_history AS h ON h.id = d.history_id \
         WHERE d.id = ?1",
        [delivery_id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok(if resolved_trigger && first_attempt {
        Some(ALERT_RESOLVED_UNSENT)
    } else if first_attempt {
        None
    } else if !rule_exists {
        Some(RULE_DELETED)
    } else if resolved_trigger {
        Some(ALERT_RESOLVED)
    } else {
        None
    })
}

/// Inserts pending delivery rows for a history entry.
pub(crate) fn insert_deliveries(
    conn: &Connection,
    tenant: &str,
    history_id: &str,
    deliveries: &[NewDelivery],
    now: &str,
) -> Result<(), StoreError> {
    let mut statement = conn.prepare_cached(
        "INSERT INTO alert_deliveries (id, tenant_id, history_id, kind, url, body, status, \
         attempts, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7)",
    )?;
    for delivery in deliveries {
        statement.execute(params![
            delivery.id,
            tenant,
            history_id,
            delivery.kind.as_str(),
            delivery.url,
            delivery.body,
            now,
        ])?;
    }
    Ok(())
}

/// Returns the delivery records of each of `history_ids`, oldest first.
pub(crate) fn deliveries_of(
    conn: &Connection,
    history_ids: &[String],
) -> Result<HashMap<String, Vec<DeliveryRecord>>, StoreError> {
    let mut records: HashMap<String, Vec<DeliveryRecord>> = HashMap::new();
    if history_ids.is_empty() {
        return Ok(records);
    }
    let placeholders = vec!["?"; history_ids.len()].join(", ");
    let sql = format!(
        "SELECT history_id, id, kind, url, status, attempts, last_status, last_error, \
         delivered_at FROM alert_deliveries WHERE history_id IN ({placeholders}) ORDER BY id"
    );
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(history_ids), |row| {
        Ok((row.get::<_, String>(0)?, record_from_row(row)?))
    })?;
    for row in rows {
        let (history_id, record) = row?;
        records.entry(history_id).or_default().push(record);
    }
    Ok(records)
}

fn record_from_row(row: &Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    let kind: String = row.get(2)?;
    let status: String = row.get(4)?;
    let corrupt = |index: usize, text: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            Box::new(StoreError::Corrupt(format!("delivery value {text:?}"))),
        )
    };
    Ok(DeliveryRecord {
        id: row.get(1)?,
        event: DeliveryKind::parse(&kind).ok_or_else(|| corrupt(2, &kind))?,
        url: row.get(3)?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| corrupt(4, &status))?,
        attempts: row.get(5)?,
        last_status: row.get(6)?,
        last_error: row.get(7)?,
        delivered_at: row.get(8)?,
    })
}

impl Store {
    /// Records the outcome of a delivery attempt. An outcome that schedules a retry which
    /// must not be made (see [`retry_stop_reason`]) fails the delivery instead, keeping the
    /// attempt's error.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the update fails.
    pub async fn update_delivery(
        &self,
        id: &str,
        update: DeliveryUpdate,
    ) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |context| {
            let stop = if update.status == DeliveryStatus::Pending {
                retry_stop_reason(&context.conn, &id, false)
                    .optional()?
                    .flatten()
            } else {
                None
            };
            context.conn.execute(
                "UPDATE alert_deliveries SET status = ?1, attempts = ?2, last_status = ?3, \
                 last_error = ?4, delivered_at = ?5, next_attempt_at = ?6 WHERE id = ?7",
                params![
                    update.status.as_str(),
                    update.attempts,
                    update.last_status,
                    update.last_error,
                    update.delivered_at,
                    update.next_attempt_at,
                    id
                ],
            )?;
            if let Some(reason) = stop {
                context.conn.execute(
                    &format!("UPDATE alert_deliveries SET {STOP_SET} WHERE id = ?1"),
                    params![id, reason],
                )?;
            }
            Ok(())
        })
        .await
    }

    /// Records that attempt number `attempt` of a pending delivery starts, and when the
    /// attempt after it is due if this one fails. Writing both before the request keeps
    /// the count and the schedule right even when the collector stops mid-attempt.
    ///
    /// Returns false, and changes nothing, when the delivery is no longer pending. It also
    /// returns false, and fails the delivery with the reason, for any attempt of a firing
    /// notification whose alert has resolved since and for a retry (`attempt` above 1) of
    /// a delivery whose rule was deleted. Any other first attempt is made, because it
    /// reports a transition that happened.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the update fails.
    pub async fn claim_delivery_attempt(
        &self,
        id: &str,
        attempt: i64,
        retry_at: Option<String>,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |context| {
            let stop = retry_stop_reason(&context.conn, &id, attempt == 1)
                .optional()?
                .flatten();
            if let Some(reason) = stop {
                context.conn.execute(
                    &format!(
                        "UPDATE alert_deliveries SET {STOP_SET} \
                         WHERE id = ?1 AND status = 'pending'"
                    ),
                    params![id, reason],
                )?;
                return Ok(false);
            }
            let changed = context.conn.execute(
                "UPDATE alert_deliveries SET attempts = ?2, next_attempt_at = ?3 \
                 WHERE id = ?1 AND status = 'pending'",
                params![id, attempt, retry_at],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    /// Marks a pending delivery as failed with `reason`, keeping its attempt count, last
    /// HTTP status and the error of its last attempt.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the update fails.
    pub async fn fail_delivery(&self, id: &str, reason: String) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |context| {
            context.conn.execute(
                &format!(
                    "UPDATE alert_deliveries SET {STOP_SET} WHERE id = ?1 AND status = 'pending'"
                ),
                params![id, reason],
            )?;
            Ok(())
        })
        .await
    }

    /// Returns every delivery still pending, oldest first, with its retry schedule.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails or a stored time is not RFC 3339.
    pub async fn pending_deliveries(&self) -> Result<Vec<PendingDelivery>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT id, url, body, attempts, next_attempt_at FROM alert_deliveries \
                 WHERE status = 'pending' ORDER BY id",
            )?;
            let rows = statement.query_map([], pending_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}

fn pending_from_row(row: &Row<'_>) -> rusqlite::Result<PendingDelivery> {
    let next_attempt_at = row
        .get::<_, Option<String>>(4)?
        .map(|text| {
            DateTime::parse_from_rfc3339(&text)
                .map(|time| time.to_utc())
                .map_err(|_| {
                    rusqlite::Error::FromSqlConversionFailure(
                        4,
                        rusqlite::types::Type::Text,
                        Box::new(StoreError::Corrupt(format!("next_attempt_at {text:?}"))),
                    )
                })
        })
        .transpose()?;
    Ok(PendingDelivery {
        id: row.get(0)?,
        url: row.get(1)?,
        body: row.get(2)?,
        attempts: row.get(3)?,
        next_attempt_at,
    })
}
