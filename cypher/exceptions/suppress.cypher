// Suppresses signals: each links SUPPRESSED_BY to every exception that matched it and
// is marked `suppressed`; it is kept, never deleted. A signal that was counting waits
// to be regrouped (:Unstoried), and when it marked a compromise its process goes back
// to be stamped, so that the exploit layer no longer roots a context on it.
// $rows: [{id: signal id, exceptions: [exception id]}]
// Writes: (:Signal)-[:SUPPRESSED_BY]->(:RuleException), Signal.suppressed, :Unstoried,
//         :Unstamped
UNWIND $rows AS row
MATCH (s:Signal {id: row.id})
WITH s, row, s.suppressed IS NULL AS newly
CALL (s, row) {
  UNWIND row.exceptions AS xid
  MATCH (x:RuleException {id: xid})
  MERGE (s)-[:SUPPRESSED_BY]->(x)
}
WITH s, newly
WHERE EXISTS { (s)-[:SUPPRESSED_BY]->(:RuleException) }
SET s.suppressed = true
WITH s, newly
WHERE newly
SET s:Unstoried
WITH s
CALL (s) {
  WITH s
  WHERE s.compromises
  MATCH (s)-[:ON]->(:Event)-[:BY]->(p:Process)
  SET p:Unstamped
}
RETURN s.id AS id, s.correlation_key AS key
