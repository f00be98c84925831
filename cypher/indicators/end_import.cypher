// Releases a feed claimed by start_import, if this import still holds it.
// $feed: the feed's name; $import_id: this import's id
// Writes: (:Feed) (removes its claim)
MATCH (f:Feed {name: $feed})
WHERE f.importing = $import_id
REMOVE f.importing, f.importing_since
