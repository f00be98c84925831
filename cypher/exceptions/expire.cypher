// Marks active exceptions whose expiry has passed as expired, each with a history
// record at its expiry time by 'storyline'. The signals they suppressed stay
// suppressed: expiry only stops them suppressing new ones.
// $rows: [{id: exception id, change_id: the record's id}]
// Writes: RuleException.status, (:RuleException)-[:HISTORY]->(:ExceptionChange)
UNWIND $rows AS row
MATCH (x:RuleException {id: row.id})
WHERE x.status = 'active' AND x.expires_at <= datetime()
SET x.status = 'expired', x.updated_at = datetime()
CREATE (x)-[:HISTORY]->(:ExceptionChange {id: row.change_id, ts: x.expires_at,
        actor: 'storyline', action: 'expire', comment: 'its expiry passed',
        changes: '[{"field": "status", "from": "active", "to": "expired"}]'})
RETURN x.id AS id
