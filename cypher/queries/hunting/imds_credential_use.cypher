// Hunting: processes that fetched cloud credentials from the instance metadata
// service, and the CloudTrail calls later signed with those keys (if any).
// Parameters: none
// Writes: nothing
MATCH (e:Event {kind: 'imds_request'})-[:BY]->(p:Process)
WHERE e.access_key_id IS NOT NULL OR e.role IS NOT NULL
OPTIONAL MATCH (a:AuditRecord)-[:RELATES_TO]->(p)
WITH e, p, a ORDER BY a.ts
RETURN e.ts AS fetched, e.host_id AS host, p.exe AS exe, p.args AS args, e.role AS role,
       e.access_key_id AS access_key_id, p.correlation_key AS correlation_key,
       collect(a.action)[..20] AS calls_signed_with_it, count(a) AS calls
ORDER BY fetched DESC
LIMIT 100
