// The background stage's queues: how many items wait for each step, the age in
// seconds of the oldest event waiting for detection (0 when none waits), and
// the cycles run so far. Counts of a label come from the count store.
// Parameters: none
// Writes: nothing
CALL () { MATCH (e:Undetected) RETURN count(e) AS detect }
CALL () { MATCH (p:Unstamped) RETURN count(p) AS stamp }
CALL () { MATCH (n:Unrelated) RETURN count(n) AS relate }
CALL () { MATCH (s:Unstoried) RETURN count(s) AS stories }
CALL () {
  OPTIONAL MATCH (e:Undetected) WHERE e._queued IS NOT NULL
  WITH e ORDER BY e._queued LIMIT 1
  RETURN (datetime.realtime().epochMillis - e._queued.epochMillis) / 1000.0 AS oldest
}
OPTIONAL MATCH (l:Lock {id: 'pipeline'})
RETURN detect, stamp, relate, stories, coalesce(oldest, 0.0) AS lag_seconds,
       coalesce(l.cycles, 0) AS cycles, l.holder AS holder
