// Turns sensor alerts into signals on the event they flag. The flagged event may
// not have arrived yet: it is merged by id and filled in when it comes.
// $rows: [{id, on_event, rule_id, title, severity, tactic, technique, compromises, source, ts,
//          description, actions, typed_actions}] (actions: rendered recommended actions, or
//          null; typed_actions: the same as JSON {id, type, target, text}, app/rules/actions.py)
// A new signal waits to be screened against the exceptions (:Unscreened) and
// grouped into a story (:Unstoried).
// A compromising signal sends the flagged event's process back to be stamped
// (the exploit layer roots a context there); a flagged event that has not
// arrived is a placeholder until it does.
// Signals carry their event's correlation_key, kept in step by stamping.
// Writes: (:Signal), (:Signal)-[:ON]->(:Event), :Unstoried, :Unscreened, :Unstamped
UNWIND $rows AS row
MERGE (s:Signal {id: row.id})
ON CREATE SET s:Unstoried, s:Unscreened
SET s.rule_id = row.rule_id, s.title = row.title, s.severity = row.severity,
    s.tactic = row.tactic, s.technique = row.technique, s.compromises = row.compromises,
    s.source = row.source, s.description = row.description, s.ts = datetime(row.ts),
    s.actions = row.actions, s.typed_actions = row.typed_actions
MERGE (e:Event {id: row.on_event})
ON CREATE SET e.placeholder = true
MERGE (s)-[:ON]->(e)
SET s.correlation_key = e.correlation_key
WITH s, e
WHERE s.compromises
MATCH (e)-[:BY]->(p:Process)
SET p:Unstamped
