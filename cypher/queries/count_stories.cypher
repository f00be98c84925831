// How many stories match a filter.
// $statuses: [status] or null; $severities: [severity] or null
// Writes: nothing
MATCH (s:Story)
WHERE ($statuses IS NULL OR s.status IN $statuses)
  AND ($severities IS NULL OR s.severity IN $severities)
RETURN count(s) AS total
