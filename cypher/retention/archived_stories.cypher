// Retention: deletes archived stories whose last event and last change are
// before the limit, with their triage history; their signals and events are
// then outside every story and go with the next steps.
// $before: datetime ; $limit: stories per transaction
// Writes: deletes (:Story), (:TriageChange)
MATCH (s:Story {status: 'archived'})
WHERE s.last_seen < $before AND coalesce(s.updated_at, s.last_seen) < $before
WITH s LIMIT $limit
OPTIONAL MATCH (s)-[:TRIAGE]->(t:TriageChange)
DETACH DELETE t
WITH DISTINCT s
DETACH DELETE s
RETURN count(s) AS deleted
