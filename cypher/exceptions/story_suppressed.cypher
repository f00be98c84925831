// The suppressed signals of a story's correlation keys, in time order (then id), at
// most $limit (their details: signals.cypher).
// $keys: the story's correlation keys; $limit: how many
// Writes: nothing
UNWIND $keys AS key
MATCH (s:Signal {correlation_key: key})
WHERE s.suppressed
RETURN s.id AS id
ORDER BY s.ts, s.id
LIMIT $limit
