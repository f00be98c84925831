// A process's descendants down to $depth levels (at most 20), by depth, then
// start time, then key; at most $limit of them.
// $key: process key; $depth: levels (1-20); $limit: how many at most
// Writes: nothing
MATCH path = (d:Process)-[:CHILD_OF*1..20]->(:Process {key: $key})
WHERE length(path) <= $depth
RETURN d.key AS key, length(path) AS depth
ORDER BY depth, coalesce(toString(d.start_time), '~'), key
LIMIT $limit
