// A page of indicators in id order after a cursor, each with every feed listing it:
// the indicators of given ids, or of one feed, or all of them; optionally of one type.
// $ids: [indicator id] or null; $feed: a feed name or null; $type: a type or null;
// $after: the last id of the previous page ('' for the first); $limit: page size + 1
// Writes: nothing
CALL () {
  WITH 1 AS one WHERE $ids IS NOT NULL
  UNWIND $ids AS id
  MATCH (i:Indicator {id: id})
  RETURN i
  UNION
  WITH 1 AS one WHERE $ids IS NULL AND $feed IS NOT NULL
  MATCH (:Feed {name: $feed})<-[:FROM]-(i:Indicator)
  RETURN i
  UNION
  WITH 1 AS one WHERE $ids IS NULL AND $feed IS NULL
  MATCH (i:Indicator) WHERE i.id > $after
  RETURN i
}
WITH i WHERE i.id > $after AND ($type IS NULL OR i.type = $type)
  AND ($feed IS NULL OR EXISTS { (i)-[:FROM]->(:Feed {name: $feed}) })
WITH i ORDER BY i.id LIMIT $limit
RETURN i.id AS id, i.type AS type, i.value AS value,
       [(i)-[r:FROM]->(f:Feed) | {feed: f.name, description: r.description,
         valid_until: toString(r.valid_until), tactic: r.tactic, technique: r.technique,
         ref: r.ref}] AS sources
ORDER BY id
