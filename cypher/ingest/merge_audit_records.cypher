// Merges control-plane audit records (CloudTrail, Kubernetes audit).
// $rows: [{id, ts, props: {source, actor, action, target, outcome, ...}}]
// A Kubernetes pods/exec or pods/attach record sends the processes that started
// in that pod's containers within 10 s of it back to be stamped: the
// k8s_user_session layer may root a session there, even an hour later.
// Every merged record waits for the relate step (:Unrelated), which links it to
// what it concerns.
// Writes: (:AuditRecord), :Unrelated, :Unstamped
UNWIND $rows AS row
MERGE (a:AuditRecord {id: row.id})
SET a += row.props, a.ts = datetime(row.ts), a:Unrelated
WITH a
WHERE a.source = 'k8s_audit' AND a.pod IS NOT NULL
  AND a.action IN ['create pods/exec', 'get pods/exec', 'create pods/attach', 'get pods/attach']
MATCH (:Pod {name: a.pod, namespace: a.namespace})<-[:IN_POD]-(:Container)<-[:IN_CONTAINER]-(p:Process)
WHERE p.start_time >= a.ts - duration('PT10S') AND p.start_time <= a.ts + duration('PT10S')
SET p:Unstamped
