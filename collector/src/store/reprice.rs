//! Repricing: prices the stored unpriced cost events again with the current price table.
//!
//! `agentlens prices reprice` runs [`Store::reprice_unpriced`] after a price table update.
//! In one transaction it validates the stored payload of every unpriced `cost_tracked` and
//! `llm_response` as ingest did and quotes it at the event's time. An event that the table
//! now prices is stored as a derived cost with the table's version and entry, as ingest
//! would have stored it, and an event that stays unpriced takes the table's version, so
//! its `unpricedReason` is shown while the collector runs that table. The figures derived
//! from a counted event move from the unpriced count to its cost, in its session, the cost
//! rollups with their running totals, and the LLM rollups. A superseded `cost_tracked`
//! counts nowhere, but once priced it can give its cost to the unpriced `llm_response` that
//! supersedes it ([`super::cost_fill`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use agentlens_core::pricing::PriceTable;
use rusqlite::{params, Connection, TransactionBehavior};

use super::cost_fill::{fill_unpriced_responses, move_priced_rows, PricedRow, ResponseKeys};
use super::session_merge::Merging;
use super::{Store, StoreError};
use crate::ingest::{price_stored, CostColumns, StoredCostEvent};

/// The result of repricing the stored unpriced events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepriceOutcome {
    /// Events that the table now prices, stored as derived costs.
    pub priced: u64,
    /// Unpriced `llm_response` events that took the cost of a `cost_tracked` they supersede
    /// once that `cost_tracked` was priced.
    pub filled: u64,
    /// Events that stay unpriced, counted per reason.
    pub unpriced: BTreeMap<String, u64>,
}

/// A stored unpriced cost event.
struct UnpricedRow {
    seq: i64,
    tenant_id: String,
    session_id: String,
    agent_id: String,
    event_type: String,
    timestamp: String,
    payload: String,
    provider: String,
    model: String,
    counted: bool,
}

impl UnpricedRow {
    fn stored(&self) -> StoredCostEvent<'_> {
        StoredCostEvent {
            session_id: &self.session_id,
            agent_id: &self.agent_id,
            event_type: &self.event_type,
            timestamp: &self.timestamp,
            payload: &self.payload,
        }
    }

    fn keys(&self) -> ResponseKeys<'_> {
        ResponseKeys {
            timestamp: Cow::Borrowed(&self.timestamp),
            session_id: Cow::Borrowed(&self.session_id),
            agent_id: Cow::Borrowed(&self.agent_id),
            provider: Cow::Borrowed(&self.provider),
            model: Cow::Borrowed(&self.model),
        }
    }
}

impl Store {
    /// Prices every stored unpriced `cost_tracked` and `llm_response` event again with
    /// `prices`, and moves the figures derived from those that it prices.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when a query or update fails, or a sum leaves the column
    /// range. Nothing is changed then.
    pub async fn reprice_unpriced(
        &self,
        prices: Arc<PriceTable>,
    ) -> Result<RepriceOutcome, StoreError> {
        self.write(move |context| reprice(&mut context.conn, &prices))
            .await
    }
}

fn reprice(conn: &mut Connection, prices: &PriceTable) -> Result<RepriceOutcome, StoreError> {
    let transaction = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows = unpriced_rows(&transaction)?;

    let mut outcome = RepriceOutcome::default();
    let mut reasons: HashMap<i64, String> = HashMap::new();
    let mut priced = Vec::new();
    for row in &rows {
        let columns = match price_stored(row.stored(), prices) {
            Ok(columns) => columns,
            Err(reason) => {
                // The collector computes the reason again on each read, but only for
                // events whose version is that of the table it runs.
                store_unpriced_version(&transaction, row.seq, prices.version())?;
                reasons.insert(row.seq, reason);
                continue;
            }
        };
        store_price(&transaction, row.seq, &columns)?;
        outcome.priced += 1;

        if let Some(cost_pico) = columns.cost_pico.filter(|_| row.counted) {
            priced.push(PricedRow {
                tenant: &row.tenant_id,
                keys: row.keys(),
                cost_pico,
                llm_response: row.event_type == "llm_response",
            });
        }
    }
    move_priced_rows(&transaction, &priced, Merging::Deferred)?;

    for seq in fill_unpriced_responses(&transaction, Merging::Deferred)? {
        reasons.remove(&seq);
        outcome.filled += 1;
    }
    for reason in reasons.into_values() {
        *outcome.unpriced.entry(reason).or_default() += 1;
    }
    transaction.commit()?;
    Ok(outcome)
}

/// Reads the unpriced cost events, grouped by tenant and in ingest order.
fn unpriced_rows(conn: &Connection) -> Result<Vec<UnpricedRow>, StoreError> {
    let mut statement = conn.prepare(
        "SELECT seq, tenant_id, session_id, agent_id, event_type, timestamp, payload, \
         COALESCE(provider, ''), COALESCE(model, ''), superseded_by IS NULL FROM events \
         WHERE cost_source = 'unpriced' ORDER BY tenant_id, seq",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(UnpricedRow {
            seq: row.get(0)?,
            tenant_id: row.get(1)?,
            session_id: row.get(2)?,
            agent_id: row.get(3)?,
            event_type: row.get(4)?,
            timestamp: row.get(5)?,
            payload: row.get(6)?,
            provider: row.get(7)?,
            model: row.get(8)?,
            counted: row.get(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Records that the table of `version` has no price for an event either, as ingest under
/// that table would have.
fn store_unpriced_version(conn: &Connection, seq: i64, version: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE events SET pricing_version = ?1 WHERE seq = ?2")?
        .execute(params![version, seq])?;
    Ok(())
}

/// Stores the derived cost and the price table entry of a repriced event.
fn store_price(conn: &Connection, seq: i64, columns: &CostColumns) -> Result<(), StoreError> {
    let pricing = columns.pricing.as_ref();
    conn.prepare_cached(
        "UPDATE events SET cost_pico = ?1, cost_source = ?2, pricing_version = ?3, \
         price_provider = ?4, price_model = ?5, price_date = ?6 WHERE seq = ?7",
    )?
    .execute(params![
        columns.cost_pico,
        columns.source.as_str(),
        pricing.map(|pricing| pricing.version.as_str()),
        pricing.and_then(|pricing| pricing.provider.as_deref()),
        pricing.and_then(|pricing| pricing.model.as_deref()),
        pricing.and_then(|pricing| pricing.price_date.map(|day| day.to_string())),
        seq,
    ])?;
    Ok(())
}
