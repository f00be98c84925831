// Whether a batch still waits for detection, and how many cycles the
// background stage has run: what a caller waiting for its batch watches.
// $id: the batch's id
// Writes: nothing
OPTIONAL MATCH (b:Batch {id: $id})
OPTIONAL MATCH (l:Lock {id: 'pipeline'})
RETURN b IS NOT NULL AS queued, coalesce(l.cycles, 0) AS cycles
