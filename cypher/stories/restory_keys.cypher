// Stories whose context changed (root, reason, time span, members) since they
// were built: they are rebuilt with the stories of the dirty signals.
// Parameters: none. Writes: nothing
MATCH (st:Restory)
RETURN st.id AS id
