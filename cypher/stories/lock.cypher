// Takes the stories lock for the rest of the transaction: app replicas refresh
// stories one at a time, because a routine story is rebuilt from the keys it
// holds plus those a refresh brings, and two refreshes at once would each drop
// the other's keys.
// Parameters: none
// Writes: (:Lock {id: 'stories'}).taken_at
MERGE (l:Lock {id: 'stories'})
SET l.taken_at = timestamp()
