// Drops up to $limit of a feed's listings that its latest import did not renew (a feed
// is a snapshot: what it no longer lists stops matching), and deletes the indicators
// left with no feed and no signal. Signals already made stay, with their indicators.
// $feed: the feed's name; $import_id: the latest import's id; $limit: listings per call
// Writes: deletes (:Indicator)-[:FROM]->(:Feed) and unused (:Indicator)
MATCH (:Feed {name: $feed})<-[r:FROM]-(i:Indicator)
WHERE r.import <> $import_id
WITH r, i LIMIT $limit
DELETE r
WITH collect(DISTINCT i) AS touched, count(*) AS dropped
CALL (touched) {
  UNWIND touched AS i
  WITH i WHERE NOT EXISTS { (i)--() }
  DELETE i
}
RETURN dropped
