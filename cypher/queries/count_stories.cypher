// How many stories match a filter (the filters of list_stories.cypher).
// Filters (each null for any): $statuses, $severities: [value]; $keys: correlation keys,
// of which a story must cover one (an entity's, from search/entity_processes); $ids: story ids;
// $host, $user, $rule, $tactic, $technique: a value the story's facts must hold;
// $text: words its title must contain (case-insensitive); $from, $to: RFC 3339 times
// its first_seen..last_seen must overlap; $suppressed: true for only the stories whose
// every signal an exception suppressed, false for only the others.
// Writes: nothing
CALL () {
  WITH $keys AS keys WHERE keys IS NULL
  MATCH (s:Story)
  RETURN s
  UNION
  UNWIND $keys AS key
  MATCH (:Context {key: key})<-[:OF]-(s:Story)
  RETURN s
}
WITH s
WHERE ($statuses IS NULL OR s.status IN $statuses)
  AND ($severities IS NULL OR s.severity IN $severities)
  AND ($ids IS NULL OR s.id IN $ids)
  AND ($host IS NULL OR $host IN s.hosts)
  AND ($user IS NULL OR $user IN s.users)
  AND ($rule IS NULL OR $rule IN s.rules)
  AND ($tactic IS NULL OR $tactic IN s.tactics)
  AND ($technique IS NULL OR $technique IN s.techniques)
  AND ($text IS NULL OR toLower(s.title) CONTAINS toLower($text))
  AND ($from IS NULL OR s.last_seen >= datetime($from))
  AND ($to IS NULL OR s.first_seen <= datetime($to))
  AND ($suppressed IS NULL OR coalesce(s.suppressed, false) = $suppressed)
RETURN count(s) AS total
