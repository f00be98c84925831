// Deletes a story left without signals and without triage history (nothing a
// person did is lost); its context goes too when no process is left in it.
// $id: story id
// Writes: deletes (:Story)
MATCH (st:Story {id: $id})
WHERE NOT EXISTS { (st)-[:HAS]->() } AND NOT EXISTS { (st)-[:TRIAGE]->() }
OPTIONAL MATCH (st)-[:OF]->(c:Context)
DETACH DELETE st
WITH c
WHERE c IS NOT NULL AND NOT EXISTS { (:Process)-[:IN_CONTEXT]->(c) }
  AND NOT EXISTS { (:Story)-[:OF]->(c) }
DETACH DELETE c
