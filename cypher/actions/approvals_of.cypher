// The approved actions of stories, each story's in time order (with those moved in
// from a story merged into it).
// $ids: [story id]
// Writes: nothing
UNWIND $ids AS id
MATCH (st:Story {id: id})
CALL (st) {
  OPTIONAL MATCH (st)-[:APPROVAL]->(a:ActionApproval)
  WITH a ORDER BY a.ts, a.id
  RETURN [x IN collect(CASE WHEN a IS NULL THEN null ELSE a {.*, ts: toString(a.ts),
          claimed_at: toString(a.claimed_at), last_attempt_at: toString(a.last_attempt_at),
          delivered_at: toString(a.delivered_at)} END) WHERE x IS NOT NULL] AS approvals
}
RETURN id, approvals
