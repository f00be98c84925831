// The notes and tags on events and processes, oldest first.
// $keys: [event id or process key]
// Writes: nothing
UNWIND $keys AS key
MATCH (a:Annotation {target_key: key})
WITH a ORDER BY a.ts, a.id
RETURN a {.id, .kind, .text, .actor, .target_kind, .target_key, ts: toString(a.ts)} AS annotation
