-- Cost rollups per tenant and UTC unit, for the `overTime` buckets of the cost report.
-- `span` and `bucket_start` mean what they mean in `cost_rollups`. `agents` contains, for
-- each agent with counted rows in the unit, its exact cost in pico-dollars and its number
-- of counted rows, in the binary form that `store/tenant_rollups.rs` describes. Ingest
-- keeps the table current in its own transaction. This migration's Rust step fills it
-- from `cost_rollups`, which already contains the exact sums of the stored events.

CREATE TABLE tenant_cost_rollups (
    tenant_id TEXT NOT NULL,
    span INTEGER NOT NULL,
    bucket_start INTEGER NOT NULL,
    agents BLOB NOT NULL,
    PRIMARY KEY (tenant_id, span, bucket_start)
) WITHOUT ROWID;
