// The candidate events of one timeline page, of some kinds only. Per correlation
// key and kind, the events from the cursor's time up to the time of the
// $limit-th event after it, the whole tie group at both ends included. Each
// (key, kind) is one seek on Event(correlation_key, kind, ts) read in index order,
// so a page never sorts or scans the rest of the story, however rare the kind.
// Each row carries what orders a tie at one ts: the process's lineage depth
// (its ancestors, up to 100), its start time, its key.
// $keys: [correlation key]; $kinds: [event kind];
// $after_s, $after_ns: the cursor's time as epoch seconds and nanoseconds (a time
// before every event for the first page); $limit: page size + 1
// Writes: nothing
WITH datetime({epochSeconds: $after_s, nanosecond: $after_ns}) AS after
UNWIND $keys AS key
UNWIND $kinds AS kind
CALL (key, kind, after) {
  MATCH (e:Event)
  WHERE e.correlation_key = key AND e.kind = kind AND e.ts > after
  WITH e ORDER BY e.correlation_key, e.kind, e.ts LIMIT $limit
  RETURN max(e.ts) AS upto
}
CALL (key, kind, after, upto) {
  MATCH (e:Event)
  WHERE e.correlation_key = key AND e.kind = kind AND e.ts >= after
    AND e.ts <= coalesce(upto, after)
  RETURN e
}
OPTIONAL MATCH (e)-[:BY]->(p:Process)
RETURN e.id AS id, e.kind AS kind, e.ts.epochSeconds * 1000000000 + e.ts.nanosecond AS ts_ns,
       CASE WHEN p IS NULL THEN 0 ELSE COUNT { (p)-[:CHILD_OF*1..100]->(:Process) } END AS depth,
       p.start_time.epochSeconds * 1000000000 + p.start_time.nanosecond AS start_ns,
       p.key AS process_key
