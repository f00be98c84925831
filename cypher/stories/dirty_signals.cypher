// Signals waiting to be grouped into stories (:Unstoried: new, or their event
// was re-keyed), with the key they belong to now and the story that held them.
// Signals whose event has no key yet (it has not arrived) keep waiting.
// Parameters: none. Writes: nothing
MATCH (s:Unstoried)
WHERE s.correlation_key IS NOT NULL
OPTIONAL MATCH (old:Story)-[:HAS]->(s)
RETURN s.id AS signal, s.correlation_key AS key, old.id AS old_story
