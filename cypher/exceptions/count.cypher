// How many exceptions match a filter (the filters of list.cypher).
// $statuses: [status] or null; $rule: rule id or null
// Writes: nothing
MATCH (x:RuleException)
WITH x, CASE WHEN x.status = 'active' AND x.expires_at <= datetime() THEN 'expired'
            ELSE x.status END AS status
WHERE ($statuses IS NULL OR status IN $statuses)
  AND ($rule IS NULL OR x.rule_id = $rule)
RETURN count(x) AS total
