// Exceptions, newest first (then by id), one page after a cursor, filtered by their
// status as of now and by rule.
// $statuses: [status] or null; $rule: rule id or null;
// $after_ts, $after_id: the cursor (created_at, id), null for the first page;
// $limit: page size + 1
// Writes: nothing
MATCH (x:RuleException)
WITH x, CASE WHEN x.status = 'active' AND x.expires_at <= datetime() THEN 'expired'
            ELSE x.status END AS status
WHERE ($statuses IS NULL OR status IN $statuses)
  AND ($rule IS NULL OR x.rule_id = $rule)
  AND ($after_ts IS NULL OR x.created_at < datetime($after_ts)
       OR (x.created_at = datetime($after_ts) AND x.id > $after_id))
RETURN x.id AS id, toString(x.created_at) AS created_at
ORDER BY x.created_at DESC, x.id
LIMIT $limit
