// Creates the batch's events that existing_events did not find, each linked to
// the process that acted: what merge_events does for an event it creates, as
// plain CREATEs (no merge lock, no read of what is not there). A concurrent
// writer that creates one of these ids first makes this statement fail on the
// event_id constraint; the writer then writes the batch again, checking anew
// (after a few such races, through merge_events alone: app/ingest.py).
// An event carrying credentials fetched from the instance metadata service
// waits for the relate step (:Unrelated).
// $rows: [{id, digest, ts, process_key, props: {kind, source, summary, ...}}]
// Writes: (:Event), (:Event)-[:BY]->(:Process), e.correlation_key, :Unrelated
UNWIND $rows AS row
MATCH (p:Process {key: row.process_key})
CREATE (e:Event {id: row.id})-[:BY]->(p)
SET e += row.props, e.digest = row.digest, e.ts = datetime(row.ts),
    e.correlation_key = p.correlation_key
WITH e, row
WHERE row.props.access_key_id IS NOT NULL
SET e:Unrelated
