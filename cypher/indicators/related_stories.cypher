// The stories related to one story through the indicators it holds. For each indicator
// one of its signals MATCHED (at most $indicators): the entity nodes holding that value
// (the Endpoints of an IP, the Domain, the files with that content), the processes that
// touched them through the merged ACTIVITY edges (never events; binds, listens and
// metadata-service requests name a local or well-known address and do not count; at
// most $scan processes per indicator), and the stories of those processes' correlation
// keys. Each other story once, highest score first (at most $limit), with the
// indicators it shares (each with the feeds listing it) and `nodes`: the ids (Kind:key) of this story's graph nodes that
// hold them, found through the story's own signals (at most $scan per indicator).
// $id: the story's id; $indicators, $scan, $limit: the bounds above
// Writes: nothing
MATCH (st:Story {id: $id})-[:HAS]->(:Signal)-[:MATCHED]->(i:Indicator)
WITH DISTINCT st, i
ORDER BY i.id
LIMIT $indicators
CALL (st, i) {
  MATCH (st)-[:HAS]->(s:Signal)-[:MATCHED]->(i)
  WITH s LIMIT $scan
  MATCH (s)-[:ON]->(:Event)-[:CONNECTS|RESOLVES|TOUCHES]->(n)
  RETURN collect(DISTINCT CASE WHEN n:File THEN 'File:' WHEN n:Endpoint THEN 'Endpoint:'
                                ELSE 'Domain:' END + n.key) AS mine
}
CALL (i) {
  CALL (i) {
    WITH i WHERE i.type = 'ip'
    UNWIND i.lookups AS ip
    MATCH (n:Endpoint {ip: ip})
    RETURN n
    UNION
    WITH i WHERE i.type = 'domain'
    UNWIND i.lookups AS key
    MATCH (n:Domain {key: key})
    RETURN n
    UNION
    WITH i WHERE i.type IN ['sha256', 'sha1', 'md5']
    CALL db.index.fulltext.queryNodes('search_hashes', 'hashes:"' + i.value + '"',
                                      {limit: $scan}) YIELD node
    WITH node AS n WHERE n:File
    RETURN n
  }
  MATCH (n)<-[a:ACTIVITY]-(p:Process)
  WHERE NOT a.kind IN ['network_bind', 'network_listen', 'imds_request']
  WITH p LIMIT $scan
  WITH DISTINCT p.correlation_key AS key WHERE key IS NOT NULL
  RETURN collect(key) AS keys
}
UNWIND keys AS key
MATCH (:Context {key: key})<-[:OF]-(other:Story)
WHERE other <> st
WITH other, i, mine
WITH other,
     collect(DISTINCT i {.id, .type, .value,
                         sources: [(i)-[r:FROM]->(f:Feed) | {feed: f.name,
                           description: r.description, valid_until: toString(r.valid_until),
                           tactic: r.tactic, technique: r.technique, ref: r.ref}]}) AS shared,
     collect(mine) AS mines
ORDER BY other.score DESC, other.id
LIMIT $limit
RETURN other {.*, first_seen: toString(other.first_seen), last_seen: toString(other.last_seen),
              updated_at: toString(other.updated_at)} AS story,
       shared AS indicators,
       reduce(all = [], m IN mines | all + [x IN m WHERE NOT x IN all]) AS nodes
