// Removes signals a beaconing rule placed on a connection that no longer completes
// the first regular run (an earlier connection arrived late and moved it), and
// sends the stories that held them to be rebuilt, as if they had never been.
// $ids: [signal id]
// Writes: deletes (:Signal) and its relationships; :Restory on the stories that held them
UNWIND $ids AS id
MATCH (s:Signal {id: id})
OPTIONAL MATCH (st:Story)-[:HAS]->(s)
SET st:Restory
DETACH DELETE s
