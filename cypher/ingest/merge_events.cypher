// Merges events and links each to the process that acted. Event ids are unique
// per sensor; when one id arrives with different content (auditd records of
// one serial split across batches), non-null fields fill in and conflicts go
// to the version with the greater digest, so arrival order does not matter.
// A new event takes its process's current correlation key (stamping updates it
// when the key changes). An event that a compromising signal flagged before it
// arrived sends its process back to be stamped.
// An event that is new or whose content changed waits, in this same
// transaction, for the background stage: for detection (:Undetected, with the
// time it was queued in _queued), and, when it carries credentials fetched from
// the instance metadata service, for the relate step (:Unrelated). A crash
// after this commit loses neither.
// $rows: [{id, digest, ts, process_key, props: {kind, source, summary, ...}}]
// Writes: (:Event), (:Event)-[:BY]->(:Process), e.correlation_key, :Unstamped,
//         :Undetected with _queued, :Unrelated
UNWIND $rows AS row
MERGE (e:Event {id: row.id})
SET e.id = row.id
WITH e, row, e.digest IS NULL OR row.digest > e.digest AS wins
FOREACH (k IN [k IN keys(row.props) WHERE wins OR e[k] IS NULL] | SET e[k] = row.props[k])
FOREACH (_ IN CASE WHEN wins AND row.props.kind <> 'alert' THEN [1] ELSE [] END |
  SET e:Undetected, e._queued = datetime.realtime())
FOREACH (_ IN CASE WHEN wins AND row.props.access_key_id IS NOT NULL THEN [1] ELSE [] END |
  SET e:Unrelated)
REMOVE e.placeholder
SET e.digest = CASE WHEN wins THEN row.digest ELSE e.digest END,
    e.ts = CASE WHEN wins OR e.ts IS NULL THEN datetime(row.ts) ELSE e.ts END
WITH e, row
MATCH (p:Process {key: row.process_key})
MERGE (e)-[:BY]->(p)
SET e.correlation_key = p.correlation_key
WITH e, p
CALL (e) {
  MATCH (s:Signal)-[:ON]->(e)
  SET s.correlation_key = e.correlation_key
}
WITH e, p
WHERE EXISTS { (:Signal {compromises: true})-[:ON]->(e) }
SET p:Unstamped
