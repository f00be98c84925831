// Retention: deletes events with what only they carry: the signals on them that
// no story holds, their later versions and the analysts' annotations on them.
// Process ACTIVITY edges keep their counts (a summary of what happened).
// $ids: [event id]
// Writes: deletes (:Event), (:Signal), (:EventVersion), (:Annotation)
UNWIND $ids AS id
MATCH (e:Event {id: id})
CALL (e) {
  MATCH (s:Signal)-[:ON]->(e)
  WHERE NOT EXISTS { (:Story)-[:HAS]->(s) }
  DETACH DELETE s
}
CALL (e) {
  MATCH (v:EventVersion)-[:VERSION_OF]->(e)
  DETACH DELETE v
}
CALL (e) {
  MATCH (a:Annotation)-[:ANNOTATES]->(e)
  DETACH DELETE a
}
DETACH DELETE e
RETURN count(*) AS deleted
