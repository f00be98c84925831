// Stamping step 2 (after the six layers): removes the frontier's memberships in
// contexts whose key its layers no longer give it, and marks the contexts that
// lost a member or their root (:Shrunk) so that they are refreshed.
// $layers: [layer name] in priority order
// Writes: deletes IN_CONTEXT, :Shrunk label
UNWIND $layers AS layer
MATCH (p:Frontier)-[r:IN_CONTEXT]->(old:Context {layer: layer})
WITH p, layer, r, old, p['ctx_' + layer] AS key
WHERE key IS NULL OR key <> old.key OR (old.root = p.key AND p['ctx_' + layer + '_reason'] IS NULL)
SET old:Shrunk
WITH r, old, key
WHERE key IS NULL OR key <> old.key
DELETE r
