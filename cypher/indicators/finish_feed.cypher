// Sets a feed's details once an import has written and pruned its indicators, with how
// many indicators it now lists.
// $feed, $format, $severity: the feed's name, format (stix, csv) and signal severity;
// $read, $skipped, $errors: what the import read, skipped and could not read
// Writes: (:Feed)
MERGE (f:Feed {name: $feed})
SET f.format = $format, f.severity = $severity, f.imported_at = datetime(),
    f.read = $read, f.skipped = $skipped, f.errors = $errors,
    f.indicator_count = COUNT { (f)<-[:FROM]-(:Indicator) }
RETURN f.indicator_count AS indicator_count, toString(f.imported_at) AS imported_at
