// The event views detection rules match: each event with its process, the
// parent and up to eight further ancestors from the graph (so a rule sees the
// lineage even when the sensor did not ship it), its container and pod.
// Events of kind alert are left out: sensors' alerts are signals already.
// $ids: [event id]
// Writes: nothing
UNWIND $ids AS id
MATCH (e:Event {id: id})-[:BY]->(p:Process)
WHERE e.kind <> 'alert'
CALL (p) {
  OPTIONAL MATCH (p)-[:CHILD_OF]->(par:Process)
  RETURN par ORDER BY par.key LIMIT 1
}
CALL (par) {
  OPTIONAL MATCH path = (par)-[:CHILD_OF*1..8]->(:Process)
  RETURN [n IN tail(nodes(path)) | properties(n)] AS ancestors
  ORDER BY length(path) DESC LIMIT 1
}
OPTIONAL MATCH (p)-[:IN_CONTAINER]->(c:Container)
OPTIONAL MATCH (c)-[:IN_POD]->(pod:Pod)
RETURN properties(e) AS event, properties(p) AS process, properties(par) AS parent,
       coalesce(ancestors, []) AS ancestors, properties(c) AS container, properties(pod) AS pod
