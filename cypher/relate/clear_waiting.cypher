// Audit records and contexts stop waiting for the relate step.
// Parameters: none
// Writes: removes :Unrelated
MATCH (n:Unrelated)
REMOVE n:Unrelated
