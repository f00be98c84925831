// A story's events (every event of its correlation keys) in time order, ties
// broken by id, one page after a cursor, optionally of some kinds only, with the
// rules whose signals on each count (those an exception suppressed left out).
// $keys: the story's correlation keys; $kinds: [kind] or null;
// $after_ts, $after_id: cursor or null;
// $limit: page size + 1
// Writes: nothing
MATCH (e:Event)
WHERE e.correlation_key IN $keys
  AND ($kinds IS NULL OR e.kind IN $kinds)
  AND ($after_ts IS NULL OR e.ts > datetime($after_ts)
       OR (e.ts = datetime($after_ts) AND e.id > $after_id))
OPTIONAL MATCH (e)-[:BY]->(p:Process)
WITH e, p ORDER BY e.ts, e.id LIMIT $limit
OPTIONAL MATCH (sig:Signal)-[:ON]->(e)
WHERE sig.suppressed IS NULL
WITH e, p, collect(sig.rule_id) AS rules
RETURN e.id AS id, e.kind AS kind, toString(e.ts) AS ts, e.summary AS summary,
       e.host_id AS host_id, p.key AS process_key, p.pid AS process_pid, p.exe AS process_exe,
       rules
ORDER BY e.ts, e.id
