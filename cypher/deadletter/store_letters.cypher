// Keeps rejected raw records for inspection and re-submission. The id is a hash
// of format and raw text, so the same rejected record stored twice is one letter.
// $rows: [{id, format, origin, position, reason, raw, received_at, topic, partition, offset}]
// (topic, partition, offset: where a Kafka consumer read it, else null)
// Writes: (:DeadLetter)
UNWIND $rows AS row
MERGE (d:DeadLetter {id: row.id})
ON CREATE SET d.received_at = datetime(row.received_at)
SET d.format = row.format, d.origin = row.origin, d.position = row.position,
    d.reason = row.reason, d.raw = row.raw,
    d.topic = row.topic, d.partition = row.partition, d.offset = row.offset
