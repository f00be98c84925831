// Stamping step 5: recomputes root, reason, first_seen and last_seen of the
// contexts that lost a member or their root, from the processes left in them.
// Its story, if any, is rebuilt by the stories step (:Restory).
// Parameters: none. Writes: Context properties; removes :Shrunk; :Restory on stories;
// :Unrelated on the contexts (their audit record is linked again by the relate step)
MATCH (c:Shrunk)
REMOVE c:Shrunk
WITH c
CALL (c) {
  OPTIONAL MATCH (m:Process)-[:IN_CONTEXT]->(c)
  WITH c, m, coalesce(toString(m.start_time), '~') + '|' + m.key AS rank
  ORDER BY rank
  WITH c, collect(m) AS members,
       [x IN collect({p: m, rank: rank}) WHERE x.p['ctx_' + c.layer + '_reason'] IS NOT NULL] AS starters
  RETURN members, starters[0] AS starter
}
SET c.root = starter.p.key, c.root_rank = starter.rank,
    c.reason = starter.p['ctx_' + c.layer + '_reason'],
    c.audit_record = starter.p['ctx_' + c.layer + '_audit'],
    c.first_seen = reduce(t = null, m IN members |
      CASE WHEN m.start_time IS NOT NULL AND (t IS NULL OR m.start_time < t) THEN m.start_time ELSE t END),
    c.last_seen = reduce(t = null, m IN members |
      CASE WHEN coalesce(m.exit_time, m.start_time) IS NOT NULL AND (t IS NULL OR coalesce(m.exit_time, m.start_time) > t)
           THEN coalesce(m.exit_time, m.start_time) ELSE t END)
SET c:Unrelated
WITH c
MATCH (st:Story)-[:OF]->(c)
SET st:Restory
