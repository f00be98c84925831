// A story's triage changes for one timeline page: from the cursor's time up to
// the time of the $limit-th change after it, the whole tie group at both ends
// included.
// $id: story id; $after_s, $after_ns: the cursor's time as epoch seconds and
// nanoseconds (a time before every change for the first page); $limit: page size + 1
// Writes: nothing
WITH datetime({epochSeconds: $after_s, nanosecond: $after_ns}) AS after
MATCH (:Story {id: $id})-[:TRIAGE]->(t:TriageChange)
WHERE t.ts >= after
WITH after, t ORDER BY t.ts
WITH after, collect(t) AS found
WITH found, [x IN found WHERE x.ts > after][$limit - 1].ts AS upto
UNWIND [x IN found WHERE upto IS NULL OR x.ts <= upto] AS t
RETURN t {.id, .actor, .field, .from, .to, .comment, ts: toString(t.ts)} AS change,
       t.ts.epochSeconds * 1000000000 + t.ts.nanosecond AS ts_ns
