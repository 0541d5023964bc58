//! Sessions: rows maintained incrementally by ingest, and their queries.
//!
//! Ingest loads the row of each session it touches, applies every new event with
//! [`Session::apply`] and writes the row back in the same transaction, so a session always
//! agrees with its stored events.

use agentlens_core::event::EventType;
use agentlens_core::Usd;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::cost_rule::CostShare;
use super::filter::SqlFilter;
use super::{Page, Paging, Store, StoreError};
use crate::ingest::PreparedEvent;

/// Columns read by [`Session::from_row`], in order.
pub(super) const COLUMNS: &str = "tenant_id, id, agent_id, agent_name, started_at, ended_at, \
    last_event_at, status, event_count, error_count, tool_call_count, llm_call_count, \
    total_cost_usd, unpriced_count, input_tokens, output_tokens, cache_read_tokens, \
    cache_write_tokens, tags, tail_hash, resumed_at";

/// The `SET` list of [`Session::save`]: every column after the key.
const UPDATED_COLUMNS: &str = "agent_id = excluded.agent_id, \
    agent_name = excluded.agent_name, started_at = excluded.started_at, \
    ended_at = excluded.ended_at, last_event_at = excluded.last_event_at, \
    status = excluded.status, event_count = excluded.event_count, \
    error_count = excluded.error_count, tool_call_count = excluded.tool_call_count, \
    llm_call_count = excluded.llm_call_count, total_cost_usd = excluded.total_cost_usd, \
    unpriced_count = excluded.unpriced_count, input_tokens = excluded.input_tokens, \
    output_tokens = excluded.output_tokens, cache_read_tokens = excluded.cache_read_tokens, \
    cache_write_tokens = excluded.cache_write_tokens, tags = excluded.tags, \
    tail_hash = excluded.tail_hash, resumed_at = excluded.resumed_at";

/// The `SET` list of [`Session::update`]: every column after the key but `started_at`,
/// whose index entry an update then leaves alone. Parameters are numbered as in
/// [`COLUMNS`].
const UPDATED_COLUMNS_BUT_START: &str = "agent_id = ?3, agent_name = ?4, \
    ended_at = ?6, last_event_at = ?7, status = ?8, event_count = ?9, error_count = ?10, \
    tool_call_count = ?11, llm_call_count = ?12, total_cost_usd = ?13, \
    unpriced_count = ?14, input_tokens = ?15, output_tokens = ?16, cache_read_tokens = ?17, \
    cache_write_tokens = ?18, tags = ?19, tail_hash = ?20, resumed_at = ?21";

/// A session with its running totals, in the JSON shape of the API.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// Session id.
    pub id: String,
    /// Agent of the first event seen.
    pub agent_id: String,
    /// Name from the `session_started` that arrived last among those that carried one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Earliest event timestamp.
    pub started_at: String,
    /// Timestamp of the latest `session_ended`, cleared when a later
    /// `session_started` resumes the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Latest event timestamp.
    pub last_event_at: String,
    /// `active`, `completed` or `error`.
    pub status: String,
    /// Stored events.
    pub event_count: i64,
    /// Events that count as errors.
    pub error_count: i64,
    /// `tool_call` events.
    pub tool_call_count: i64,
    /// `llm_response` events.
    pub llm_call_count: i64,
    /// Exact sum of the costs of the session's counted `cost_tracked` and `llm_response`
    /// events (see [`super::cost_rule`]).
    #[schema(schema_with = crate::openapi::schemas::exact_decimal)]
    pub total_cost_usd: Usd,
    /// Cost-bearing events whose cost is unknown.
    pub unpriced_event_count: i64,
    /// Input tokens of the counted `cost_tracked` and `llm_response` events.
    pub total_input_tokens: i64,
    /// Output tokens of the same events.
    pub total_output_tokens: i64,
    /// Cache-read tokens (part of the input tokens).
    pub cache_read_tokens: i64,
    /// Cache-write tokens (part of the input tokens).
    pub cache_write_tokens: i64,
    /// Tags from `session_started`.
    pub tags: Vec<String>,
    /// Tenant the session belongs to.
    pub tenant_id: String,
    /// Hash of the last appended event.
    #[serde(skip)]
    pub tail_hash: String,
    /// Timestamp of the latest `session_started` that resumed the ended session. A
    /// `session_ended` stamped earlier belongs to a run before the resume, so it is ignored.
    #[serde(skip)]
    pub resumed_at: Option<String>,
}

impl Session {
    /// Creates the row for the first event of a session.
    pub(crate) fn start(tenant: &str, event: &PreparedEvent) -> Session {
        Session {
            id: event.event.session_id.clone(),
            agent_id: event.event.agent_id.clone(),
            agent_name: None,
            started_at: event.timestamp.clone(),
            ended_at: None,
            last_event_at: event.timestamp.clone(),
            status: "active".to_owned(),
            event_count: 0,
            error_count: 0,
            tool_call_count: 0,
            llm_call_count: 0,
            total_cost_usd: Usd::ZERO,
            unpriced_event_count: 0,
            total_input_tokens: 0,
            total_output_tokens: 0,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            tags: Vec::new(),
            tenant_id: tenant.to_owned(),
            tail_hash: String::new(),
            resumed_at: None,
        }
    }

    /// Applies one newly stored event whose hash is `hash`. Its cost and tokens are added
    /// only when `counts_cost` is set, following the [cost rule](super::cost_rule).
    pub(crate) fn apply(&mut self, prepared: &PreparedEvent, hash: &str, counts_cost: bool) {
        let event = &prepared.event;
        let timestamp = &prepared.timestamp;
        self.event_count += 1;
        if event.is_error() {
            self.error_count += 1;
        }
        if *timestamp < self.started_at {
            self.started_at.clone_from(timestamp);
        }
        if *timestamp > self.last_event_at {
            self.last_event_at.clone_from(timestamp);
        }
        self.tail_hash = hash.to_owned();

        match event.event_type {
            EventType::SessionStarted => self.apply_started(&event.payload, timestamp),
            EventType::SessionEnded => self.apply_ended(&event.payload, timestamp),
            EventType::ToolCall => self.tool_call_count += 1,
            EventType::LlmResponse => self.llm_call_count += 1,
            _ => {}
        }

        if let Some(cost) = prepared.cost.as_ref().filter(|_| counts_cost) {
            self.add_cost(&CostShare::of(cost));
        }
    }

    /// Adds a counted cost row to the totals.
    fn add_cost(&mut self, share: &CostShare) {
        match share.cost_pico {
            Some(pico) => self.total_cost_usd += Usd::from_pico(pico),
            None => self.unpriced_event_count += 1,
        }
        self.total_input_tokens += share.input_tokens;
        self.total_output_tokens += share.output_tokens;
        self.cache_read_tokens += share.cache_read_tokens;
        self.cache_write_tokens += share.cache_write_tokens;
    }

    /// Takes out a cost row that stopped counting because an `llm_response` superseded it.
    pub(crate) fn remove_cost(&mut self, share: &CostShare) {
        match share.cost_pico {
            Some(pico) => self.total_cost_usd = self.total_cost_usd - Usd::from_pico(pico),
            None => self.unpriced_event_count -= 1,
        }
        self.total_input_tokens -= share.input_tokens;
        self.total_output_tokens -= share.output_tokens;
        self.cache_read_tokens -= share.cache_read_tokens;
        self.cache_write_tokens -= share.cache_write_tokens;
    }

    /// Moves a counted `llm_response` from the unpriced count to `cost_pico`, when it takes
    /// the cost of a `cost_tracked` it supersedes (see [`super::cost_fill`]).
    pub(crate) fn fill_cost(&mut self, cost_pico: i64) {
        self.unpriced_event_count -= 1;
        self.total_cost_usd += Usd::from_pico(cost_pico);
    }

    /// Applies a `session_ended` at `timestamp`, unless the session already ended later or
    /// resumed later. A resent or late end then leaves `endedAt` and the status as they are.
    pub(super) fn apply_ended(
        &mut self,
        payload: &serde_json::Map<String, serde_json::Value>,
        timestamp: &str,
    ) {
        let later = |at: &Option<String>| at.as_deref().is_some_and(|at| at > timestamp);
        if later(&self.ended_at) || later(&self.resumed_at) {
            return;
        }
        self.ended_at = Some(timestamp.to_owned());
        let reason = payload.get("reason").and_then(|reason| reason.as_str());
        self.status = if reason == Some("error") {
            "error"
        } else {
            "completed"
        }
        .into();
    }

    /// Applies a `session_started` at `timestamp`. It resumes an ended session only when it
    /// is later than `endedAt`, because a start at or before the end is a resent or late
    /// copy of the start of the run that ended. Upstream AgentLens reactivates the session in
    /// both cases and keeps the old `endedAt`.
    pub(super) fn apply_started(
        &mut self,
        payload: &serde_json::Map<String, serde_json::Value>,
        timestamp: &str,
    ) {
        let resumes = self
            .ended_at
            .as_deref()
            .is_none_or(|ended_at| timestamp > ended_at);
        if resumes {
            if self.ended_at.is_some() {
                self.resumed_at = Some(timestamp.to_owned());
            }
            self.status = "active".to_owned();
            self.ended_at = None;
        }
        if let Some(name) = payload.get("agentName").and_then(|name| name.as_str()) {
            self.agent_name = Some(name.to_owned());
        }
        let tags: Vec<String> = payload
            .get("tags")
            .and_then(|tags| tags.as_array())
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if !tags.is_empty() {
            self.tags = tags;
        }
    }

    pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<Session> {
        let cost: String = row.get(12)?;
        let tags: String = row.get(18)?;
        Ok(Session {
            tenant_id: row.get(0)?,
            id: row.get(1)?,
            agent_id: row.get(2)?,
            agent_name: row.get(3)?,
            started_at: row.get(4)?,
            ended_at: row.get(5)?,
            last_event_at: row.get(6)?,
            status: row.get(7)?,
            event_count: row.get(8)?,
            error_count: row.get(9)?,
            tool_call_count: row.get(10)?,
            llm_call_count: row.get(11)?,
            total_cost_usd: cost.parse().map_err(|error| corrupt(12, error))?,
            unpriced_event_count: row.get(13)?,
            total_input_tokens: row.get(14)?,
            total_output_tokens: row.get(15)?,
            cache_read_tokens: row.get(16)?,
            cache_write_tokens: row.get(17)?,
            tags: serde_json::from_str(&tags).map_err(|error| corrupt(18, error))?,
            tail_hash: row.get(19)?,
            resumed_at: row.get(20)?,
        })
    }

    /// Loads a stored session inside the ingest transaction.
    pub(crate) fn load(
        conn: &Connection,
        tenant: &str,
        id: &str,
    ) -> Result<Option<Session>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM sessions WHERE tenant_id = ?1 AND id = ?2");
        Ok(conn
            .prepare_cached(&sql)?
            .query_row(params![tenant, id], Session::from_row)
            .optional()?)
    }

    /// Updates the stored row of the session, and its `started_at` only when it differs
    /// from `stored_start`, the value read with the row. Ingest calls it for every session
    /// of a batch, and a `SET` list without `started_at` leaves the `(tenant_id,
    /// started_at)` index as it is. When no row matches, it saves the session as new.
    pub(crate) fn update(&self, conn: &Connection, stored_start: &str) -> Result<(), StoreError> {
        let start_clause = if self.started_at == stored_start {
            ""
        } else {
            ", started_at = ?5"
        };
        let sql = format!(
            "UPDATE sessions SET {UPDATED_COLUMNS_BUT_START}{start_clause} \
             WHERE tenant_id = ?1 AND id = ?2"
        );
        if self.execute_with_columns(conn, &sql)? == 1 {
            Ok(())
        } else {
            self.save(conn)
        }
    }

    /// Inserts the row, or updates the stored row of the same session in place.
    ///
    /// `INSERT OR REPLACE` would delete the stored row and insert it again under a new
    /// rowid, rewriting both of the table's indexes for every session of every batch.
    pub(crate) fn save(&self, conn: &Connection) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO sessions ({COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, \
             ?21) ON CONFLICT (tenant_id, id) DO UPDATE SET {UPDATED_COLUMNS}"
        );
        self.execute_with_columns(conn, &sql)?;
        Ok(())
    }

    /// Runs `sql` with the session's values bound as `?1` to `?21` in [`COLUMNS`] order,
    /// and returns the number of changed rows.
    fn execute_with_columns(&self, conn: &Connection, sql: &str) -> Result<usize, StoreError> {
        let tags = serde_json::to_string(&self.tags).unwrap_or_else(|_| "[]".to_owned());
        let changed = conn.prepare_cached(sql)?.execute(params![
            self.tenant_id,
            self.id,
            self.agent_id,
            self.agent_name,
            self.started_at,
            self.ended_at,
            self.last_event_at,
            self.status,
            self.event_count,
            self.error_count,
            self.tool_call_count,
            self.llm_call_count,
            self.total_cost_usd.to_string(),
            self.unpriced_event_count,
            self.total_input_tokens,
            self.total_output_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
            tags,
            self.tail_hash,
            self.resumed_at,
        ])?;
        Ok(changed)
    }
}

fn corrupt(
    column: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, Box::new(error))
}

/// Filters of `GET /api/sessions`.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Exact agent id.
    pub agent_id: Option<String>,
    /// Stored statuses to match; empty matches all.
    pub statuses: Vec<String>,
    /// Only `active` sessions whose last event is older than this timestamp text.
    pub idle_before: Option<String>,
    /// Earliest `startedAt`, inclusive.
    pub from: Option<String>,
    /// Latest `startedAt`, inclusive.
    pub to: Option<String>,
    /// Tags, any one of which makes a session match.
    pub tags: Vec<String>,
}

impl Store {
    /// Lists sessions, newest `startedAt` first.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn list_sessions(
        &self,
        tenant: &str,
        filter: SessionFilter,
        paging: Paging,
    ) -> Result<Page<Session>, StoreError> {
        let sql_filter = session_filter(tenant, &filter);
        self.read(move |conn| {
            let where_sql = sql_filter.where_sql();
            let count_sql = format!("SELECT COUNT(*) FROM sessions {where_sql}");
            let total: i64 = conn.query_row(
                &count_sql,
                rusqlite::params_from_iter(sql_filter.params()),
                |row| row.get(0),
            )?;
            let sql = format!(
                "SELECT {COLUMNS} FROM sessions {where_sql} \
                 ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?"
            );
            let params = sql_filter.params_with(&[paging.limit, paging.offset]);
            let mut statement = conn.prepare(&sql)?;
            let rows =
                statement.query_map(rusqlite::params_from_iter(params), Session::from_row)?;
            let items = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Page::new(items, paging.offset, total))
        })
        .await
    }

    /// Counts the sessions matching `filter`.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn count_sessions(
        &self,
        tenant: &str,
        filter: SessionFilter,
    ) -> Result<i64, StoreError> {
        let sql_filter = session_filter(tenant, &filter);
        self.read(move |conn| {
            let sql = format!("SELECT COUNT(*) FROM sessions {}", sql_filter.where_sql());
            let params = rusqlite::params_from_iter(sql_filter.params());
            Ok(conn.query_row(&sql, params, |row| row.get(0))?)
        })
        .await
    }

    /// Returns one session, or `None` when the tenant has no session with that id.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when the query fails.
    pub async fn session(&self, tenant: &str, id: &str) -> Result<Option<Session>, StoreError> {
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.read(move |conn| {
            let sql = format!("SELECT {COLUMNS} FROM sessions WHERE tenant_id = ?1 AND id = ?2");
            Ok(conn
                .query_row(&sql, params![tenant, id], Session::from_row)
                .optional()?)
        })
        .await
    }
}

/// Builds the `WHERE` clause of a session listing or count.
fn session_filter(tenant: &str, filter: &SessionFilter) -> SqlFilter {
    let mut sql_filter = SqlFilter::for_tenant(tenant);
    sql_filter.eq("agent_id", filter.agent_id.as_deref());
    sql_filter.at_least("started_at", filter.from.as_deref());
    sql_filter.at_most("started_at", filter.to.as_deref());
    status_condition(&mut sql_filter, filter);
    if !filter.tags.is_empty() {
        let placeholders = vec!["?"; filter.tags.len()].join(", ");
        let clause =
            format!("EXISTS (SELECT 1 FROM json_each(tags) WHERE value IN ({placeholders}))");
        sql_filter.push(&clause, filter.tags.iter().map(|t| t.clone().into()));
    }
    sql_filter
}

/// Adds the status condition: the stored statuses, or `idle` for active sessions without
/// recent events.
fn status_condition(sql_filter: &mut SqlFilter, filter: &SessionFilter) {
    let mut alternatives = Vec::new();
    let mut params = Vec::new();
    if !filter.statuses.is_empty() {
        alternatives.push(format!(
            "status IN ({})",
            vec!["?"; filter.statuses.len()].join(", ")
        ));
        params.extend(filter.statuses.iter().map(|s| s.clone().into()));
    }
    if let Some(idle_before) = &filter.idle_before {
        alternatives.push("(status = 'active' AND last_event_at < ?)".to_owned());
        params.push(idle_before.clone().into());
    }
    if !alternatives.is_empty() {
        sql_filter.push(&format!("({})", alternatives.join(" OR ")), params);
    }
}
