// Lists dead letters, oldest first, optionally of one format or with given ids.
// $format: a format name or null; $ids: [id] or null; $limit: max rows
// Writes: nothing
MATCH (d:DeadLetter)
WHERE ($format IS NULL OR d.format = $format) AND ($ids IS NULL OR d.id IN $ids)
RETURN d.id AS id, d.format AS format, d.origin AS origin, d.position AS position,
       d.reason AS reason, d.raw AS raw, toString(d.received_at) AS received_at,
       d.topic AS topic, d.partition AS partition, d.offset AS offset
ORDER BY d.received_at, d.id
LIMIT $limit
