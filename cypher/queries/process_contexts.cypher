// The execution contexts a process belongs to (one per layer it is in); the
// app orders them by layer priority.
// $key: process key
// Writes: nothing
MATCH (:Process {key: $key})-[:IN_CONTEXT]->(c:Context)
RETURN c.key AS key, c.layer AS layer, c.class AS context_class, c.root AS root,
       c.reason AS reason, toString(c.first_seen) AS first_seen,
       toString(c.last_seen) AS last_seen
