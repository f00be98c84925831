// What detection rules see of processes: each process with its parent, up to
// eight further ancestors from the graph (so a rule sees the lineage even when
// the sensor did not ship it), its container and pod. One row per process key.
// Times come as RFC 3339 strings and the writer's bookkeeping is left out:
// both cost the reader more than the rules use.
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
  RETURN [n IN tail(nodes(path)) | n {.*, start_time: toString(n.start_time),
          exit_time: toString(n.exit_time), _provenance: null, session_uuids: null}] AS ancestors
  ORDER BY length(path) DESC LIMIT 1
}
OPTIONAL MATCH (p)-[:IN_CONTAINER]->(c:Container)
OPTIONAL MATCH (c)-[:IN_POD]->(pod:Pod)
RETURN key,
       p {.*, start_time: toString(p.start_time), exit_time: toString(p.exit_time),
          _provenance: null, session_uuids: null} AS process,
       CASE WHEN par IS NULL THEN null
            ELSE par {.*, start_time: toString(par.start_time), exit_time: toString(par.exit_time),
                      _provenance: null, session_uuids: null} END AS parent,
       coalesce(ancestors, []) AS ancestors,
       CASE WHEN c IS NULL THEN null
            ELSE c {.*, first_seen: null, last_seen: null} END AS container,
       properties(pod) AS pod
