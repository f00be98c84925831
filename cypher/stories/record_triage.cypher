// Records one triage change on a story (status, assignee or a note) and applies it.
// $id: story id; $field: 'status' | 'assignee' | 'note'; $to: the new value (note text);
// $comment: why; $actor: who; $change_id, $ts: the record's id and time
// Writes: (:Story)-[:TRIAGE]->(:TriageChange), Story.status / Story.assignee / Story.updated_at
MATCH (st:Story {id: $id})
WITH st, CASE $field WHEN 'status' THEN st.status WHEN 'assignee' THEN st.assignee END AS before
CREATE (st)-[:TRIAGE]->(t:TriageChange {id: $change_id, ts: datetime($ts), actor: $actor,
        field: $field, from: before, to: $to, comment: $comment})
SET st.updated_at = datetime()
FOREACH (_ IN CASE WHEN $field = 'status' THEN [1] ELSE [] END | SET st.status = $to)
FOREACH (_ IN CASE WHEN $field = 'assignee' THEN [1] ELSE [] END | SET st.assignee = $to)
RETURN t.id AS id, toString(t.ts) AS ts, t.actor AS actor, t.field AS field, t.from AS from,
       t.to AS to, t.comment AS comment
