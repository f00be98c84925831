// Stories with their signals (in time order, with the event and process each
// flags, whether an exception suppresses it and which) and their triage history (in
// time order): one read for a whole page
// of stories (the GraphQL resolvers batch their loads into it).
// $ids: [story id]
// Writes: nothing
UNWIND $ids AS id
MATCH (s:Story {id: id})
CALL (s) {
  OPTIONAL MATCH (s)-[:HAS]->(sig:Signal)-[:ON]->(e:Event)
  OPTIONAL MATCH (e)-[:BY]->(p:Process)
  WITH sig, e, p ORDER BY sig.ts, sig.id
  RETURN [x IN collect(CASE WHEN sig IS NULL THEN null ELSE sig {
    .id, .rule_id, .title, .severity, .tactic, .technique, .source, .compromises, .actions,
    ts: toString(sig.ts), event_id: e.id, event_summary: e.summary, process_key: p.key,
    process_exe: p.exe, process_pid: p.pid, host_id: e.host_id, suppressed: sig.suppressed,
    suppressed_by: [(sig)-[:SUPPRESSED_BY]->(by:RuleException) | by.id]} END)
    WHERE x IS NOT NULL] AS signals
}
CALL (s) {
  OPTIONAL MATCH (s)-[:TRIAGE]->(t:TriageChange)
  WITH t ORDER BY t.ts, t.id
  RETURN [x IN collect(CASE WHEN t IS NULL THEN null ELSE t {.*, ts: toString(t.ts)} END)
          WHERE x IS NOT NULL] AS history
}
RETURN s {.*, first_seen: toString(s.first_seen), last_seen: toString(s.last_seen),
          updated_at: toString(s.updated_at)} AS story,
       signals, history
