// The stories a rebuild touches, as they stand: the correlation keys each one
// covers and, for each signal it holds, the key that signal has now (so that a
// story left without keys can be merged into where its signals went).
// $ids: [story id]
// Writes: nothing
UNWIND $ids AS id
MATCH (st:Story {id: id})
RETURN st.id AS id, coalesce(st.correlation_keys, [st.correlation_key]) AS keys,
       coalesce(st.routine, false) AS routine,
       [(st)-[:HAS]->(s:Signal) | s.correlation_key] AS signal_keys
