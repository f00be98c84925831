// Hosts, most recently seen first (then id; never seen: last), one page after a cursor.
// $after_seen, $after_id: the cursor (null for the first page); $limit: page size + 1
// Writes: nothing
MATCH (h:Host)
WITH h, coalesce(h.last_seen, datetime('0001-01-01T00:00:00Z')) AS seen
WHERE $after_seen IS NULL OR seen < datetime($after_seen)
   OR (seen = datetime($after_seen) AND h.id > $after_id)
RETURN h {.id, .name, .status, first_seen: toString(h.first_seen),
          last_seen: toString(h.last_seen)} AS props, toString(seen) AS seen
ORDER BY seen DESC, h.id
LIMIT $limit
