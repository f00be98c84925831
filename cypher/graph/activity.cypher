// What a story's processes touched, merged: the events of one process of one kind
// on one target (file, endpoint or domain) are one row with their count and their
// first and last times. Earliest first, at most $limit rows.
// $keys: process keys; $limit: how many rows at most
// Writes: nothing
UNWIND $keys AS key
MATCH (p:Process {key: key})<-[:BY]-(e:Event)-[r:TOUCHES|CONNECTS|RESOLVES]->(t)
WITH p.key AS process, type(r) AS type, e.kind AS kind, t, count(e) AS count,
     min(e.ts) AS first_seen, max(e.ts) AS last_seen
ORDER BY first_seen, process, type, kind, t.key
LIMIT $limit
RETURN process, type, kind, t.key AS target, properties(t) AS props, count, first_seen, last_seen
