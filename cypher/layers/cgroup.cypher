// Layer 6 of 6, ambient fallback: a frontier process that belongs to no other
// layer gets a context from its cgroup ('host:cgroup'), else its container id,
// else its parent's fallback key, else its own key (the root of the known tree:
// when an older ancestor arrives later, the subtree is re-stamped).
// Parameters: none. Writes: p.ctx_cgroup, p.ctx_cgroup_reason
MATCH (p:Frontier)
OPTIONAL MATCH (par:Process {key: p.stamp_parent})
WITH p, par,
     p.ctx_k8s_user_session IS NULL AND p.ctx_exploit IS NULL AND p.ctx_interactive_shell IS NULL
       AND p.ctx_auid IS NULL AND p.ctx_service IS NULL AS fallback
SET p.ctx_cgroup = CASE WHEN NOT fallback THEN null
      WHEN p.cgroup IS NOT NULL THEN p.host_id + ':' + p.cgroup
      WHEN p.container_id IS NOT NULL THEN 'container:' + p.container_id
      WHEN par IS NOT NULL AND par.ctx_cgroup IS NOT NULL THEN par.ctx_cgroup
      ELSE p.key END,
    p.ctx_cgroup_reason = CASE WHEN NOT fallback THEN null
      WHEN p.cgroup IS NOT NULL THEN 'cgroup ' + p.cgroup
      WHEN p.container_id IS NOT NULL THEN 'container ' + p.container_id
      WHEN par IS NOT NULL AND par.ctx_cgroup IS NOT NULL THEN null
      ELSE 'oldest known process of its tree' END
