// One page of a rule's signals in time order (then id), within a window, read through
// the Signal(rule_id, ts) index: each with what an exception's conditions look at
// (the process's executable and user, the event's host, container and file path, the
// container's image), the exceptions suppressing it, and the story holding it; no
// more (a page is thousands of rows: the few shown are read by signals.cypher).
// $rule: rule id; $from, $to: RFC 3339 or null (the window, both ends included);
// $after_ts, $after_id: the cursor (the last row's ts and id), null for the first page;
// $limit: page size
// Writes: nothing
MATCH (s:Signal)
USING INDEX s:Signal(rule_id, ts)
WHERE s.rule_id = $rule
  AND s.ts >= datetime(coalesce($after_ts, $from, '0001-01-01T00:00:00Z'))
  AND ($to IS NULL OR s.ts <= datetime($to))
  AND ($after_ts IS NULL OR s.ts > datetime($after_ts) OR s.id > $after_id)
// ordering by rule_id too (one value here) lets the planner take the index's order
// and sort only ties of ts (a partial top), never the rest of the rule's signals
WITH s ORDER BY s.rule_id, s.ts, s.id LIMIT $limit
MATCH (s)-[:ON]->(e:Event)
OPTIONAL MATCH (e)-[:BY]->(p:Process)
OPTIONAL MATCH (c:Container {id: e.container_id})
OPTIONAL MATCH (st:Story)-[:HAS]->(s)
RETURN s.id AS id, toString(s.ts) AS ts, s.rule_id AS rule_id, s.correlation_key AS key,
       p.exe AS process, p.user AS user, e.host_id AS host, e.container_id AS container,
       c.image AS image, e.path AS path,
       [(s)-[:SUPPRESSED_BY]->(x:RuleException) | x.id] AS suppressed_by,
       st.id AS story, st.signal_count AS story_signals
ORDER BY s.ts, s.id
