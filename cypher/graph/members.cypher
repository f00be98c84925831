// The processes of a story's contexts: those linked to the contexts, those whose
// correlation key is one of the keys (their events carry it too: reading the
// process index costs what the story's processes are, not its events), and the
// contexts' root processes. Earliest first
// (by start time, then key; unknown start times last), at most $limit of them,
// so that a cut keeps the start of the story.
// With a window ($from, $to), only processes whose lifetime (start to exit; an
// unknown start or exit is open-ended) overlaps it.
// $keys: the story's correlation keys; $limit: how many at most;
// $from, $to: RFC 3339 or null
// Writes: nothing
CALL () {
  UNWIND $keys AS key
  MATCH (p:Process)-[:IN_CONTEXT]->(:Context {key: key})
  RETURN p
  UNION
  UNWIND $keys AS key
  MATCH (p:Process {correlation_key: key})
  RETURN p
  UNION
  UNWIND $keys AS key
  MATCH (c:Context {key: key})
  MATCH (p:Process {key: c.root})
  RETURN p
}
WITH p
WHERE ($from IS NULL OR p.exit_time IS NULL OR p.exit_time >= datetime($from))
  AND ($to IS NULL OR p.start_time IS NULL OR p.start_time <= datetime($to))
WITH p ORDER BY p.start_time, p.key
LIMIT $limit
RETURN p.key AS key
