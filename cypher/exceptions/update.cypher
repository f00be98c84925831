// Changes an exception (its conditions, owner, reason, expiry or status) and records
// what changed with who and when. A field left null in $values keeps its value, except
// the conditions, which $values.conditions replaces whole when true.
// $id: exception id; $values: {conditions (bool), process, user, host, container, image,
//   path, owner, reason, expires_at, status, revoked}; $action: 'update' | 'revoke';
// $actor, $ts, $change_id, $comment; $changes: the field changes (JSON text)
// Writes: RuleException properties, (:RuleException)-[:HISTORY]->(:ExceptionChange)
MATCH (x:RuleException {id: $id})
SET x.updated_at = datetime($ts),
    x.owner = coalesce($values.owner, x.owner),
    x.reason = coalesce($values.reason, x.reason),
    x.expires_at = coalesce(datetime($values.expires_at), x.expires_at),
    x.status = coalesce($values.status, x.status)
FOREACH (_ IN CASE WHEN $values.conditions THEN [1] ELSE [] END |
  SET x.process = $values.process, x.user = $values.user, x.host = $values.host,
      x.container = $values.container, x.image = $values.image, x.path = $values.path)
FOREACH (_ IN CASE WHEN $values.revoked THEN [1] ELSE [] END |
  SET x.revoked_by = $actor, x.revoked_at = datetime($ts))
CREATE (x)-[:HISTORY]->(:ExceptionChange {id: $change_id, ts: datetime($ts), actor: $actor,
        action: $action, comment: $comment, changes: $changes})
RETURN x.id AS id
