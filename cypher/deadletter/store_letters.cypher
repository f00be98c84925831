// Keeps rejected raw records for inspection and re-submission. The id is a hash
// of format and raw text, so the same rejected record stored twice is one letter.
// $rows: [{id, format, origin, position, reason, raw, received_at}]
// Writes: (:DeadLetter)
UNWIND $rows AS row
MERGE (d:DeadLetter {id: row.id})
ON CREATE SET d.received_at = datetime(row.received_at)
SET d.format = row.format, d.origin = row.origin, d.position = row.position,
    d.reason = row.reason, d.raw = row.raw
