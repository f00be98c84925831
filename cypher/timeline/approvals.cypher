// A story's approved actions for one timeline page: from the cursor's time up to
// the time of the $limit-th approval after it, the whole tie group at both ends
// included (as triage_changes.cypher).
// $id: story id; $after_s, $after_ns: the cursor's time as epoch seconds and
// nanoseconds; $limit: page size + 1
// Writes: nothing
WITH datetime({epochSeconds: $after_s, nanosecond: $after_ns}) AS after
MATCH (:Story {id: $id})-[:APPROVAL]->(a:ActionApproval)
WHERE a.ts >= after
WITH after, a ORDER BY a.ts
WITH after, collect(a) AS found
WITH found, [x IN found WHERE x.ts > after][$limit - 1].ts AS upto
UNWIND [x IN found WHERE upto IS NULL OR x.ts <= upto] AS a
RETURN a {.*, ts: toString(a.ts), claimed_at: toString(a.claimed_at),
          last_attempt_at: toString(a.last_attempt_at),
          delivered_at: toString(a.delivered_at)} AS approval,
       a.ts.epochSeconds * 1000000000 + a.ts.nanosecond AS ts_ns
