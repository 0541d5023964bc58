-- Stores the `payload.toolName` of tool and cost events in its own column, indexes the
-- rows that have one, so `GET /api/analytics/tools` reads only those rows of its range,
-- and counts them per hour and day in `tool_rollups` for `byTool` of the cost report.
--
-- Ingest sets the column from the payload as sent, before a large payload is truncated.
-- For older rows this file reads it from the stored payload, so a payload that an older
-- version truncated keeps no tool name. `instr` skips most payloads before the JSON
-- parser runs.

ALTER TABLE events ADD COLUMN tool_name TEXT;

UPDATE events
SET tool_name = json_extract(payload, '$.toolName')
WHERE event_type IN ('tool_call', 'tool_response', 'tool_error', 'cost_tracked', 'llm_response')
    AND instr(payload, '"toolName"') > 0
    AND json_type(payload, '$.toolName') = 'text'
    AND json_extract(payload, '$.toolName') != '';

CREATE INDEX events_tenant_tool_rows ON events (tenant_id, timestamp)
    WHERE tool_name IS NOT NULL;

-- The cost events that name a tool, whose costs `byTool` sums from the events.
CREATE INDEX events_tenant_tool_cost_rows ON events (tenant_id, timestamp)
    WHERE tool_name IS NOT NULL AND cost_source IS NOT NULL;

-- Events that name a tool, counted per tool, agent and UTC unit: `span` is 3600 or 86400
-- and `bucket_start` the Unix second where the unit starts. Ingest adds to it.
CREATE TABLE tool_rollups (
    tenant_id TEXT NOT NULL,
    span INTEGER NOT NULL,
    bucket_start INTEGER NOT NULL,
    tool_name TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    event_count INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, span, bucket_start, tool_name, agent_id)
) WITHOUT ROWID;

INSERT INTO tool_rollups (tenant_id, span, bucket_start, tool_name, agent_id, event_count)
SELECT tenant_id, span, second / span * span, tool_name, agent_id, COUNT(*)
FROM (
    SELECT tenant_id, tool_name, agent_id,
        CAST(strftime('%s', substr(timestamp, 1, 19)) AS INTEGER) AS second
    FROM events
    WHERE tool_name IS NOT NULL
), (SELECT 86400 AS span UNION ALL SELECT 3600)
GROUP BY tenant_id, span, second / span * span, tool_name, agent_id;
