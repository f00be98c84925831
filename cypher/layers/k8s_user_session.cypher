// Layer 1 of 6, session class: Kubernetes user sessions (kubectl exec / attach).
// A frontier process starts a context when it is not inside a session context
// already and either carries a Kubernetes user session its parent does not
// (Datadog's user_session.k8s_*), or is the first process in its container
// (its parent is outside), running the record's command, within 10 s of a
// Kubernetes audit pods/exec or pods/attach record for its pod and container.
// Otherwise it inherits its parent's key. Key: uuid5(namespace, 'k8s_user_session' + root key).
// Run by `storyline layers run` after select_frontier; see README.
// Parameters: none. Writes: p.ctx_k8s_user_session, p.ctx_k8s_user_session_reason,
// p.ctx_k8s_user_session_audit (the audit record's id, when one started the session)
MATCH (p:Frontier)
OPTIONAL MATCH (par:Process {key: p.stamp_parent})
OPTIONAL CALL (p, par) {
  MATCH (p)-[:IN_CONTAINER]->(c:Container)-[:IN_POD]->(pod:Pod)
  WHERE p.start_time IS NOT NULL AND (par IS NULL OR coalesce(par.container_id, '') <> c.id)
  MATCH (a:AuditRecord {source: 'k8s_audit', pod: pod.name})
  WHERE a.namespace = pod.namespace
    AND a.action IN ['create pods/exec', 'get pods/exec', 'create pods/attach', 'get pods/attach']
    AND (a.container IS NULL OR a.container = c.name)
    AND a.ts >= p.start_time - duration('PT10S') AND a.ts <= p.start_time + duration('PT10S')
    AND (a.command IS NULL OR size(a.command) = 0
         OR split(a.command[0], '/')[-1] IN [split(coalesce(p.exe, ''), '/')[-1],
                                             split(coalesce(p.args[0], ''), '/')[-1]])
  RETURN a ORDER BY abs(duration.inSeconds(a.ts, p.start_time).seconds), a.id LIMIT 1
}
WITH p, par, a,
     par IS NOT NULL AND (par.ctx_k8s_user_session IS NOT NULL OR par.ctx_exploit IS NOT NULL
                          OR par.ctx_interactive_shell IS NOT NULL) AS in_session,
     p.session_kind = 'k8s'
       AND (par IS NULL OR coalesce(par.session_kind, '') <> 'k8s'
            OR coalesce(par.session_ref, '') <> coalesce(p.session_ref, '')
            OR coalesce(par.session_user, '') <> coalesce(p.session_user, '')) AS carries
WITH p, par, a, carries, NOT in_session AND (carries OR a IS NOT NULL) AS starts
SET p.ctx_k8s_user_session = CASE WHEN starts THEN p.session_uuids[0]
                                  ELSE par.ctx_k8s_user_session END,
    p.ctx_k8s_user_session_reason = CASE
      WHEN starts AND carries THEN 'Kubernetes user session of ' + coalesce(p.session_user, 'an unknown user')
      WHEN starts THEN 'Kubernetes audit ' + a.action + ' by ' + coalesce(a.actor, 'an unknown user')
                       + ' (audit record ' + a.id + ')'
      ELSE null END,
    p.ctx_k8s_user_session_audit = CASE WHEN starts AND a IS NOT NULL THEN a.id ELSE null END
