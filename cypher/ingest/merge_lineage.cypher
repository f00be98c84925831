// Links children to parents (and shipped ancestors to theirs). Both ends exist:
// merge_processes created placeholders for parents not seen yet.
// A child that learns its parent waits to be stamped again (:Unstamped), and
// its events to be matched by the rules again (:Relinked).
// $rows: [{child, parent}] (process keys, deduplicated)
// Writes: (:Process)-[:CHILD_OF]->(:Process), :Unstamped labels
UNWIND $rows AS row
MATCH (c:Process {key: row.child})
MATCH (p:Process {key: row.parent})
MERGE (c)-[:CHILD_OF]->(p)
ON CREATE SET c:Unstamped, c:Relinked
