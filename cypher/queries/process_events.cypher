// A process's events in time order (ties by id), one page after a cursor,
// optionally of some kinds only, with the rules that flagged each.
// $key: process key; $kinds: [kind] or null; $after_ts, $after_id: cursor or null;
// $limit: page size + 1
// Writes: nothing
MATCH (e:Event)-[:BY]->(p:Process {key: $key})
WHERE ($kinds IS NULL OR e.kind IN $kinds)
  AND ($after_ts IS NULL OR e.ts > datetime($after_ts)
       OR (e.ts = datetime($after_ts) AND e.id > $after_id))
WITH e, p ORDER BY e.ts, e.id LIMIT $limit
OPTIONAL MATCH (sig:Signal)-[:ON]->(e)
WITH e, p, collect(sig.rule_id) AS rules
RETURN e.id AS id, e.kind AS kind, toString(e.ts) AS ts, e.summary AS summary,
       e.host_id AS host_id, p.key AS process_key, p.pid AS process_pid, p.exe AS process_exe,
       rules
ORDER BY e.ts, e.id
