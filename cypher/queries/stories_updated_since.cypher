// Stories updated after a (time, id) cursor, oldest change first, for the
// storyUpdates subscription (which polls with an overlap and drops repeats).
// $after_ts: RFC 3339 time; $after_id: story id ('' for none);
// $statuses, $severities: [..] or null; $limit: how many at most
// Writes: nothing
MATCH (s:Story)
WHERE s.updated_at >= datetime($after_ts)
  AND (s.updated_at > datetime($after_ts) OR s.id > $after_id)
  AND ($statuses IS NULL OR s.status IN $statuses)
  AND ($severities IS NULL OR s.severity IN $severities)
RETURN s {.*, first_seen: toString(s.first_seen), last_seen: toString(s.last_seen),
          updated_at: toString(s.updated_at)} AS story
ORDER BY s.updated_at, s.id
LIMIT $limit
