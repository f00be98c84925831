// Stories whose context changed (root, reason, time span, members) since they
// were built: their keys are rebuilt with the dirty signals' keys.
// Parameters: none. Writes: nothing
MATCH (st:Restory)
RETURN st.correlation_key AS key, st.id AS id
