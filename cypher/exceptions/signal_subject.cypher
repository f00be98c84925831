// What an exception made from one signal would name: the signal's rule, and the
// values its conditions look at (the process's executable and user, the event's
// host, container and file path, the container's image).
// $id: signal id
// Writes: nothing
MATCH (s:Signal {id: $id})-[:ON]->(e:Event)
OPTIONAL MATCH (e)-[:BY]->(p:Process)
OPTIONAL MATCH (c:Container {id: e.container_id})
RETURN s.id AS id, s.rule_id AS rule_id, s.title AS title, p.exe AS process,
       p.user AS user, e.host_id AS host, e.container_id AS container, c.image AS image,
       e.path AS path
