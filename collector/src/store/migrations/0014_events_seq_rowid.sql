-- Removes AUTOINCREMENT from `events.seq`, so an insert no longer reads and rewrites the
-- `events` row of `sqlite_sequence`. That was one B-tree write per ingested event, on top
-- of the row and its indexes.
--
-- `seq` stays the rowid, so the rows and the indexes on disk do not change. Without
-- AUTOINCREMENT, SQLite gives a new row the largest rowid plus one. The two rules give the
-- same numbers as long as the row with the largest `seq` is never deleted, and the
-- collector never deletes events, so `seq` keeps following ingest order. (At the largest
-- 64-bit rowid SQLite would pick unused rowids at random, where AUTOINCREMENT fails the
-- insert; that is about 9.2e18 events away.)
--
-- This file drops the counter, which nothing reads once the table has no AUTOINCREMENT.
-- The Rust step of this migration edits the stored CREATE TABLE text of `events`, in the
-- way migration 11 edits its CHECK constraints, so it reads no event and is instant on any
-- file.

DELETE FROM sqlite_sequence WHERE name = 'events';
