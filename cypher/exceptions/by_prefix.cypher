// Exception ids starting with a prefix (what a person types), at most two: one
// means the prefix names it.
// $prefix: the start of an id
// Writes: nothing
MATCH (x:RuleException)
WHERE x.id STARTS WITH $prefix
RETURN x.id AS id
ORDER BY x.id
LIMIT 2
