"""Neo4j: the driver lifecycle, cypher files by name, and the local server launcher."""
