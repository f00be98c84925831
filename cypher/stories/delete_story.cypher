// Deletes a story left without signals and without triage history or approved
// actions (nothing a person did is lost); its context goes too when no process is
// left in it.
// $id: story id
// Writes: deletes (:Story)
MATCH (st:Story {id: $id})
WHERE NOT EXISTS { (st)-[:HAS]->() } AND NOT EXISTS { (st)-[:TRIAGE]->() }
  AND NOT EXISTS { (st)-[:APPROVAL]->() }
OPTIONAL MATCH (st)-[:OF]->(c:Context)
WITH st, collect(c) AS contexts
DETACH DELETE st
WITH contexts
UNWIND contexts AS c
WITH c
WHERE NOT EXISTS { (:Process)-[:IN_CONTEXT]->(c) }
  AND NOT EXISTS { (:Story)-[:OF]->(c) }
DETACH DELETE c
