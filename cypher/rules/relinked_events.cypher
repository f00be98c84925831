// Events of processes that learned their parent in this batch (:Relinked): rules
// that look at the parent or ancestors must see them again. Clears the mark.
// Parameters: none. Writes: removes :Relinked
MATCH (p:Relinked)
REMOVE p:Relinked
WITH p
MATCH (e:Event)-[:BY]->(p)
WHERE e.kind <> 'alert'
RETURN e.id AS id, toString(e.ts) AS ts, p.key AS process_key, properties(e) AS props
