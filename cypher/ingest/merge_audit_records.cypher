// Merges control-plane audit records (CloudTrail, Kubernetes audit).
// $rows: [{id, ts, props: {source, actor, action, target, outcome, ...}}]
// Writes: (:AuditRecord)
UNWIND $rows AS row
MERGE (a:AuditRecord {id: row.id})
SET a += row.props, a.ts = datetime(row.ts)
