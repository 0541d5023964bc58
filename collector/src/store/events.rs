//! Events: the types of stored events and ingest outcomes, and the event queries. The
//! ingest transaction itself runs on the writer thread, in [`super::event_writer`].

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use serde_json::value::RawValue;
use ulid::Ulid;

use super::event_ids::{IdOrigin, LEGACY_ID_INDEX};
use super::filter::SqlFilter;
pub use super::outcome::{IngestOutcome, IngestedEvent};
use super::session_events::{session_page, EventQuery, TimeWindow};
use super::{Page, Paging, Store, StoreError};
use crate::ingest::PreparedEvent;

/// Columns read by [`StoredEvent::from_row`], in order.
pub(crate) const COLUMNS: &str =
    "id, timestamp, session_id, agent_id, event_type, severity, payload, \
    metadata, prev_hash, hash, tenant_id, cost_source, cost_pico, pricing_version, \
    price_provider, price_model, price_date, superseded_by, cost_from, client_id";

/// A stored event in the JSON shape of the API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// Server-assigned ULID.
    pub id: String,
    /// UTC timestamp text.
    pub timestamp: String,
    /// Session id.
    pub session_id: String,
    /// Agent id.
    pub agent_id: String,
    /// Event type wire name.
    pub event_type: String,
    /// Severity wire name.
    pub severity: String,
    /// Payload, byte for byte as hashed.
    #[schema(value_type = Object)]
    pub payload: Box<RawValue>,
    /// Metadata, byte for byte as hashed.
    #[schema(value_type = Object)]
    pub metadata: Box<RawValue>,
    /// Hash of the previous event of the session.
    pub prev_hash: Option<String>,
    /// Hash of this event.
    pub hash: String,
    /// Tenant of the event.
    pub tenant_id: String,
    /// The `id` the client sent with the event, which `GET /api/events/{id}` also finds.
    /// Absent when the client sent none. An AgentLens addition, outside the hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The cost the collector stored for a `cost_tracked` or `llm_response` event and where
    /// it came from. Absent for other event types. An AgentLens addition beside the hashed
    /// payload, which is never changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pricing: Option<EventPricing>,
}

/// The stored cost of an event and its origin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPricing {
    /// Stored cost in USD as an exact decimal string, such as `"0.005615"`. Null when
    /// the event is unpriced, which is not the same as a cost of 0.
    #[schema(pattern = r"^[0-9]+(\.[0-9]{1,12})?$")]
    pub cost_usd: Option<String>,
    /// Origin of the cost.
    pub source: PricingSource,
    /// Content hash of the collector's price table that priced the event or found no price
    /// for it, such as `pv_1a2b3c4d5e6f`. Null for a reported cost, and for costs the
    /// collector derived before it recorded the version.
    pub pricing_version: Option<String>,
    /// Price table entry that priced a derived cost; null for other sources.
    pub entry: Option<PriceEntry>,
    /// Reason an unpriced event has no price, such as an unknown model, or a price input
    /// such as `serviceTier` that the truncated payload left out. Present only while the
    /// collector runs the price table that stored the event, because the reason is computed
    /// again from the stored payload on each read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpriced_reason: Option<String>,
    /// Id of the `llm_response` of the same session and `callId` that counts instead of
    /// this `cost_tracked` event, so totals leave this event's cost out. Absent for an
    /// event that counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// Id of the `cost_tracked` event of the same session and `callId` whose cost this
    /// `llm_response` counts, because the response had no cost of its own (no `costUsd`
    /// and no price for its model). The `source` is then `reported`. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_from: Option<String>,
}

/// Origin of a stored cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PricingSource {
    /// The client sent `costUsd`, or the `llm_response` counts the cost of the
    /// `cost_tracked` that `costFrom` names, which that event reported or the collector
    /// derived for it.
    Reported,
    /// The collector priced the usage with its price table.
    Derived,
    /// The price table has no price for the event, so its cost is unknown.
    Unpriced,
}

/// The price table entry behind a derived cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PriceEntry {
    /// Provider id of the entry, such as `openai`.
    pub provider: Option<String>,
    /// Model id of the entry, such as `gpt-4o` for `gpt-4o-2024-08-06`.
    pub model: Option<String>,
    /// First day (`YYYY-MM-DD`) of the dated price used; null for an undated price.
    pub price_date: Option<String>,
}

impl StoredEvent {
    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
        Ok(StoredEvent {
            id: row.get(0)?,
            timestamp: row.get(1)?,
            session_id: row.get(2)?,
            agent_id: row.get(3)?,
            event_type: row.get(4)?,
            severity: row.get(5)?,
            payload: raw_json(row, 6)?,
            metadata: raw_json(row, 7)?,
            prev_hash: row.get(8)?,
            hash: row.get(9)?,
            tenant_id: row.get(10)?,
            client_id: row.get(19)?,
            pricing: EventPricing::from_row(row, 11)?,
        })
    }
}

impl EventPricing {
    /// Reads the eight cost columns that start at `first`: `cost_source`, `cost_pico`,
    /// `pricing_version`, `price_provider`, `price_model`, `price_date`, `superseded_by`
    /// and `cost_from`.
    ///
    /// Returns `None` for an event without a cost source, which is every event type other
    /// than `cost_tracked` and `llm_response`.
    fn from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Option<EventPricing>> {
        let source: Option<String> = row.get(first)?;
        let source = match source.as_deref() {
            None => return Ok(None),
            Some("reported") => PricingSource::Reported,
            Some("derived") => PricingSource::Derived,
            Some("unpriced") => PricingSource::Unpriced,
            Some(other) => {
                let error = format!("unknown cost_source {other:?}");
                return Err(rusqlite::Error::FromSqlConversionFailure(
                    first,
                    rusqlite::types::Type::Text,
                    error.into(),
                ));
            }
        };

        let cost_pico: Option<i64> = row.get(first + 1)?;
        let entry = PriceEntry {
            provider: row.get(first + 3)?,
            model: row.get(first + 4)?,
            price_date: row.get(first + 5)?,
        };
        let has_entry = entry.provider.is_some() || entry.model.is_some();
        Ok(Some(EventPricing {
            cost_usd: cost_pico.map(|pico| agentlens_core::money::Usd::from_pico(pico).to_string()),
            source,
            pricing_version: row.get(first + 2)?,
            entry: has_entry.then_some(entry),
            unpriced_reason: None,
            superseded_by: row.get(first + 6)?,
            cost_from: row.get(first + 7)?,
        }))
    }
}

fn raw_json(row: &Row<'_>, index: usize) -> rusqlite::Result<Box<RawValue>> {
    let text: String = row.get(index)?;
    RawValue::from_string(text).map_err(|error| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, error.into())
    })
}

/// Filters of `GET /api/events`.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Exact session id.
    pub session_id: Option<String>,
    /// Exact agent id.
    pub agent_id: Option<String>,
    /// Event types to match; empty matches all.
    pub event_types: Vec<String>,
    /// Severities to match; empty matches all.
    pub severities: Vec<String>,
    /// Earliest timestamp text, inclusive.
    pub from: Option<String>,
    /// Latest timestamp text, inclusive.
    pub to: Option<String>,
    /// Text that the stored payload JSON must contain, compared literally.
    pub search: Option<String>,
    /// Leaves out events whose `metadata.source` is `otlp_metric`, as upstream's
    /// `excludeMetrics=true` does.
    pub exclude_metrics: bool,
    /// Oldest first instead of newest first.
    pub ascending: bool,
}

impl Store {
    /// Stores a prepared batch in one transaction.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the transaction fails; nothing of the batch is stored.
    pub async fn ingest(
        &self,
        tenant: &str,
        events: Vec<PreparedEvent>,
    ) -> Result<IngestOutcome, StoreError> {
        self.writer.ingest(tenant.to_owned(), events).await
    }

    /// Lists events matching `filter`.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn list_events(
        &self,
        tenant: &str,
        filter: EventFilter,
        paging: Paging,
    ) -> Result<Page<StoredEvent>, StoreError> {
        // Conditions on the event row alone; the session and the time window are read
        // through `session_events` when a session is given.
        let mut conditions = SqlFilter::default();
        conditions.eq("agent_id", filter.agent_id.as_deref());
        conditions.one_of("event_type", &filter.event_types);
        conditions.one_of("severity", &filter.severities);
        conditions.contains("payload", filter.search.as_deref());
        if filter.exclude_metrics {
            conditions.push(
                "json_extract(metadata, '$.source') IS NOT 'otlp_metric'",
                [],
            );
        }
        let window = TimeWindow {
            from: filter.from,
            to: filter.to,
        };
        let query = EventQuery {
            conditions,
            window,
            ascending: filter.ascending,
        };
        let tenant = tenant.to_owned();

        self.read(move |conn| match filter.session_id {
            Some(session) => session_page(conn, &tenant, &session, &query, paging),
            None => tenant_page(conn, &tenant, &query, paging),
        })
        .await
    }

    /// Returns one event by the id the collector gave it or, failing that, by the id its
    /// client sent; `None` when the tenant has neither.
    ///
    /// Server ids are ULIDs, whose Crockford base32 text is case-insensitive. So when no
    /// event has `id` exactly and `id` is a ULID in lowercase or mixed case, the event with
    /// the uppercase server id is returned. Client ids are matched exactly, and an exact
    /// match of either kind wins over a server id that differs only in case.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn event(&self, tenant: &str, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        let origin = self.id_origin;
        self.read(move |conn| {
            if let Some(found) = event_by_server_id(conn, origin, &tenant, &id)? {
                return Ok(Some(found));
            }
            let by_client_id =
                format!("SELECT {COLUMNS} FROM events WHERE tenant_id = ?1 AND client_id = ?2");
            let found = conn
                .query_row(&by_client_id, params![tenant, id], StoredEvent::from_row)
                .optional()?;
            if found.is_some() {
                return Ok(found);
            }

            // The uppercase form is looked up as a server id only, because a client id
            // that differs from `id` only in case names another event.
            match uppercase_ulid(&id) {
                Some(uppercase) => Ok(event_by_server_id(conn, origin, &tenant, &uppercase)?),
                None => Ok(None),
            }
        })
        .await
    }
}

/// Reads a page of the events of `tenant` that match `query`, from any session.
fn tenant_page(
    conn: &rusqlite::Connection,
    tenant: &str,
    query: &EventQuery,
    paging: Paging,
) -> Result<Page<StoredEvent>, StoreError> {
    let mut sql_filter = SqlFilter::for_tenant(tenant);
    sql_filter.extend(&query.window.filter("timestamp"));
    sql_filter.extend(&query.conditions);
    let where_sql = sql_filter.where_sql();
    let count_sql = format!("SELECT COUNT(*) FROM events {where_sql}");
    let params = rusqlite::params_from_iter(sql_filter.params());
    let total: i64 = conn.query_row(&count_sql, params, |row| row.get(0))?;
    let direction = query.direction();
    let sql = format!(
        "SELECT {COLUMNS} FROM events {where_sql} \
         ORDER BY timestamp {direction}, seq {direction} LIMIT ? OFFSET ?"
    );
    let params = sql_filter.params_with(&[paging.limit, paging.offset]);
    let mut statement = conn.prepare(&sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(params), StoredEvent::from_row)?;
    let items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Page::new(items, paging.offset, total))
}

/// Returns the event of `tenant` whose server id is exactly `id`, minted from its `seq` or
/// stored before migration 16.
fn event_by_server_id(
    conn: &rusqlite::Connection,
    origin: IdOrigin,
    tenant: &str,
    id: &str,
) -> rusqlite::Result<Option<StoredEvent>> {
    if let Some(seq) = origin.seq_of(conn, id)? {
        let sql =
            format!("SELECT {COLUMNS} FROM events WHERE seq = ?1 AND tenant_id = ?2 AND id = ?3");
        let found = conn
            .query_row(&sql, params![seq, tenant, id], StoredEvent::from_row)
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }

    // The condition on `seq` matches the partial index's own, so SQLite can use it.
    let before = format!(
        "SELECT {COLUMNS} FROM events INDEXED BY {LEGACY_ID_INDEX} \
         WHERE tenant_id = ?1 AND id = ?2 AND seq < {}",
        origin.first_seq
    );
    conn.query_row(&before, params![tenant, id], StoredEvent::from_row)
        .optional()
}

/// Returns the canonical uppercase text of `id` when `id` is a ULID written with at least
/// one lowercase letter, and `None` otherwise.
fn uppercase_ulid(id: &str) -> Option<String> {
    let uppercase = id.to_ascii_uppercase();
    if uppercase == id {
        return None;
    }
    let ulid = Ulid::from_string(&uppercase).ok()?;

    // ulid 3.0 also decodes text over 128 bits by dropping the high bits, so only text
    // that encodes back unchanged counts as a ULID.
    (ulid.to_string() == uppercase).then_some(uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER_ID: &str = "01KBKR4X3G7V9TQ2M8HZJ5N6PW";

    #[test]
    fn lowercase_ulid_gets_uppercase_form() {
        let lowercase = SERVER_ID.to_ascii_lowercase();
        assert_eq!(uppercase_ulid(&lowercase).as_deref(), Some(SERVER_ID));
        let mixed = "01kbKR4X3G7V9TQ2M8HZJ5N6PW";
        assert_eq!(uppercase_ulid(mixed).as_deref(), Some(SERVER_ID));
    }

    #[test]
    fn uppercase_or_non_ulid_gets_none() {
        assert_eq!(uppercase_ulid(SERVER_ID), None);
        assert_eq!(uppercase_ulid("client-evt-1"), None);
        assert_eq!(
            uppercase_ulid("01kbkr4x3g7v9tq2m8hzj5n6p"),
            None,
            "25 characters"
        );
        assert_eq!(
            uppercase_ulid("01kbkr4x3g7v9tq2m8hzj5n6pu"),
            None,
            "U is not base32"
        );
        assert_eq!(
            uppercase_ulid("8zzzzzzzzzzzzzzzzzzzzzzzzz"),
            None,
            "over 128 bits"
        );
        assert_eq!(uppercase_ulid(""), None);
    }
}
