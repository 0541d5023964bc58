-- Server ids minted under migration 16 carried `seq` plus one offset for the whole file,
-- so two ids differed by the number of events stored between them, those of other tenants
-- included. From this migration on, each ingest transaction draws its own random starting
-- number, and its events carry that number plus their place in the transaction. The
-- transaction's clock reading and its place among the transactions of that millisecond,
-- both in its ids, name its row here, which maps its ids back to `seq`. Ids minted under
-- migration 16 keep their form and are still found.

CREATE TABLE event_id_blocks (
    -- Milliseconds since the Unix epoch in every id the transaction minted.
    millis INTEGER NOT NULL,
    -- The transaction's place among those of the same millisecond, from 0.
    block INTEGER NOT NULL CHECK (block BETWEEN 0 AND 65534),
    -- The `seq` of the transaction's first new event.
    first_seq INTEGER NOT NULL,
    -- The random number in that event's id, below 2^62; the next event's is one more.
    first_number INTEGER NOT NULL CHECK (first_number >= 0),
    PRIMARY KEY (millis, block)
) WITHOUT ROWID;
