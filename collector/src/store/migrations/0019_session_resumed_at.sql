-- `resumed_at` is the timestamp of the latest `session_started` that resumed an ended
-- session. A `session_ended` stamped before it belongs to a run before the resume, so
-- ingest ignores it instead of ending the resumed session. Sessions stored before this
-- migration have no such timestamp, so a late end can still close them.

ALTER TABLE sessions ADD COLUMN resumed_at TEXT;
