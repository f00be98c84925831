// Links file events to the files they touched (a path on a host or in a container).
// $rows: [{event_id, key, path, host_id, container_id}]
// Writes: (:File), (:Event)-[:TOUCHES]->(:File)
UNWIND $rows AS row
MERGE (f:File {key: row.key})
SET f.path = row.path, f.host_id = row.host_id, f.container_id = row.container_id
WITH f, row
MATCH (e:Event {id: row.event_id})
MERGE (e)-[:TOUCHES]->(f)
