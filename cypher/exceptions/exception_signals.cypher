// The signals an exception suppresses, newest first (then id), at most $limit.
// $id: exception id; $limit: how many
// Writes: nothing
MATCH (:RuleException {id: $id})<-[:SUPPRESSED_BY]-(s:Signal)
WITH s ORDER BY s.ts DESC, s.id LIMIT $limit
MATCH (s)-[:ON]->(e:Event)
OPTIONAL MATCH (e)-[:BY]->(p:Process)
RETURN s {.id, .rule_id, .title, .severity, .tactic, .technique, .source, .compromises,
          .actions, .suppressed, ts: toString(s.ts), event_id: e.id, event_summary: e.summary,
          process_key: p.key, process_exe: p.exe, process_pid: p.pid, host_id: e.host_id,
          suppressed_by: [(s)-[:SUPPRESSED_BY]->(x:RuleException) | x.id]} AS signal
ORDER BY s.ts DESC, s.id
