-- Replaces the partial index on all counted cost rows, which every ingested
-- `cost_tracked` event had to update, with one on the `llm_response` rows alone.
--
-- The cost report reads its totals from the rollups and the session totals. The remaining
-- readers of counted cost rows by time are:
--
-- - `GET /api/analytics/llm`, which sums the counted `llm_response` rows of its range and
--   now reads them through `events_tenant_llm_rows`;
-- - the partial minutes at the ends of a cost report's range, at most two minutes of
--   events, and the cost report recomputed from the events, for zones whose bucket
--   boundaries are not on whole minutes. Both now read `events_tenant_timestamp` and test
--   each event of the range.
--
-- An `llm_response` is never superseded, so the new index needs no `superseded_by` term.
-- Building it reads the whole `events` table once.

DROP INDEX IF EXISTS events_tenant_cost_rows;

CREATE INDEX events_tenant_llm_rows ON events (tenant_id, timestamp)
    WHERE event_type = 'llm_response' AND cost_source IS NOT NULL;
