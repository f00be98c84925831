// The suppressed signals of a story's correlation keys, in time order (then id), at
// most $limit, each with its event, process and the exceptions suppressing it.
// $keys: the story's correlation keys; $limit: how many
// Writes: nothing
UNWIND $keys AS key
MATCH (s:Signal {correlation_key: key})
WHERE s.suppressed
WITH s ORDER BY s.ts, s.id LIMIT $limit
MATCH (s)-[:ON]->(e:Event)
OPTIONAL MATCH (e)-[:BY]->(p:Process)
RETURN s {.id, .rule_id, .title, .severity, .tactic, .technique, .source, .compromises,
          .actions, .suppressed, ts: toString(s.ts), event_id: e.id, event_summary: e.summary,
          process_key: p.key, process_exe: p.exe, process_pid: p.pid, host_id: e.host_id,
          suppressed_by: [(s)-[:SUPPRESSED_BY]->(x:RuleException) | x.id]} AS signal
ORDER BY s.ts, s.id
