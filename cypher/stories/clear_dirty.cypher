// Signals grouped into their stories stop waiting.
// $ids: [signal id]
// Writes: removes :Unstoried
UNWIND $ids AS id
MATCH (s:Signal {id: id})
REMOVE s:Unstoried
