// What a story is built from, per correlation key: its signals (with the rule,
// the event, the process and the host), and the context the key names with the
// user its root process ran for (the session user, else the account), and the
// stories that hold its signals now. A signal an exception suppressed says so
// (`suppressed`): it counts only in a story whose every signal is suppressed.
// $keys: [correlation key]
// Writes: nothing
UNWIND $keys AS key
OPTIONAL MATCH (c:Context {key: key})
OPTIONAL MATCH (root:Process {key: c.root})
CALL (key) {
  OPTIONAL MATCH (s:Signal {correlation_key: key})-[:ON]->(e:Event)
  OPTIONAL MATCH (e)-[:BY]->(p:Process)
  WITH s, e, p ORDER BY s.ts, s.id
  RETURN [x IN collect(CASE WHEN s IS NULL THEN null ELSE {
    id: s.id, rule_id: s.rule_id, title: s.title, severity: s.severity, tactic: s.tactic,
    technique: s.technique, ts: toString(s.ts), actions: s.actions, source: s.source,
    typed_actions: s.typed_actions,
    compromises: coalesce(s.compromises, false), suppressed: coalesce(s.suppressed, false),
    event: e.id, host: e.host_id, container: e.container_id, process: p.key,
    exe: p.exe, pid: p.pid} END) WHERE x IS NOT NULL] AS signals
}
CALL (key) {
  OPTIONAL MATCH (st:Story)-[:HAS]->(:Signal {correlation_key: key})
  RETURN collect(DISTINCT st.id) AS holders
}
RETURN key, c.layer AS layer, c.root AS root, c.reason AS reason, root.exe AS root_exe,
       root.args AS root_args, root.pid AS root_pid, toString(c.first_seen) AS first_seen,
       toString(c.last_seen) AS last_seen,
       coalesce(root.session_user, root.user, toString(root.uid)) AS root_user, signals,
       holders
