// The exceptions that suppress new signals (status 'active'), with their conditions
// and whether their expiry has passed (the screen step then marks them expired).
// Parameters: none
// Writes: nothing
MATCH (x:RuleException {status: 'active'})
RETURN x.id AS id, x.rule_id AS rule_id, x.process AS process, x.user AS user,
       x.host AS host, x.container AS container, x.image AS image, x.path AS path,
       x.expires_at <= datetime() AS due
ORDER BY x.created_at, x.id
