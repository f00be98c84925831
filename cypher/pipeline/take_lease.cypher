// Takes or renews the pipeline lease: one worker at a time runs the background
// stage's cycles (app/pipeline.py). Returns a row only when the lease is the
// caller's: it was free, expired, or already the caller's. Adds $cycles to the
// count of cycles run, which a waiting `storyline ingest` watches. `wanted` says
// that someone else asked for the lease in the last two seconds (want_lease): a
// worker with work then gives it up between cycles, so that a prune or a drain
// waiting for it is not starved by a busy stage.
// A caller that takes the lease it had asked for withdraws its wish.
// $holder: who asks ; $ttl: seconds the lease lasts unless renewed ; $cycles: cycles just run
// Writes: (:Lock {id: 'pipeline'}) holder, expires, cycles, wanted_at, wanted_by
MERGE (l:Lock {id: 'pipeline'})
WITH l
WHERE l.holder IS NULL OR l.holder = $holder OR l.expires < datetime.realtime()
SET l.holder = $holder,
    l.expires = datetime.realtime() + duration({seconds: $ttl}),
    l.cycles = coalesce(l.cycles, 0) + $cycles
// SET items apply in order: wanted_at reads wanted_by before it is cleared
SET l.wanted_at = CASE WHEN l.wanted_by = $holder THEN null ELSE l.wanted_at END
SET l.wanted_by = CASE WHEN l.wanted_by = $holder THEN null ELSE l.wanted_by END
RETURN l.cycles AS cycles,
       coalesce(l.wanted_by <> $holder
                AND l.wanted_at > datetime.realtime() - duration({seconds: 2}), false) AS wanted
