-- Webhook deliveries of alert transitions. A row is written as `pending`, with the exact
-- body to send, in the transaction that records the transition; the sender updates it
-- after each attempt. Rows still `pending` at start are sent again.

CREATE TABLE alert_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    history_id TEXT NOT NULL REFERENCES alert_history (id),
    kind TEXT NOT NULL CHECK (kind IN ('triggered', 'resolved')),
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    delivered_at TEXT,
    created_at TEXT NOT NULL
);

CREATE INDEX alert_deliveries_history ON alert_deliveries (history_id);
CREATE INDEX alert_deliveries_pending ON alert_deliveries (status) WHERE status = 'pending';

-- At most one open entry per rule, so two evaluations can never both fire it.
CREATE UNIQUE INDEX alert_history_open ON alert_history (rule_id) WHERE resolved_at IS NULL;
