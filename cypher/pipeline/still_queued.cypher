// How many of the given events still wait for detection, and how many cycles
// the background stage has run: what a caller waiting for its events watches.
// $ids: [event id]
// Writes: nothing
CALL () {
  UNWIND $ids AS id
  MATCH (e:Event {id: id})
  WHERE e:Undetected
  RETURN count(e) AS queued
}
OPTIONAL MATCH (l:Lock {id: 'pipeline'})
RETURN queued, coalesce(l.cycles, 0) AS cycles
