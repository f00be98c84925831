// Takes off the relate queue what has nothing to relate: audit records without
// an access key (a Kubernetes exec record is related from its context's side)
// and contexts of layers other than k8s_user_session. What the two relate
// statements handle they take off themselves, so that nothing queued by a
// concurrent writer between them is lost. Starts from the (small) queue.
// Parameters: none
// Writes: removes :Unrelated
// (labels(n) rather than label predicates: the planner would turn those into a
// scan of every AuditRecord.)
MATCH (n:Unrelated)
WHERE ('AuditRecord' IN labels(n) AND n.access_key_id IS NULL)
   OR ('Context' IN labels(n) AND n.layer <> 'k8s_user_session')
REMOVE n:Unrelated
