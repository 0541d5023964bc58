-- Stores the `payload.toolName` of tool and cost events in its own column, and indexes
-- the rows that have one, so `byTool` of the cost report and `GET /api/analytics/tools`
-- read only those rows of their range instead of every event in it.
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
