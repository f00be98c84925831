// Links network and metadata-service events to the endpoints (ip:port) they reached.
// $rows: [{event_id, existed, key, ip, port, protocol}]
// Writes: (:Endpoint), (:Event)-[:CONNECTS {pending}]->(:Endpoint)
UNWIND $rows AS row
MERGE (n:Endpoint {key: row.key})
SET n.ip = row.ip, n.port = row.port
WITH n, row
MATCH (e:Event {id: row.event_id})
// a new link of an event stored before waits to be counted (merge_activity)
MERGE (e)-[r:CONNECTS]->(n)
ON CREATE SET r.pending = CASE WHEN row.existed THEN true END
