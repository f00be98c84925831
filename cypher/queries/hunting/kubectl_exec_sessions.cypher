// Hunting: Kubernetes exec/attach sessions: who, into which pod, what they ran
// (the first commands of the session), and whether a story holds signals there.
// Parameters: none
// Writes: nothing
MATCH (c:Context {layer: 'k8s_user_session'})
OPTIONAL MATCH (root:Process {key: c.root})
OPTIONAL MATCH (root)-[:IN_CONTAINER]->(:Container)-[:IN_POD]->(pod:Pod)
OPTIONAL MATCH (st:Story)-[:OF]->(c)
CALL (c) {
  MATCH (p:Process)-[:IN_CONTEXT]->(c)
  WITH p ORDER BY p.start_time
  RETURN collect(coalesce(p.args[0], p.exe))[..10] AS commands, count(p) AS processes
}
RETURN c.first_seen AS started, coalesce(root.session_user, c.reason) AS who,
       pod.namespace + '/' + pod.name AS pod, commands, processes,
       st.severity AS story_severity, st.id AS story, c.key AS correlation_key
ORDER BY started DESC
LIMIT 100
