// The stored events a feed's indicators may match, found through the entity nodes
// they touched, never by scanning events: an address through the Endpoints of that
// IP (endpoint_ip index) and their CONNECTS events, a domain through its Domain node
// and its RESOLVES events, a hash through the files holding it (the search_hashes
// index) and their TOUCHES events. Each event once, with what detection reads of it;
// the matcher (app/indicators/matching.py) then decides, as it does for new events.
// Read as a stream: the caller matches and writes in bounded batches as rows arrive.
// $feed: the feed's name
// Writes: nothing
MATCH (:Feed {name: $feed})<-[:FROM]-(i:Indicator)
CALL (i) {
  WITH i WHERE i.type = 'ip'
  UNWIND i.lookups AS ip
  MATCH (:Endpoint {ip: ip})<-[:CONNECTS]-(e:Event)
  RETURN e
  UNION
  WITH i WHERE i.type = 'domain'
  UNWIND i.lookups AS key
  MATCH (:Domain {key: key})<-[:RESOLVES]-(e:Event)
  RETURN e
  UNION
  WITH i WHERE i.type IN ['sha256', 'sha1', 'md5']
  CALL db.index.fulltext.queryNodes('search_hashes', 'hashes:"' + i.value + '"') YIELD node
  MATCH (node:File)<-[:TOUCHES]-(e:Event)
  WHERE e.hashes IS NOT NULL
  RETURN e
}
WITH DISTINCT e
MATCH (e)-[:BY]->(p:Process)
RETURN e.id AS id, toString(e.ts) AS ts, p.key AS process_key,
       e {.*, ts: null, digest: null, correlation_key: null} AS props
