// The audit records related to a story, for one timeline page: records that
// RELATES_TO one of its contexts, the context's root process or the container
// or pod that root ran in, or a process of the story that fetched credentials
// from the instance metadata service (what app/relate.py links); from the
// cursor's time up to the time of the $limit-th record after it, the whole tie
// group at both ends included. It reads the story's IMDS events through the
// (correlation_key, kind, ts) index, never all its processes or events, so its
// cost does not grow with the story.
// $keys: [correlation key]; $after_s, $after_ns: the cursor's time as epoch
// seconds and nanoseconds (a time before every record for the first page);
// $limit: page size + 1
// Writes: nothing
WITH datetime({epochSeconds: $after_s, nanosecond: $after_ns}) AS after
MATCH (c:Context)
WHERE c.key IN $keys
CALL (c) {
  OPTIONAL MATCH (root:Process {key: c.root})
  OPTIONAL MATCH (root)-[:IN_CONTAINER]->(k:Container)
  OPTIONAL MATCH (k)-[:IN_POD]->(pod:Pod)
  CALL (c) {
    OPTIONAL MATCH (e:Event {correlation_key: c.key, kind: 'imds_request'})-[:BY]->(p:Process)
    RETURN collect(DISTINCT p) AS fetchers
  }
  UNWIND [c, root, k, pod] + fetchers AS x
  WITH DISTINCT x WHERE x IS NOT NULL
  MATCH (a:AuditRecord)-[:RELATES_TO]->(x)
  RETURN a
}
WITH DISTINCT after, a
WHERE a.ts >= after
WITH after, a ORDER BY a.ts
WITH after, collect(a) AS found
WITH found, [x IN found WHERE x.ts > after][$limit - 1].ts AS upto
UNWIND [x IN found WHERE upto IS NULL OR x.ts <= upto] AS a
RETURN a {.id, .source, .actor, .action, .target, .outcome, .source_ip, .user_agent,
          .access_key_id, .cluster, .namespace, .pod, .container, .command,
          ts: toString(a.ts)} AS record,
       a.ts.epochSeconds * 1000000000 + a.ts.nanosecond AS ts_ns
