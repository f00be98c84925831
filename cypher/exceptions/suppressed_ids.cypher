// Some of the signals one exception suppresses (a batch for revoking it).
// $exception: exception id; $limit: how many
// Writes: nothing
MATCH (:RuleException {id: $exception})<-[:SUPPRESSED_BY]-(s:Signal)
RETURN s.id AS id
LIMIT $limit
