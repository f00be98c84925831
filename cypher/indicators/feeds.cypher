// Every indicator feed, by name (at most $limit), with what its last import did.
// $limit
// Writes: nothing
MATCH (f:Feed)
RETURN f.name AS name, f.format AS format, f.severity AS severity,
       toString(f.imported_at) AS imported_at, f.indicator_count AS indicator_count,
       f.read AS read, f.skipped AS skipped, f.errors AS errors
ORDER BY name
LIMIT $limit
