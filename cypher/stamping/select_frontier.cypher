// Selects this round's frontier: processes waiting to be stamped (:Unstamped)
// whose parent is stamped already (or unknown), so that each is stamped from
// its parent's final keys. A child of an unstamped parent waits for a later
// round. $force names processes to take anyway (the app breaks CHILD_OF cycles
// with it); pass [] otherwise. Of several parents, the smallest key is used.
// $force: [process key]
// Writes: :Frontier label, p.stamp_parent (the parent key the layers read)
MATCH (p:Unstamped)
CALL (p) {
  OPTIONAL MATCH (p)-[:CHILD_OF]->(par:Process)
  RETURN par ORDER BY par.key LIMIT 1
}
WITH p, par
WHERE par IS NULL OR NOT par:Unstamped OR p.key IN $force
// in key order, as the writers lock processes (merge_processes): fewer deadlocks
WITH p, par ORDER BY p.key
SET p:Frontier, p.stamp_parent = CASE WHEN p.key IN $force THEN null ELSE par.key END
RETURN count(p) AS frontier
