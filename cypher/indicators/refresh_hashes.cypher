// Waits until the eventually consistent full-text indexes (search_hashes among them)
// hold everything committed, so that a re-check finds files written a moment ago.
// Parameters: none
// Writes: nothing
CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh()
