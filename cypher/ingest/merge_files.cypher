// Merges the files a batch's events touched (a path on a host or in a container),
// one row per key (app/rows.py: target_nodes), and links the batch's new events
// to them: plain CREATEs, as each such event is new and each link comes once
// (split_links). merge_links links events stored before. A file keeps every
// content hash its events reported (a set: order and repeats change nothing), up
// to 64 of them; past that, which are kept depends on arrival order.
// $rows: [{key, path, host_id, container_id, hashes}]
// $links: the new events' links [{event_id, key}]
// Writes: (:File), (:Event)-[:TOUCHES]->(:File)
UNWIND $rows AS row
MERGE (f:File {key: row.key})
// the write lock before the read, as in merge_hosts
SET f.key = row.key
WITH f, row
SET f.path = row.path, f.host_id = row.host_id, f.container_id = row.container_id,
    f.hashes = reduce(kept = f.hashes, h IN coalesce(row.hashes, []) |
                      CASE WHEN h IN coalesce(kept, []) OR size(coalesce(kept, [])) >= 64
                           THEN kept ELSE coalesce(kept, []) + h END)
WITH count(*) AS merged
UNWIND $links AS link
MATCH (e:Event {id: link.event_id})
MATCH (f:File {key: link.key})
CREATE (e)-[:TOUCHES]->(f)
