// Merges events and links each to the process that acted. Event ids are unique
// per sensor; when one id arrives with different content (auditd records of
// one serial split across batches), non-null fields fill in and conflicts go
// to the version with the greater digest, so arrival order does not matter.
// A new event takes its process's current correlation key (stamping updates it
// when the key changes). An event that a compromising signal flagged before it
// arrived sends its process back to be stamped.
// An event that is new or whose content changed and carries credentials
// fetched from the instance metadata service waits for the relate step
// (:Unrelated), in this same transaction. (Detection's queue is the batch's
// :Batch node, cypher/pipeline/queue_batch.)
// Returns the ids of the events that were in the graph before (the others are
// exactly their rows, which detection may then use without reading them back).
// $rows: [{id, digest, ts, process_key, props: {kind, source, summary, ...}}]
// Writes: (:Event), (:Event)-[:BY]->(:Process), e.correlation_key, :Unstamped, :Unrelated
UNWIND $rows AS row
MERGE (e:Event {id: row.id})
// an event created here has no signal yet: only one that existed (re-ingested,
// or a placeholder a signal made) needs its signals looked at
WITH e, row, e.digest IS NOT NULL OR e.placeholder IS NOT NULL AS existed
SET e.id = row.id
WITH e, row, existed, e.digest IS NULL OR row.digest > e.digest AS wins
SET e += CASE WHEN wins THEN row.props ELSE {} END
FOREACH (k IN CASE WHEN wins THEN [] ELSE [k IN keys(row.props) WHERE e[k] IS NULL] END |
  SET e[k] = row.props[k])
FOREACH (_ IN CASE WHEN wins AND row.props.access_key_id IS NOT NULL THEN [1] ELSE [] END |
  SET e:Unrelated)
REMOVE e.placeholder
SET e.digest = CASE WHEN wins THEN row.digest ELSE e.digest END,
    e.ts = CASE WHEN wins OR e.ts IS NULL THEN datetime(row.ts) ELSE e.ts END
WITH e, row, existed
MATCH (p:Process {key: row.process_key})
MERGE (e)-[:BY]->(p)
SET e.correlation_key = p.correlation_key
WITH e, p, existed
CALL (e, p, existed) {
  WITH e, p
  WHERE existed
  CALL (e) {
    MATCH (s:Signal)-[:ON]->(e)
    SET s.correlation_key = e.correlation_key
  }
  WITH e, p
  WHERE EXISTS { (:Signal {compromises: true})-[:ON]->(e) }
  SET p:Unstamped
}
WITH e, existed
WHERE existed
RETURN collect(e.id) AS existed
