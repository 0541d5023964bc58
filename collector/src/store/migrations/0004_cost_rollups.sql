-- Cost rollups: exact sums of the rows that count towards cost totals (cost_source set,
-- superseded_by NULL) per UTC unit of time. `span` is the unit length in seconds (60, 900,
-- 3600 or 86400) and `bucket_start` the Unix second where the unit starts, a multiple of
-- `span`. Money is split so sums stay exact beyond 64 bits: the total in pico-dollars is
-- `cost_high * 1000000 + cost_low`. Ingest keeps both tables current in its own
-- transaction; this migration fills them from the events already stored.

CREATE TABLE cost_rollups (
    tenant_id TEXT NOT NULL,
    span INTEGER NOT NULL,
    bucket_start INTEGER NOT NULL,
    agent_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    cost_high INTEGER NOT NULL,
    cost_low INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    -- Rows whose cost is unknown; they add nothing to the cost columns.
    unpriced_count INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, span, bucket_start, agent_id, provider, model)
) WITHOUT ROWID;

CREATE TABLE session_cost_rollups (
    tenant_id TEXT NOT NULL,
    span INTEGER NOT NULL,
    bucket_start INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    cost_high INTEGER NOT NULL,
    cost_low INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    event_count INTEGER NOT NULL,
    unpriced_count INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, span, bucket_start, session_id, agent_id)
) WITHOUT ROWID;

CREATE TEMP TABLE counted_cost_rows AS
SELECT
    tenant_id,
    CAST(strftime('%s', substr(timestamp, 1, 19)) AS INTEGER) AS second,
    agent_id,
    session_id,
    provider,
    model,
    cost_pico,
    COALESCE(input_tokens, 0) AS input_tokens,
    COALESCE(output_tokens, 0) AS output_tokens,
    COALESCE(cache_read_tokens, 0) AS cache_read_tokens,
    COALESCE(cache_write_5m_tokens, 0) + COALESCE(cache_write_1h_tokens, 0)
        AS cache_write_tokens
FROM events
WHERE cost_source IS NOT NULL AND superseded_by IS NULL
    -- Ingest writes every timestamp in the fixed form read here. A row in any other form
    -- cannot be placed in a minute, so it is left out of the rollups.
    AND strftime('%s', substr(timestamp, 1, 19)) IS NOT NULL;

CREATE TEMP TABLE rollup_spans (span INTEGER NOT NULL);
INSERT INTO rollup_spans VALUES (60), (900), (3600), (86400);

-- `second - ((second % span) + span) % span` rounds down, also before 1970.
INSERT INTO cost_rollups
SELECT tenant_id, span, second - ((second % span) + span) % span, agent_id, provider, model,
    COALESCE(SUM(cost_pico / 1000000), 0), COALESCE(SUM(cost_pico % 1000000), 0),
    SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
    COUNT(*), SUM(cost_pico IS NULL)
FROM counted_cost_rows, rollup_spans
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO session_cost_rollups
SELECT tenant_id, span, second - ((second % span) + span) % span, session_id, agent_id,
    COALESCE(SUM(cost_pico / 1000000), 0), COALESCE(SUM(cost_pico % 1000000), 0),
    SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
    COUNT(*), SUM(cost_pico IS NULL)
FROM counted_cost_rows, rollup_spans
GROUP BY 1, 2, 3, 4, 5;

DROP TABLE counted_cost_rows;
DROP TABLE rollup_spans;
