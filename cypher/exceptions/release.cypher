// Releases signals from one exception: its SUPPRESSED_BY links go; a signal no other
// exception suppresses counts again, waits to be regrouped (:Unstoried), and when it
// marks a compromise its process goes back to be stamped.
// $exception: exception id; $ids: [signal id]
// Writes: deletes (:Signal)-[:SUPPRESSED_BY]->(:RuleException), removes Signal.suppressed,
//         :Unstoried, :Unstamped
UNWIND $ids AS id
// from each signal (a few links), never from the exception (one link per signal it holds)
MATCH (s:Signal {id: id})-[r:SUPPRESSED_BY]->(x:RuleException)
USING INDEX s:Signal(id)
WHERE x.id = $exception
DELETE r
WITH DISTINCT s
WHERE NOT EXISTS { (s)-[:SUPPRESSED_BY]->(:RuleException) }
REMOVE s.suppressed
SET s:Unstoried
WITH s
CALL (s) {
  WITH s
  WHERE s.compromises
  MATCH (s)-[:ON]->(:Event)-[:BY]->(p:Process)
  SET p:Unstamped
}
RETURN s.id AS id, s.correlation_key AS key
