// Merges the endpoints (ip:port) a batch's network and metadata-service events
// reached, one row per key (app/rows.py: target_nodes), and links the batch's new
// events to them: plain CREATEs, as each such event is new and each link comes
// once (split_links). merge_links links events stored before.
// $rows: [{key, ip, port, protocol}]
// $links: the new events' links [{event_id, key}]
// Writes: (:Endpoint), (:Event)-[:CONNECTS]->(:Endpoint)
UNWIND $rows AS row
MERGE (n:Endpoint {key: row.key})
SET n.ip = row.ip, n.port = row.port
WITH count(*) AS merged
UNWIND $links AS link
MATCH (e:Event {id: link.event_id})
MATCH (n:Endpoint {key: link.key})
CREATE (e)-[:CONNECTS]->(n)
