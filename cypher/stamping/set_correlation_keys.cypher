// Stamping step 6: gives each frontier process its correlation key (the key of
// the highest layer it belongs to, in $layers order) and its events the same
// key when it changed (their signals then wait to be regrouped into stories);
// marks the children of processes whose signature changed, so that late
// evidence re-stamps the subtree in later rounds. The signature is the layer
// keys and every attribute a child's layers read from its parent (see `par.` in
// cypher/layers/): a parent filled in after its children were stamped (another
// writer's batch, a placeholder completed) sends them back too, even when its
// own keys stay the same.
// $layers: [layer name] in priority order
// Writes: p.correlation_key, p.correlation_layer, p.ctx_signature,
//         e.correlation_key, :Unstamped on children, :Unstoried on moved signals
MATCH (p:Frontier)
WITH p, [l IN $layers WHERE p['ctx_' + l] IS NOT NULL][0] AS layer,
     [l IN $layers | coalesce(p['ctx_' + l], '')]
     + [x IN [p.auid, p.session_id, p.pid, p.exe, p.comm, p.cgroup, p.service,
              p.container_id, p.session_kind, p.session_ref, p.session_user]
        | coalesce(toString(x), '')]
     + [reduce(joined = '', a IN coalesce(p.args, []) | joined + '\u001f' + a)] AS signature
WITH p, layer, signature, p['ctx_' + layer] AS key
WITH p, layer, signature, key, p.correlation_key IS NULL OR p.correlation_key <> key AS rekeyed,
     p.ctx_signature IS NULL OR p.ctx_signature <> signature AS changed
SET p.correlation_key = key, p.correlation_layer = layer, p.ctx_signature = signature
WITH p, rekeyed, changed
CALL (p, rekeyed) {
  WITH p WHERE rekeyed
  MATCH (e:Event)-[:BY]->(p)
  SET e.correlation_key = p.correlation_key
  WITH e
  MATCH (s:Signal)-[:ON]->(e)
  SET s:Unstoried, s.correlation_key = e.correlation_key
}
CALL (p, changed) {
  WITH p WHERE changed
  MATCH (child:Process)-[:CHILD_OF]->(p)
  // a child queued already is left alone: SET would take its write lock, and a
  // writer updating that child (it holds its lock to commit) while it links an
  // event or a child to p (whose lock this round holds) would deadlock with us.
  // Only the stage (this transaction's holder of the lease) removes :Unstamped.
  WHERE NOT child:Unstamped
  SET child:Unstamped
}
RETURN count(p) AS stamped
