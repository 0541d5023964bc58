-- Scopes the cost rule to one session. Before this migration, the first `llm_response` of
-- the tenant with a `cost_tracked` row's `callId` superseded that row, in any session. Now
-- only an `llm_response` of the same session (same tenant and session id) supersedes it,
-- because many agent frameworks number their calls per conversation.
--
-- A `cost_tracked` row superseded by a response of another session is re-pointed to the
-- first `llm_response` of its own session with its `callId`, or counts again when there
-- is none. The rollups and running totals of every tenant with such a row are then
-- refilled from its counted rows, with the statements of migrations 4 and 6 limited to
-- those tenants. The Rust step of this migration recomputes the affected session rows and
-- the tenant rollups, and drops the temporary tables. In a database without such a row,
-- every statement after the first two finds nothing to change.

CREATE TEMP TABLE cross_session_superseded AS
SELECT tracked.seq, tracked.tenant_id, tracked.session_id
FROM events AS tracked
JOIN events AS response ON response.id = tracked.superseded_by
WHERE tracked.event_type = 'cost_tracked'
    AND tracked.superseded_by IS NOT NULL
    AND (response.tenant_id <> tracked.tenant_id OR response.session_id <> tracked.session_id);

UPDATE events
SET superseded_by = (
    SELECT response.id FROM events AS response
    WHERE response.tenant_id = events.tenant_id
      AND response.session_id = events.session_id
      AND response.call_id = events.call_id
      AND response.event_type = 'llm_response'
    ORDER BY response.seq
    LIMIT 1
)
WHERE seq IN (SELECT seq FROM cross_session_superseded);

CREATE TEMP TABLE rescoped_tenants AS
SELECT DISTINCT tenant_id FROM cross_session_superseded;

DELETE FROM cost_rollups WHERE tenant_id IN (SELECT tenant_id FROM rescoped_tenants);
DELETE FROM session_cost_rollups WHERE tenant_id IN (SELECT tenant_id FROM rescoped_tenants);
DELETE FROM session_cost_totals WHERE tenant_id IN (SELECT tenant_id FROM rescoped_tenants);
DELETE FROM agent_session_cost_totals
WHERE tenant_id IN (SELECT tenant_id FROM rescoped_tenants);

-- The counted rows of the affected tenants whose timestamp has the stored form, as
-- migrations 4 and 6 select them.
CREATE TEMP TABLE rescoped_cost_rows AS
SELECT
    tenant_id,
    CAST(strftime('%s', substr(timestamp, 1, 19)) AS INTEGER) AS second,
    timestamp,
    agent_id,
    session_id,
    provider,
    model,
    cost_pico,
    MAX(COALESCE(cost_pico, 0), 0) AS positive_pico,
    COALESCE(input_tokens, 0) AS input_tokens,
    COALESCE(output_tokens, 0) AS output_tokens,
    COALESCE(cache_read_tokens, 0) AS cache_read_tokens,
    COALESCE(cache_write_5m_tokens, 0) + COALESCE(cache_write_1h_tokens, 0)
        AS cache_write_tokens
FROM events
WHERE tenant_id IN (SELECT tenant_id FROM rescoped_tenants)
    AND cost_source IS NOT NULL AND superseded_by IS NULL
    AND strftime('%s', substr(timestamp, 1, 19)) IS NOT NULL;

CREATE TEMP TABLE rescoped_spans (span INTEGER NOT NULL);
INSERT INTO rescoped_spans VALUES (60), (900), (3600), (86400);

-- `second - ((second % span) + span) % span` rounds down, also before 1970.
INSERT INTO cost_rollups
SELECT tenant_id, span, second - ((second % span) + span) % span, agent_id, provider, model,
    COALESCE(SUM(cost_pico / 1000000), 0), COALESCE(SUM(cost_pico % 1000000), 0),
    SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
    COUNT(*), SUM(cost_pico IS NULL)
FROM rescoped_cost_rows, rescoped_spans
GROUP BY 1, 2, 3, 4, 5, 6;

INSERT INTO session_cost_rollups
SELECT tenant_id, span, second - ((second % span) + span) % span, session_id, agent_id,
    COALESCE(SUM(cost_pico / 1000000), 0), COALESCE(SUM(cost_pico % 1000000), 0),
    SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
    COUNT(*), SUM(cost_pico IS NULL)
FROM rescoped_cost_rows, rescoped_spans
GROUP BY 1, 2, 3, 4, 5;

-- The bound is recombined from its two partial sums and saturates at the largest integer.
CREATE TEMP TABLE rescoped_session_sums AS
SELECT tenant_id, session_id, agent_id,
    SUM(positive_pico / 1000000) + SUM(positive_pico % 1000000) / 1000000 AS bound_high,
    SUM(positive_pico % 1000000) % 1000000 AS bound_low,
    MIN(timestamp) AS first_timestamp, MAX(timestamp) AS last_timestamp,
    COALESCE(SUM(cost_pico / 1000000), 0) AS cost_high,
    COALESCE(SUM(cost_pico % 1000000), 0) AS cost_low,
    SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
    SUM(cache_read_tokens) AS cache_read_tokens, SUM(cache_write_tokens) AS cache_write_tokens,
    COUNT(*) AS event_count, SUM(cost_pico IS NULL) AS unpriced_count
FROM rescoped_cost_rows
GROUP BY tenant_id, session_id, agent_id;

INSERT INTO agent_session_cost_totals
SELECT tenant_id, agent_id, session_id,
    CASE WHEN bound_high >= 9223372036854 THEN 9223372036854775807
        ELSE bound_high * 1000000 + bound_low END,
    first_timestamp, last_timestamp, cost_high, cost_low, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, event_count, unpriced_count
FROM rescoped_session_sums;

INSERT INTO session_cost_totals
SELECT tenant_id, session_id,
    CASE WHEN SUM(bound_high) + SUM(bound_low) / 1000000 >= 9223372036854
        THEN 9223372036854775807
        ELSE (SUM(bound_high) + SUM(bound_low) / 1000000) * 1000000 + SUM(bound_low) % 1000000
    END,
    MIN(first_timestamp), MAX(last_timestamp), SUM(cost_high), SUM(cost_low),
    SUM(input_tokens), SUM(output_tokens), SUM(cache_read_tokens), SUM(cache_write_tokens),
    SUM(event_count), SUM(unpriced_count)
FROM rescoped_session_sums
GROUP BY tenant_id, session_id;

DROP TABLE rescoped_session_sums;
DROP TABLE rescoped_cost_rows;
DROP TABLE rescoped_spans;
