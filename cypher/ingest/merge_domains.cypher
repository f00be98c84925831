// Links DNS queries to the names they resolved.
// $rows: [{event_id, existed, key}] (key: the lower-cased name without a trailing dot)
// Writes: (:Domain), (:Event)-[:RESOLVES {pending}]->(:Domain)
UNWIND $rows AS row
MERGE (d:Domain {key: row.key})
WITH d, row
MATCH (e:Event {id: row.event_id})
// a new link of an event stored before waits to be counted (merge_activity)
MERGE (e)-[r:RESOLVES]->(d)
ON CREATE SET r.pending = CASE WHEN row.existed THEN true END
