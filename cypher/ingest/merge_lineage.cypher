// Links each child to its one parent (and shipped ancestors to theirs). Both
// ends exist: merge_processes created placeholders for parents not seen yet.
// A process has one parent: the naming with the greatest stamp "rank|event id"
// wins (rank 3: the process's own exec, fork or exit; 2: another of its events;
// 0: an event further down listing its ancestors), ties broken by the parent's
// key, so any order of input gives the same parent. A better naming replaces
// the link; a sensor (or an attacker) naming other parents cannot make a
// process two children, nor a lineage a lattice whose paths multiply.
// A child that gets a new parent waits to be stamped again (:Unstamped), and,
// when it existed before this batch, its events wait to be matched by the
// rules again (:Relinked): the rules now see a parent they did not.
// $rows: [{child, parent, stamp}] (one row per child)
// Writes: (:Process)-[:CHILD_OF]->(:Process), parent_stamp, parent_key, :Unstamped, :Relinked
UNWIND $rows AS row
MATCH (c:Process {key: row.child})
MATCH (p:Process {key: row.parent})
// the write lock on the child first: two writers naming parents take turns
SET c.key = c.key
WITH c, p, row
WHERE c.parent_stamp IS NULL OR row.stamp > c.parent_stamp
   OR (row.stamp = c.parent_stamp AND row.parent > c.parent_key)
CALL (c, p) {
  MATCH (c)-[old:CHILD_OF]->(other)
  WHERE other <> p
  DELETE old
}
SET c.parent_stamp = row.stamp, c.parent_key = row.parent
MERGE (c)-[:CHILD_OF]->(p)
ON CREATE SET c:Unstamped, c._relink = NOT c:Fresh
WITH c, c._relink AS relink
REMOVE c._relink
WITH c
WHERE relink
SET c:Relinked
