-- LLM rollups: exact sums of the `llm_response` rows per UTC unit of time, for
-- `GET /api/analytics/llm`. `span` and `bucket_start` mean what they mean in
-- `cost_rollups`: the unit length in seconds (60, 900, 3600 or 86400) and the Unix second
-- where the unit starts. The cost in pico-dollars is `cost_high * 1000000 + cost_low` and
-- the latency sum in microseconds is `latency_high * 1000000 + latency_low`, so both stay
-- exact beyond 64 bits. Each call adds its `latencyMs` rounded to the nearest microsecond,
-- halves away from zero, on the decimal text stored in its payload.
--
-- Ingest keeps the table current in its own transaction. The Rust step of this migration
-- fills it from the stored `llm_response` rows, because the latency rounding above is
-- defined on decimal text, which SQLite's floating-point arithmetic cannot reproduce.

CREATE TABLE llm_rollups (
    tenant_id TEXT NOT NULL,
    span INTEGER NOT NULL,
    bucket_start INTEGER NOT NULL,
    agent_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    calls INTEGER NOT NULL,
    cost_high INTEGER NOT NULL,
    cost_low INTEGER NOT NULL,
    -- Calls whose cost is unknown; they add nothing to the cost columns.
    unpriced_count INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    latency_high INTEGER NOT NULL,
    latency_low INTEGER NOT NULL,
    -- Calls whose stored payload has a numeric `latencyMs`.
    latency_count INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, span, bucket_start, agent_id, provider, model)
) WITHOUT ROWID;
