// The contexts of a story's correlation keys, with their root process: why each
// exists (layer, root, reason), for Story.explain.
// $keys: [correlation key]
// Writes: nothing
UNWIND $keys AS key
MATCH (c:Context {key: key})
OPTIONAL MATCH (root:Process {key: c.root})
RETURN c.key AS correlation_key, c.layer AS layer, c.class AS context_class, c.root AS root_key,
       c.reason AS reason, root.exe AS root_exe, root.pid AS root_pid, root.args AS root_args
ORDER BY c.first_seen, c.key
