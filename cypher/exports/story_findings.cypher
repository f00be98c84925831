// A story's signals with what its exports say of each (OCSF findings, the incident
// report): the event flagged, the acting process with its parent, container and pod,
// and the content hashes of the files the event touched; in time order, at most $limit.
// $id: story id; $limit: how many signals at most
// Writes: nothing
MATCH (:Story {id: $id})-[:HAS]->(s:Signal)
WITH s ORDER BY s.ts, s.id LIMIT $limit
MATCH (s)-[:ON]->(e:Event)
OPTIONAL MATCH (e)-[:BY]->(p:Process)
CALL (p) {
  OPTIONAL MATCH (p)-[:CHILD_OF]->(par:Process)
  RETURN par ORDER BY par.key LIMIT 1
}
OPTIONAL MATCH (p)-[:IN_CONTAINER]->(c:Container)
OPTIONAL MATCH (c)-[:IN_POD]->(pod:Pod)
CALL (e) {
  OPTIONAL MATCH (e)-[:TOUCHES]->(f:File)
  RETURN [h IN reduce(all = [], x IN collect(f.hashes) | all + x) WHERE h IS NOT NULL] AS hashes
}
RETURN s {.id, .rule_id, .title, .severity, .tactic, .technique, .description, .source,
          .compromises, .actions, .typed_actions, ts: toString(s.ts)} AS signal,
       e {.id, .kind, .source, .summary, .host_id, .container_id, .path, .target_path,
          .protocol, .src_ip, .src_port, .dst_ip, .dst_port, .dns_name, .dns_type,
          .server_ip, .imds_url, .role, .access_key_id, ts: toString(e.ts)} AS event,
       CASE WHEN p IS NULL THEN null ELSE p {.key, .pid, .exe, .args, .cwd, .uid, .user,
          .host_id, start_time: toString(p.start_time)} END AS process,
       CASE WHEN par IS NULL THEN null ELSE par {.key, .pid, .exe, .args, .user,
          start_time: toString(par.start_time)} END AS parent,
       CASE WHEN c IS NULL THEN null ELSE c {.id, .name, .image, .runtime} END AS container,
       CASE WHEN pod IS NULL THEN null ELSE pod {.uid, .name, .namespace} END AS pod,
       hashes
