// Claims a feed for one import at a time: an import writes a feed in many transactions
// and then drops what it did not renew, so two at once would drop each other's. The
// claim is taken when the feed is free or its holder has held it past $stale_seconds
// (an import that died); it returns no row when another import holds the feed.
// $feed: the feed's name; $import_id: this import's id; $stale_seconds
// Writes: (:Feed) (its `importing` claim)
MERGE (f:Feed {name: $feed})
WITH f
WHERE f.importing IS NULL
   OR f.importing_since < datetime() - duration({seconds: $stale_seconds})
SET f.importing = $import_id, f.importing_since = datetime()
RETURN f.name AS feed
