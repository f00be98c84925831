// How many execution contexts each layer has.
// Parameters: none
// Writes: nothing
MATCH (c:Context)
RETURN c.layer AS layer, count(*) AS contexts
ORDER BY layer
