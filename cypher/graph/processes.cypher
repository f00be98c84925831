// The processes of a story's graph: its member processes and every ancestor up
// the CHILD_OF chain, each with its parents, hosts and containers, and (members
// only) the time of its last activity on a target, from its merged ACTIVITY
// edges: reading its events would cost as many as it made (init, a JVM).
// Times are epoch nanoseconds (the driver's temporal types are slow to read).
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
  MATCH (p)-[a:ACTIVITY]->()
  RETURN max(a.last_seen) AS last_event
}
RETURN p.key AS key, p.key IN $keys AS member,
       p {.pid, .ppid, .exe, .comm, .args, .cwd, .uid, .user, .gid, .group, .auid, .session_id,
          .tty, .cgroup, .service, .exit_code, .host_id, .container_id,
          start_time: p.start_time.epochSeconds * 1000000000 + p.start_time.nanosecond,
          exit_time: p.exit_time.epochSeconds * 1000000000 + p.exit_time.nanosecond,
          .session_kind, .session_user, .placeholder, .correlation_key, .correlation_layer}
         AS props,
       [(p)-[:CHILD_OF]->(q:Process) | q.key] AS parents,
       [(p)-[:ON_HOST]->(h:Host) | h.id] AS hosts,
       [(p)-[:IN_CONTAINER]->(c:Container) | c.id] AS containers,
       last_event.epochSeconds * 1000000000 + last_event.nanosecond AS last_event
ORDER BY key
