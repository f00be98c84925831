// Links events stored before this batch (sent again, or by another writer) to
// the files, endpoints and domains they touched, reached or resolved. A link the
// event did not have yet waits to be counted on its process (r.pending, cleared
// by merge_activity).
// $rows: [{event_id, label: 'File' | 'Endpoint' | 'Domain', key}]
// Writes: (:Event)-[:TOUCHES|CONNECTS|RESOLVES {pending}]->(target)
UNWIND $rows AS row
MATCH (e:Event {id: row.event_id})
CALL (e, row) {
  WITH e, row WHERE row.label = 'File'
  MATCH (t:File {key: row.key})
  MERGE (e)-[r:TOUCHES]->(t)
  ON CREATE SET r.pending = true
}
CALL (e, row) {
  WITH e, row WHERE row.label = 'Endpoint'
  MATCH (t:Endpoint {key: row.key})
  MERGE (e)-[r:CONNECTS]->(t)
  ON CREATE SET r.pending = true
}
CALL (e, row) {
  WITH e, row WHERE row.label = 'Domain'
  MATCH (t:Domain {key: row.key})
  MERGE (e)-[r:RESOLVES]->(t)
  ON CREATE SET r.pending = true
}
