// Adds the activity of the batch's new events (the links merge_files,
// merge_endpoints and merge_domains created, counted once in Python: app/rows.py,
// split_activity) to the merged ACTIVITY edges the investigation graph reads.
// The links of events that existed before the batch are counted by merge_activity.
// $rows: [{process_key, type, kind, label, key, count, first, last}]
//   one row per process, relationship type, event kind and target;
//   label: File, Endpoint or Domain; first, last: RFC 3339 timestamps
// Writes: (:Process)-[:ACTIVITY {type, kind, count, first_seen, last_seen}]->(File|Endpoint|Domain)
UNWIND $rows AS row
MATCH (p:Process {key: row.process_key})
OPTIONAL MATCH (f:File {key: CASE WHEN row.label = 'File' THEN row.key END})
OPTIONAL MATCH (n:Endpoint {key: CASE WHEN row.label = 'Endpoint' THEN row.key END})
OPTIONAL MATCH (d:Domain {key: CASE WHEN row.label = 'Domain' THEN row.key END})
WITH p, coalesce(f, n, d) AS t, row
WHERE t IS NOT NULL
WITH p, t, row, datetime(row.first) AS first, datetime(row.last) AS last
MERGE (p)-[a:ACTIVITY {type: row.type, kind: row.kind}]->(t)
ON CREATE SET a.count = 0
SET a.count = a.count + row.count,
    a.first_seen = CASE WHEN a.first_seen IS NULL OR first < a.first_seen
                        THEN first ELSE a.first_seen END,
    a.last_seen = CASE WHEN a.last_seen IS NULL OR last > a.last_seen
                       THEN last ELSE a.last_seen END
