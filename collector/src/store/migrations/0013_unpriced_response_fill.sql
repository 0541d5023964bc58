-- Gives each unpriced `llm_response` the cost of the first `cost_tracked` with a cost that
-- it supersedes, as ingest now does in either arrival order. Before this migration such a
-- response stayed unpriced, so the cost reported or derived for its `cost_tracked` was
-- left out of every total.
--
-- `cost_from` names the `cost_tracked` that a response takes its cost from. The response's
-- `cost_source` becomes `reported`, because no price table priced it, and its price table
-- columns are cleared. The payload and the hash chain do not change.
--
-- This file adds the column. The Rust step of this migration fills the responses and
-- moves their figures in the rollups, running totals and sessions
-- (`cost_fill::fill_unpriced_responses`). A database without such a row changes nothing
-- but gains the column.

ALTER TABLE events ADD COLUMN cost_from TEXT;
