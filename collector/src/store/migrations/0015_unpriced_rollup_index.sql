-- Indexes the `cost_rollups` rows that hold unpriced rows. The `overTime` buckets of the
-- cost report come from `tenant_cost_rollups`, which stores no unpriced count, so each
-- bucket's unpriced count is read from `cost_rollups`. Without this index that read walks
-- every row of the range, one per agent, provider and model in each unit; with it, only
-- the rows that have unpriced rows, which are few where prices are known.
--
-- Ingest keeps the index current. An upsert that leaves a row's unpriced count at 0 adds
-- no index entry.

CREATE INDEX cost_rollups_unpriced ON cost_rollups (tenant_id, span, bucket_start)
    WHERE unpriced_count > 0;
