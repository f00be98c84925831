// The events of one timeline page, with their process and the signals on them
// (each with its recommended actions), in the order of $ids. Signals an exception
// suppressed are left out: they do not count towards the story.
// $ids: [event id]
// Writes: nothing
UNWIND range(0, size($ids) - 1) AS i
MATCH (e:Event {id: $ids[i]})
OPTIONAL MATCH (e)-[:BY]->(p:Process)
CALL (e, p) {
  OPTIONAL MATCH (sig:Signal)-[:ON]->(e)
  WHERE sig.suppressed IS NULL
  WITH sig ORDER BY sig.ts, sig.id
  RETURN collect(sig {
    .id, .rule_id, .title, .severity, .tactic, .technique, .source, .compromises, .actions,
    ts: toString(sig.ts), event_id: e.id, event_summary: e.summary, process_key: p.key,
    process_exe: p.exe, process_pid: p.pid, host_id: e.host_id}) AS signals
}
RETURN e.id AS id, e.kind AS kind, toString(e.ts) AS ts, e.summary AS summary,
       e.host_id AS host_id, p.key AS process_key, p.pid AS process_pid, p.exe AS process_exe,
       signals
ORDER BY i
