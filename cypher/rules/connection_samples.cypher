// The connections a beaconing rule picked, grouped by pair (process, destination),
// each pair with its sample: the pair's merged ACTIVITY edge
// (cypher/ingest/merge_activity.cypher) keeps the earliest picked connections and
// the beaconing signals it placed (app/rules/beaconing.py). One row per pair, so a
// batch of many connections to one address reads the sample once.
// $ids: [network_connect event id]
// Writes: nothing
UNWIND $ids AS id
MATCH (e:Event {id: id})-[:CONNECTS]->(t:Endpoint)
MATCH (e)-[:BY]->(p:Process)
WITH p, t, collect([e.ts.epochSeconds * 1000000000 + e.ts.nanosecond, e.id]) AS new
MATCH (p)-[a:ACTIVITY {type: 'CONNECTS', kind: 'network_connect'}]->(t)
RETURN p.key AS process, t.key AS target, new, a.beacon_sample_ns AS sample_ns,
       a.beacon_sample_ids AS sample_ids, a.beacon_rules AS rules, a.beacon_signals AS signals
