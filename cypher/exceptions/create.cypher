// Creates an exception (active) with the history record of its creation.
// $row: {id, rule_id, process, user, host, container, image, path (each a list of
//        values or null), owner, reason, expires_at}
// $actor: who; $ts: when (RFC 3339); $change_id: the record's id;
// $changes: the record's field changes (JSON text)
// Writes: (:RuleException)-[:HISTORY]->(:ExceptionChange)
MERGE (x:RuleException {id: $row.id})
ON CREATE SET x.rule_id = $row.rule_id, x.process = $row.process, x.user = $row.user,
    x.host = $row.host, x.container = $row.container, x.image = $row.image,
    x.path = $row.path, x.owner = $row.owner, x.reason = $row.reason, x.status = 'active',
    x.expires_at = datetime($row.expires_at), x.created_by = $actor,
    x.created_at = datetime($ts), x.updated_at = datetime($ts)
MERGE (c:ExceptionChange {id: $change_id})
ON CREATE SET c.ts = datetime($ts), c.actor = $actor, c.action = 'create',
    c.comment = $row.reason, c.changes = $changes
MERGE (x)-[:HISTORY]->(c)
RETURN x.id AS id
