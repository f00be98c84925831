// Stories by score (highest first, then id), one page after a cursor, filtered
// by status and minimum severity.
// $statuses: [status] or null; $severities: [severity] or null;
// $after_score, $after_id: the cursor (null for the first page); $limit: page size + 1
// Writes: nothing
MATCH (s:Story)
WHERE ($statuses IS NULL OR s.status IN $statuses)
  AND ($severities IS NULL OR s.severity IN $severities)
  AND ($after_score IS NULL OR s.score < $after_score
       OR (s.score = $after_score AND s.id > $after_id))
RETURN s {.*, first_seen: toString(s.first_seen), last_seen: toString(s.last_seen),
          updated_at: toString(s.updated_at)} AS story
ORDER BY s.score DESC, s.id
LIMIT $limit
