// Records on each story of some correlation keys how many of its signals an
// exception suppressed or released: a TriageChange of field 'exception' (to: the
// exception's id), with who and when, so it shows in the story's triage history and
// timeline.
// $rows: [{key: correlation key, count}]; $exception: exception id;
// $action: 'create' | 'update' | 'revoke'; $comment: what happened, after the count;
// $actor: who; $ts: when; $change_id: the records' id prefix
// Writes: (:Story)-[:TRIAGE]->(:TriageChange), Story.updated_at
UNWIND $rows AS row
MATCH (:Context {key: row.key})<-[:OF]-(st:Story)
WITH st, sum(row.count) AS n
CREATE (st)-[:TRIAGE]->(:TriageChange {id: $change_id + ':' + st.id, ts: datetime($ts),
        actor: $actor, field: 'exception', from: $action, to: $exception,
        comment: toString(n) + ' signal' + CASE n WHEN 1 THEN ' ' ELSE 's ' END + $comment})
SET st.updated_at = datetime()
RETURN st.id AS id
