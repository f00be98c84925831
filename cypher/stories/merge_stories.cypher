// Writes stories: one per correlation key with at least one signal, its
// properties computed by app/rules/stories.py, its signals and its context.
// A new story is open; triage (status, assignee) is never overwritten here.
// $rows: [{id, key, layer, title, summary, severity, score, first_seen, last_seen,
//          hosts, tactics, rules, signal_ids, signal_count, actions, root}]
// Writes: (:Story), (:Story)-[:HAS]->(:Signal), (:Story)-[:OF]->(:Context)
UNWIND $rows AS row
MERGE (st:Story {id: row.id})
ON CREATE SET st.status = 'open'
SET st.correlation_key = row.key, st.layer = row.layer, st.title = row.title,
    st.summary = row.summary, st.severity = row.severity, st.score = row.score,
    st.first_seen = datetime(row.first_seen), st.last_seen = datetime(row.last_seen),
    st.hosts = row.hosts, st.tactics = row.tactics, st.rules = row.rules,
    st.signal_count = row.signal_count, st.recommended_actions = row.actions,
    st.root = row.root
WITH st, row
CALL (st, row) {
  MATCH (st)-[h:HAS]->(old:Signal)
  WHERE NOT old.id IN row.signal_ids
  DELETE h
}
CALL (st, row) {
  UNWIND row.signal_ids AS sid
  MATCH (s:Signal {id: sid})
  MERGE (st)-[:HAS]->(s)
}
CALL (st, row) {
  MATCH (st)-[of:OF]->(c:Context)
  WHERE c.key <> row.key
  DELETE of
}
CALL (st, row) {
  MATCH (c:Context {key: row.key})
  MERGE (st)-[:OF]->(c)
}
