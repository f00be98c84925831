// Deletes dead letters that were re-submitted and accepted.
// $ids: [id]
// Writes: removes (:DeadLetter)
UNWIND $ids AS id
MATCH (d:DeadLetter {id: id})
DELETE d
