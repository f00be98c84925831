// The processes of a story's graph: its member processes and every ancestor up
// the CHILD_OF chain, each with its parents, hosts and containers, and (members
// only: an ancestor such as init may have made millions of events) the time of
// its last event.
// $keys: the member process keys
// Writes: nothing
UNWIND $keys AS key
MATCH (m:Process {key: key})
OPTIONAL MATCH (m)-[:CHILD_OF*1..]->(a:Process)
WITH collect(DISTINCT m) + collect(DISTINCT a) AS found
UNWIND found AS p
WITH DISTINCT p
CALL (p) {
  WITH p WHERE p.key IN $keys
  MATCH (e:Event)-[:BY]->(p)
  RETURN max(e.ts) AS last_event
}
RETURN p.key AS key, p.key IN $keys AS member,
       p {.pid, .ppid, .exe, .comm, .args, .cwd, .uid, .user, .gid, .group, .auid, .session_id,
          .tty, .cgroup, .service, .start_time, .exit_time, .exit_code, .host_id, .container_id,
          .session_kind, .session_user, .placeholder, .correlation_key, .correlation_layer}
         AS props,
       [(p)-[:CHILD_OF]->(q:Process) | q.key] AS parents,
       [(p)-[:ON_HOST]->(h:Host) | h.id] AS hosts,
       [(p)-[:IN_CONTAINER]->(c:Container) | c.id] AS containers,
       last_event
ORDER BY key
