-- The price table behind each cost the collector derived.
--
-- `pricing_version` is the content hash of the price table (`pv_` and 12 hex digits) that
-- priced the event, or that found no price for it. `price_provider`, `price_model` and
-- `price_date` name the entry used: its provider id, its model id (`gpt-4o` for
-- `gpt-4o-2024-08-06`) and the first day of its dated price (NULL when undated). Reported
-- costs and rows stored before this migration keep NULL in all four.
--
-- These are columns, not fields of the stored metadata, because the metadata is the
-- client's hashed text: adding server facts to it would make the event hash depend on the
-- collector's price table.

ALTER TABLE events ADD COLUMN pricing_version TEXT;
ALTER TABLE events ADD COLUMN price_provider TEXT;
ALTER TABLE events ADD COLUMN price_model TEXT;
ALTER TABLE events ADD COLUMN price_date TEXT;
