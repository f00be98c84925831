// The nodes whose searchable text matches a Lucene query, from each search index
// (cypher/constraints.cypher), at most $limit per index, best first. Which of a
// node's fields matched, and so what kind of hit it makes, is worked out by
// app/investigation/search.py.
// $lucene: the query (built by search.lucene from what the analyst typed); $limit
// Writes: nothing
CALL () {
  CALL db.index.fulltext.queryNodes('search_places', $lucene, {limit: $limit})
  YIELD node, score
  RETURN node, score
  UNION ALL
  CALL db.index.fulltext.queryNodes('search_targets', $lucene, {limit: $limit})
  YIELD node, score
  RETURN node, score
  UNION ALL
  CALL db.index.fulltext.queryNodes('search_hashes', $lucene, {limit: $limit})
  YIELD node, score
  RETURN node, score
  UNION ALL
  CALL db.index.fulltext.queryNodes('search_processes', $lucene, {limit: $limit})
  YIELD node, score
  RETURN node, score
  UNION ALL
  CALL db.index.fulltext.queryNodes('search_signals', $lucene, {limit: $limit})
  YIELD node, score
  RETURN node, score
  UNION ALL
  CALL db.index.fulltext.queryNodes('search_stories', $lucene, {limit: $limit})
  YIELD node, score
  RETURN node, score
}
RETURN CASE
         WHEN node:Host THEN 'host' WHEN node:Container THEN 'container'
         WHEN node:Pod THEN 'pod' WHEN node:File THEN 'file' WHEN node:Endpoint THEN 'ip'
         WHEN node:Domain THEN 'domain' WHEN node:Process THEN 'process'
         WHEN node:Signal THEN 'signal' ELSE 'story'
       END AS label,
       node {.id, .name, .image, .namespace, .uid, .path, .hashes, .ip, .key, .exe, .args,
             .user, .session_user, .pid, .host_id, .rule_id, .title, .tactic, .technique,
             .hosts, .users, .rules, .tactics, .techniques} AS props,
       score
