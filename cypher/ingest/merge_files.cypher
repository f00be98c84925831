// Links file events to the files they touched (a path on a host or in a container).
// A file keeps every content hash its events reported (a set: order and repeats change
// nothing), up to 64 of them; past that, which are kept depends on arrival order.
// $rows: [{event_id, existed, key, path, host_id, container_id, hashes}]
// Writes: (:File), (:Event)-[:TOUCHES {pending}]->(:File)
UNWIND $rows AS row
MERGE (f:File {key: row.key})
SET f.path = row.path, f.host_id = row.host_id, f.container_id = row.container_id,
    f.hashes = reduce(kept = f.hashes, h IN coalesce(row.hashes, []) |
                      CASE WHEN h IN coalesce(kept, []) OR size(coalesce(kept, [])) >= 64
                           THEN kept ELSE coalesce(kept, []) + h END)
WITH f, row
MATCH (e:Event {id: row.event_id})
// a new link of an event stored before waits to be counted (merge_activity)
MERGE (e)-[r:TOUCHES]->(f)
ON CREATE SET r.pending = CASE WHEN row.existed THEN true END
