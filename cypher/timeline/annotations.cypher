// The notes and tags on a story's events and processes (those of its correlation
// keys now) for one timeline page: from the cursor's time up to the time of the
// $limit-th one after it, the whole tie group at both ends included. Annotations
// are made by hand, so they are few: read through the Annotation(ts) index.
// $keys: the story's correlation keys; $after_s, $after_ns: the cursor's time as
// epoch seconds and nanoseconds; $limit: page size + 1
// Writes: nothing
WITH datetime({epochSeconds: $after_s, nanosecond: $after_ns}) AS after
MATCH (a:Annotation)-[:ANNOTATES]->(t)
WHERE a.ts >= after AND t.correlation_key IN $keys
WITH after, a ORDER BY a.ts, a.id
WITH after, collect(a) AS found
WITH found, [x IN found WHERE x.ts > after][$limit - 1].ts AS upto
UNWIND [x IN found WHERE upto IS NULL OR x.ts <= upto] AS a
RETURN a {.id, .kind, .text, .actor, .target_kind, .target_key, ts: toString(a.ts)} AS annotation,
       a.ts.epochSeconds * 1000000000 + a.ts.nanosecond AS ts_ns
