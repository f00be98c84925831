// Signals by id, in the order of $ids, as the API shows them: with the event and
// process each flags and the exceptions suppressing it.
// $ids: [signal id]
// Writes: nothing
UNWIND range(0, size($ids) - 1) AS i
MATCH (s:Signal {id: $ids[i]})-[:ON]->(e:Event)
OPTIONAL MATCH (e)-[:BY]->(p:Process)
RETURN s {.id, .rule_id, .title, .severity, .tactic, .technique, .source, .compromises,
          .actions, .suppressed, ts: toString(s.ts), event_id: e.id, event_summary: e.summary,
          process_key: p.key, process_exe: p.exe, process_pid: p.pid, host_id: e.host_id,
          suppressed_by: [(s)-[:SUPPRESSED_BY]->(x:RuleException) | x.id]} AS signal
ORDER BY i
