//! Events: the all-or-nothing ingest transaction and the event queries.
//!
//! A batch is stored in one transaction on the writer thread. For each event in request
//! order it:
//!
//! 1. takes the session's tail hash as `prevHash` (`null` for a new session);
//! 2. hashes and inserts the event, and applies it to the session row. When the tenant
//!    already stores the event's client id (a retried send), the insert writes nothing,
//!    the stored id and hash are returned for the event, and the steps below are skipped;
//! 3. applies the [cost rule](super::cost_rule): a new `cost_tracked` whose `callId`
//!    already has an `llm_response` in its session is stored as superseded, and a new
//!    `llm_response` supersedes the stored `cost_tracked` events of its session with its
//!    `callId`;
//! 4. gives an unpriced `llm_response` the cost of a `cost_tracked` it supersedes
//!    ([`super::cost_fill`]), whichever of the two arrives first.
//!
//! The chain of a session therefore follows ingest order, not timestamp order, so an event
//! that arrives late never breaks verification of the events stored before it. Because one
//! thread does all writes, two requests can never append to the same session at once.

use std::collections::HashMap;

use agentlens_core::canonical::{event_hash_of_text, HashText};
use rusqlite::{params, Connection, OptionalExtension, Row, Statement, TransactionBehavior};
use serde::Serialize;
use serde_json::value::RawValue;

use super::cost_fill::{self, CostFill, ResponseKeys};
use super::cost_rule;
use super::filter::SqlFilter;
use super::llm_rollups::LlmRollupDeltas;
use super::rollups::RollupDeltas;
use super::sessions::Session;
use super::{sql_count, Page, Paging, Store, StoreError, WriterContext};
use crate::ingest::{CostSource, PreparedEvent};

/// Columns read by [`StoredEvent::from_row`], in order.
pub(crate) const COLUMNS: &str =
    "id, timestamp, session_id, agent_id, event_type, severity, payload, \
    metadata, prev_hash, hash, tenant_id, cost_source, cost_pico, pricing_version, \
    price_provider, price_model, price_date, superseded_by, cost_from";

/// The stored id and hash of one event of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestedEvent {
    /// Server-assigned ULID.
    pub id: String,
    /// Chain hash.
    pub hash: String,
    /// True when the client id was already stored and nothing new was written.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
}

/// The result of a committed batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IngestOutcome {
    /// Events newly stored.
    pub ingested: usize,
    /// Events skipped because their client id was already stored.
    pub duplicates: usize,
    /// One entry per request event, in request order.
    pub events: Vec<IngestedEvent>,
}

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
    /// Reason the price table has no price for an unpriced event, such as an unknown model.
    /// Present only while the collector runs the price table that stored the event, because
    /// the reason is computed again from the stored payload on each read.
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
        let tenant = tenant.to_owned();
        self.write(move |context| ingest_batch(context, &tenant, &events))
            .await
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
        let mut sql_filter = SqlFilter::for_tenant(tenant);
        sql_filter.eq("session_id", filter.session_id.as_deref());
        sql_filter.eq("agent_id", filter.agent_id.as_deref());
        sql_filter.one_of("event_type", &filter.event_types);
        sql_filter.one_of("severity", &filter.severities);
        sql_filter.at_least("timestamp", filter.from.as_deref());
        sql_filter.at_most("timestamp", filter.to.as_deref());
        sql_filter.contains("payload", filter.search.as_deref());
        let direction = if filter.ascending { "ASC" } else { "DESC" };

        self.read(move |conn| {
            let where_sql = sql_filter.where_sql();
            let count_sql = format!("SELECT COUNT(*) FROM events {where_sql}");
            let params = rusqlite::params_from_iter(sql_filter.params());
            let total: i64 = conn.query_row(&count_sql, params, |row| row.get(0))?;
            let sql = format!(
                "SELECT {COLUMNS} FROM events {where_sql} \
                 ORDER BY timestamp {direction}, seq {direction} LIMIT ? OFFSET ?"
            );
            let params = sql_filter.params_with(&[paging.limit, paging.offset]);
            let mut statement = conn.prepare(&sql)?;
            let rows =
                statement.query_map(rusqlite::params_from_iter(params), StoredEvent::from_row)?;
            let items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::new(items, paging.offset, total))
        })
        .await
    }

    /// Returns one event by the id the collector gave it or, failing that, by the id its
    /// client sent; `None` when the tenant has neither.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn event(&self, tenant: &str, id: &str) -> Result<Option<StoredEvent>, StoreError> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.read(move |conn| {
            for column in ["id", "client_id"] {
                let sql =
                    format!("SELECT {COLUMNS} FROM events WHERE tenant_id = ?1 AND {column} = ?2");
                let found = conn
                    .query_row(&sql, params![tenant, id], StoredEvent::from_row)
                    .optional()?;
                if found.is_some() {
                    return Ok(found);
                }
            }
            Ok(None)
        })
        .await
    }
}

pub(crate) fn ingest_batch(
    context: &mut WriterContext,
    tenant: &str,
    events: &[PreparedEvent],
) -> Result<IngestOutcome, StoreError> {
    // Ids are minted up front, in request order; a duplicate leaves its id unused.
    let ids: Vec<String> = events.iter().map(|_| context.next_id()).collect();
    let transaction = context
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;

    let mut insert = transaction.prepare_cached(INSERT_SQL)?;
    let mut sessions: HashMap<String, Session> = HashMap::new();
    let mut rollups = RollupDeltas::default();
    let mut llm_rollups = LlmRollupDeltas::default();
    let mut results = Vec::with_capacity(events.len());
    let mut duplicates = 0;
    for (prepared, id) in events.iter().zip(ids) {
        let session_id = &prepared.event.session_id;
        let loaded_here = !sessions.contains_key(session_id);
        if loaded_here {
            let session = Session::load_or_start(&transaction, tenant, prepared)?;
            sessions.insert(session_id.clone(), session);
        }
        let Some(session) = sessions.get_mut(session_id) else {
            continue;
        };

        let prev_hash = Some(session.tail_hash.as_str()).filter(|hash| !hash.is_empty());
        let superseding = cost_rule::superseding_response(&transaction, tenant, prepared)?;
        let fill = cost_fill::fill_of_new_response(&transaction, tenant, prepared)?;
        let row = NewRow {
            id: &id,
            prev_hash,
            superseded_by: superseding.as_ref().map(|response| response.id.as_str()),
            cost_fill: fill.as_ref(),
        };
        let Some(hash) = insert_event(&mut insert, tenant, prepared, &row)? else {
            // A retried send: the insert left the stored event and its session as they were.
            if loaded_here {
                sessions.remove(session_id);
            }
            duplicates += 1;
            results.push(stored_duplicate(&transaction, tenant, prepared)?);
            continue;
        };
        session.apply(prepared, &hash, superseding.is_none());
        if superseding.is_none() {
            rollups.add_event(prepared)?;
        }
        llm_rollups.add_event(prepared)?;
        rollups.subtract_superseded(&transaction, tenant, prepared)?;
        cost_rule::supersede_tracked_costs(&transaction, tenant, &id, prepared, &mut sessions)?;

        // The response was added above as unpriced, so its figures move to the cost now.
        let filled = match (&fill, &superseding) {
            (Some(fill), _) => ResponseKeys::of(prepared).map(|keys| (keys, fill.cost_pico)),
            (None, Some(response)) => {
                cost_fill::fill_stored_response(&transaction, response, &id, prepared)?
            }
            (None, None) => None,
        };
        if let (Some((keys, cost_pico)), Some(session)) = (filled, sessions.get_mut(session_id)) {
            cost_fill::move_figures(&keys, cost_pico, session, &mut rollups, &mut llm_rollups)?;
        }
        results.push(IngestedEvent {
            id,
            hash,
            duplicate: false,
        });
    }

    drop(insert);
    for session in sessions.values() {
        session.save(&transaction)?;
    }
    rollups.flush(&transaction, tenant)?;
    llm_rollups.flush(&transaction, tenant)?;
    transaction.commit()?;

    Ok(IngestOutcome {
        ingested: results.len() - duplicates,
        duplicates,
        events: results,
    })
}

/// Reads the id and hash of the stored event whose client id made the insert of
/// `prepared` a no-op.
///
/// # Errors
///
/// Returns [`StoreError`] when the query fails, or [`StoreError::Corrupt`] when no stored
/// event has the client id.
fn stored_duplicate(
    conn: &Connection,
    tenant: &str,
    prepared: &PreparedEvent,
) -> Result<IngestedEvent, StoreError> {
    let client_id = prepared.event.client_id.as_deref();
    let found = conn
        .prepare_cached("SELECT id, hash FROM events WHERE tenant_id = ?1 AND client_id = ?2")?
        .query_row(params![tenant, client_id], |row| {
            Ok(IngestedEvent {
                id: row.get(0)?,
                hash: row.get(1)?,
                duplicate: true,
            })
        })
        .optional()?;
    found.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "insert skipped, but no event has client id {client_id:?}"
        ))
    })
}

/// The server-assigned columns of a new event row.
struct NewRow<'a> {
    id: &'a str,
    prev_hash: Option<&'a str>,
    /// The `llm_response` that makes this `cost_tracked` stop counting, if any.
    superseded_by: Option<&'a str>,
    /// The cost this unpriced `llm_response` takes from a `cost_tracked`, if any.
    cost_fill: Option<&'a CostFill>,
}

/// The statement inserting one event row.
const INSERT_SQL: &str = "INSERT INTO events (id, tenant_id, client_id, timestamp, session_id, \
    agent_id, event_type, severity, payload, metadata, prev_hash, hash, is_error, provider, \
    model, cost_pico, cost_source, input_tokens, output_tokens, cache_read_tokens, \
    cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, call_id, superseded_by, \
    pricing_version, price_provider, price_model, price_date, cost_from) VALUES (?1, ?2, ?3, ?4, \
    ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, \
    ?24, ?25, ?26, ?27, ?28, ?29, ?30) \
    ON CONFLICT (tenant_id, client_id) WHERE client_id IS NOT NULL DO NOTHING";

/// Hashes and inserts one event with the [`INSERT_SQL`] statement.
///
/// Returns the event's hash, or `None` when the tenant already stores an event with its
/// client id, in which case nothing is written. The unique index behind that check is
/// searched once, by the insert, so a new event costs no separate lookup.
fn insert_event(
    insert: &mut Statement<'_>,
    tenant: &str,
    prepared: &PreparedEvent,
    row: &NewRow<'_>,
) -> Result<Option<String>, StoreError> {
    let (id, prev_hash) = (row.id, row.prev_hash);
    let event = &prepared.event;
    let hash = event_hash_of_text(&HashText {
        id,
        timestamp: &prepared.timestamp,
        session_id: &event.session_id,
        agent_id: &event.agent_id,
        event_type: event.event_type.as_str(),
        severity: event.severity.as_str(),
        payload_json: &prepared.payload_json,
        metadata_json: &prepared.metadata_json,
        prev_hash,
    });

    let cost = prepared.cost.as_ref();
    let usage = cost.map(|cost| cost.usage);
    let tokens =
        |count: fn(&agentlens_core::usage::Usage) -> u64| usage.map(|u| sql_count(count(&u)));
    // A filled cost replaces the unpriced columns, and no price table priced it.
    let fill = row.cost_fill;
    let cost_pico = match fill {
        Some(fill) => Some(fill.cost_pico),
        None => cost.and_then(|cost| cost.cost_pico),
    };
    let source = match fill {
        Some(_) => Some(CostSource::Reported.as_str()),
        None => cost.map(|cost| cost.source.as_str()),
    };
    let pricing = cost
        .and_then(|cost| cost.pricing.as_ref())
        .filter(|_| fill.is_none());
    let inserted = insert.execute(params![
        id,
        tenant,
        event.client_id,
        prepared.timestamp,
        event.session_id,
        event.agent_id,
        event.event_type.as_str(),
        event.severity.as_str(),
        prepared.stored_payload_json(),
        prepared.metadata_json,
        prev_hash,
        hash,
        event.is_error(),
        cost.map(|cost| cost.provider.as_str()),
        cost.map(|cost| cost.model.as_str()),
        cost_pico,
        source,
        tokens(|u| u.input_tokens),
        tokens(|u| u.output_tokens),
        tokens(|u| u.cache_read_tokens),
        tokens(|u| u.cache_write_5m_tokens),
        tokens(|u| u.cache_write_1h_tokens),
        tokens(|u| u.reasoning_tokens),
        cost.and_then(|cost| cost.call_id.as_deref()),
        row.superseded_by,
        pricing.map(|pricing| pricing.version.as_str()),
        pricing.and_then(|pricing| pricing.provider.as_deref()),
        pricing.and_then(|pricing| pricing.model.as_deref()),
        pricing.and_then(|pricing| pricing.price_date.map(|day| day.to_string())),
        fill.map(|fill| fill.tracked_id.as_str()),
    ])?;
    Ok((inserted > 0).then_some(hash))
}
