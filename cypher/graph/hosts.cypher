// The hosts a story's processes and containers ran on.
// $ids: host ids
// Writes: nothing
UNWIND $ids AS id
MATCH (h:Host {id: id})
RETURN h.id AS id, properties(h) AS props
ORDER BY id
