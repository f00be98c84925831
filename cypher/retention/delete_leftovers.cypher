// Retention: deletes what the deleted processes left without any reference:
// contexts with no process and no story, and files, endpoints and domains that
// no process's ACTIVITY and no event reaches any more.
// $contexts: [context key] ; $targets: [element id of a File, Endpoint or Domain]
// Writes: deletes (:Context), (:File), (:Endpoint), (:Domain)
CALL () {
  UNWIND $contexts AS key
  MATCH (c:Context {key: key})
  WHERE NOT EXISTS { (:Process)-[:IN_CONTEXT]->(c) } AND NOT EXISTS { (:Story)-[:OF]->(c) }
  DETACH DELETE c
  RETURN count(c) AS contexts
}
CALL () {
  UNWIND $targets AS target
  MATCH (t) WHERE elementId(t) = target AND (t:File OR t:Endpoint OR t:Domain)
    AND NOT EXISTS { (:Process)-[:ACTIVITY]->(t) } AND NOT EXISTS { (:Event)-->(t) }
  DETACH DELETE t
  RETURN count(t) AS targets
}
RETURN contexts, targets
