// Screened signals stop waiting for the screen step.
// $ids: [signal id]
// Writes: removes :Unscreened
UNWIND $ids AS id
MATCH (s:Signal {id: id})
REMOVE s:Unscreened
