// How the exploited processes of a story were reached, where the sensor saw it:
// for each exploit context of the story, the connections its root's parent (the
// compromised process: the JVM, the web server worker) accepted and opened with
// another host (dst is the peer; loopback and Unix sockets are left out) from
// $before_s seconds before the root started to $after_s seconds after, at most
// $limit per context, those nearest the root's start. The parent's events are read
// through the Event(correlation_key, kind, ts) index on the parent's own key (at
// most $scan per kind, latest first), never through all it did.
// Each row carries what orders a tie at one ts, as in events.cypher.
// $keys: the story's correlation keys; $before_s, $after_s: the window around the
// root's start in seconds; $scan: candidates read per kind; $limit: rows per context
// Writes: nothing
MATCH (c:Context)
WHERE c.key IN $keys AND c.layer = 'exploit'
MATCH (root:Process {key: c.root})-[:CHILD_OF]->(p:Process)
WHERE root.start_time IS NOT NULL AND p.correlation_key IS NOT NULL
  AND NOT p.correlation_key IN $keys
CALL (root, p) {
  UNWIND ['network_accept', 'network_connect'] AS kind
  CALL (root, p, kind) {
    MATCH (e:Event)
    WHERE e.correlation_key = p.correlation_key AND e.kind = kind
      AND e.ts >= root.start_time - duration({seconds: $before_s})
      AND e.ts <= root.start_time + duration({seconds: $after_s})
    WITH e ORDER BY e.correlation_key DESC, e.kind DESC, e.ts DESC LIMIT $scan
    MATCH (e)-[:BY]->(p)
    WHERE e.dst_ip IS NOT NULL AND NOT (e.dst_ip STARTS WITH '127.' OR e.dst_ip = '::1')
    RETURN e
  }
  WITH e, e.ts.epochSeconds * 1000000000 + e.ts.nanosecond AS ts_ns,
       root.start_time.epochSeconds * 1000000000 + root.start_time.nanosecond AS start
  ORDER BY abs(ts_ns - start), e.id
  LIMIT $limit
  RETURN e, ts_ns
}
RETURN DISTINCT e.id AS id, e.kind AS kind, ts_ns,
       COUNT { (p)-[:CHILD_OF*1..100]->(:Process) } AS depth,
       p.start_time.epochSeconds * 1000000000 + p.start_time.nanosecond AS start_ns,
       p.key AS process_key
