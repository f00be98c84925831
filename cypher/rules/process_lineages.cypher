// What detection rules see of processes: each process with its parent, up to
// eight further ancestors from the graph (so a rule sees the lineage even when
// the sensor did not ship it), its container and pod.
// Times come as RFC 3339 strings and the writer's bookkeeping is left out:
// both cost the reader more than the rules use. Each process comes once, in
// `processes`; the lineages name them by key (an ancestor shared by many
// processes would otherwise be sent, and read, once per descendant: that was
// most of this statement's cost).
// $keys: [process key]
// Returns one row: lineages [{key, parent, ancestors: [key],
// container, pod}], processes [process map]
// Writes: nothing
UNWIND $keys AS key
MATCH (p:Process {key: key})
CALL (p) {
  OPTIONAL MATCH (p)-[:CHILD_OF]->(par:Process)
  RETURN par ORDER BY par.key LIMIT 1
}
CALL (par) {
  OPTIONAL MATCH path = (par)-[:CHILD_OF*1..8]->(:Process)
  RETURN tail(nodes(path)) AS ancestors
  ORDER BY length(path) DESC LIMIT 1
}
OPTIONAL MATCH (p)-[:IN_CONTAINER]->(c:Container)
OPTIONAL MATCH (c)-[:IN_POD]->(pod:Pod)
WITH key, p, par, c, pod, coalesce(ancestors, []) AS ancestors
WITH key, par, c, pod, ancestors,
     [p] + CASE WHEN par IS NULL THEN [] ELSE [par] END + ancestors AS members
// one row per process a lineage names; its lineage rides on the first (i = 0)
UNWIND range(0, size(members) - 1) AS i
WITH collect(DISTINCT members[i]) AS nodes,
     collect(CASE WHEN i = 0 THEN {
       key: key, parent: par.key, ancestors: [n IN ancestors | n.key],
       container: CASE WHEN c IS NULL THEN null ELSE c {.*, first_seen: null, last_seen: null} END,
       pod: properties(pod)} END) AS lineages
RETURN lineages,
       [n IN nodes | n {.*, start_time: toString(n.start_time), exit_time: toString(n.exit_time),
                        _provenance: null, session_uuids: null}] AS processes
