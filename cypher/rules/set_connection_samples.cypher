// Stores the beaconing step's verdict on a pair's merged ACTIVITY edge: the
// earliest picked connections (epoch ns and event ids, in (time, id) order) and,
// per beaconing rule, the signal it placed (app/rules/beaconing.py).
// $rows: [{process, target, ns: [int], ids: [event id], rules: [rule id] or null,
//          signals: [signal id] or null}] (rules and signals aligned)
// Writes: ACTIVITY.beacon_sample_ns, beacon_sample_ids, beacon_rules, beacon_signals
UNWIND $rows AS row
MATCH (p:Process {key: row.process})
MATCH (t:Endpoint {key: row.target})
MATCH (p)-[a:ACTIVITY {type: 'CONNECTS', kind: 'network_connect'}]->(t)
SET a.beacon_sample_ns = row.ns, a.beacon_sample_ids = row.ids, a.beacon_rules = row.rules,
    a.beacon_signals = row.signals
