// What a story's processes touched, merged: the writer keeps one ACTIVITY
// relationship per process, relationship type, event kind and target (file,
// endpoint or domain) with the events' count and first and last times
// (cypher/ingest/merge_activity.cypher), so this reads what they did, not each
// event. Earliest first, at most $limit rows.
// Times are epoch nanoseconds (the driver's temporal types are slow to read).
// With a window ($from, $to), only activity whose first..last time overlaps it.
// $keys: process keys; $limit: how many rows at most; $from, $to: RFC 3339 or null
// Writes: nothing
UNWIND $keys AS key
MATCH (p:Process {key: key})-[a:ACTIVITY]->(t)
WHERE ($from IS NULL OR a.last_seen >= datetime($from))
  AND ($to IS NULL OR a.first_seen <= datetime($to))
WITH p.key AS process, a.type AS type, a.kind AS kind, t, a.count AS count,
     a.first_seen AS first_seen, a.last_seen AS last_seen
ORDER BY first_seen, process, type, kind, t.key
LIMIT $limit
RETURN process, type, kind, t.key AS target, properties(t) AS props, count,
       first_seen.epochSeconds * 1000000000 + first_seen.nanosecond AS first_seen,
       last_seen.epochSeconds * 1000000000 + last_seen.nanosecond AS last_seen
