// The audit records (CloudTrail, Kubernetes audit) related to a story's
// processes, contexts, containers and pods, in time order, at most $limit rows.
// $process_keys, $context_keys, $container_ids, $pod_uids: what they may relate to;
// $limit: how many rows at most; $from, $to: RFC 3339 or null, a window on the records' time
// Writes: nothing
CALL () {
  UNWIND $process_keys AS key
  MATCH (a:AuditRecord)-[:RELATES_TO]->(:Process {key: key})
  RETURN a, 'Process' AS target_kind, key AS target
  UNION
  UNWIND $context_keys AS key
  MATCH (a:AuditRecord)-[:RELATES_TO]->(:Context {key: key})
  RETURN a, 'Context' AS target_kind, key AS target
  UNION
  UNWIND $container_ids AS key
  MATCH (a:AuditRecord)-[:RELATES_TO]->(:Container {id: key})
  RETURN a, 'Container' AS target_kind, key AS target
  UNION
  UNWIND $pod_uids AS key
  MATCH (a:AuditRecord)-[:RELATES_TO]->(:Pod {uid: key})
  RETURN a, 'Pod' AS target_kind, key AS target
}
WITH a, target_kind, target
WHERE ($from IS NULL OR a.ts >= datetime($from)) AND ($to IS NULL OR a.ts <= datetime($to))
WITH a, target_kind, target ORDER BY a.ts, a.id, target_kind, target
LIMIT $limit
RETURN a.id AS id, properties(a) AS props, target_kind, target
