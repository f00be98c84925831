// Retention: deletes processes that nothing needs any more: no event by them,
// no child (a kept process keeps its whole lineage), not queued for stamping,
// not in a story's context, started before the limit (or of unknown start: a
// placeholder nothing points at). The write lock is taken
// first (SET), so a writer adding an event or child meanwhile is seen or waits.
// Returns the parents (candidates of the next round) and the contexts and
// targets the deleted processes leave behind.
// $keys: [process key] ; $kept: [correlation key] ; $before: datetime
// Writes: deletes (:Process)
UNWIND $keys AS key
MATCH (p:Process {key: key})
WHERE NOT p:Unstamped
  AND (p.correlation_key IS NULL OR NOT p.correlation_key IN $kept)
  AND coalesce(p.start_time, p.exit_time, $before - duration('PT1S')) < $before
SET p._pruning = true
REMOVE p._pruning
WITH p
WHERE NOT EXISTS { (:Event)-[:BY]->(p) } AND NOT EXISTS { (:Process)-[:CHILD_OF]->(p) }
CALL (p) {
  OPTIONAL MATCH (p)-[:CHILD_OF]->(parent:Process)
  RETURN collect(parent.key) AS parents
}
CALL (p) {
  OPTIONAL MATCH (p)-[:IN_CONTEXT]->(c:Context)
  RETURN collect(c.key) AS contexts
}
CALL (p) {
  OPTIONAL MATCH (p)-[:ACTIVITY]->(t)
  RETURN collect(DISTINCT elementId(t)) AS targets
}
DETACH DELETE p
RETURN count(p) AS deleted, collect(parents) AS parents, collect(contexts) AS contexts,
       collect(targets) AS targets
