// Relates CloudTrail calls to the processes that fetched the credentials they
// were signed with from the instance metadata service: an IMDS credentials
// response carries the access key id, and so does every call signed with it.
// Runs for the access keys of the IMDS events and audit records waiting for
// this step (:Unrelated, set by the writer), so that either may arrive first;
// takes them off the queue in the same statement.
// Parameters: none
// Writes: (:AuditRecord)-[:RELATES_TO {reason, access_key_id}]->(:Process), removes :Unrelated
CALL () {
  MATCH (n:Unrelated)
  WHERE any(label IN labels(n) WHERE label IN ['AuditRecord', 'Event'])
    AND n.access_key_id IS NOT NULL
  REMOVE n:Unrelated
  RETURN collect(DISTINCT n.access_key_id) AS waiting
}
UNWIND waiting AS key
MATCH (e:Event {access_key_id: key})-[:BY]->(p:Process)
WHERE e.kind = 'imds_request'
WITH DISTINCT key, p
MATCH (a:AuditRecord {access_key_id: key})
MERGE (a)-[r:RELATES_TO]->(p)
SET r.reason = 'signed with ' + key + ', which this process fetched from the instance metadata service',
    r.access_key_id = key
