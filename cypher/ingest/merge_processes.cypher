// Merges processes: the acting processes of a batch, their parents and the
// ancestors sensors ship. Each property keeps the value of the best source
// seen so far, field by field: a stamp "rank|event id" per field (rank 3: the
// process's own exec, fork or exit; 2: it acted; 1: named as a parent;
// 0: named as an ancestor) is kept in _provenance, aligned with $fields, and
// the greater stamp wins. The merge is a maximum, so any order of input gives
// the same node. A process known only as a parent or ancestor is a placeholder.
// $fields: [name] (the property names, in _provenance order)
// $times: [index] (the fields whose values come as RFC 3339 text and are stored
//   as datetimes: converting here is cheaper than the driver's DateTime encoding)
// A process that is new or whose values changed waits to be stamped by the
// context layers (:Unstamped), and so do its children (what they inherit may
// change); a repeated event that changes nothing touches no child.
// $rows: [{key, rank, host_id, container_id, uuids, values: [v per field], stamps: [s per field]}]
//   one row per key; a stamp is '' where the value is null; uuids are the
//   deterministic session context keys uuid5(namespace, layer + key).
// Writes: (:Process), (:Process)-[:ON_HOST]->(:Host), (:Process)-[:IN_CONTAINER]->(:Container),
//         :Unstamped labels, :Fresh on processes new in this batch (cleared at its end)
UNWIND $rows AS row
MERGE (p:Process {key: row.key})
ON CREATE SET p:Unstamped, p:Fresh, p.session_uuids = row.uuids
// Setting a property takes the node's write lock before the provenance is read,
// so two concurrent writers of one process cannot lose each other's fields.
SET p.key = row.key
WITH p, row, coalesce(p._provenance, [f IN $fields | '']) AS old,
     [i IN range(0, size($fields) - 1) |
      CASE WHEN i IN $times THEN datetime(row.values[i]) ELSE row.values[i] END] AS values
WITH p, row, old, values, [i IN range(0, size($fields) - 1) | row.stamps[i] > old[i]] AS wins
WITH p, row, old, values, wins,
     any(i IN range(0, size($fields) - 1)
         WHERE wins[i] AND (p[$fields[i]] IS NULL OR p[$fields[i]] <> values[i])) AS changed
FOREACH (i IN [i IN range(0, size($fields) - 1) WHERE wins[i]] |
  SET p[$fields[i]] = values[i])
SET p._provenance = [i IN range(0, size($fields) - 1) |
                     CASE WHEN wins[i] THEN row.stamps[i] ELSE old[i] END],
    p.info_rank = CASE WHEN p.info_rank IS NULL OR row.rank > p.info_rank
                       THEN row.rank ELSE p.info_rank END
SET p.placeholder = p.info_rank < 2
WITH p, row, changed
CALL (p, changed) {
  WITH p WHERE changed
  SET p:Unstamped
  WITH p
  MATCH (child:Process)-[:CHILD_OF]->(p)
  SET child:Unstamped
}
WITH p, row
MATCH (h:Host {id: row.host_id})
MERGE (p)-[:ON_HOST]->(h)
WITH p, row
WHERE row.container_id IS NOT NULL
MATCH (c:Container {id: row.container_id})
MERGE (p)-[:IN_CONTAINER]->(c)
