// Events of processes that learned their parent after their events were
// written (:Relinked, set by the writer): rules that look at the parent or
// ancestors must see them again. At most $limit processes per step; detection
// clears the mark when its signals are written.
// $limit: how many relinked processes one detection step takes
// Writes: nothing
MATCH (p:Relinked)
WITH p LIMIT $limit
OPTIONAL MATCH (e:Event)-[:BY]->(p)
WHERE e.kind <> 'alert'
RETURN p.key AS process_key,
       collect({id: e.id, ts: toString(e.ts),
                props: e {.*, ts: null, digest: null, correlation_key: null}}) AS events
