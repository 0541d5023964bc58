-- Retry schedule of webhook deliveries. `attempts` already counts the requests sent;
-- `next_attempt_at` (RFC 3339, UTC) is when a pending delivery is due again, so a restarted
-- collector waits out the remaining delay and continues the count instead of starting over.
-- NULL means due at once, which is what rows written before this column get.

ALTER TABLE alert_deliveries ADD COLUMN next_attempt_at TEXT;
