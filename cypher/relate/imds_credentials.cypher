// Relates CloudTrail calls to the processes that fetched the credentials they
// were signed with from the instance metadata service: an IMDS credentials
// response carries the access key id, and so does every call signed with it.
// Runs for the access keys of a batch's IMDS events and of the audit records
// waiting for this step, so that either may arrive first.
// $keys: [access key id] fetched by the batch's imds_request events
// Writes: (:AuditRecord)-[:RELATES_TO {reason, access_key_id}]->(:Process)
CALL () {
  MATCH (a:AuditRecord:Unrelated) WHERE a.access_key_id IS NOT NULL
  RETURN collect(DISTINCT a.access_key_id) AS waiting
}
UNWIND waiting + $keys AS key
WITH DISTINCT key
MATCH (e:Event {access_key_id: key})-[:BY]->(p:Process)
WHERE e.kind = 'imds_request'
WITH DISTINCT key, p
MATCH (a:AuditRecord {access_key_id: key})
MERGE (a)-[r:RELATES_TO]->(p)
SET r.reason = 'signed with ' + key + ', which this process fetched from the instance metadata service',
    r.access_key_id = key
