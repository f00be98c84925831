// Merges a story whose signals all moved to another key into the story they
// moved to. Its triage history moves along; the target takes its status and
// assignee when it has no triage of its own and $take_status (false between a
// routine story and a story of one key: archiving a routine pattern must not
// archive a session that escalated out of it); a 'merge' change is recorded
// (and the old id kept in merged_from) when there was history to keep, so that
// a story nobody touched leaves no trace of arrival order. The emptied story
// (and its context, when no process is left in it) is deleted.
// $comment: why, before the old story's title;
// $from: story id; $into: story id; $take_status: bool;
// $change_id, $ts: the merge record's id and time
// Approved actions (:ActionApproval) move along too, as history.
// Writes: moves (:Story)-[:TRIAGE]->(:TriageChange) and (:Story)-[:APPROVAL]->(:ActionApproval),
//         deletes the old (:Story)
MATCH (old:Story {id: $from}), (new:Story {id: $into})
CALL (old, new) {
  MATCH (old)-[:APPROVAL]->(a:ActionApproval)
  MERGE (new)-[:APPROVAL]->(a)
}
OPTIONAL MATCH (old)-[:TRIAGE]->(t:TriageChange)
WITH old, new, collect(t) AS history, EXISTS { (new)-[:TRIAGE]->() } AS new_has_history
FOREACH (t IN history | MERGE (new)-[:TRIAGE]->(t))
SET new.updated_at = datetime()
FOREACH (_ IN CASE WHEN size(history) > 0 AND NOT new_has_history AND $take_status THEN [1] ELSE [] END |
  SET new.status = old.status, new.assignee = old.assignee)
FOREACH (_ IN CASE WHEN size(history) > 0 THEN [1] ELSE [] END |
  CREATE (new)-[:TRIAGE]->(:TriageChange {id: $change_id, ts: datetime($ts), actor: 'storyline',
    field: 'merge', from: old.id, to: new.id,
    comment: $comment + coalesce(old.title, old.id)})
  SET new.merged_from = coalesce(new.merged_from, []) + [old.id])
WITH old
OPTIONAL MATCH (old)-[:OF]->(c:Context)
WITH old, collect(c) AS contexts
DETACH DELETE old
WITH contexts
UNWIND contexts AS c
WITH c
WHERE NOT EXISTS { (:Process)-[:IN_CONTEXT]->(c) }
  AND NOT EXISTS { (:Story)-[:OF]->(c) }
DETACH DELETE c
