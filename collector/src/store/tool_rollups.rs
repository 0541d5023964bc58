//! Event counts per tool: how many events of each tool and agent fall in each UTC hour and
//! day, kept by the ingest transaction (migration 22).
//!
//! `byTool` of the cost report counts the events that name a tool. Stored events never
//! change, so their counts only grow and no later step has to correct them. Costs do
//! change: a response can supersede a `cost_tracked` or take its cost, and `prices
//! reprice` applies prices again. So `byTool` reads the costs from the cost events that
//! name a tool, which agents send far less often than tool events.

use rusqlite::{params, Connection};

use super::rollups::unix_second;
use super::{BatchMap, StoreError};
use crate::ingest::PreparedEvent;

/// Unit lengths in seconds, largest first: UTC day and hour.
pub(crate) const TOOL_SPANS: [i64; 2] = [86_400, 3_600];

/// Counts to add, keyed by span, unit start, tool name and agent id.
#[derive(Debug, Default)]
pub(crate) struct ToolCountDeltas(BatchMap<(i64, i64, String, String), i64>);

impl ToolCountDeltas {
    /// Counts a new event that names a tool in each unit that contains it.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError::Corrupt`] when the event's timestamp text is unreadable.
    pub(crate) fn add_event(&mut self, prepared: &PreparedEvent) -> Result<(), StoreError> {
        let Some(tool) = &prepared.tool_name else {
            return Ok(());
        };
        let second = unix_second(&prepared.timestamp)
            .ok_or_else(|| StoreError::Corrupt(format!("timestamp {:?}", prepared.timestamp)))?;
        for span in TOOL_SPANS {
            let start = second.div_euclid(span) * span;
            let key = (span, start, tool.clone(), prepared.event.agent_id.clone());
            *self.0.entry(key).or_default() += 1;
        }
        Ok(())
    }

    /// Adds the counts to `tool_rollups`.
    ///
    /// # Errors
    ///
    /// Returns [`StoreError`] when an upsert fails.
    pub(crate) fn flush(self, conn: &Connection, tenant: &str) -> Result<(), StoreError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut upsert = conn.prepare_cached(
            "INSERT INTO tool_rollups (tenant_id, span, bucket_start, tool_name, agent_id, \
             event_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (tenant_id, span, bucket_start, tool_name, agent_id) \
             DO UPDATE SET event_count = event_count + excluded.event_count",
        )?;
        for ((span, start, tool, agent), count) in self.0 {
            upsert.execute(params![tenant, span, start, tool, agent, count])?;
        }
        Ok(())
    }
}

/// The parts of an inclusive range `[from, to]` of Unix microseconds: whole UTC days and
/// hours that the rollups count, and up to two partial hours at the ends that only the
/// events can count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToolCover {
    /// Whole units as `(span, first start, end)`, each from `first start` up to `end`
    /// (exclusive), in seconds.
    pub(crate) units: Vec<(i64, i64, i64)>,
    /// Partial hours as inclusive ranges of Unix microseconds.
    pub(crate) edges: Vec<(i64, i64)>,
}

/// Splits `[from, to]` (Unix microseconds, inclusive) into whole days, whole hours and
/// the partial hours at its ends.
pub(crate) fn cover(from: i64, to: i64) -> ToolCover {
    const MICROS: i64 = 1_000_000;
    const HOUR: i64 = 3_600;
    const DAY: i64 = 86_400;
    // The whole hours run from the first hour start at or after `from` up to the last hour
    // start at or before the instant after `to`.
    let first_hour = ceil_div(from, HOUR * MICROS) * HOUR;
    let end_hour = (to + 1).div_euclid(HOUR * MICROS) * HOUR;
    if from > to || first_hour >= end_hour {
        return ToolCover {
            units: Vec::new(),
            edges: if from > to {
                Vec::new()
            } else {
                vec![(from, to)]
            },
        };
    }

    let mut edges = Vec::new();
    if from < first_hour * MICROS {
        edges.push((from, first_hour * MICROS - 1));
    }
    if end_hour * MICROS <= to {
        edges.push((end_hour * MICROS, to));
    }
    let first_day = ceil_div(first_hour, DAY) * DAY;
    let end_day = end_hour.div_euclid(DAY) * DAY;
    let mut units = Vec::new();
    if first_day < end_day {
        units.push((DAY, first_day, end_day));
        if first_hour < first_day {
            units.push((HOUR, first_hour, first_day));
        }
        if end_day < end_hour {
            units.push((HOUR, end_day, end_hour));
        }
    } else {
        units.push((HOUR, first_hour, end_hour));
    }
    ToolCover { units, edges }
}

fn ceil_div(value: i64, divisor: i64) -> i64 {
    -(-value).div_euclid(divisor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600;
    const D: i64 = 86_400;
    const M: i64 = 1_000_000;

    #[test]
    fn range_inside_hour_is_one_edge() {
        let cover = cover(10 * M, 20 * M);

        assert_eq!(cover.units, Vec::new());
        assert_eq!(cover.edges, vec![(10 * M, 20 * M)]);
    }

    #[test]
    fn whole_days_with_hours_and_edges() {
        // From 22:30 on day 1 to 02:15 (inclusive) on day 4.
        let from = (D + 22 * H + 1_800) * M;
        let to = (3 * D + 2 * H + 900) * M;

        let cover = cover(from, to);

        let units = vec![
            (D, 2 * D, 3 * D),
            (H, D + 23 * H, 2 * D),
            (H, 3 * D, 3 * D + 2 * H),
        ];
        assert_eq!(cover.units, units);
        let edges = vec![(from, (D + 23 * H) * M - 1), ((3 * D + 2 * H) * M, to)];
        assert_eq!(cover.edges, edges);
    }

    #[test]
    fn aligned_day_needs_no_edges() {
        // A whole UTC day, as `from=2026-02-07&to=2026-02-07` gives it: the last
        // microsecond of the day is the inclusive end.
        let cover = cover(D * M, 2 * D * M - 1);

        assert_eq!(cover.units, vec![(D, D, 2 * D)]);
        assert_eq!(cover.edges, Vec::new());
    }

    #[test]
    fn hours_without_whole_day() {
        let cover = cover((5 * H + 10) * M, 8 * H * M);

        assert_eq!(cover.units, vec![(H, 6 * H, 8 * H)]);
        assert_eq!(
            cover.edges,
            vec![((5 * H + 10) * M, 6 * H * M - 1), (8 * H * M, 8 * H * M)]
        );
    }
}
