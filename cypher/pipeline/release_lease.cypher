// Frees the pipeline lease when the caller holds it.
// $holder: who gives it up
// Writes: (:Lock {id: 'pipeline'}).holder
MATCH (l:Lock {id: 'pipeline'})
WHERE l.holder = $holder
SET l.holder = null, l.expires = null
