// Asks for the pipeline lease while another holder has it: a worker that sees the
// wish (take_lease's `wanted`) gives the lease up after its current cycle.
// $holder: who asks
// Writes: (:Lock {id: 'pipeline'}) wanted_by, wanted_at
MATCH (l:Lock {id: 'pipeline'})
WHERE l.holder IS NOT NULL AND l.holder <> $holder
SET l.wanted_by = $holder, l.wanted_at = datetime.realtime()
