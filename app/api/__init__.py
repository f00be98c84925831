"""The HTTP surface: GraphQL, REST routes and health probes."""
