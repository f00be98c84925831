// Merges hosts seen in a batch. Order-independent: first_seen is a minimum,
// last_seen a maximum, name the greatest non-null value seen.
// $rows: [{id, name, first_seen, last_seen}] (one row per host id; ts as RFC 3339 strings)
// Writes: (:Host)
UNWIND $rows AS row
MERGE (h:Host {id: row.id})
// Takes the host's write lock before reading its properties: a writer that waited
// for a host another batch held, having read it first, deadlocked with that batch
// (tests/test_ingest.py, two writers of one host).
SET h.id = row.id
WITH h, row
SET h.name = CASE WHEN row.name IS NOT NULL AND (h.name IS NULL OR row.name > h.name)
                  THEN row.name ELSE h.name END,
    h.first_seen = CASE WHEN h.first_seen IS NULL OR datetime(row.first_seen) < h.first_seen
                        THEN datetime(row.first_seen) ELSE h.first_seen END,
    h.last_seen = CASE WHEN h.last_seen IS NULL OR datetime(row.last_seen) > h.last_seen
                       THEN datetime(row.last_seen) ELSE h.last_seen END
