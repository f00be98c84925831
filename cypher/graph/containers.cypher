// The containers a story's processes ran in, with the hosts they ran on and their pods.
// $ids: container ids
// Writes: nothing
UNWIND $ids AS id
MATCH (c:Container {id: id})
RETURN c.id AS id, properties(c) AS props,
       [(c)-[:ON_HOST]->(h:Host) | h.id] AS hosts,
       [(c)-[:IN_POD]->(p:Pod) | properties(p)] AS pods
ORDER BY id
