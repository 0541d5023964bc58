-- Running cost totals per session, and per session and agent, so `bySession` of the cost
-- report can read the most expensive sessions first instead of every session in range.
--
-- The sum columns hold the exact sums of the session's counted cost rows (cost_source set,
-- superseded_by NULL), split as in `cost_rollups`. `cost_bound` is an upper bound, in
-- pico-dollars, on the cost of any subset of those rows: the sum of their positive costs.
-- The value 9223372036854775807 means "too large to store" and bounds nothing.
-- `first_timestamp` and `last_timestamp` enclose every counted row; they never narrow
-- when a row is superseded, so they may enclose more. Ingest keeps both tables current in
-- its own transaction; this migration fills them from the events already stored.

CREATE TABLE session_cost_totals (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    cost_bound INTEGER NOT NULL,
    first_timestamp TEXT NOT NULL,
    last_timestamp TEXT NOT NULL,
    cost_high INTEGER NOT NULL,
    cost_low INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    unpriced_count INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, session_id)
) WITHOUT ROWID;

CREATE INDEX session_cost_totals_by_bound ON session_cost_totals
    (tenant_id, cost_bound DESC, session_id, first_timestamp, last_timestamp);

CREATE TABLE agent_session_cost_totals (
    tenant_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    cost_bound INTEGER NOT NULL,
    first_timestamp TEXT NOT NULL,
    last_timestamp TEXT NOT NULL,
    cost_high INTEGER NOT NULL,
    cost_low INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    unpriced_count INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, agent_id, session_id)
) WITHOUT ROWID;

CREATE INDEX agent_session_cost_totals_by_bound ON agent_session_cost_totals
    (tenant_id, agent_id, cost_bound DESC, session_id, first_timestamp, last_timestamp);

CREATE TEMP TABLE counted_session_rows AS
SELECT
    tenant_id,
    session_id,
    agent_id,
    timestamp,
    cost_pico,
    MAX(COALESCE(cost_pico, 0), 0) AS positive_pico,
    COALESCE(input_tokens, 0) AS input_tokens,
    COALESCE(output_tokens, 0) AS output_tokens,
    COALESCE(cache_read_tokens, 0) AS cache_read_tokens,
    COALESCE(cache_write_5m_tokens, 0) + COALESCE(cache_write_1h_tokens, 0)
        AS cache_write_tokens
FROM events
WHERE cost_source IS NOT NULL AND superseded_by IS NULL
    -- The same rows as the rollups of migration 4: those whose timestamp has the stored form.
    AND strftime('%s', substr(timestamp, 1, 19)) IS NOT NULL;

-- The bound is recombined from its two partial sums and saturates at the largest integer.
CREATE TEMP TABLE session_sums AS
SELECT tenant_id, session_id, agent_id,
    SUM(positive_pico / 1000000) + SUM(positive_pico % 1000000) / 1000000 AS bound_high,
    SUM(positive_pico % 1000000) % 1000000 AS bound_low,
    MIN(timestamp) AS first_timestamp, MAX(timestamp) AS last_timestamp,
    COALESCE(SUM(cost_pico / 1000000), 0) AS cost_high,
    COALESCE(SUM(cost_pico % 1000000), 0) AS cost_low,
    SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
    SUM(cache_read_tokens) AS cache_read_tokens, SUM(cache_write_tokens) AS cache_write_tokens,
    COUNT(*) AS event_count, SUM(cost_pico IS NULL) AS unpriced_count
FROM counted_session_rows
GROUP BY tenant_id, session_id, agent_id;

INSERT INTO agent_session_cost_totals
SELECT tenant_id, agent_id, session_id,
    CASE WHEN bound_high >= 9223372036854 THEN 9223372036854775807
        ELSE bound_high * 1000000 + bound_low END,
    first_timestamp, last_timestamp, cost_high, cost_low, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, event_count, unpriced_count
FROM session_sums;

INSERT INTO session_cost_totals
SELECT tenant_id, session_id,
    CASE WHEN SUM(bound_high) + SUM(bound_low) / 1000000 >= 9223372036854
        THEN 9223372036854775807
        ELSE (SUM(bound_high) + SUM(bound_low) / 1000000) * 1000000 + SUM(bound_low) % 1000000
    END,
    MIN(first_timestamp), MAX(last_timestamp), SUM(cost_high), SUM(cost_low),
    SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
    SUM(event_count), SUM(unpriced_count)
FROM session_sums
GROUP BY tenant_id, session_id;

DROP TABLE session_sums;
DROP TABLE counted_session_rows;
