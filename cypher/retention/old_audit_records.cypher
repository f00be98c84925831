// Retention: deletes audit records before the limit that relate to no process
// and no context any more (the processes and contexts they explained are gone),
// next in (ts, id) order after a cursor through the AuditRecord(ts) index.
// Returns the last record read, the cursor of the next call.
// $before: datetime ; $from: the cursor's time (RFC 3339 text) ; $after_id: id ; $limit: records per call
// Writes: deletes (:AuditRecord)
MATCH (a:AuditRecord)
WHERE a.ts >= datetime($from) AND a.ts < $before AND (a.ts > datetime($from) OR a.id > $after_id)
  AND NOT a:Unrelated
WITH a ORDER BY a.ts, a.id LIMIT $limit
WITH collect(a) AS read
WITH read, read[-1].ts AS ts, read[-1].id AS id
CALL (read) {
  UNWIND read AS a
  WITH a WHERE NOT EXISTS { (a)-[:RELATES_TO]->(:Process|Context) }
  DETACH DELETE a
  RETURN count(a) AS deleted
}
RETURN size(read) AS read, deleted, ts, id
