// The events waiting for detection (:Undetected, set by the writer in the
// batch's own transaction), oldest first, at most $limit of them; alerts are
// never queued (they are signals already).
// $limit: how many events one detection step takes
// Writes: nothing (detection clears the mark when its signals are written)
MATCH (e:Undetected)
WITH e ORDER BY e._queued LIMIT $limit
MATCH (e)-[:BY]->(p:Process)
RETURN e.id AS id, toString(e.ts) AS ts, p.key AS process_key, e.digest AS digest,
       e._queued.epochMillis AS queued_ms,
       properties(e) AS props
