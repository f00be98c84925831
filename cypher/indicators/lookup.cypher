// The indicators among the values a batch of events carries (app/indicators/values.py),
// each with every feed that lists it: what detection and the re-check match events
// against, in one indexed lookup per batch. With $feed, only that feed's listings.
// $ids: [indicator id]; $feed: a feed name or null
// Writes: nothing
UNWIND $ids AS id
MATCH (i:Indicator {id: id})-[r:FROM]->(f:Feed)
WHERE $feed IS NULL OR f.name = $feed
RETURN i.id AS id, i.type AS type, i.value AS value, f.name AS feed, f.severity AS severity,
       toString(r.valid_until) AS valid_until, r.description AS description,
       r.tactic AS tactic, r.technique AS technique
ORDER BY feed, id
