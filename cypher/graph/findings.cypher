// The findings (vulnerabilities, misconfigurations) on a story's hosts and
// containers, by target then id, at most $limit rows.
// $host_ids: host ids; $container_ids: container ids; $limit: how many rows at most
// Writes: nothing
CALL () {
  UNWIND $host_ids AS id
  MATCH (f:Finding)-[:AFFECTS]->(:Host {id: id})
  RETURN f, 'Host' AS target_kind, id AS target
  UNION
  UNWIND $container_ids AS id
  MATCH (f:Finding)-[:AFFECTS]->(:Container {id: id})
  RETURN f, 'Container' AS target_kind, id AS target
}
WITH f, target_kind, target ORDER BY target_kind, target, f.id
LIMIT $limit
RETURN f.id AS id, properties(f) AS props, target_kind, target
