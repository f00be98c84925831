// The bare baseline of bench/ingest.py: events, their processes and BY, with
// nothing else (no lineage, provenance, targets, queues or stages).
// $rows: [{id, ts, props, process_key, process: {host_id}}]
UNWIND $rows AS row
MERGE (p:Process {key: row.process_key})
SET p += row.process
MERGE (e:Event {id: row.id})
SET e += row.props, e.ts = datetime(row.ts)
MERGE (e)-[:BY]->(p)
