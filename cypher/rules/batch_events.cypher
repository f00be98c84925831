// What detection matches: the events of queued batches (alerts are signals
// already), each with its process key and properties; the time as an RFC 3339
// string, the writer's bookkeeping left out (both cost the reader more than
// the rules use).
// $ids: [event id]
// Writes: nothing
UNWIND $ids AS id
MATCH (e:Event {id: id})-[:BY]->(p:Process)
WHERE e.kind <> 'alert'
RETURN e.id AS id, toString(e.ts) AS ts, p.key AS process_key,
       e {.*, ts: null, digest: null, correlation_key: null} AS props
