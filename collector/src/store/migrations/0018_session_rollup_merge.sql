-- From this migration on, ingest writes `session_cost_rollups` at minute level only, and
-- adds the minutes to their quarter hour, hour and day, and to the running totals in
-- `agent_session_cost_totals`, later, once they lie in the past. A session of several
-- agents has one row per agent and unit, so writing the minute alone saves four upserts
-- per session and agent in every ingest transaction.
--
-- A tenant's `merged_until` is a Unix second on a whole minute. Every minute before it
-- has been added to its larger units, and no minute from it on has. Ingest adds a change
-- to a minute before it to all four units and the totals at once. The Rust step of this
-- migration takes the minutes from one minute ago on back out of their larger units and
-- the totals, where ingest had put them, and records that minute for each tenant.

CREATE TABLE session_rollup_merge (
    tenant_id TEXT PRIMARY KEY,
    merged_until INTEGER NOT NULL CHECK (merged_until % 60 = 0)
) WITHOUT ROWID;
