// The signals of a story per process that made the flagged events: which rules
// fired, their severities and how many signals.
// $id: story id
// Writes: nothing
MATCH (:Story {id: $id})-[:HAS]->(s:Signal)-[:ON]->(:Event)-[:BY]->(p:Process)
RETURN p.key AS key, collect(DISTINCT s.rule_id) AS rules, collect(s.severity) AS severities,
       count(s) AS count
