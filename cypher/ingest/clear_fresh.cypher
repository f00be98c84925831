// Ends a batch's write: processes created in it are no longer new.
// Parameters: none. Writes: removes :Fresh
MATCH (p:Fresh)
REMOVE p:Fresh
