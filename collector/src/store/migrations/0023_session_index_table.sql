-- Replaces the per-event session index `events_tenant_session` with the table
-- `session_events`, which ingest fills after the fact (`session_index.rs`).
--
-- The index took two thirds of the pages that a commit of 50 sessions wrote, because each
-- session's new entries land in the middle of the index, in a leaf that SQLite had left
-- full. `session_events` has the same key, but ingest adds a few thousand events' entries
-- at once, so a session's leaf is rewritten once for many commits.
--
-- `session_index_state.indexed_through` is the largest `seq` whose entry is in the table.
-- Readers find the later events, the tail, by scanning the rows after it.

CREATE TABLE session_events (
    tenant_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, session_id, timestamp, seq)
) WITHOUT ROWID;

-- The old index walks the rows in key order, so the copy needs no sort.
INSERT INTO session_events (tenant_id, session_id, timestamp, seq)
SELECT tenant_id, session_id, timestamp, seq
FROM events INDEXED BY events_tenant_session
ORDER BY tenant_id, session_id, timestamp, seq;

CREATE TABLE session_index_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_through INTEGER NOT NULL
);

INSERT INTO session_index_state (id, indexed_through)
SELECT 1, COALESCE(MAX(seq), 0) FROM events;

DROP INDEX events_tenant_session;
