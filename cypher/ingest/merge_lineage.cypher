// Links children to parents (and shipped ancestors to theirs). Both ends exist:
// merge_processes created placeholders for parents not seen yet.
// A child that learns its parent waits to be stamped again (:Unstamped), and,
// when it existed before this batch, its events wait to be matched by the rules
// again (:Relinked): the rules now see a parent they did not.
// $rows: [{child, parent}] (process keys, deduplicated)
// Writes: (:Process)-[:CHILD_OF]->(:Process), :Unstamped and :Relinked labels
UNWIND $rows AS row
MATCH (c:Process {key: row.child})
MATCH (p:Process {key: row.parent})
MERGE (c)-[:CHILD_OF]->(p)
ON CREATE SET c:Unstamped, c._relink = NOT c:Fresh
WITH c, c._relink AS relink
REMOVE c._relink
WITH c
WHERE relink
SET c:Relinked
