// Stamping step 4: deletes contexts that lost every process (late evidence
// moved them elsewhere), unless a story hangs on them (stories follow their
// events; the stories step merges those).
// Parameters: none. Writes: deletes (:Context)
MATCH (c:Shrunk)
WHERE NOT EXISTS { (:Process)-[:IN_CONTEXT]->(c) } AND NOT EXISTS { (:Story)-[:OF]->(c) }
DETACH DELETE c
