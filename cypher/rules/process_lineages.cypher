// What detection rules see of processes: each process with its parent, up to
// eight further ancestors from the graph (so a rule sees the lineage even when
// the sensor did not ship it), its container and pod. One row per process key.
// $keys: [process key]
// Writes: nothing
UNWIND $keys AS key
MATCH (p:Process {key: key})
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
RETURN key, properties(p) AS process, properties(par) AS parent,
       coalesce(ancestors, []) AS ancestors, properties(c) AS container, properties(pod) AS pod
