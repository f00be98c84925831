// A process's children, by start time then key, one page after a cursor.
// $key: process key; $after: the cursor's rank ('start time|key') or null;
// $limit: page size + 1
// Writes: nothing
MATCH (c:Process)-[:CHILD_OF]->(:Process {key: $key})
WITH c, coalesce(toString(c.start_time), '~') + '|' + c.key AS rank
WHERE $after IS NULL OR rank > $after
RETURN c.key AS key, rank
ORDER BY rank
LIMIT $limit
