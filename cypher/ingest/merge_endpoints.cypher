// Links network and metadata-service events to the endpoints (ip:port) they reached.
// $rows: [{event_id, key, ip, port, protocol}]
// Writes: (:Endpoint), (:Event)-[:CONNECTS]->(:Endpoint)
UNWIND $rows AS row
MERGE (n:Endpoint {key: row.key})
SET n.ip = row.ip, n.port = row.port
WITH n, row
MATCH (e:Event {id: row.event_id})
MERGE (e)-[:CONNECTS]->(n)
