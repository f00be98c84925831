// Every change of some exceptions, oldest first: who did what, when, and which
// fields changed (JSON text).
// $ids: [exception id]
// Writes: nothing
UNWIND $ids AS id
MATCH (:RuleException {id: id})-[:HISTORY]->(c:ExceptionChange)
WITH id, c ORDER BY c.ts, c.id
RETURN id, collect(c {.id, .actor, .action, .comment, .changes, ts: toString(c.ts)}) AS changes
