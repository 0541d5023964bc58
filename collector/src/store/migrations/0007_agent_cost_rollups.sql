-- Cost rollups per agent: the rows of `cost_rollups` summed over provider and model, so the
-- `overTime` buckets of the cost report read one row per unit and agent instead of one per
-- unit, agent, provider and model. `span`, `bucket_start` and the split of the cost into
-- `cost_high * 1000000 + cost_low` pico-dollars mean what they mean in `cost_rollups`.
-- The table keeps only what a bucket reports per agent: the cost and the number of cost
-- rows. Ingest keeps it current in its own transaction. This migration fills it from
-- `cost_rollups`, which already holds the exact sums of the stored events.

CREATE TABLE agent_cost_rollups (
    tenant_id TEXT NOT NULL,
    span INTEGER NOT NULL,
    bucket_start INTEGER NOT NULL,
    agent_id TEXT NOT NULL,
    cost_high INTEGER NOT NULL,
    cost_low INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, span, bucket_start, agent_id)
) WITHOUT ROWID;

-- The low parts are carried into `cost_high` so `cost_low` stays within ±1e6. SQLite's `/`
-- and `%` truncate towards zero, so the carry leaves the exact sum unchanged.
INSERT INTO agent_cost_rollups
SELECT tenant_id, span, bucket_start, agent_id,
    SUM(cost_high) + SUM(cost_low) / 1000000, SUM(cost_low) % 1000000, SUM(event_count)
FROM cost_rollups
GROUP BY tenant_id, span, bucket_start, agent_id;
