// The signals an exception suppresses, newest first (then id), at most $limit (their
// details: signals.cypher).
// $id: exception id; $limit: how many
// Writes: nothing
MATCH (:RuleException {id: $id})<-[:SUPPRESSED_BY]-(s:Signal)
RETURN s.id AS id
ORDER BY s.ts DESC, s.id
LIMIT $limit
