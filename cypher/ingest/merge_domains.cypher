// Links DNS queries to the names they resolved.
// $rows: [{event_id, key}] (key: the lower-cased name without a trailing dot)
// Writes: (:Domain), (:Event)-[:RESOLVES]->(:Domain)
UNWIND $rows AS row
MERGE (d:Domain {key: row.key})
WITH d, row
MATCH (e:Event {id: row.event_id})
MERGE (e)-[:RESOLVES]->(d)
