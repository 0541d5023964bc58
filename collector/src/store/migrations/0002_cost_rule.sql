-- The cost rule: a cost_tracked event whose callId matches an llm_response of the same
-- tenant does not count towards cost totals. `superseded_by` holds the id of that
-- llm_response; NULL means the row counts. The session totals of rows marked here are
-- recomputed by the Rust step of this migration.

ALTER TABLE events ADD COLUMN superseded_by TEXT;

CREATE INDEX events_tenant_call_id ON events (tenant_id, call_id)
    WHERE call_id IS NOT NULL;

UPDATE events
SET superseded_by = (
    SELECT response.id FROM events AS response
    WHERE response.tenant_id = events.tenant_id
      AND response.call_id = events.call_id
      AND response.event_type = 'llm_response'
    ORDER BY response.seq
    LIMIT 1
)
WHERE event_type = 'cost_tracked' AND call_id IS NOT NULL;

-- Cost queries read only the rows that count, so the partial index now excludes the rest.
DROP INDEX events_tenant_cost_rows;
CREATE INDEX events_tenant_cost_rows ON events (tenant_id, timestamp)
    WHERE cost_source IS NOT NULL AND superseded_by IS NULL;
