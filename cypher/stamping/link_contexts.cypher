// Stamping step 3: links the frontier to the context of each layer it belongs
// to, creating the context on first use. A context's root is the process that
// started it (the earliest by start time, then key, when several start the same
// ambient key); first_seen and last_seen span its processes. A context whose
// root was (re)set waits for the relate step (:Unrelated), which links the audit
// record that started it (audit_record).
// $layers: [layer name]; $session_layers: [layer name]
// A story on a context that changed is rebuilt by the stories step (:Restory).
// Writes: (:Context), (:Process)-[:IN_CONTEXT]->(:Context), :Restory on stories,
// :Unrelated on contexts
UNWIND $layers AS layer
MATCH (p:Frontier)
WITH p, layer, p['ctx_' + layer] AS key, p['ctx_' + layer + '_reason'] AS reason
WHERE key IS NOT NULL
MERGE (c:Context {key: key})
ON CREATE SET c.layer = layer, c.host_id = p.host_id,
              c.class = CASE WHEN layer IN $session_layers THEN 'session' ELSE 'ambient' END
MERGE (p)-[:IN_CONTEXT]->(c)
WITH c, p, reason, coalesce(toString(p.start_time), '~') + '|' + p.key AS rank
SET c.first_seen = CASE WHEN p.start_time IS NOT NULL AND (c.first_seen IS NULL OR p.start_time < c.first_seen)
                        THEN p.start_time ELSE c.first_seen END,
    c.last_seen = CASE WHEN coalesce(p.exit_time, p.start_time) IS NOT NULL
                        AND (c.last_seen IS NULL OR coalesce(p.exit_time, p.start_time) > c.last_seen)
                       THEN coalesce(p.exit_time, p.start_time) ELSE c.last_seen END
FOREACH (_ IN CASE WHEN reason IS NOT NULL AND (c.root_rank IS NULL OR rank <= c.root_rank) THEN [1] ELSE [] END |
  SET c.root = p.key, c.reason = reason, c.root_rank = rank,
      c.audit_record = p['ctx_' + c.layer + '_audit'], c:Unrelated)
WITH DISTINCT c
MATCH (st:Story)-[:OF]->(c)
SET st:Restory
