// Retention: the next events before the limit, in (ts, id) order after a cursor,
// through the Event(ts) index: each read starts where the last one stopped, so
// events that stay (in a story) are read once per run, not once per batch.
// $before: datetime ; $from: the cursor's time (RFC 3339 text: a time read back from the driver
// carries a named UTC zone, which does not compare equal to the stored offset) ; $after_id: the cursor's
// event id ('' for all at $from) ; $limit: events per read
// Writes: nothing
MATCH (e:Event)
WHERE e.ts >= datetime($from) AND e.ts < $before AND (e.ts > datetime($from) OR e.id > $after_id)
WITH e ORDER BY e.ts, e.id LIMIT $limit
OPTIONAL MATCH (e)-[:BY]->(p:Process)
RETURN e.id AS id, e.ts AS ts, e.correlation_key AS key, p.key AS process
