// A story's events and signals counted per time bucket, for a time scrubber. Events
// are read per correlation key through the Event(correlation_key, ts) index, signals
// through Signal(correlation_key) (those an exception suppressed left out).
// $keys: the story's correlation keys; $bucket: bucket width in seconds;
// $from, $to: RFC 3339 or null (a window)
// Writes: nothing
CALL () {
  UNWIND $keys AS key
  MATCH (e:Event)
  WHERE e.correlation_key = key AND e.ts >= datetime(coalesce($from, '1970-01-01T00:00:00Z'))
    AND ($to IS NULL OR e.ts <= datetime($to))
  RETURN e.ts AS ts, 0 AS signal
  UNION ALL
  UNWIND $keys AS key
  MATCH (s:Signal {correlation_key: key})
  WHERE ($from IS NULL OR s.ts >= datetime($from)) AND ($to IS NULL OR s.ts <= datetime($to))
    AND s.suppressed IS NULL
  RETURN s.ts AS ts, 1 AS signal
}
WITH (ts.epochSeconds / $bucket) * $bucket AS start, signal
RETURN start, sum(1 - signal) AS events, sum(signal) AS signals
ORDER BY start
