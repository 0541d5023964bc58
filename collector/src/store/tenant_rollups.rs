//! Tenant cost rollups: one row per tenant and UTC unit, for the `overTime` buckets of the
//! cost report.
//!
//! A bucket reports its cost, its row count and the cost of each agent. So the `agents`
//! column of a unit's `tenant_cost_rollups` row contains one entry per agent: the agent's
//! exact cost in pico-dollars and its number of counted rows. An hour bucket then reads
//! one row instead of one per agent, provider and model.
//!
//! Ingest merges the cost deltas of a batch into the stored entries, which also subtracts
//! the rows that an `llm_response` supersedes, so every entry equals the sum of the
//! matching `cost_rollups` rows. Migration 7 fills the table from `cost_rollups`.
//!
//! The column is a BLOB of entries sorted by agent id. Each entry is the agent id's
//! length as a little-endian `u32`, its UTF-8 bytes, the cost as a little-endian `i128`
//! and the row count as a little-endian `i64`. An entry whose cost and row count both
//! fall to 0 is removed.
//!
//! TODO: every batch rewrites the whole value of each unit it touches, so a tenant with
//! many thousands of agents in one UTC day rewrites that many entries of the day row per
//! batch. Nothing caps this yet. Splitting a unit's value across rows would bound it.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection, OptionalExtension};

use super::rollups::SPANS;
use super::StoreError;

/// Bytes of an entry after the agent id: the cost and the row count.
const FIGURES_LEN: usize = 16 + 8;

/// Cost in pico-dollars and counted rows of one agent in one unit.
pub(super) type AgentFigures = (i128, i64);

/// Calls `visit` with each entry of a stored `agents` value, in agent order.
///
/// # Errors
///
/// Returns [`StoreError::Corrupt`] when the value is cut short or an agent id is not UTF-8.
pub(super) fn for_each_agent<'a>(
    value: &'a [u8],
    mut visit: impl FnMut(&'a str, AgentFigures),
) -> Result<(), StoreError> {
    let corrupt = || StoreError::Corrupt("tenant_cost_rollups.agents is cut short".to_owned());
    let mut rest = value;
    while !rest.is_empty() {
        let (length, tail) = rest.split_first_chunk::<4>().ok_or_else(corrupt)?;
        let length = u32::from_le_bytes(*length) as usize;
        if tail.len() < length + FIGURES_LEN {
            return Err(corrupt());
        }
        let (agent, tail) = tail.split_at(length);
        let agent = std::str::from_utf8(agent)
            .map_err(|error| StoreError::Corrupt(format!("agent id in rollup: {error}")))?;
        let (cost, tail) = tail.split_first_chunk::<16>().ok_or_else(corrupt)?;
        let (events, tail) = tail.split_first_chunk::<8>().ok_or_else(corrupt)?;
        visit(
            agent,
            (i128::from_le_bytes(*cost), i64::from_le_bytes(*events)),
        );
        rest = tail;
    }
    Ok(())
}

/// Encodes entries for the `agents` column, leaving out those whose cost and row count
/// are both 0.
fn encode<'a>(entries: impl IntoIterator<Item = (&'a str, AgentFigures)>) -> Vec<u8> {
    let mut value = Vec::new();
    for (agent, (cost, events)) in entries {
        if events == 0 && cost == 0 {
            continue;
        }
        let length = u32::try_from(agent.len()).unwrap_or(u32::MAX);
        value.extend_from_slice(&length.to_le_bytes());
        value.extend_from_slice(&agent.as_bytes()[..length as usize]);
        value.extend_from_slice(&cost.to_le_bytes());
        value.extend_from_slice(&events.to_le_bytes());
    }
    value
}

/// Merges per-agent changes at minute level into the stored rows of every unit that
/// contains them.
///
/// # Errors
///
/// Returns [`StoreError`] when a query fails or a stored value is corrupt.
pub(super) fn flush<'a>(
    conn: &Connection,
    tenant: &str,
    minute_changes: impl IntoIterator<Item = (i64, &'a str, AgentFigures)>,
) -> Result<(), StoreError> {
    let mut units: HashMap<(i64, i64), HashMap<&str, AgentFigures>> = HashMap::new();
    for (minute, agent, (cost, events)) in minute_changes {
        for span in SPANS {
            let start = minute.div_euclid(span) * span;
            let entry = units.entry((span, start)).or_default().entry(agent);
            let figures = entry.or_default();
            figures.0 += cost;
            figures.1 += events;
        }
    }

    let mut select = conn.prepare_cached(
        "SELECT agents FROM tenant_cost_rollups \
         WHERE tenant_id = ?1 AND span = ?2 AND bucket_start = ?3",
    )?;
    let mut upsert = conn.prepare_cached(
        "INSERT INTO tenant_cost_rollups (tenant_id, span, bucket_start, agents) \
         VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (tenant_id, span, bucket_start) DO UPDATE SET agents = excluded.agents",
    )?;
    for ((span, start), changes) in units {
        let stored: Option<Vec<u8>> = select
            .query_row(params![tenant, span, start], |row| row.get(0))
            .optional()?;
        let mut merged: BTreeMap<&str, AgentFigures> = BTreeMap::new();
        if let Some(stored) = &stored {
            for_each_agent(stored, |agent, figures| {
                merged.insert(agent, figures);
            })?;
        }
        for (agent, (cost, events)) in changes {
            let figures = merged.entry(agent).or_default();
            figures.0 += cost;
            figures.1 += events;
        }
        upsert.execute(params![tenant, span, start, encode(merged)])?;
    }
    Ok(())
}

/// Fills `tenant_cost_rollups` from `cost_rollups`. Migration 7 runs it after creating
/// the table.
pub(crate) fn backfill(conn: &Connection) -> rusqlite::Result<()> {
    let mut read = conn.prepare(
        "SELECT tenant_id, span, bucket_start, agent_id, \
         SUM(cost_high), SUM(cost_low), SUM(event_count) FROM cost_rollups \
         GROUP BY tenant_id, span, bucket_start, agent_id \
         ORDER BY tenant_id, span, bucket_start, agent_id",
    )?;
    let mut insert = conn.prepare(
        "INSERT INTO tenant_cost_rollups (tenant_id, span, bucket_start, agents) \
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut rows = read.query([])?;
    let mut unit: Option<(String, i64, i64)> = None;
    let mut entries: Vec<(String, AgentFigures)> = Vec::new();
    while let Some(row) = rows.next()? {
        let key: (String, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
        if unit.as_ref() != Some(&key) {
            if let Some((tenant, span, start)) = unit.replace(key) {
                let value = encode(entries.iter().map(|(agent, f)| (agent.as_str(), *f)));
                insert.execute(params![tenant, span, start, value])?;
            }
            entries.clear();
        }
        let (high, low): (i64, i64) = (row.get(4)?, row.get(5)?);
        let cost = i128::from(high) * 1_000_000 + i128::from(low);
        entries.push((row.get(3)?, (cost, row.get(6)?)));
    }
    if let Some((tenant, span, start)) = unit {
        let value = encode(entries.iter().map(|(agent, f)| (agent.as_str(), *f)));
        insert.execute(params![tenant, span, start, value])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(value: &[u8]) -> Vec<(String, AgentFigures)> {
        let mut entries = Vec::new();
        for_each_agent(value, |agent, figures| {
            entries.push((agent.to_owned(), figures))
        })
        .unwrap();
        entries
    }

    #[test]
    fn agents_value_round_trips() {
        let huge = i128::from(i64::MAX) * 3;
        let value = encode([("agent-ü", (huge, 2)), ("b", (-5, 1)), ("gone", (0, 0))]);

        assert_eq!(
            decode(&value),
            vec![("agent-ü".to_owned(), (huge, 2)), ("b".to_owned(), (-5, 1))]
        );
    }

    #[test]
    fn cut_agents_value_is_corrupt() {
        let value = encode([("agent", (7, 1))]);
        for end in [1, 6, value.len() - 1] {
            let result = for_each_agent(&value[..end], |_, _| {});
            assert!(
                matches!(result, Err(StoreError::Corrupt(_))),
                "cut at {end}"
            );
        }
    }
}
