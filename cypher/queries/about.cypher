// The Neo4j server's version and edition, and nodes per label from the count
// store (constant time, however large the graph).
// Parameters: none
// Writes: nothing
CALL dbms.components() YIELD versions, edition
CALL db.stats.retrieve('GRAPH COUNTS') YIELD data
RETURN versions[0] AS version, edition,
       [x IN data.nodes WHERE x.label IS NOT NULL | x {.label, .count}] AS counts
