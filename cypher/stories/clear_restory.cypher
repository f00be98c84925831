// Rebuilt stories stop waiting.
// $ids: [story id]
// Writes: removes :Restory
UNWIND $ids AS id
MATCH (st:Story {id: id})
REMOVE st:Restory
