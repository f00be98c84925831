// Layer 4 of 6, ambient: audit login sessions. A frontier process starts a
// context when its audit login uid is set (not 4294967295) and differs from its
// parent's, or its audit session id does. Otherwise it inherits its parent's key.
// Key: 'host:auid:session_id'.
// Parameters: none. Writes: p.ctx_auid, p.ctx_auid_reason
MATCH (p:Frontier)
OPTIONAL MATCH (par:Process {key: p.stamp_parent})
WITH p, par,
     p.auid IS NOT NULL AND NOT p.auid IN [4294967295, -1]
       AND (par IS NULL OR par.auid IS NULL OR par.auid <> p.auid
            OR coalesce(par.session_id, -2) <> coalesce(p.session_id, -2)) AS starts
SET p.ctx_auid = CASE WHEN starts
      THEN p.host_id + ':' + toString(p.auid) + ':' + coalesce(toString(p.session_id), '')
      ELSE par.ctx_auid END,
    p.ctx_auid_reason = CASE WHEN starts
      THEN 'audit login uid ' + toString(p.auid) + coalesce(' (' + p.user + ')', '')
           + ', audit session ' + coalesce(toString(p.session_id), 'unknown')
      ELSE null END
