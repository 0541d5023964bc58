-- Events, materialised sessions, API keys and alerts.
--
-- Money is stored as INTEGER pico-dollars (1e-12 USD) so that sums stay exact. Timestamps
-- are fixed-width UTC text (`2026-02-07T10:00:00.000000Z`), so text order is time order.

CREATE TABLE events (
    -- Ingest order. The hash chain of a session follows this order.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    client_id TEXT,
    timestamp TEXT NOT NULL,
    session_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    -- Exactly the JavaScript-compatible JSON text that was hashed.
    payload TEXT NOT NULL,
    metadata TEXT NOT NULL,
    prev_hash TEXT,
    hash TEXT NOT NULL,
    is_error INTEGER NOT NULL,
    -- Cost columns, set only for cost_tracked and llm_response events.
    provider TEXT,
    model TEXT,
    cost_pico INTEGER,
    cost_source TEXT CHECK (cost_source IN ('reported', 'derived', 'unpriced')),
    input_tokens INTEGER,
    output_tokens INTEGER,
    cache_read_tokens INTEGER,
    cache_write_5m_tokens INTEGER,
    cache_write_1h_tokens INTEGER,
    reasoning_tokens INTEGER,
    call_id TEXT
);

CREATE UNIQUE INDEX events_tenant_client_id ON events (tenant_id, client_id)
    WHERE client_id IS NOT NULL;
CREATE INDEX events_tenant_timestamp ON events (tenant_id, timestamp);
CREATE INDEX events_tenant_session ON events (tenant_id, session_id, timestamp);
CREATE INDEX events_tenant_cost_rows ON events (tenant_id, timestamp)
    WHERE cost_source IS NOT NULL;

CREATE TABLE sessions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    agent_name TEXT,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    last_event_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'completed', 'error')),
    event_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    tool_call_count INTEGER NOT NULL,
    llm_call_count INTEGER NOT NULL,
    -- Exact decimal text: the sum of the session's stored event costs.
    total_cost_usd TEXT NOT NULL,
    unpriced_count INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    cache_read_tokens INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    tags TEXT NOT NULL,
    -- Hash of the last event appended to the session; the next event's prev_hash.
    tail_hash TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX sessions_tenant_started ON sessions (tenant_id, started_at);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    -- SHA-256 hex of the full key text; the key itself is never stored.
    key_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE alert_rules (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    condition TEXT NOT NULL,
    -- Exact decimal text.
    threshold TEXT NOT NULL,
    window_minutes INTEGER NOT NULL,
    scope TEXT NOT NULL,
    notify_channels TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE alert_history (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    rule_id TEXT NOT NULL REFERENCES alert_rules (id),
    triggered_at TEXT NOT NULL,
    resolved_at TEXT,
    current_value TEXT NOT NULL,
    threshold TEXT NOT NULL,
    message TEXT NOT NULL
);

CREATE INDEX alert_history_rule ON alert_history (rule_id, triggered_at);
