// A story and the contexts it covers: what its investigation graph is built from.
// $id: story id
// Writes: nothing
MATCH (st:Story {id: $id})
OPTIONAL MATCH (st)-[:OF]->(c:Context)
WITH st, c ORDER BY c.key
RETURN st {.id, .title, .severity, .status, .routine, .layer, .score, .correlation_key,
           correlation_keys: coalesce(st.correlation_keys, [st.correlation_key]),
           first_seen: toString(st.first_seen), last_seen: toString(st.last_seen)} AS story,
       collect(c {.key, .layer, .class, .root, .host_id}) AS contexts
