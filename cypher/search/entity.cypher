// One entity by kind and id, with what the API shows of it; no row when there is none.
// A file is a path on any host (one File node per host or container holding it), an
// IP address the endpoints with that address (one per port), a domain its lower-cased
// name. Times as strings.
// $kind: host, container, pod, ip, domain or file; $id
// Writes: nothing
CALL () {
  WITH 1 AS one WHERE $kind = 'host'
  MATCH (n:Host {id: $id})
  RETURN n {.id, .name, .status, first_seen: toString(n.first_seen),
            last_seen: toString(n.last_seen)} AS props
  UNION
  WITH 1 AS one WHERE $kind = 'container'
  MATCH (n:Container {id: $id})
  RETURN n {.id, .name, .image, .runtime, .status, first_seen: toString(n.first_seen),
            last_seen: toString(n.last_seen),
            host_id: [(n)-[:ON_HOST]->(h:Host) | h.id][0],
            pod_uid: [(n)-[:IN_POD]->(p:Pod) | p.uid][0]} AS props
  UNION
  WITH 1 AS one WHERE $kind = 'pod'
  MATCH (n:Pod {uid: $id})
  RETURN n {.uid, .name, .namespace, .cluster, .workload, .status,
            first_seen: toString(n.first_seen), last_seen: toString(n.last_seen),
            containers: [(n)<-[:IN_POD]-(c:Container) | c.id]} AS props
  UNION
  WITH 1 AS one WHERE $kind = 'ip'
  MATCH (n:Endpoint {ip: $id})
  WITH collect(n.port) AS ports
  WHERE size(ports) > 0
  RETURN {address: $id, ports: [p IN ports WHERE p IS NOT NULL]} AS props
  UNION
  WITH 1 AS one WHERE $kind = 'domain'
  MATCH (n:Domain {key: $id})
  RETURN {name: n.key} AS props
  UNION
  WITH 1 AS one WHERE $kind = 'file'
  MATCH (n:File {path: $id})
  WITH collect(n {.host_id, .container_id, hashes: coalesce(n.hashes, [])}) AS places
  WHERE size(places) > 0
  RETURN {path: $id, places: places} AS props
}
RETURN props
