// The indicators in a story's events: addresses its processes connected to or took
// connections from, domains they resolved, content hashes of files they touched, and
// cloud access keys they fetched from the metadata service; each with how many events
// and the first time, at most $limit of each. Events are read by index seeks on
// Event(correlation_key, kind, ts), at most $scan per key and kind.
// $keys: the story's correlation keys; $limit: indicators of each kind; $scan: events
// read per key and kind
// Writes: nothing
CALL () {
  UNWIND $keys AS key
  UNWIND ['network_connect', 'network_accept'] AS kind
  CALL (key, kind) {
    MATCH (e:Event {correlation_key: key, kind: kind})
    RETURN e LIMIT $scan
  }
  WITH e, CASE e.kind WHEN 'network_accept' THEN e.src_ip ELSE e.dst_ip END AS ip
  WHERE ip IS NOT NULL
  WITH ip, e.kind AS kind, collect(DISTINCT e.dst_port)[..10] AS ports, count(*) AS events,
       min(e.ts) AS first
  ORDER BY first, ip LIMIT $limit
  RETURN collect({ip: ip, direction: CASE kind WHEN 'network_accept' THEN 'inbound'
                                      ELSE 'outbound' END,
                  ports: ports, events: events, first: toString(first)}) AS addresses
}
CALL () {
  UNWIND $keys AS key
  CALL (key) {
    MATCH (e:Event {correlation_key: key, kind: 'dns_query'})
    RETURN e LIMIT $scan
  }
  WITH e WHERE e.dns_name IS NOT NULL
  WITH toLower(e.dns_name) AS domain, count(*) AS events, min(e.ts) AS first
  ORDER BY first, domain LIMIT $limit
  RETURN collect({domain: domain, events: events, first: toString(first)}) AS domains
}
CALL () {
  UNWIND $keys AS key
  UNWIND ['file_open', 'file_write', 'file_create', 'file_rename', 'file_unlink',
          'file_chmod', 'process_exec'] AS kind
  CALL (key, kind) {
    MATCH (e:Event {correlation_key: key, kind: kind})
    RETURN e LIMIT $scan
  }
  MATCH (e)-[:TOUCHES]->(f:File)
  WHERE f.hashes IS NOT NULL
  UNWIND f.hashes AS hash
  WITH hash, collect(DISTINCT f.path)[..5] AS paths, count(*) AS events, min(e.ts) AS first
  ORDER BY first, hash LIMIT $limit
  RETURN collect({hash: hash, paths: paths, events: events, first: toString(first)}) AS hashes
}
CALL () {
  UNWIND $keys AS key
  CALL (key) {
    MATCH (e:Event {correlation_key: key, kind: 'imds_request'})
    RETURN e LIMIT $scan
  }
  WITH e WHERE e.access_key_id IS NOT NULL
  WITH e.access_key_id AS key, collect(DISTINCT e.role)[..5] AS roles, count(*) AS events,
       min(e.ts) AS first
  ORDER BY first, key LIMIT $limit
  RETURN collect({access_key_id: key, roles: roles, events: events,
                  first: toString(first)}) AS access_keys
}
RETURN addresses, domains, hashes, access_keys
