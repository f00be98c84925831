// The processes that ran in or touched each entity, and their correlation keys
// (execution contexts): a process (by key), a host, a user (the account or the
// session's user), a container (by id), an image, a pod (by uid), a file (by
// path, on any host), a file hash (the files that had that content, found through
// the search_hashes index: `lucene` asks for it), an IP address or a domain.
// Targets are reached through the
// merged ACTIVITY edges, never through events. At most $scan processes are read
// per entity (`complete` says whether that bound cut any); `processes` are the
// first $processes of them by start time, `keys` their distinct correlation keys.
// $entities: [{kind, id, lucene}]; $scan; $processes
// Writes: nothing
UNWIND $entities AS ent
CALL (ent) {
  CALL (ent) {
    WITH ent WHERE ent.kind = 'process'
    MATCH (p:Process {key: ent.id})
    RETURN p
    UNION
    WITH ent WHERE ent.kind = 'host'
    MATCH (:Host {id: ent.id})<-[:ON_HOST]-(p:Process)
    RETURN p
    UNION
    WITH ent WHERE ent.kind = 'user'
    MATCH (p:Process {user: ent.id})
    RETURN p
    UNION
    WITH ent WHERE ent.kind = 'user'
    MATCH (p:Process {session_user: ent.id})
    RETURN p
    UNION
    WITH ent WHERE ent.kind = 'container'
    MATCH (:Container {id: ent.id})<-[:IN_CONTAINER]-(p:Process)
    RETURN p
    UNION
    WITH ent WHERE ent.kind = 'image'
    MATCH (:Container {image: ent.id})<-[:IN_CONTAINER]-(p:Process)
    RETURN p
    UNION
    WITH ent WHERE ent.kind = 'pod'
    MATCH (:Pod {uid: ent.id})<-[:IN_POD]-(:Container)<-[:IN_CONTAINER]-(p:Process)
    RETURN p
    UNION
    WITH ent WHERE ent.kind = 'file'
    MATCH (:File {path: ent.id})<-[:ACTIVITY]-(p:Process)
    RETURN p
    UNION
    WITH ent WHERE ent.kind = 'hash'
    CALL db.index.fulltext.queryNodes('search_hashes', ent.lucene) YIELD node
    WITH ent, node WHERE node:File AND ent.id IN node.hashes
    MATCH (node)<-[:ACTIVITY]-(p:Process)
    RETURN p
    UNION
    WITH ent WHERE ent.kind = 'ip'
    MATCH (:Endpoint {ip: ent.id})<-[:ACTIVITY]-(p:Process)
    RETURN p
    UNION
    WITH ent WHERE ent.kind = 'domain'
    MATCH (:Domain {key: ent.id})<-[:ACTIVITY]-(p:Process)
    RETURN p
  }
  WITH p LIMIT $scan + 1
  WITH collect(p) AS found
  WITH found[..$scan] AS found, size(found) <= $scan AS complete
  CALL (found) {
    UNWIND found AS p
    WITH DISTINCT p.correlation_key AS key WHERE key IS NOT NULL
    RETURN collect(key) AS keys
  }
  CALL (found) {
    UNWIND found AS p
    WITH p ORDER BY p.start_time, p.key LIMIT $processes
    RETURN collect(p.key) AS processes
  }
  RETURN complete, keys, processes
}
RETURN ent.kind AS kind, ent.id AS id, keys, complete, processes
