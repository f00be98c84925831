// Adds an analyst's note or tags to one event or process, with who and when.
// $kind: 'event' or 'process'; $key: its id or key; $rows: [{id, kind ('note' or
// 'tag'), text}]; $actor: who; $ts: when (RFC 3339)
// Writes: (:Annotation)-[:ANNOTATES]->(:Event|:Process); nothing when there is no target
OPTIONAL MATCH (e:Event {id: $key}) WHERE $kind = 'event' AND e.placeholder IS NULL
OPTIONAL MATCH (p:Process {key: $key}) WHERE $kind = 'process'
WITH coalesce(e, p) AS target
WHERE target IS NOT NULL
UNWIND $rows AS row
CREATE (a:Annotation {id: row.id, kind: row.kind, text: row.text, actor: $actor,
                      ts: datetime($ts), target_kind: $kind, target_key: $key})
CREATE (a)-[:ANNOTATES]->(target)
RETURN a {.id, .kind, .text, .actor, .target_kind, .target_key, ts: toString(a.ts)} AS annotation
