// The parent of each process (CHILD_OF), if known.
// $keys: [process key]
// Writes: nothing
UNWIND $keys AS key
MATCH (:Process {key: key})-[:CHILD_OF]->(parent:Process)
RETURN key, parent.key AS parent
