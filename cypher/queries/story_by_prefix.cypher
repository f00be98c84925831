// The ids of the stories whose id starts with a prefix (the CLI takes a prefix).
// $prefix: the start of a story id
// Writes: nothing
MATCH (s:Story)
WHERE s.id STARTS WITH $prefix
RETURN s.id AS id
ORDER BY id
LIMIT 2
