// Records the approval of a story's action (once: its id is the story's and the
// action's), and claims its delivery when it was never sent, failed, or has been
// sending for longer than $lease seconds (a replica that died mid-send): only the
// caller that gets `send` true posts it, so two analysts approving at once send once.
// The approval keeps its first approver and time; a retry counts in attempts and
// names who retried in last_attempt_by.
// $story: story id; $id: approval id; $action_id, $type, $target (JSON), $text: the
// action; $actor: who; $comment: why; $now: the time (RFC 3339); $lease: seconds
// Writes: (:Story)-[:APPROVAL]->(:ActionApproval), ActionApproval.delivery / attempts,
//         Story.updated_at
MATCH (st:Story {id: $story})
MERGE (a:ActionApproval {id: $id})
ON CREATE SET a.story = $story, a.action_id = $action_id, a.type = $type, a.target = $target,
              a.text = $text, a.actor = $actor, a.ts = datetime($now), a.comment = $comment,
              a.attempts = 0, a.delivery = 'pending'
MERGE (st)-[:APPROVAL]->(a)
WITH st, a,
     a.delivery IN ['pending', 'failed']
     OR (a.delivery = 'sending' AND a.claimed_at < datetime($now) - duration({seconds: $lease}))
     AS send
SET a.delivery = CASE WHEN send THEN 'sending' ELSE a.delivery END,
    a.claimed_at = CASE WHEN send THEN datetime($now) ELSE a.claimed_at END,
    a.attempts = a.attempts + CASE WHEN send THEN 1 ELSE 0 END,
    a.last_attempt_by = CASE WHEN send THEN $actor ELSE a.last_attempt_by END,
    st.updated_at = datetime()
RETURN a {.*, ts: toString(a.ts), claimed_at: toString(a.claimed_at),
          last_attempt_at: toString(a.last_attempt_at),
          delivered_at: toString(a.delivered_at)} AS approval, send
