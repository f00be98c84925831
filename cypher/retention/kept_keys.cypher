// Retention: what must stay. The correlation keys of every story (a story's
// evidence stays as long as the story), the root processes of its contexts
// (how the exploited process was reached is evidence too, whatever its own key),
// the keys of signals not grouped yet (:Unstoried: their story is on its way),
// and the events still queued for detection (they have not been looked at yet).
// Parameters: none
// Writes: nothing
CALL () {
  CALL () {
    MATCH (s:Story)
    UNWIND coalesce(s.correlation_keys, [s.correlation_key]) AS key
    RETURN key
    UNION
    MATCH (s:Unstoried)
    RETURN s.correlation_key AS key
  }
  RETURN collect(DISTINCT key) AS keys
}
CALL () {
  MATCH (:Story)-[:OF]->(c:Context)
  RETURN collect(DISTINCT c.root) AS roots
}
CALL () {
  OPTIONAL MATCH (b:Batch)
  UNWIND coalesce(b.event_ids, []) AS id
  RETURN collect(DISTINCT id) AS queued
}
RETURN keys, roots, queued
