// The background stage's queues: how many items wait for each step, the age in
// seconds of the oldest batch waiting for detection (0 when none waits), and
// the cycles run so far. Counts of a label come from the count store.
// Parameters: none
// Writes: nothing
CALL () {
  MATCH (b:Batch)
  RETURN sum(size(b.event_ids)) AS detect,
         (datetime.realtime().epochMillis - min(b.queued_at).epochMillis) / 1000.0 AS oldest
}
CALL () { MATCH (p:Unstamped) RETURN count(p) AS stamp }
CALL () { MATCH (n:Unrelated) RETURN count(n) AS relate }
CALL () { MATCH (s:Unstoried) RETURN count(s) AS stories }
OPTIONAL MATCH (l:Lock {id: 'pipeline'})
RETURN detect, stamp, relate, stories, coalesce(oldest, 0.0) AS lag_seconds,
       coalesce(l.cycles, 0) AS cycles, l.holder AS holder
