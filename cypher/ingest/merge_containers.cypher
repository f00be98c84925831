// Merges containers seen in a batch, with the host they run on and their pod.
// Order-independent: each property keeps the greatest non-null value seen.
// $rows: [{id, name, image, runtime, host_id, pod_uid, first_seen, last_seen}]
// Writes: (:Container), (:Container)-[:ON_HOST]->(:Host), (:Container)-[:IN_POD]->(:Pod)
UNWIND $rows AS row
MERGE (c:Container {id: row.id})
// the write lock before the read, as in merge_hosts
SET c.id = row.id
WITH c, row
SET c.name = CASE WHEN row.name IS NOT NULL AND (c.name IS NULL OR row.name > c.name)
                  THEN row.name ELSE c.name END,
    c.image = CASE WHEN row.image IS NOT NULL AND (c.image IS NULL OR row.image > c.image)
                   THEN row.image ELSE c.image END,
    c.runtime = CASE WHEN row.runtime IS NOT NULL AND (c.runtime IS NULL OR row.runtime > c.runtime)
                     THEN row.runtime ELSE c.runtime END,
    c.first_seen = CASE WHEN c.first_seen IS NULL OR datetime(row.first_seen) < c.first_seen
                        THEN datetime(row.first_seen) ELSE c.first_seen END,
    c.last_seen = CASE WHEN c.last_seen IS NULL OR datetime(row.last_seen) > c.last_seen
                       THEN datetime(row.last_seen) ELSE c.last_seen END
WITH c, row
MATCH (h:Host {id: row.host_id})
MERGE (c)-[:ON_HOST]->(h)
WITH c, row
WHERE row.pod_uid IS NOT NULL
MATCH (p:Pod {uid: row.pod_uid})
MERGE (c)-[:IN_POD]->(p)
