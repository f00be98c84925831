// New signals waiting to be screened against the exceptions (:Unscreened) whose
// event has arrived, with what an exception's conditions look at: the rule, the
// process's executable and user, the event's host, container and file path, and
// the image of the event's container. A signal whose event is still a placeholder
// waits: what it would be matched on is not known yet.
// $limit: how many
// Writes: nothing
MATCH (s:Unscreened)-[:ON]->(e:Event)
WHERE e.placeholder IS NULL
WITH s, e LIMIT $limit
OPTIONAL MATCH (e)-[:BY]->(p:Process)
OPTIONAL MATCH (c:Container {id: e.container_id})
RETURN s.id AS id, s.rule_id AS rule_id, p.exe AS process, p.user AS user,
       e.host_id AS host, e.container_id AS container, c.image AS image, e.path AS path
