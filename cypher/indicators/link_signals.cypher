// Links indicator signals (written by ingest/merge_signals in the same transaction) to
// the indicators they matched, so that a story knows which indicators it holds.
// $rows: [{id: signal id, indicators: [indicator id]}]
// Writes: (:Signal)-[:MATCHED]->(:Indicator)
UNWIND $rows AS row
MATCH (s:Signal {id: row.id})
UNWIND row.indicators AS indicator
MATCH (i:Indicator {id: indicator})
MERGE (s)-[:MATCHED]->(i)
