// Writes stories: one per correlation key with at least one signal, except that
// routine keys (only low or info signals, none compromising) with the same
// layer, host, user and rules share one story. Properties are computed by
// app/rules/stories.py; the story holds its signals and is OF its contexts.
// A new story is open; triage (status, assignee) is never overwritten here.
// updated_at (the server's clock) moves when what a reader sees changes.
// A story built from suppressed signals only (every signal of its keys suppressed by
// an exception) is kept with its triage history, `suppressed: true`.
// $rows: [{id, key, keys, routine, layer, title, summary, severity, score, first_seen,
//          last_seen, hosts, tactics, rules, techniques,
//          users, signal_ids, signal_count, actions, response_actions, root, suppressed}]
// (response_actions: the typed actions as JSON {id, type, target, text})
// Writes: (:Story), (:Story)-[:HAS]->(:Signal), (:Story)-[:OF]->(:Context)
UNWIND $rows AS row
MERGE (st:Story {id: row.id})
ON CREATE SET st.status = 'open'
WITH st, row,
     st.title IS NULL OR st.title <> row.title OR st.severity <> row.severity
     OR st.score <> row.score OR st.signal_count <> row.signal_count
     OR st.correlation_keys IS NULL OR st.correlation_keys <> row.keys
     OR st.last_seen <> datetime(row.last_seen)
     OR coalesce(st.suppressed, false) <> row.suppressed AS changed
SET st.updated_at = CASE WHEN changed THEN datetime() ELSE st.updated_at END,
    st.correlation_key = row.key, st.correlation_keys = row.keys, st.routine = row.routine,
    st.layer = row.layer, st.title = row.title,
    st.summary = row.summary, st.severity = row.severity, st.score = row.score,
    st.first_seen = datetime(row.first_seen), st.last_seen = datetime(row.last_seen),
    st.hosts = row.hosts, st.tactics = row.tactics, st.rules = row.rules,
    st.techniques = row.techniques, st.users = row.users,
    st.signal_count = row.signal_count, st.recommended_actions = row.actions,
    st.response_actions = row.response_actions,
    st.root = row.root, st.suppressed = row.suppressed
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
  WHERE NOT c.key IN row.keys
  DELETE of
}
CALL (st, row) {
  UNWIND row.keys AS key
  MATCH (c:Context {key: key})
  MERGE (st)-[:OF]->(c)
}
