// The stories each entity appears in, highest score first: at most $limit of them,
// and how many there are. An entity is {kind, id, property, lucene, keys}:
// - with `property` (hosts, users, rules, tactics, techniques): the stories whose fact
//   of that name holds `id`, found through the search_stories index (`lucene` asks for
//   the field) and then checked exactly;
// - a story: itself;
// - otherwise the stories of its correlation keys `keys` (search/entity_processes.cypher).
// $entities; $limit
// Writes: nothing
UNWIND $entities AS ent
CALL (ent) {
  CALL (ent) {
    WITH ent WHERE ent.property IS NOT NULL
    CALL db.index.fulltext.queryNodes('search_stories', ent.lucene) YIELD node
    WITH ent, node AS s
    WHERE ent.id IN s[ent.property]
    RETURN s
    UNION
    WITH ent WHERE ent.kind = 'story'
    MATCH (s:Story {id: ent.id})
    RETURN s
    UNION
    UNWIND ent.keys AS key
    MATCH (:Context {key: key})<-[:OF]-(s:Story)
    RETURN s
  }
  WITH s ORDER BY s.score DESC, s.id
  RETURN count(s) AS count,
         collect(s {.*, first_seen: toString(s.first_seen), last_seen: toString(s.last_seen),
                    updated_at: toString(s.updated_at)})[..$limit] AS stories
}
RETURN ent.kind AS kind, ent.id AS id, count, stories
