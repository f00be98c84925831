// Merges events and links each to the process that acted. Event ids are unique
// per sensor. Evidence is not rewritten: the first content stored for an id
// stays; a later version with other content only fills fields still missing
// (auditd records of one serial split across batches), and when it disagrees
// with a stored value it is kept beside the event as an
// (:EventVersion {key: id|digest})-[:VERSION_OF]->(:Event), with when it came.
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
// Writes: (:Event), (:Event)-[:BY]->(:Process), e.correlation_key, :Unstamped, :Unrelated,
//         (:EventVersion)-[:VERSION_OF]->(:Event)
UNWIND $rows AS row
MERGE (e:Event {id: row.id})
// an event created here has no signal yet: only one that existed (re-ingested,
// or a placeholder a signal made) needs its signals looked at
WITH e, row, e.digest IS NOT NULL OR e.placeholder IS NOT NULL AS existed
SET e.id = row.id
WITH e, row, existed, e.digest IS NULL AS first
WITH e, row, existed, first,
     NOT first AND row.digest <> e.digest
       AND (datetime(row.ts) <> e.ts
            OR any(k IN keys(row.props) WHERE e[k] IS NOT NULL AND e[k] <> row.props[k]))
       AS conflicting
SET e += CASE WHEN first THEN row.props ELSE {} END
FOREACH (k IN CASE WHEN first THEN [] ELSE [k IN keys(row.props) WHERE e[k] IS NULL] END |
  SET e[k] = row.props[k])
FOREACH (_ IN CASE WHEN first AND row.props.access_key_id IS NOT NULL THEN [1] ELSE [] END |
  SET e:Unrelated)
FOREACH (_ IN CASE WHEN conflicting THEN [1] ELSE [] END |
  MERGE (v:EventVersion {key: row.id + '|' + row.digest})
  ON CREATE SET v += row.props, v.event_id = row.id, v.digest = row.digest,
                v.ts = datetime(row.ts), v.received_at = datetime()
  MERGE (v)-[:VERSION_OF]->(e))
REMOVE e.placeholder
SET e.digest = CASE WHEN first THEN row.digest ELSE e.digest END,
    e.ts = CASE WHEN first OR e.ts IS NULL THEN datetime(row.ts) ELSE e.ts END
WITH e, row, existed
MATCH (p:Process {key: row.process_key})
// the process first stored as the actor stays it: a later version naming
// another process does not give the event a second one
CALL (e, p) {
  WITH e, p
  WHERE NOT EXISTS { (e)-[:BY]->(:Process) }
  CREATE (e)-[:BY]->(p)
}
WITH e, existed
MATCH (e)-[:BY]->(p:Process)
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
