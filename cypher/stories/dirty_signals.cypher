// Signals waiting to be grouped into stories (:Unstoried: new, or their event
// was re-keyed), with the key they belong to now and the story that held them.
// Signals whose event has no key yet (it has not arrived), and new signals not yet
// screened against the exceptions (:Unscreened), keep waiting.
// Parameters: none. Writes: nothing
MATCH (s:Unstoried)
WHERE s.correlation_key IS NOT NULL AND NOT s:Unscreened
OPTIONAL MATCH (old:Story)-[:HAS]->(s)
RETURN s.id AS signal, s.correlation_key AS key, old.id AS old_story
