-- Server ids of new events are minted from their `seq`, so that a lookup by id reads the
-- row by its rowid and ingest no longer adds each event to the unique index on `id`. That
-- index was one B-tree search and insert per event, about 5% of the work of ingest.
--
-- `first_seq` is the first `seq` whose id is minted this way. Events stored before keep
-- their random ULIDs, and the Rust step of this migration narrows the unique index on `id`
-- to them (`seq < first_seq`). `id_key`, a random offset below 2^62 added to the `seq`
-- inside an id, keeps ids from showing how many events the file holds.

CREATE TABLE event_id_origin (
    first_seq INTEGER NOT NULL,
    id_key INTEGER NOT NULL
);

INSERT INTO event_id_origin (first_seq, id_key)
SELECT COALESCE(MAX(seq), 0) + 1, random() & 4611686018427387903 FROM events;
