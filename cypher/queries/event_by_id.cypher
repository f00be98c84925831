// An event with its process and, to explain its correlation key, the context
// of that key: the layer, the root process and the attribute or signal that
// started it; and the versions of it that arrived later with other content
// (evidence is not rewritten: they are kept beside it), oldest first.
// $id: event id
// Writes: nothing
MATCH (e:Event {id: $id})
OPTIONAL MATCH (e)-[:BY]->(p:Process)
OPTIONAL MATCH (c:Context {key: e.correlation_key})
OPTIONAL MATCH (root:Process {key: c.root})
CALL (e) {
  OPTIONAL MATCH (v:EventVersion)-[:VERSION_OF]->(e)
  WITH v ORDER BY v.received_at, v.digest
  RETURN [x IN collect(CASE WHEN v IS NULL THEN null ELSE v {
    .digest, .summary, ts: toString(v.ts), received_at: toString(v.received_at),
    fields: [k IN keys(v) WHERE NOT k IN ['key', 'event_id', 'digest', 'received_at', 'ts']
             AND v[k] <> e[k] | k]} END) WHERE x IS NOT NULL] AS versions
}
RETURN e.id AS id, e.kind AS kind, toString(e.ts) AS ts, e.source AS source,
       e.summary AS summary, e.host_id AS host_id, e.correlation_key AS correlation_key,
       p.key AS process_key, p.exe AS process_exe, p.pid AS process_pid,
       c.layer AS layer, c.class AS context_class, c.root AS root_key,
       c.reason AS reason, root.exe AS root_exe, root.pid AS root_pid, root.args AS root_args,
       versions
