// Turns sensor alerts into signals on the event they flag. The flagged event may
// not have arrived yet: it is merged by id and filled in when it comes.
// $rows: [{id, on_event, rule_id, title, severity, tactic, technique, compromises, source, ts, description}]
// Writes: (:Signal), (:Signal)-[:ON]->(:Event)
UNWIND $rows AS row
MERGE (s:Signal {id: row.id})
SET s.rule_id = row.rule_id, s.title = row.title, s.severity = row.severity,
    s.tactic = row.tactic, s.technique = row.technique, s.compromises = row.compromises,
    s.source = row.source, s.description = row.description, s.ts = datetime(row.ts)
MERGE (e:Event {id: row.on_event})
MERGE (s)-[:ON]->(e)
