-- Drops the partial index on the counted cost rows, which every ingested cost event had to
-- update. The cost report reads its totals from the rollups and the session totals, so the
-- remaining readers of counted cost rows by time are:
--
-- - the partial minutes at the ends of a cost report's range, at most two minutes of
--   events;
-- - the cost report recomputed from the events, for zones whose bucket boundaries are not
--   on whole minutes;
-- - `GET /api/analytics/llm`, which sums the counted `llm_response` rows of its range.
--
-- They now read `events_tenant_timestamp` and test each row of the range, so a range that
-- holds many events without a cost (tool calls, custom events) reads those rows too.

DROP INDEX IF EXISTS events_tenant_cost_rows;
