// Keeps the merged activity the investigation graph reads: one
// (Process)-[:ACTIVITY {type, kind, count, first_seen, last_seen}]->(File|Endpoint|Domain)
// per process, relationship type (TOUCHES, CONNECTS, RESOLVES), event kind and
// target, over that process's events. Each event-to-target link counts once.
// This statement counts the links of events that existed before the batch:
// merge_links marks a link it creates for such an event `pending`; it is added
// here and unmarked, so a repeated record adds nothing and a target that arrives
// later is still counted. (The links of the batch's new events are counted by
// merge_new_activity.)
// $rows: the ids of the batch's events that existed and touched a file, endpoint or domain [{id}]
// Writes: (:Process)-[:ACTIVITY]->(), removes r.pending on TOUCHES / CONNECTS / RESOLVES
UNWIND $rows AS row
MATCH (e:Event {id: row.id})-[r:TOUCHES|CONNECTS|RESOLVES]->(t)
WHERE r.pending
REMOVE r.pending
WITH e, type(r) AS type, t
MATCH (e)-[:BY]->(p:Process)
WITH p, t, type, e.kind AS kind, count(e) AS n, min(e.ts) AS first, max(e.ts) AS last
MERGE (p)-[a:ACTIVITY {type: type, kind: kind}]->(t)
ON CREATE SET a.count = 0
SET a.count = a.count + n,
    a.first_seen = CASE WHEN a.first_seen IS NULL OR first < a.first_seen
                        THEN first ELSE a.first_seen END,
    a.last_seen = CASE WHEN a.last_seen IS NULL OR last > a.last_seen
                       THEN last ELSE a.last_seen END
