// Merges the DNS names a batch's events resolved, one row per key (app/rows.py:
// target_nodes), and links the batch's new events to them: plain CREATEs, as each
// such event is new and each link comes once (split_links). merge_links links
// events stored before.
// $rows: [{key}]
// $links: the new events' links [{event_id, key}]
// Writes: (:Domain), (:Event)-[:RESOLVES]->(:Domain)
UNWIND $rows AS row
MERGE (:Domain {key: row.key})
WITH count(*) AS merged
UNWIND $links AS link
MATCH (e:Event {id: link.event_id})
MATCH (d:Domain {key: link.key})
CREATE (e)-[:RESOLVES]->(d)
