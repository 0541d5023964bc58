//! The ingest transaction on the writer thread, and group commit.
//!
//! A batch is stored all or nothing. For each event in request order the transaction:
//!
//! 1. takes the session's tail hash as `prevHash` (`null` for a new session);
//! 2. hashes and inserts the event, and applies it to the session row. When the tenant
//!    already stores the event's client id (a retried send), the insert writes nothing,
//!    the stored id and hash are returned for the event, and the steps below are skipped.
//!    A resent event must match the stored one ([`super::client_ids`]), or its batch fails;
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
//!
//! Group commit: when several batches of one tenant wait for the writer, they are stored
//! in one transaction, in arrival order, as if they were one batch. Their sessions, rollup
//! rows and index pages are then written once per group instead of once per batch. Each
//! batch still gets its own outcome. If the group's transaction fails, each of its batches
//! is stored again in a transaction of its own, so one failing batch fails alone, as it
//! would without grouping.

use std::sync::mpsc;

use agentlens_core::canonical::{event_hash_of_text, HashText};
use rusqlite::{params, Statement, TransactionBehavior};
use tokio::sync::oneshot;

use super::client_ids;
use super::cost_fill::{self, CostFill, ResponseKeys};
use super::cost_rule;
use super::event_ids::IdBlock;
use super::events::{IngestOutcome, IngestedEvent};
use super::llm_rollups::LlmRollupDeltas;
use super::rollups::RollupDeltas;
use super::session_index;
use super::sessions::Session;
use super::sqlite::WriteJob;
use super::tool_rollups::ToolCountDeltas;
use super::write_fault::LastWriteFault;
use super::BatchMap;
use super::{sql_count, StoreError, WriterContext};
use crate::ingest::{CostSource, PreparedEvent};

/// Maximum number of events in one group commit, so that a long queue cannot grow one
/// transaction, or the wait of its first request, without bound.
const MAX_GROUP_EVENTS: usize = 8_000;

/// One `POST /api/events` batch waiting for the writer thread.
pub(crate) struct IngestJob {
    pub(crate) tenant: String,
    pub(crate) events: Vec<PreparedEvent>,
    pub(crate) reply: oneshot::Sender<Result<IngestOutcome, StoreError>>,
}

/// Stores `first` and the batches of the same tenant queued right behind it in one
/// transaction, and replies to each. Returns the job that ended the group, when it took
/// one from the queue that it could not add, so the caller runs it next. A batch that
/// fails on the storage records its fault in `faults` before its reply.
pub(crate) fn run_group(
    context: &mut WriterContext,
    first: IngestJob,
    queue: &mpsc::Receiver<WriteJob>,
    faults: &LastWriteFault,
) -> Option<WriteJob> {
    let mut group = vec![first];
    let mut event_count = group[0].events.len();
    let mut next = None;
    while event_count < MAX_GROUP_EVENTS {
        match queue.try_recv() {
            Ok(WriteJob::Ingest(job)) if job.tenant == group[0].tenant => {
                event_count += job.events.len();
                group.push(job);
            }
            Ok(other) => {
                next = Some(other);
                break;
            }
            Err(_) => break,
        }
    }

    tracing::trace!(
        batches = group.len(),
        events = event_count,
        "storing a group"
    );
    let batches: Vec<&[PreparedEvent]> = group.iter().map(|job| job.events.as_slice()).collect();
    let result = ingest_batches(context, &group[0].tenant, &batches);
    drop(batches);
    match result {
        Ok(outcomes) => {
            for (job, outcome) in group.into_iter().zip(outcomes) {
                // The receiver is gone only when the request was cancelled.
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(error) if group.len() > 1 => {
            tracing::debug!(
                %error,
                batches = group.len(),
                "group commit failed, storing its batches one by one"
            );
            for job in group {
                let result = ingest_batch(context, &job.tenant, &job.events);
                faults.record_failure(&result);
                let _ = job.reply.send(result);
            }
        }
        Err(error) => {
            if let Some(job) = group.pop() {
                let result = Err(error);
                faults.record_failure(&result);
                let _ = job.reply.send(result);
            }
        }
    }
    next
}

/// Stores one batch in one transaction.
///
/// # Errors
///
/// Returns [`StoreError`] when the transaction fails; nothing of the batch is stored.
pub(crate) fn ingest_batch(
    context: &mut WriterContext,
    tenant: &str,
    events: &[PreparedEvent],
) -> Result<IngestOutcome, StoreError> {
    let mut outcomes = ingest_batches(context, tenant, &[events])?;
    outcomes
        .pop()
        .ok_or_else(|| StoreError::Corrupt("a stored batch has no outcome".to_owned()))
}

/// Stores `batches` in one transaction, in order, and returns one outcome per batch.
///
/// # Errors
///
/// Returns [`StoreError`] when the transaction fails; nothing of any batch is stored.
fn ingest_batches(
    context: &mut WriterContext,
    tenant: &str,
    batches: &[&[PreparedEvent]],
) -> Result<Vec<IngestOutcome>, StoreError> {
    // Each new event's id is minted from its `seq`, which the insert sets: the next after
    // the largest stored. A duplicate leaves its `seq` to the next event.
    let slot = context.next_block_slot()?;
    let transaction = context
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut next_seq: i64 =
        transaction.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM events", [], |row| {
            row.get(0)
        })?;
    let block = IdBlock::new(slot, next_seq);

    let mut insert = transaction.prepare_cached(INSERT_SQL)?;
    let mut sessions: BatchMap<String, Session> = BatchMap::default();
    // `started_at` of each session that this loop read from the file, for `Session::update`.
    let mut stored_starts: BatchMap<String, String> = BatchMap::default();
    let mut rollups = RollupDeltas::default();
    let mut llm_rollups = LlmRollupDeltas::default();
    let mut tool_counts = ToolCountDeltas::default();
    let mut outcomes = Vec::with_capacity(batches.len());
    // Text bytes of the new events, which join the session index's tail.
    let mut added_bytes = 0u64;
    for events in batches {
        let mut results = Vec::with_capacity(events.len());
        let mut duplicates = 0;
        for (index, prepared) in events.iter().enumerate() {
            let session_id = &prepared.event.session_id;
            let loaded_here = !sessions.contains_key(session_id);
            if loaded_here {
                let session = match Session::load(&transaction, tenant, session_id)? {
                    Some(stored) => {
                        stored_starts.insert(session_id.clone(), stored.started_at.clone());
                        stored
                    }
                    None => Session::start(tenant, prepared),
                };
                sessions.insert(session_id.clone(), session);
            }
            let Some(session) = sessions.get_mut(session_id) else {
                continue;
            };

            let prev_hash = Some(session.tail_hash.as_str()).filter(|hash| !hash.is_empty());
            let superseding = cost_rule::superseding_response(&transaction, tenant, prepared)?;
            let fill = cost_fill::fill_of_new_response(&transaction, tenant, prepared)?;
            let id = block.mint(next_seq);
            let row = NewRow {
                seq: next_seq,
                id: &id,
                prev_hash,
                superseded_by: superseding.as_ref().map(|response| response.id.as_str()),
                cost_fill: fill.as_ref(),
            };
            let Some(hash) = insert_event(&mut insert, tenant, prepared, &row)? else {
                // A retried send: the insert left the stored event and its session as they were.
                if loaded_here {
                    sessions.remove(session_id);
                    stored_starts.remove(session_id);
                }
                duplicates += 1;
                results.push(client_ids::stored_duplicate(
                    &transaction,
                    tenant,
                    index,
                    prepared,
                )?);
                continue;
            };
            next_seq += 1;
            added_bytes +=
                (prepared.stored_payload_json().len() + prepared.metadata_json.len()) as u64;
            session.apply(prepared, &hash, superseding.is_none());
            if superseding.is_none() {
                rollups.add_event(prepared)?;
            }
            llm_rollups.add_event(prepared)?;
            tool_counts.add_event(prepared)?;
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
            if let (Some((keys, cost_pico)), Some(session)) = (filled, sessions.get_mut(session_id))
            {
                cost_fill::move_figures(&keys, cost_pico, session, &mut rollups, &mut llm_rollups)?;
            }
            results.push(IngestedEvent {
                id,
                hash,
                duplicate: false,
            });
        }
        outcomes.push(IngestOutcome {
            ingested: results.len() - duplicates,
            duplicates,
            events: results,
        });
    }

    drop(insert);
    for (session_id, session) in &sessions {
        match stored_starts.get(session_id) {
            Some(stored_start) => session.update(&transaction, stored_start)?,
            None => session.save(&transaction)?,
        }
    }
    rollups.flush(&transaction, tenant)?;
    llm_rollups.flush(&transaction, tenant)?;
    tool_counts.flush(&transaction, tenant)?;
    if next_seq > block.first_seq {
        block.record(&transaction)?;
    }
    let tail_bytes = context.tail_bytes.saturating_add(added_bytes);
    let tail_remains = session_index::index_long_tail(&transaction, next_seq - 1, tail_bytes)?;
    transaction.commit()?;
    context.session_tail = tail_remains;
    context.tail_bytes = if tail_remains { tail_bytes } else { 0 };
    Ok(outcomes)
}

/// The server-assigned columns of a new event row.
struct NewRow<'a> {
    /// The rowid, which the id is minted from.
    seq: i64,
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
    pricing_version, price_provider, price_model, price_date, cost_from, seq, tool_name) VALUES \
    (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, \
    ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32) \
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
        row.seq,
        prepared.tool_name,
    ])?;
    Ok((inserted > 0).then_some(hash))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use agentlens_core::pricing::PriceTable;
    use chrono::Utc;
    use serde_json::{json, Value};

    use super::*;
    use crate::ingest::prepare_batch;

    type Reply = oneshot::Receiver<Result<IngestOutcome, StoreError>>;

    /// Returns a writer context on a new file and a count of its commits.
    fn writer(dir: &tempfile::TempDir) -> (WriterContext, Arc<AtomicUsize>) {
        let mut conn = super::super::sqlite::open_writer(&dir.path().join("group.db")).unwrap();
        let commits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&commits);
        conn.commit_hook(Some(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            false
        }))
        .unwrap();
        (WriterContext::new(conn), commits)
    }

    /// Returns an ingest job of one `cost_tracked` event in session `s1`.
    fn job(client_id: &str, cost: &str) -> (IngestJob, Reply) {
        let body = json!({"events": [{
            "id": client_id,
            "sessionId": "s1",
            "agentId": "agent",
            "eventType": "cost_tracked",
            "timestamp": "2026-12-01T10:00:00.000Z",
            "payload": {"provider": "openai", "model": "gpt-4o", "inputTokens": 10,
                        "outputTokens": 5, "totalTokens": 15, "costUsd": cost},
        }]});
        let events = prepare_batch(&body, Utc::now(), PriceTable::embedded()).unwrap();
        let (reply, outcome) = oneshot::channel();
        let tenant = "default".to_owned();
        (
            IngestJob {
                tenant,
                events,
                reply,
            },
            outcome,
        )
    }

    fn outcome(mut reply: Reply) -> Result<IngestOutcome, StoreError> {
        reply.try_recv().expect("the job got a reply")
    }

    fn session_cost(context: &WriterContext) -> Value {
        let (count, high, low): (i64, i64, i64) = context
            .conn
            .query_row(
                "SELECT event_count, cost_high, cost_low FROM cost_rollups WHERE span = 86400",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .unwrap();
        json!([count, high * 1_000_000 + low])
    }

    #[test]
    fn queued_batches_share_one_commit() {
        let dir = tempfile::tempdir().unwrap();
        let (mut context, commits) = writer(&dir);
        let (queue_in, queue) = mpsc::channel();
        let (first, first_reply) = job("a", "0.1");
        let (retry, retry_reply) = job("a", "0.1");
        let (second, second_reply) = job("b", "0.2");
        queue_in.send(WriteJob::Ingest(retry)).unwrap();
        queue_in.send(WriteJob::Ingest(second)).unwrap();

        assert!(run_group(&mut context, first, &queue, &LastWriteFault::default()).is_none());

        assert_eq!(commits.load(Ordering::SeqCst), 1);
        let first = outcome(first_reply).unwrap();
        let retry = outcome(retry_reply).unwrap();
        let second = outcome(second_reply).unwrap();
        assert_eq!((retry.ingested, retry.duplicates), (0, 1));
        assert_eq!(retry.events[0].id, first.events[0].id);
        let prev_hash: String = context
            .conn
            .query_row(
                "SELECT prev_hash FROM events WHERE id = ?1",
                [&second.events[0].id],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(prev_hash, first.events[0].hash);
        assert_eq!(session_cost(&context), json!([2, 300_000_000_000i64]));
    }

    fn indexed_through(context: &WriterContext) -> i64 {
        context
            .conn
            .query_row(
                "SELECT indexed_through FROM session_index_state",
                [],
                |row| row.get(0),
            )
            .unwrap()
    }

    #[test]
    fn tail_reaching_byte_limit_is_indexed_by_ingest() {
        let dir = tempfile::tempdir().unwrap();
        let (mut context, _) = writer(&dir);
        let (queue_in, queue) = mpsc::channel();
        drop(queue_in);

        let (first, _first_reply) = job("a", "0.1");
        run_group(&mut context, first, &queue, &LastWriteFault::default());
        assert_eq!(indexed_through(&context), 0);
        assert!(context.session_tail);
        assert!(context.tail_bytes > 0);

        // One more event brings the tail's text to the limit.
        context.tail_bytes = session_index::TAIL_BYTES - 1;
        let (second, _second_reply) = job("b", "0.2");
        run_group(&mut context, second, &queue, &LastWriteFault::default());
        assert_eq!(indexed_through(&context), 2);
        assert!(!context.session_tail);
        assert_eq!(context.tail_bytes, 0);
    }

    #[test]
    fn failing_batch_of_group_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let (mut context, _) = writer(&dir);
        let (queue_in, queue) = mpsc::channel();
        let (first, first_reply) = job("a", "0.1");
        let (mut broken, broken_reply) = job("b", "0.2");
        broken.events[0].timestamp = "not a time".to_owned();
        let (last, last_reply) = job("c", "0.4");
        queue_in.send(WriteJob::Ingest(broken)).unwrap();
        queue_in.send(WriteJob::Ingest(last)).unwrap();

        run_group(&mut context, first, &queue, &LastWriteFault::default());

        assert_eq!(outcome(first_reply).unwrap().ingested, 1);
        assert!(outcome(broken_reply).is_err());
        assert_eq!(outcome(last_reply).unwrap().ingested, 1);
        assert_eq!(session_cost(&context), json!([2, 500_000_000_000i64]));
    }

    #[test]
    fn other_job_ends_group_and_runs_next() {
        let dir = tempfile::tempdir().unwrap();
        let (mut context, commits) = writer(&dir);
        let (queue_in, queue) = mpsc::channel();
        let (first, first_reply) = job("a", "0.1");
        let (later, _later_reply) = job("b", "0.2");
        queue_in.send(WriteJob::Run(Box::new(|_| {}))).unwrap();
        queue_in.send(WriteJob::Ingest(later)).unwrap();

        let next = run_group(&mut context, first, &queue, &LastWriteFault::default());

        assert!(matches!(next, Some(WriteJob::Run(_))));
        assert!(matches!(queue.try_recv(), Ok(WriteJob::Ingest(_))));
        assert_eq!(commits.load(Ordering::SeqCst), 1);
        assert_eq!(outcome(first_reply).unwrap().ingested, 1);
    }
}
