// A process's ancestors, nearest first (at most 100 levels).
// $key: process key
// Writes: nothing
MATCH path = (:Process {key: $key})-[:CHILD_OF*1..100]->(a:Process)
RETURN a.key AS key, length(path) AS depth
ORDER BY depth
