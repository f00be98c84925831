// Tells whether the stories step has anything to do: signals waiting to be
// grouped (with a key, screened against the exceptions) or stories waiting to be rebuilt.
// Parameters: none
// Writes: nothing
RETURN EXISTS { MATCH (s:Unstoried) WHERE s.correlation_key IS NOT NULL AND NOT s:Unscreened }
       OR EXISTS { MATCH (:Restory) } AS pending
