// Relates each Kubernetes pods/exec or pods/attach audit record to the session
// it started: the k8s_user_session context whose root the layer matched to it
// (Context.audit_record), and the pod that root ran in. Runs for the contexts
// whose root was (re)set since the last run; a link from a record that no longer
// starts the context (a closer record arrived) is removed.
// Takes the contexts off the queue (:Unrelated) in the same statement.
// Parameters: none
// Writes: (:AuditRecord)-[:RELATES_TO]->(:Context|:Pod), deletes stale ones, removes :Unrelated
MATCH (c:Context:Unrelated)
WHERE c.layer = 'k8s_user_session'
REMOVE c:Unrelated
WITH c
CALL (c) {
  MATCH (old:AuditRecord)-[r:RELATES_TO]->(c)
  WHERE old.id <> coalesce(c.audit_record, '')
  DELETE r
}
WITH c
MATCH (a:AuditRecord {id: c.audit_record})
MERGE (a)-[r:RELATES_TO]->(c)
SET r.reason = 'started this Kubernetes session'
WITH a, c
OPTIONAL MATCH (:Process {key: c.root})-[:IN_CONTAINER]->(:Container)-[:IN_POD]->(pod:Pod)
FOREACH (_ IN CASE WHEN pod IS NULL THEN [] ELSE [1] END |
  MERGE (a)-[r:RELATES_TO]->(pod)
  SET r.reason = a.action + ' on this pod')
