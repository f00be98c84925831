// The candidate events of one timeline page that carry a signal of some
// severities (optionally of some kinds only): from the cursor's time up to the
// time of the $limit-th such event after it, the whole tie group at both ends
// included. It starts from the story's signals of those severities (a seek on
// Signal(correlation_key, severity); suppressed ones left out), never from its events: a page reads those
// signals and sorts their events, however many events the story has.
// Each row carries what orders a tie at one ts: the process's lineage depth
// (its ancestors, up to 100), its start time, its key.
// $keys: [correlation key]; $severities: [severity]; $kinds: [event kind] or null;
// $after_s, $after_ns: the cursor's time as epoch seconds and nanoseconds (a time
// before every event for the first page); $limit: page size + 1
// Writes: nothing
WITH datetime({epochSeconds: $after_s, nanosecond: $after_ns}) AS after
MATCH (sig:Signal)
WHERE sig.correlation_key IN $keys AND sig.severity IN $severities AND sig.suppressed IS NULL
CALL (sig, after) {
  MATCH (sig)-[:ON]->(e:Event)
  WHERE e.correlation_key IN $keys AND e.ts >= after AND ($kinds IS NULL OR e.kind IN $kinds)
  RETURN e
}
WITH DISTINCT after, e
ORDER BY e.ts
WITH after, collect(e) AS found
WITH found, [x IN found WHERE x.ts > after][$limit - 1].ts AS upto
UNWIND [x IN found WHERE upto IS NULL OR x.ts <= upto] AS e
OPTIONAL MATCH (e)-[:BY]->(p:Process)
RETURN e.id AS id, e.kind AS kind, e.ts.epochSeconds * 1000000000 + e.ts.nanosecond AS ts_ns,
       CASE WHEN p IS NULL THEN 0 ELSE COUNT { (p)-[:CHILD_OF*1..100]->(:Process) } END AS depth,
       p.start_time.epochSeconds * 1000000000 + p.start_time.nanosecond AS start_ns,
       p.key AS process_key
