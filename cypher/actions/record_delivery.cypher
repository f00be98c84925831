// Records what one delivery of an approved action gave: delivered (the receiver
// answered 2xx) or failed, with the status code or the error.
// $id: approval id; $delivery: 'delivered' | 'failed'; $code: HTTP status or null;
// $error: why it failed, or null; $now: the time (RFC 3339)
// Writes: ActionApproval.delivery, delivery_code, delivery_error, last_attempt_at,
//         delivered_at; Story.updated_at
MATCH (a:ActionApproval {id: $id})
SET a.delivery = $delivery, a.delivery_code = $code, a.delivery_error = $error,
    a.last_attempt_at = datetime($now),
    a.delivered_at = CASE WHEN $delivery = 'delivered' THEN datetime($now) ELSE a.delivered_at END
WITH a
OPTIONAL MATCH (st:Story)-[:APPROVAL]->(a)
SET st.updated_at = datetime()
RETURN a {.*, ts: toString(a.ts), claimed_at: toString(a.claimed_at),
          last_attempt_at: toString(a.last_attempt_at),
          delivered_at: toString(a.delivered_at)} AS approval
